"""Conformance: the official kubernetes Python client against the simulated API server."""

from __future__ import annotations

import threading
import time

import pytest
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException


@pytest.fixture
def api(sim_cluster):
    return config.new_client_from_config(config_file=sim_cluster.kubeconfig_path)


def _deployment(name: str, replicas: int = 1) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "main", "image": "busybox"}]}}}}


def test_core_v1_crud_and_errors(api) -> None:
    core = client.CoreV1Api(api)
    names = {ns.metadata.name for ns in core.list_namespace().items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    made = core.create_namespaced_config_map("default", {"metadata": {"name": "c1"}, "data": {"a": "1"}})
    assert made.metadata.uid and made.metadata.resource_version
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("default", {"metadata": {"name": "c1"}})
    assert exc.value.status == 409 and '"reason":"AlreadyExists"' in exc.value.body.replace(" ", "")
    made.data["a"] = "2"
    updated = core.replace_namespaced_config_map("c1", "default", made)
    assert int(updated.metadata.resource_version) > int(made.metadata.resource_version)
    made.data["a"] = "3"  # made still carries the old resourceVersion
    with pytest.raises(ApiException) as stale:
        core.replace_namespaced_config_map("c1", "default", made)
    assert stale.value.status == 409
    assert "the object has been modified; please apply your changes to the latest version" in stale.value.body
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("nope", "default")
    assert missing.value.status == 404 and 'configmaps \\"nope\\" not found' in missing.value.body
    with pytest.raises(ApiException) as no_ns:
        core.create_namespaced_config_map("absent", {"metadata": {"name": "x"}})
    assert no_ns.value.status == 404 and 'namespaces \\"absent\\" not found' in no_ns.value.body


def test_apps_v1_status_subresource_and_generation(api) -> None:
    apps = client.AppsV1Api(api)
    dep = apps.create_namespaced_deployment("default", _deployment("web"))
    assert dep.metadata.generation == 1 and dep.status is None or dep.status.replicas is None
    patched = apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 3}})
    assert patched.metadata.generation == 2 and patched.spec.replicas == 3
    status = apps.patch_namespaced_deployment_status("web", "default", {"status": {"replicas": 3,
                                                                                     "readyReplicas": 3}})
    assert status.status.ready_replicas == 3 and status.metadata.generation == 2
    ignored = apps.patch_namespaced_deployment("web", "default", {"status": {"readyReplicas": 0}})
    assert ignored.status.ready_replicas == 3, "a write to the main resource changed status"
    scale = apps.read_namespaced_deployment_scale("web", "default")
    assert scale.spec.replicas == 3


def test_dynamic_client_discovery_and_server_side_apply(api) -> None:
    dyn = dynamic.DynamicClient(api)
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    assert deployments.namespaced and deployments.name == "deployments"
    body = _deployment("api", replicas=2)
    first = deployments.server_side_apply(body=body, namespace="default", field_manager="kfctl")
    assert first.spec.replicas == 2
    again = deployments.server_side_apply(body=body, namespace="default", field_manager="kfctl")
    assert again.metadata.resourceVersion == first.metadata.resourceVersion
    body["spec"]["replicas"] = 4
    with pytest.raises(ApiException) as conflict:
        deployments.server_side_apply(body=body, namespace="default", field_manager="other")
    assert conflict.value.status == 409 and ".spec.replicas" in conflict.value.body
    forced = deployments.server_side_apply(body=body, namespace="default", field_manager="other", force_conflicts=True)
    assert forced.spec.replicas == 4
    body["metadata"]["annotations"] = {"note": "only kfctl sets this"}
    noted = deployments.server_side_apply(body=body, namespace="default", field_manager="kfctl",
                                          force_conflicts=True)
    assert noted.to_dict()["metadata"]["annotations"] == {"note": "only kfctl sets this"}
    del body["metadata"]["annotations"]
    dropped = deployments.server_side_apply(body=body, namespace="default", field_manager="kfctl")
    assert "annotations" not in dropped.to_dict()["metadata"], "a field the manager stopped applying was kept"
    assert dropped.to_dict()["metadata"]["labels"] == {"app": "api"}, "a field another manager co-owns was removed"
    crds = dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    assert crds.short_names == ["crd", "crds"]


def test_watch_streams_added_modified_deleted(api) -> None:
    core = client.CoreV1Api(api)
    start = core.list_namespaced_config_map("default").metadata.resource_version
    seen: list[tuple[str, str]] = []

    def consume() -> None:
        w = watch.Watch()
        for event in w.stream(core.list_namespaced_config_map, "default", resource_version=start,
                              timeout_seconds=5):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                w.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(0.2)
    core.create_namespaced_config_map("default", {"metadata": {"name": "w"}})
    core.patch_namespaced_config_map("w", "default", {"data": {"x": "y"}})
    core.delete_namespaced_config_map("w", "default")
    thread.join(10)
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


def test_watch_from_a_compacted_version_is_410(sim_factory) -> None:
    sim = sim_factory(watch_history=5)
    api = config.new_client_from_config(config_file=sim.kubeconfig_path)
    core = client.CoreV1Api(api)
    for i in range(10):
        core.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}})
    with pytest.raises(ApiException) as gone:
        for _ in watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version="2",
                                      timeout_seconds=2):
            pass
    assert gone.value.status == 410
