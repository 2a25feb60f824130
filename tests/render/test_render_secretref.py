"""Secret-referencing parameters at render time: real values for apply, withheld Secrets otherwise."""

from __future__ import annotations

import base64

import pytest

from kfctl.errors import ConfigError
from kfctl.pipeline import render_kfdef
from kfctl.render.secretref import is_withheld, placeholder

KFDEF = """\
apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata: {name: demo}
spec:
  version: "26.03"
  applications:
  - name: dex
    kustomizeConfig:                  # kfctl 1.x's form takes valueFrom too
      parameters:
      - {name: userPassword, valueFrom: {secret: admin-password}}
  - name: oauth2-proxy
    parameters:
    - {name: clientSecret, valueFrom: {secret: oidc-client}}
    - {name: cookieSecret, valueFrom: {secret: cookie}}
  secrets:
  - {name: admin-password, secretSource: {envSource: {name: KF_ADMIN}}}
  - {name: oidc-client, secretSource: {envSource: {name: KF_OIDC}}}
  - {name: cookie, secretSource: {envSource: {name: KF_COOKIE}}}
"""
VALUES = {"admin-password": "correct horse battery", "oidc-client": "oidc-client-secret-value",
          "cookie": "0123456789abcdef0123456789abcdef"}


@pytest.fixture
def kfdef(tmp_path):
    path = tmp_path / "kfdef.yaml"
    path.write_text(KFDEF)
    return path


def data(rendering, namespace, name):
    res = next(r for r in rendering.resources if r.kind == "Secret" and r.namespace == namespace and r.name == name)
    return res.to_dict()


def decoded(secret):
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def test_real_values_flow_into_the_secrets(kfdef):
    _, rendering = render_kfdef(kfdef, secrets=VALUES)
    proxy = decoded(data(rendering, "oauth2-proxy", "oauth2-proxy"))
    assert proxy["client-secret"] == VALUES["oidc-client"] and proxy["cookie-secret"] == VALUES["cookie"]
    assert decoded(data(rendering, "auth", "dex-oidc-client"))["OIDC_CLIENT_SECRET"] == VALUES["oidc-client"]
    import bcrypt  # Dex stores only the hash of the password that came from the secret
    stored = decoded(data(rendering, "auth", "dex-passwords"))["DEX_USER_PASSWORD"]
    assert bcrypt.checkpw(VALUES["admin-password"].encode(), stored.encode())
    assert not any(is_withheld(r.body) for r in rendering.resources)
    assert not [d for d in rendering.demo_defaults if d.endswith(("Secret", "userPassword"))]


def test_without_values_secrets_are_withheld_and_nothing_else(kfdef):
    _, real = render_kfdef(kfdef, secrets=VALUES)
    _, rendering = render_kfdef(kfdef)
    withheld = sorted(r.ref for r in rendering.resources if is_withheld(r.body))
    assert withheld == ["Secret/auth/dex-oidc-client", "Secret/auth/dex-passwords", "Secret/oauth2-proxy/oauth2-proxy"]
    text = repr([r.to_dict() for r in rendering.resources])
    for value in VALUES.values():
        assert value not in text and base64.b64encode(value.encode()).decode() not in text
    proxy = data(rendering, "oauth2-proxy", "oauth2-proxy")
    assert "data" not in proxy
    assert proxy["stringData"] == {"client-id": "kubeflow-oidc-authservice",  # not a secret: kept, readable
                                   "client-secret": "<withheld: the value of KfDef secret oidc-client>",
                                   "cookie-secret": "<withheld: the value of KfDef secret cookie>"}
    assert data(rendering, "auth", "dex-passwords")["stringData"]["DEX_USER_PASSWORD"].startswith(
        "<withheld: derived from admin-password by manifests/26.03/dex/templates/20-config.yaml.j2 (dex)")
    # every other object is the same as apply's, apart from pod-template checksums computed from placeholders
    others = {r.key: r.to_dict() for r in real.resources}
    differ = [r.ref for r in rendering.resources if r.to_dict() != others[r.key]]
    assert sorted(differ) == sorted(withheld + ["Deployment/auth/dex", "Deployment/oauth2-proxy/oauth2-proxy"])


def test_a_bad_secret_value_is_named_without_showing_it(kfdef):
    with pytest.raises(ConfigError) as info:
        render_kfdef(kfdef, secrets={**VALUES, "cookie": "much-too-short"})
    text = str(info.value) + repr(info.value.problems)
    assert "much-too-short" not in text
    assert "cookieSecret" in text and "the value (a secret, not shown) fails pattern" in text


def test_placeholders_fit_every_secret_parameter_schema():
    value = placeholder("x")
    assert len(value) == 32 and value != placeholder("x", "b") and value != placeholder("y")


def _secret_parameters():
    from kfctl.catalog import load_catalog

    base = load_catalog()
    found = []
    for release in base.releases:
        catalog = base.for_release(release)
        for name, comp in sorted(catalog.components.items()):
            marked = sorted(p for p, spec in (comp.parameters.get("properties") or {}).items()
                            if spec.get("x-kfctl-secret"))
            if marked:
                found.append((release, name, tuple(marked)))
    return found


SECRET_PARAMETERS = _secret_parameters()


def test_the_bundles_mark_their_passwords():
    marked = {(r, c): p for r, c, p in SECRET_PARAMETERS}
    assert marked[("26.03", "katib")] == ("mysqlPassword",)
    assert marked[("26.03", "dex")] == ("userPassword",)
    assert marked[("26.03", "oauth2-proxy")] == ("clientSecret", "cookieSecret")
    assert marked[("26.03", "model-registry")] == ("dbPassword",)
    assert marked[("1.10", "pipelines")] == marked[("26.03", "pipelines")] == (
        "minioAccessKey", "minioSecretKey", "mysqlPassword")


@pytest.mark.parametrize("release,component,names", SECRET_PARAMETERS,
                         ids=[f"{r}-{c}" for r, c, _ in SECRET_PARAMETERS])
def test_secret_parameters_reach_only_secrets_and_checksums(tmp_path, release, component, names):
    """What generate writes in the clear must not change with a secret: only Secrets (withheld) and
    pod-template checksums (digests of placeholders) may, and every placeholder passes the schema."""
    params = "".join(f"    - {{name: {n}, valueFrom: {{secret: s-{n.lower()}}}}}\n" for n in names)
    secrets = "".join(f"  - {{name: s-{n.lower()}, secretSource: {{envSource: {{name: V_{n.upper()}}}}}}}\n"
                      for n in names)
    path = tmp_path / "kfdef.yaml"
    path.write_text("apiVersion: kfdef.apps.kubeflow.org/v1\nkind: KfDef\nmetadata: {name: t}\nspec:\n"
                    f"  version: \"{release}\"\n  applications:\n  - name: {component}\n    parameters:\n"
                    f"{params}  secrets:\n{secrets}")
    _, a = render_kfdef(path, secrets={f"s-{n.lower()}": placeholder(n, "a") for n in names})
    _, b = render_kfdef(path, secrets={f"s-{n.lower()}": placeholder(n, "b") for n in names})
    others = {r.key: r.to_dict() for r in b.resources}
    changed = [r for r in a.resources if r.to_dict() != others[r.key]]
    assert any(r.kind == "Secret" for r in changed), "the secret reaches no Secret"
    for res in changed:
        if res.kind == "Secret":
            continue
        body, twin = res.to_dict(), others[res.key]
        for obj in (body, twin):
            obj["spec"]["template"]["metadata"]["annotations"].pop("kfctl.dev/config-checksum")
        assert body == twin, f"{res.ref} holds a secret outside a Secret"
