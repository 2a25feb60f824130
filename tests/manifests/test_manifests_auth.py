"""Dex's and oauth2-proxy's 26.03 bundles: the first user's password, demo defaults, refused combinations."""

from __future__ import annotations

import base64

import bcrypt
import pytest
import yaml

from kfctl.catalog import load_releases
from kfctl.errors import TemplateError
from kfctl.render import RenderRequest, render

CATALOG = load_releases().catalog("26.03")


def _render(parameters=None, components=None, deployment="kf"):
    components = components or CATALOG.platform("generic").components
    return render(RenderRequest(platform="generic", components=CATALOG.resolve(list(components)).order,
                                release="26.03", deployment=deployment, parameters=parameters or {}), CATALOG)


def _body(rendering, kind, namespace, name):
    return next(r.body for r in rendering.resources if r.body["kind"] == kind and r.body["metadata"]["name"] == name
                and r.body["metadata"].get("namespace") == namespace)


def _hash(rendering):
    return base64.b64decode(_body(rendering, "Secret", "auth", "dex-passwords")["data"]["DEX_USER_PASSWORD"])


def _checksum(rendering):
    return _body(rendering, "Deployment", "auth", "dex")["spec"]["template"]["metadata"]["annotations"][
        "kfctl.dev/config-checksum"]


def test_the_first_user_comes_from_the_kfdef_and_only_a_hash_is_stored():
    params = {"dex": {"userEmail": "ada@example.org", "userPassword": "correct horse battery"}}
    rendering = _render(params)
    hashed = _hash(rendering)
    assert bcrypt.checkpw(b"correct horse battery", hashed)
    config = yaml.safe_load(_body(rendering, "ConfigMap", "auth", "dex")["data"]["config.yaml"])
    assert config["staticPasswords"][0]["email"] == "ada@example.org"
    assert config["staticPasswords"][0]["hashFromEnv"] == "DEX_USER_PASSWORD"
    text = "\n".join(str(r.body) for r in rendering.resources)
    assert "correct horse battery" not in text


def test_an_unchanged_kfdef_renders_the_same_hash_a_new_password_rolls_dex():
    first, again = _render(), _render()
    assert _hash(first) == _hash(again) and _checksum(first) == _checksum(again)
    changed = _render({"dex": {"userPassword": "a-new-password"}})
    assert _hash(changed) != _hash(first) and _checksum(changed) != _checksum(first)
    other = _render(deployment="kf2")
    assert _hash(other) != _hash(first)  # the salt depends on the deployment


def test_demo_defaults_are_warned_about_until_set():
    assert {"dex.userEmail", "dex.userPassword", "oauth2-proxy.clientSecret", "oauth2-proxy.cookieSecret"} <= \
        set(_render().demo_defaults)
    set_all = {"dex": {"userEmail": "ada@example.org", "userPassword": "p4ssw0rd-long"},
               "oauth2-proxy": {"clientSecret": "x" * 32, "cookieSecret": "y" * 32}}
    assert not {d for d in _render(set_all).demo_defaults if d.startswith(("dex.", "oauth2-proxy."))}


def test_one_client_secret_for_both_sides():
    rendering = _render({"oauth2-proxy": {"clientSecret": "shared-secret-value"}})
    dex = _body(rendering, "Secret", "auth", "dex-oidc-client")["data"]
    proxy = _body(rendering, "Secret", "oauth2-proxy", "oauth2-proxy")["data"]
    assert base64.b64decode(dex["OIDC_CLIENT_SECRET"]) == base64.b64decode(proxy["client-secret"]) == \
        b"shared-secret-value"


@pytest.mark.parametrize(("params", "drop_dex", "message"), [
    ({"oidcIssuerUrl": "https://accounts.google.com", "redirectUrl": "https://kf.example.com/oauth2/callback"},
     False, "remove dex from the KfDef's applications"),
    ({"oidcIssuerUrl": "https://accounts.google.com"}, True, "redirectUrl is empty"),
    ({"clientSecretName": "my-secret"}, False, "clientSecretName works only with an external provider"),
])
def test_inconsistent_login_settings_are_refused_naming_the_template(params, drop_dex, message):
    components = [c for c in CATALOG.platform("generic").components if not (drop_dex and c == "dex")]
    with pytest.raises(TemplateError, match=r"oauth2-proxy/templates/10-config\.yaml\.j2:\d+: .*" + message):
        _render({"oauth2-proxy": params}, components=components)


def _gateway_admits_outside(rendering):
    """Whether some istio-system NetworkPolicy lets traffic from outside the cluster reach the gateway on 8080."""
    for res in rendering.resources:
        body = res.body
        if body["kind"] != "NetworkPolicy" or body["metadata"].get("namespace") != "istio-system":
            continue
        labels = (body["spec"].get("podSelector") or {}).get("matchLabels") or {}
        if labels.get("app") != "istio-ingressgateway":
            continue
        for rule in body["spec"].get("ingress") or ():
            ports = {p.get("port") for p in rule.get("ports") or ()} or {8080}
            outside = not rule.get("from") or any("ipBlock" in peer for peer in rule["from"])
            if 8080 in ports and outside:
                return True
    return False


@pytest.mark.parametrize(("platform", "platform_parameters", "expected"), [
    ("generic", {}, False),                       # ClusterIP, reached by kubectl port-forward as upstream
    ("local", {}, True),                          # NodePort
    ("azure", {}, True),                          # LoadBalancer
    ("gcp", {}, True),                            # LoadBalancer
    ("gcp", {"ingress": "iap"}, True),            # GCE Ingress (NEG) from Google's ranges
    ("aws", {}, True),                            # ALB with IP targets
    ("aws", {"ingress": "nlb"}, True),            # NLB with IP targets
])
def test_the_platforms_front_door_passes_istio_systems_network_policies(platform, platform_parameters, expected):
    components = CATALOG.resolve(list(CATALOG.platform(platform).components)).order
    rendering = render(RenderRequest(platform=platform, components=components, release="26.03",
                                     platform_parameters=platform_parameters), CATALOG)
    assert _gateway_admits_outside(rendering) is expected


def test_machine_token_issuers_are_accepted_by_oauth2_proxy_and_verified_by_the_gateway():
    issuers = [{"issuer": "https://kubernetes.default.svc.cluster.local",
                "jwksUri": "http://jwks.istio-system.svc.cluster.local/openid/v1/jwks"},
               {"issuer": "https://oidc.eks.us-east-1.amazonaws.com/id/ABC", "audience": "sts.amazonaws.com"}]
    rendering = _render({"oauth2-proxy": {"machineTokenIssuers": issuers}})
    data = _body(rendering, "ConfigMap", "oauth2-proxy", "oauth2-proxy-parameters")["data"]
    assert data["EXTRA_JWT_ISSUERS"] == ("https://kubernetes.default.svc.cluster.local="
                                         "https://kubernetes.default.svc.cluster.local,"
                                         "https://oidc.eks.us-east-1.amazonaws.com/id/ABC=sts.amazonaws.com")
    rules = _body(rendering, "RequestAuthentication", "istio-system", "m2m-token-issuer")["spec"]["jwtRules"]
    assert [r["issuer"] for r in rules] == [i["issuer"] for i in issuers]
    assert rules[0]["jwksUri"] == issuers[0]["jwksUri"] and "audiences" not in rules[0]
    assert list(rules[1]["audiences"]) == ["sts.amazonaws.com"]
    for rule in rules:  # the subject becomes the user; a client cannot bring its own groups
        assert {(o["header"], o["claim"]) for o in rule["outputClaimToHeaders"]} == \
            {("kubeflow-userid", "sub"), ("kubeflow-groups", "groups")}
    assert not [r for r in _render().resources if r.body["metadata"]["name"] == "m2m-token-issuer"]
