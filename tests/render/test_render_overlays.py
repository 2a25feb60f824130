"""Platform and user overlays: matching, both patch kinds, extra resources, errors naming the file."""

from __future__ import annotations

import pytest

from kfctl.errors import CatalogError, ConfigError
from kfctl.render import render

from render_paths import USER_OVERLAY


def _objects(rendering):
    return {(r.kind, r.name): r for r in rendering.resources}


def _overlay(tmp_path, text, name="10-x.yaml"):
    folder = tmp_path / "ov"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder


def test_user_overlay_patches_and_adds(fake_catalog, make_request):
    rendering = render(make_request(overlays=(USER_OVERLAY,)), fake_catalog)
    objs = _objects(rendering)
    pod = objs[("Deployment", "alpha")].body["spec"]["template"]["spec"]
    assert dict(pod["nodeSelector"]) == {"pool": "ml"}
    assert [dict(e) for e in pod["containers"][0]["env"]] == [{"name": "LOG_LEVEL", "value": "debug"}]
    assert pod["containers"][0]["image"] == "example.org/alpha:v1.0.0"
    assert objs[("ConfigMap", "alpha-config")].body["data"]["site"] == "{{ not a template }}"
    extra = objs[("ConfigMap", "site-extra")]
    assert (extra.component, extra.namespace, extra.overlay) == ("alpha", "kubeflow", True)
    assert extra.body["metadata"]["labels"]["app.kubernetes.io/component"] == "alpha"
    assert rendering.bundle("alpha").resources[-1] is extra
    assert [(u.target, u.matched) for u in rendering.patches] == [
        ("Deployment/alpha (component alpha)", 1), ("ConfigMap/alpha-config (component alpha)", 1)]


def test_user_overlay_nothing_else_changes(fake_catalog, make_request):
    base = _objects(render(make_request(), fake_catalog))
    patched = _objects(render(make_request(overlays=(USER_OVERLAY,)), fake_catalog))
    changed = {k for k in base if base[k].body != patched[k].body}
    assert changed == {("Deployment", "alpha"), ("ConfigMap", "alpha-config")}
    assert set(patched) - set(base) == {("ConfigMap", "site-extra")}


def test_overlay_of_unselected_component_is_skipped(fake_catalog, make_request):
    rendering = render(make_request(components=("beta",), overlays=(USER_OVERLAY,)), fake_catalog)
    assert ("ConfigMap", "site-extra") not in _objects(rendering)
    assert rendering.patches == ()


def test_named_target_matching_nothing_names_the_file(fake_catalog, make_request, tmp_path):
    folder = _overlay(tmp_path, "patches:\n  - target: {kind: Deployment, name: alfa}\n"
                                "    patch: {spec: {replicas: 1}}\n")
    with pytest.raises(ConfigError) as info:
        render(make_request(overlays=(folder,)), fake_catalog)
    assert "ov/10-x.yaml: patches[0].target: target Deployment/alfa matches no rendered object" in info.value.render()


def test_wildcard_target_may_match_nothing_and_globs_match(fake_catalog, make_request, tmp_path):
    folder = _overlay(tmp_path, "patches:\n"
                      "  - target: {kind: StatefulSet}\n    patch: {spec: {replicas: 1}}\n"
                      "  - target: {kind: Deployment, name: 'b*'}\n    patch: {spec: {replicas: 7}}\n")
    rendering = render(make_request(overlays=(folder,)), fake_catalog)
    assert [u.matched for u in rendering.patches] == [0, 1]
    assert _objects(rendering)[("Deployment", "beta")].body["spec"]["replicas"] == 7


def test_target_namespace_and_api_version_narrow_the_match(fake_catalog, make_request, tmp_path):
    folder = _overlay(tmp_path, "patches:\n"
                      "  - target: {kind: Deployment, namespace: beta-system}\n    patch: {spec: {paused: true}}\n"
                      "  - target: {kind: Deployment, apiVersion: extensions/v1beta1}\n    patch: {spec: {x: 1}}\n")
    rendering = render(make_request(overlays=(folder,)), fake_catalog)
    assert [u.matched for u in rendering.patches] == [1, 0]


def test_json_patch_failure_names_file_object_and_index(fake_catalog, make_request, tmp_path):
    folder = _overlay(tmp_path, "patches:\n  - target: {kind: Service, name: alpha}\n"
                      "    jsonPatch: [{op: replace, path: /spec/nothere/x, value: 1}]\n")
    with pytest.raises(ConfigError, match=r"10-x.yaml: patches\[0\]: cannot patch Service/kubeflow/alpha"):
        render(make_request(overlays=(folder,)), fake_catalog)


def test_patch_may_not_rename(fake_catalog, make_request, tmp_path):
    folder = _overlay(tmp_path, "patches:\n  - target: {kind: Service, name: alpha}\n"
                      "    patch: {metadata: {name: other}}\n")
    with pytest.raises(ConfigError, match="changes the identity of Service/kubeflow/alpha"):
        render(make_request(overlays=(folder,)), fake_catalog)


def test_malformed_overlay_file(fake_catalog, make_request, tmp_path):
    folder = _overlay(tmp_path, "patches:\n  - target: {name: alpha}\n    patch: {}\n    jsonPatch: []\n")
    with pytest.raises(ConfigError) as info:
        render(make_request(overlays=(folder,)), fake_catalog)
    text = info.value.render()
    assert "10-x.yaml: patches[0].target: 'kind' is a required property" in text
    assert "10-x.yaml: patches[0]:" in text
    folder = _overlay(tmp_path, "patches: [\n", name="10-x.yaml")
    with pytest.raises(ConfigError, match="10-x.yaml:2: not valid YAML"):
        render(make_request(overlays=(folder,)), fake_catalog)


def test_templated_user_overlay_sees_platform_params(fake_catalog, make_request, tmp_path):
    folder = _overlay(tmp_path, "component: istio\npatches:\n"
                      "  - target: {kind: Service, name: istio-ingressgateway}\n"
                      "    patch: {metadata: {annotations: {cpu: '{{ params.containerRequests.cpu }}'}}}\n",
                      name="10-x.yaml.j2")
    rendering = render(make_request(platform="local", platform_parameters={"containerRequests": {
        "cpu": "5m", "memory": "8Mi"}}, overlays=(folder,)), fake_catalog)
    svc = _objects(rendering)[("Service", "istio-ingressgateway")].body
    assert svc["metadata"]["annotations"]["cpu"] == "5m"


def test_user_overlay_errors(fake_catalog, make_request, tmp_path):
    with pytest.raises(CatalogError, match="does not exist"):
        render(make_request(overlays=(tmp_path / "missing",)), fake_catalog)
    folder = _overlay(tmp_path, "component: alpah\n")
    with pytest.raises(CatalogError, match="component 'alpah' is not in the catalog"):
        render(make_request(overlays=(folder,)), fake_catalog)


def test_data_patch_merges_into_an_embedded_yaml_document(fake_catalog, make_request, tmp_path):
    folder = _overlay(tmp_path, "resources:\n"
                      "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: ui},\n"
                      "     data: {ui.yaml: \"# comment\\nform:\\n  shm: {value: true}\\n"
                      "  gpus: {options: [a]}\\n\"}}\n"
                      "patches:\n"
                      "  - target: {kind: ConfigMap, name: ui}\n"
                      "    dataPatch: {key: ui.yaml, patch: {form: {gpus: {options: [b, c]}}}}\n")
    rendering = render(make_request(overlays=(folder,)), fake_catalog)
    data = _objects(rendering)[("ConfigMap", "ui")].body["data"]["ui.yaml"]
    assert data == "form:\n  shm:\n    value: true\n  gpus:\n    options:\n    - b\n    - c\n"
    folder = _overlay(tmp_path, "patches:\n  - target: {kind: ConfigMap, name: alpha-config}\n"
                      "    dataPatch: {key: nothere.yaml, patch: {a: 1}}\n")
    with pytest.raises(ConfigError, match=r"patches\[0\]: cannot patch ConfigMap/kubeflow/alpha-config .*"
                                          r"data.nothere.yaml is missing"):
        render(make_request(overlays=(folder,)), fake_catalog)
