"""``provided`` and ``spec.storageClass``: what a KfDef says the cluster already runs (README, "Existing components")."""

from __future__ import annotations

import textwrap

import pytest

from kfctl.catalog import load_catalog
from kfctl.config import parse_kfdef, providable, provided_spelling, resolve, storage_class_spelling
from kfctl.errors import ConfigError

HEAD = """\
apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata:
  name: test
spec:
  version: "26.03"
"""


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _resolve(spec: str, catalog):
    return resolve(parse_kfdef(HEAD + textwrap.indent(textwrap.dedent(spec), "  "), file="k.yaml"), catalog,
                   environ={})


def _problems(spec: str, catalog) -> str:
    with pytest.raises(ConfigError) as info:
        _resolve(spec, catalog)
    return str(info.value)


def test_provided_components_stay_selected_satisfy_dependencies_and_are_marked(catalog):
    sel = _resolve("""\
        applications:
        - name: katib
        - name: cert-manager
          provided: true
        - name: istio
          provided: {revision: "1-29"}
        """, catalog)
    assert set(sel.provided) == {"cert-manager", "istio"}
    assert sel.component("istio").revision == "1-29" and sel.component("cert-manager").revision is None
    assert not sel.component("katib").provided
    assert not any("requires cert-manager" in n for n in sel.notices)   # the cluster's copy satisfies katib


def test_provided_false_installs_it(catalog):
    sel = _resolve("applications:\n- {name: cert-manager, provided: false}\n", catalog)
    assert sel.provided == ()


def test_only_components_whose_bundle_says_how_can_be_provided(catalog):
    assert providable(catalog) == ("cert-manager", "istio")
    text = _problems("applications:\n- {name: katib, provided: true}\n", catalog)
    assert "k.yaml:8" in text and "katib cannot be provided by the cluster" in text
    assert "cert-manager, istio" in text


def test_a_component_both_installed_and_provided_is_refused(catalog):
    text = _problems("""\
        applications:
        - name: istio-install
        - name: istio
          provided: true
        """, catalog)
    assert "istio is both installed (application 'istio-install') and provided by the cluster" in text


def test_kfctl_1x_application_names_may_be_provided_together(catalog):
    sel = _resolve("""\
        applications:
        - {name: istio-crds, provided: true}
        - {name: istio-install, provided: true}
        """, catalog)
    assert sel.provided == ("istio",)


@pytest.mark.parametrize("value, message", [
    ('"yes"', "provided: expected true or false or a mapping"),
    ("{rev: x}", "unknown field 'rev' (hint: fields allowed here: gatewayServiceAccount, revision)"),
])
def test_provided_values_are_checked_by_the_schema(catalog, value, message):
    text = _problems(f"applications:\n- name: istio\n  provided: {value}\n", catalog)
    assert message in text and "k.yaml:9" in text


def test_a_revision_is_istio_s_setting(catalog):
    text = _problems("applications:\n- {name: cert-manager, provided: {revision: x}}\n", catalog)
    assert "provided.revision is Istio's setting, not cert-manager's" in text


def test_a_repo_application_cannot_be_provided(catalog):
    text = _problems("""\
        repos: [{name: m, uri: m.tar.gz}]
        applications:
        - name: istio
          provided: true
          kustomizeConfig: {repoRef: {name: m, path: common/istio}}
        """, catalog)
    assert "a repo application (kustomizeConfig.repoRef) cannot be provided" in text


def test_storage_class_is_every_claim_s_default_above_the_platform_and_below_the_kfdef(catalog):
    sel = _resolve("""\
        platform: gcp
        storageClass: fast-ssd
        applications:
        - name: pipelines
        - name: model-registry
        - name: katib
          parameters: [{name: storageClassName, value: slow-hdd}]
        """, catalog)
    assert sel.storage_class == "fast-ssd"
    assert sel.component("pipelines").parameters["storageClassName"] == "fast-ssd"   # gcp says standard-rwo
    assert sel.component("model-registry").parameters["storageClassName"] == "fast-ssd"
    assert sel.component("katib").parameters["storageClassName"] == "slow-hdd"


def test_storage_class_must_be_a_valid_name(catalog):
    text = _problems("storageClass: Fast_SSD\napplications: [{name: pipelines}]\n", catalog)
    assert "not a valid DNS-1123 subdomain" in text


def test_spellings_for_kfctl_check():
    assert provided_spelling("cert-manager") == "spec.applications: - {name: cert-manager, provided: true}"
    assert provided_spelling("istio", revision="1-29") == \
        "spec.applications: - {name: istio, provided: {revision: 1-29}}"
    assert provided_spelling("istio", revision="default", gateway_service_account="istio-ingressgateway") == \
        "spec.applications: - {name: istio, provided: {gatewayServiceAccount: istio-ingressgateway}}"
    assert storage_class_spelling("gp3") == "spec.storageClass: gp3"


def test_the_starter_offers_provided_for_exactly_the_providable_components_and_it_validates(catalog):
    from kfctl.config.starter import render_starter

    text = render_starter(catalog, name="kf")
    assert text.count("    # provided: true\n") == len(providable(catalog))
    opened = text.replace("    # provided: true\n", "    provided: true\n").replace(
        "  # storageClass: standard\n", "  storageClass: standard\n")
    sel = resolve(parse_kfdef(opened), catalog, environ={})
    assert set(sel.provided) == set(providable(catalog)) and sel.storage_class == "standard"


def test_validate_says_which_components_the_cluster_provides(tmp_path):
    import json

    from click.testing import CliRunner

    from kfctl.cli.main import cli

    kfdef = tmp_path / "kfdef.yaml"
    kfdef.write_text(HEAD + "  applications:\n  - {name: katib}\n  - {name: cert-manager, provided: true}\n")
    shown = CliRunner().invoke(cli, ["validate", "-f", str(kfdef)])
    assert shown.exit_code == 0, shown.output
    assert [line.split(None, 2)[1:] for line in shown.output.splitlines() if "cert-manager" in line] == \
        [["cert-manager", "provided by the cluster"]]
    doc = json.loads(CliRunner().invoke(cli, ["validate", "-f", str(kfdef), "-o", "json"]).output)
    assert {c["name"]: c["provided"] for c in doc["components"]}["cert-manager"] is True


def test_a_provided_istio_may_name_its_gateway_s_service_account(catalog):
    sel = _resolve("applications:\n- name: istio\n  provided: {gatewayServiceAccount: istio-ingressgateway}\n", catalog)
    assert sel.gateway_service_account == "istio-ingressgateway"
    text = _problems("applications:\n- {name: cert-manager, provided: {gatewayServiceAccount: x}}\n", catalog)
    assert "provided.gatewayServiceAccount is Istio's setting, not cert-manager's" in text
