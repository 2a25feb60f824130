"""Resolving a KfDef against the catalog: parameters, dependencies, aliases, platforms."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest

from kfctl.config import parse_kfdef, resolve, secret_values
from kfctl.errors import ConfigError

HEAD = """\
apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata:
  name: test
spec:
"""


def _kfdef(spec: str):
    return parse_kfdef(HEAD + textwrap.indent(textwrap.dedent(spec), "  "), file="k.yaml")


def _resolve(spec: str, catalog, **kw):
    return resolve(_kfdef(spec), catalog, environ=kw.get("environ", {}))


def test_parameters_precedence_default_then_platform_then_kfdef(fake_catalog):
    sel = _resolve("""\
        platform: local
        applications:
        - name: katib
        - name: istio
          parameters:
          - {name: gatewayServiceType, value: LoadBalancer}
        """, fake_catalog)
    katib = sel.component("katib")
    assert katib.parameters["controllerReplicas"] == 0          # platform local overrides the default 1
    assert katib.parameters["mysqlPassword"] == "katib-demo-password"   # schema default
    assert sel.component("istio").parameters["gatewayServiceType"] == "LoadBalancer"  # KfDef beats platform


def test_required_dependencies_are_added_and_reported(fake_catalog):
    sel = _resolve("applications:\n- name: katib\n", fake_catalog)
    assert sel.names == ("cert-manager", "kubeflow-core", "katib")
    assert "katib requires cert-manager: added" in sel.notices
    assert sel.component("cert-manager").required_by == "katib"
    assert sel.component("katib").applications == ("katib",)
    assert sel.added == (("cert-manager", "katib"), ("kubeflow-core", "katib"))


def test_optional_dependency_orders_only_when_selected(fake_catalog):
    sel = _resolve("applications:\n- name: katib\n- name: istio\n", fake_catalog)
    assert sel.names.index("istio") < sel.names.index("katib")
    assert "istio" not in _resolve("applications:\n- name: katib\n", fake_catalog).names


def test_aliases_collapse_onto_one_component_that_remembers_them(fake_catalog):
    sel = _resolve("""\
        applications:
        - name: tf-job-crds
        - name: tf-job-operator
        - name: pytorch-operator
        """, fake_catalog)
    assert sel.names == ("kubeflow-core", "training-operator")
    assert sel.component("training-operator").applications == ("tf-job-crds", "tf-job-operator", "pytorch-operator")
    assert sel.notices == ("training-operator requires kubeflow-core: added",)


def test_kustomize_string_values_become_the_declared_type(fake_catalog):
    sel = _resolve("""\
        applications:
        - name: notebook-controller
          kustomizeConfig:
            parameters:
            - {name: cullingEnabled, value: 'true'}
            - {name: cullIdleTime, value: '60'}
            - {name: injectGcpCredentials, value: 'true'}
        """, fake_catalog)
    params = sel.component("notebooks").parameters
    assert params["cullingEnabled"] is True and params["cullIdleTime"] == 60
    assert any("'injectGcpCredentials' has no counterpart in notebooks; ignored" in w for w in sel.warnings)


def test_own_parameters_list_is_strict_about_types(fake_catalog):
    with pytest.raises(ConfigError, match="expected true or false, got a string"):
        _resolve("applications:\n- name: notebooks\n  parameters:\n  - {name: cullingEnabled, value: 'true'}\n",
                 fake_catalog)


def test_nested_parameter_errors_point_inside_the_value(fake_catalog):
    with pytest.raises(ConfigError) as info:
        _resolve("""\
            applications:
            - name: kubeflow-core
              parameters:
              - name: namespaceLabels
                value:
                  team: ml
                  cost: 3
            """, fake_catalog)
    assert str(info.value.problems[0]).startswith(
        "k.yaml:12:15: spec.applications[0].parameters[0].value.cost: expected a string, got an integer (3)")


def test_platform_inferred_from_plugins_as_kfctl_did(fake_catalog):
    gcp = _kfdef("applications:\n- name: istio\nplugins:\n- kind: KfGcpPlugin\n  metadata: {name: gcp}\n")
    assert (gcp.platform, gcp.platform_reason) == ("gcp", "plugin KfGcpPlugin")
    aws = _kfdef("applications:\n- name: istio\nplugins:\n- kind: KfAwsPlugin\n")
    assert aws.platform == "aws"
    plain = _kfdef("applications:\n- name: istio\n")
    assert (plain.platform, plain.platform_reason) == ("generic", "default")
    sel = resolve(gcp, fake_catalog, environ={})
    assert sel.component("istio").parameters["gatewayServiceType"] == "LoadBalancer"


def test_platform_provided_applications_are_accepted_on_their_platform(fake_catalog):
    sel = _resolve("platform: gcp\napplications:\n- name: istio\n- name: iap-ingress\n- name: spartakus\n",
                   fake_catalog)
    assert sel.names == ("istio",)
    assert "application 'iap-ingress' is provided by platform gcp" in sel.notices
    assert "application 'spartakus' is not needed: kfctl does not report usage" in sel.notices


def test_only_dropped_applications_leave_nothing_to_deploy(fake_catalog):
    with pytest.raises(ConfigError, match="no component to deploy"):
        _resolve("applications:\n- name: spartakus\n", fake_catalog)


def test_repo_applications_skip_the_alias_table(fake_catalog):
    sel = _resolve("""\
        applications:
        - name: knative
          kustomizeConfig:
            repoRef: {name: manifests, path: knative/installs/generic}
            overlays: [istio]
            parameters:
            - {name: namespace, value: knative-serving}
        repos:
        - {name: manifests, uri: 'https://example.com/m.tar.gz'}
        """, fake_catalog)
    assert sel.components == ()
    (app,) = sel.repo_applications
    assert (app.name, app.repo.uri, app.path, app.overlays) == (
        "knative", "https://example.com/m.tar.gz", "knative/installs/generic", ("istio",))
    assert dict(app.parameters) == {"namespace": "knative-serving"}


def test_selection_is_immutable(fake_catalog):
    sel = _resolve("applications:\n- name: katib\n", fake_catalog)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sel.platform = "gcp"  # type: ignore[misc]
    with pytest.raises(TypeError):
        sel.component("katib").parameters["controllerReplicas"] = 5  # type: ignore[index]
    with pytest.raises(TypeError):
        sel.kfdef.applications[0].parameters["x"] = 1  # type: ignore[index]


def test_env_secret_missing_is_a_warning_in_validate_and_an_error_for_apply(fake_catalog):
    spec = """\
        applications:
        - name: katib
        secrets:
        - name: token
          secretSource: {envSource: {name: KF_TOKEN}}
        - name: fixed
          secretSource: {literalSource: {value: abc}}
        """
    literal = ("secret 'fixed' (line 11) is a literalSource: its value is plain text in the KfDef; prefer "
               "envSource and keep the value out of files")
    sel = _resolve(spec, fake_catalog)
    assert sel.warnings == ("secret 'token': environment variable KF_TOKEN is not set (kfctl apply will need it)",
                            literal)
    kfdef = _kfdef(spec)
    with pytest.raises(ConfigError) as info:
        secret_values(kfdef, {})
    assert str(info.value.problems[0]).startswith(
        "k.yaml:10:38: spec.secrets[0].secretSource.envSource.name: secret 'token' reads environment variable "
        "KF_TOKEN, which is not set")
    assert dict(secret_values(kfdef, {"KF_TOKEN": "t0k"})) == {"token": "t0k", "fixed": "abc"}
    assert _resolve(spec, fake_catalog, environ={"KF_TOKEN": "x"}).warnings == (literal,)
    with pytest.raises(ConfigError, match="KF_TOKEN, which is empty"):  # a forgotten `export KF_TOKEN=`
        secret_values(kfdef, {"KF_TOKEN": ""})


def test_unknown_plugin_kind_is_a_warning(fake_catalog):
    sel = _resolve("applications:\n- name: istio\nplugins:\n- kind: KfIbmPlugin\n", fake_catalog)
    assert sel.warnings == ("plugin KfIbmPlugin (line 9) has no effect in kfctl",)


def test_missing_name_defaults_to_the_folder_name(tmp_path, fake_catalog):
    from kfctl.config import load_kfdef

    folder = tmp_path / "team-a"
    folder.mkdir()
    (folder / "kfdef.yaml").write_text("apiVersion: kfdef.apps.kubeflow.org/v1\nkind: KfDef\n"
                                       "spec:\n  applications:\n  - name: istio\n")
    assert load_kfdef(folder / "kfdef.yaml").name == "team-a"
    bad = tmp_path / "Team_B"
    bad.mkdir()
    (bad / "kfdef.yaml").write_text((folder / "kfdef.yaml").read_text())
    with pytest.raises(ConfigError, match="metadata.name is missing and the folder name 'Team_B' is not a valid"):
        load_kfdef(bad / "kfdef.yaml")


def test_platform_plugin_spec_values_are_checked_against_the_platform_schema(tmp_path, fake_catalog):
    from kfctl.catalog import load_catalog

    manifests = tmp_path / "manifests"
    (tmp_path / "platforms" / "gcp").mkdir(parents=True)
    manifests.symlink_to(next(iter(fake_catalog.components.values())).path.parent)
    (tmp_path / "platforms" / "gcp" / "platform.yaml").write_text(
        "name: gcp\ndescription: test\ncomponents: [istio]\nparameters:\n  type: object\n  properties:\n"
        "    hostname: {type: string, default: '', description: Host name.}\n")
    catalog = load_catalog(manifests=manifests, platforms=tmp_path / "platforms")
    spec = "applications:\n- name: istio\nplugins:\n- kind: KfGcpPlugin\n  spec:\n    hostname: {$value}\n    project: p\n"
    assert resolve(_kfdef(spec.replace("{$value}", "kf.example.com")), catalog, environ={}).platform == "gcp"
    with pytest.raises(ConfigError) as info:
        resolve(_kfdef(spec.replace("{$value}", "[a, b]")), catalog, environ={})
    assert str(info.value.problems[0]).startswith(
        "k.yaml:11:17: spec.plugins[0].spec.hostname: expected a string, got a list")
