"""The renderer on the fake catalog: namespacing, labels, parameters, errors."""

from __future__ import annotations

import shutil

import pytest

from kfctl.catalog import load_catalog
from kfctl.errors import CatalogError, ConfigError, TemplateError
from kfctl.render import RenderRequest, render, to_yaml
from kfctl.render.labels import COMPONENT, MANAGED_BY, NAME, PART_OF, VERSION

from render_paths import DATA, REPO


def _objects(rendering):
    return {(r.kind, r.name): r for r in rendering.resources}


def test_order_is_component_order_then_template_order(fake_catalog, make_request):
    rendering = render(make_request(), fake_catalog)
    assert [b.component for b in rendering.bundles] == ["istio", "alpha", "beta"]
    assert [r.ref for r in rendering.bundle("alpha").resources] == [
        "CustomResourceDefinition/widgets.example.org", "ClusterRole/alpha-widgets-edit",
        "ServiceAccount/kubeflow/alpha", "ConfigMap/kubeflow/alpha-config", "Secret/kubeflow/alpha-secret",
        "PersistentVolumeClaim/kubeflow/alpha-data", "Deployment/kubeflow/alpha", "Service/kubeflow/alpha"]


def test_namespaces_follow_component_and_kfdef_namespace(fake_catalog, make_request):
    objs = _objects(render(make_request(namespace="ml"), fake_catalog))
    assert objs[("Deployment", "alpha")].namespace == "ml"          # "kubeflow" in a bundle = the KfDef's
    assert objs[("Deployment", "beta")].namespace == "beta-system"  # a bundle's own namespace stays
    assert objs[("Widget", "beta-widget")].namespace == "beta-system"  # scope learnt from alpha's CRD
    assert objs[("ClusterRole", "alpha-widgets-edit")].namespace is None
    assert objs[("Namespace", "beta-system")].namespace is None
    env = objs[("Deployment", "beta")].body["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "KUBEFLOW_NAMESPACE", "value": "ml"} in [dict(e) for e in env]


def test_standard_labels_on_metadata_only(fake_catalog, make_request):
    objs = _objects(render(make_request(), fake_catalog))
    dep = objs[("Deployment", "alpha")].body
    assert dict(dep["metadata"]["labels"]) == {NAME: "alpha", PART_OF: "kubeflow", COMPONENT: "alpha",
                                               VERSION: "v1.0.0", MANAGED_BY: "kfctl"}
    assert dict(dep["spec"]["selector"]["matchLabels"]) == {"app": "alpha"}
    assert dict(dep["spec"]["template"]["metadata"]["labels"]) == {"app": "alpha"}
    assert objs[("Deployment", "beta")].body["metadata"]["labels"][VERSION] == "0.2"


def test_optional_dependency_content_only_when_selected(fake_catalog, make_request):
    objs = _objects(render(make_request(components=("beta",)), fake_catalog))
    assert ("Widget", "beta-widget") not in objs
    assert ("Deployment", "beta") in objs


def test_deterministic(fake_catalog, make_request):
    a = to_yaml(render(make_request(platform="local"), fake_catalog))
    b = to_yaml(render(make_request(platform="local"), load_catalog(DATA / "manifests", REPO / "platforms")))
    assert a == b


def test_each_parameter_changes_only_its_own_field(fake_catalog, make_request):
    base = render(make_request(), fake_catalog).resources
    changes = {
        ("alpha", "replicas", 5): {("Deployment", "alpha")},
        ("alpha", "greeting", "hey"): {("ConfigMap", "alpha-config")},
        ("alpha", "storageSize", "9Gi"): {("PersistentVolumeClaim", "alpha-data")},
        ("alpha", "password", "s3cret"): {("Secret", "alpha-secret")},
        ("beta", "message", "yo"): {("Deployment", "beta")},
    }
    for (comp, name, value), expected in changes.items():
        changed = render(make_request(parameters={comp: {name: value}}), fake_catalog).resources
        diff = {(a.kind, a.name) for a, b in zip(base, changed, strict=True) if a.body != b.body}
        assert diff == expected, (comp, name)


def test_demo_defaults_are_reported_until_set(fake_catalog, make_request):
    assert render(make_request(), fake_catalog).demo_defaults == ("alpha.password",)
    assert render(make_request(parameters={"alpha": {"password": "real"}}), fake_catalog).demo_defaults == ()


def test_kfdef_value_with_braces_comes_out_literally(fake_catalog, make_request):
    rendering = render(make_request(parameters={"alpha": {"greeting": "{{ params.password }}"}}), fake_catalog)
    assert _objects(rendering)[("ConfigMap", "alpha-config")].body["data"]["greeting"] == "{{ params.password }}"


def test_bad_parameter_is_a_config_error_naming_component_and_parameter(fake_catalog, make_request):
    with pytest.raises(ConfigError) as info:
        render(make_request(parameters={"alpha": {"replicas": "two", "replica": 1}}), fake_catalog)
    text = info.value.render()
    assert "alpha/component.yaml" in text
    assert "component alpha parameters.replicas: 'two' is not of type 'integer'" in text
    assert "'replica' was unexpected" in text
    assert info.value.exit_code == 2


def test_bad_platform_parameter_is_a_config_error(fake_catalog, make_request):
    with pytest.raises(ConfigError, match=r"platforms/local/platform.yaml: platform local parameters"
                                          r".containerRequests.cpu: 'lots' does not match"):
        render(make_request(platform="local", platform_parameters={"containerRequests": {"cpu": "lots",
                                                                                         "memory": "1Gi"}}),
               fake_catalog)
    with pytest.raises(ConfigError) as info:
        render(make_request(platform="gcp", platform_parameters={"ingres": "iap"}), fake_catalog)
    assert ("'ingres' was unexpected) (hint: known parameters: gpuAccelerators, hostname, iapAudience, iapOAuthSecret, ingress"
            in info.value.render())


def test_missing_required_dependency_and_unknown_names(fake_catalog, make_request, tmp_path):
    with pytest.raises(CatalogError) as info:
        render(make_request(platform="gpc"), fake_catalog)
    assert "unknown platform 'gpc'\nhint: did you mean 'gcp'?" in info.value.render()
    with pytest.raises(CatalogError, match="unknown component 'alpah'"):
        render(make_request(components=("alpah",)), fake_catalog)
    shutil.copytree(DATA / "manifests", tmp_path / "m")
    text = (tmp_path / "m/beta/component.yaml").read_text().replace("required: false", "required: true")
    (tmp_path / "m/beta/component.yaml").write_text(text)
    with pytest.raises(CatalogError, match="'beta' requires 'alpha', which is not selected"):
        render(make_request(components=("beta",)), load_catalog(tmp_path / "m", REPO / "platforms"))


def _broken_catalog(tmp_path, template: str, name: str = "99-broken.yaml.j2"):
    shutil.copytree(DATA / "manifests", tmp_path / "m")
    (tmp_path / "m/alpha/templates" / name).write_text(template)
    return load_catalog(tmp_path / "m", REPO / "platforms")


def test_typo_in_bundle_template_names_file_and_line(tmp_path, make_request):
    catalog = _broken_catalog(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ params.replica }}\n")
    with pytest.raises(TemplateError, match=r"alpha/templates/99-broken.yaml.j2:4: .*'replica'"):
        render(make_request(), catalog)


def test_invalid_yaml_output_names_file_and_rendered_line(tmp_path, make_request):
    catalog = _broken_catalog(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: 1\n")
    with pytest.raises(TemplateError, match=r"99-broken.yaml.j2: rendered output is not valid YAML at rendered line"):
        render(make_request(), catalog)


def test_object_without_name_is_refused(tmp_path, make_request):
    catalog = _broken_catalog(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")
    with pytest.raises(TemplateError, match=r"99-broken.yaml.j2: document 1 \(ConfigMap\): metadata.name"):
        render(make_request(), catalog)


def test_cluster_scoped_object_with_namespace_is_refused(tmp_path, make_request):
    catalog = _broken_catalog(tmp_path, "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
                                        "metadata: {name: x, namespace: kubeflow}\n")
    with pytest.raises(TemplateError, match=r"99-broken.yaml.j2: ClusterRole/x is cluster-scoped"):
        render(make_request(), catalog)


def test_duplicate_object_names_both_sources(tmp_path, make_request):
    catalog = _broken_catalog(tmp_path, "apiVersion: v1\nkind: Service\nmetadata: {name: alpha}\n")
    with pytest.raises(TemplateError, match=r"Service/kubeflow/alpha is rendered twice: by .*10-app.yaml.j2 "
                                            r"\(alpha\) and by .*99-broken.yaml.j2"):
        render(make_request(), catalog)


def test_template_files_must_be_yaml_j2_but_partials_are_skipped(tmp_path, make_request):
    catalog = _broken_catalog(tmp_path, "{% macro cm(n) %}apiVersion: v1\nkind: ConfigMap\n"
                                        "metadata: {name: {{ n }}}\n{% endmacro %}", name="_macros.j2")
    (tmp_path / "m/alpha/templates/99-uses.yaml.j2").write_text(
        '{% import "_macros.j2" as m %}{{ m.cm("from-macro") }}')
    names = [r.name for r in render(make_request(), catalog).resources]
    assert "from-macro" in names and names.count("from-macro") == 1
    (tmp_path / "m/alpha/templates/notes.yaml").write_text("a: 1\n")
    with pytest.raises(CatalogError, match="notes.yaml: templates must be named"):
        render(make_request(), catalog)


def test_request_is_frozen():
    req = RenderRequest(platform="generic", components=["alpha"], parameters={"alpha": {"x": [1]}})
    assert req.components == ("alpha",)
    with pytest.raises(TypeError):
        req.parameters["alpha"]["y"] = 1  # type: ignore[index]


MISMATCH_KFDEF = """\
apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata: {name: demo}
spec:
  version: "26.03"
  applications:
  - name: dex
    parameters:
    - {name: userEmail, value: alice@example.org}
  - name: oauth2-proxy
  - name: istio
  - name: profiles
  - name: user-profile%s
"""


def test_the_first_profile_must_be_owned_by_dexs_user(tmp_path):
    from kfctl.pipeline import render_kfdef
    from kfctl.render.params import mismatches

    path = tmp_path / "kfdef.yaml"
    path.write_text(MISMATCH_KFDEF % "")
    _, rendering = render_kfdef(path)
    assert rendering.mismatches == ("user-profile.owner is 'user@example.com' but dex.userEmail is "
                                    "'alice@example.org'; set both to the same value",)
    path.write_text(MISMATCH_KFDEF % "\n    parameters:\n    - {name: owner, value: alice@example.org}")
    assert render_kfdef(path)[1].mismatches == ()
    # only between selected components: no dex, nothing to agree with
    schema = {"properties": {"owner": {"x-kfctl-same-as": "dex.userEmail"}}}
    assert mismatches({"user-profile": schema}, {"user-profile": {"owner": "a@b"}}) == []
    assert mismatches({"user-profile": schema}, {"user-profile": {"owner": "a@b"}, "dex": {"userEmail": "a@b"}}) == []
