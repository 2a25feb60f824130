"""The full default set of every platform: install in one pass, re-apply with no writes, delete cleanly.

Runs on both tiers (the ``kube`` fixture): the sim, and the real control plane (``-m realcluster``).
"""

from __future__ import annotations

import pytest

from kfctl.cluster import connect
from kfctl.engine.inventory import PART_OF, parent_name

from e2e_support import WRITE_VERBS, apply, delete, owned, refused_writes, write_kfdef

PLATFORMS = ["generic", "local", "gcp", "aws", "azure"]
#: StorageClasses the managed clusters come with (the platforms refer to them; aws ships its own gp3)
CLOUD_STORAGE = {"gcp": ("standard-rwo", "pd.csi.storage.gke.io"), "azure": ("managed-csi", "disk.csi.azure.com")}


def cloud_builtins(sim, platform: str) -> None:
    if platform in CLOUD_STORAGE:
        name, provisioner = CLOUD_STORAGE[platform]
        connect(sim.kubeconfig_path, None).apply({
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
            "provisioner": provisioner, "volumeBindingMode": "WaitForFirstConsumer"})


@pytest.mark.parametrize("platform", PLATFORMS)
def test_full_default_set_converges_reapplies_with_no_writes_and_deletes(platform, tmp_path, kube):
    sim = kube()
    cloud_builtins(sim, platform)
    kfdef = write_kfdef(tmp_path / "kf", platform=platform)
    deployment, result = apply(sim, kfdef)
    assert result.ok, [(str(o.ref), o.state, o.message) for o in result.problems][:10]
    # one pass: no custom resource before its CRD was served, no object sent to an unready webhook
    assert refused_writes(sim) == []
    live = owned(sim, deployment)
    assert set(live) == set(deployment.plan.nodes)
    versions = {ref: obj["metadata"]["resourceVersion"] for ref, obj in live.items()}

    writes_before = len([e for e in sim.timeline() if e["verb"] in WRITE_VERBS and not e.get("dry_run")])
    _, again = apply(sim, kfdef)
    assert again.ok and again.writes == 0
    assert len([e for e in sim.timeline() if e["verb"] in WRITE_VERBS and not e.get("dry_run")]) == writes_before
    assert {ref: obj["metadata"]["resourceVersion"] for ref, obj in owned(sim, deployment).items()} == versions

    cluster = connect(sim.kubeconfig_path, None)
    user_objects = [  # a user's work, in a namespace of their own: delete must not touch it
        ("v1", "Namespace", None, "alice", {}),
        ("kubeflow.org/v1", "Notebook", "alice", "analysis", {"spec": {"template": {"spec": {"containers": [
            {"name": "analysis", "image": "ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter-scipy:v1.10.0"}]}}}}),
        ("kubeflow.org/v1", "TFJob", "alice", "mnist", {"spec": {"tfReplicaSpecs": {"Worker": {"replicas": 1, "template": {
            "spec": {"containers": [{"name": "tensorflow", "image": "tensorflow/tensorflow:2.16.1"}]}}}}}}),
    ]
    served = {r.name for r in deployment.plan.nodes if r.kind == "CustomResourceDefinition"}
    # 26.03's default set has Trainer v2, not training-operator: a TFJob only where its CRD is deployed
    user_objects = [o for o in user_objects if o[1] != "TFJob" or "tfjobs.kubeflow.org" in served]
    for api_version, kind, namespace, name, body in user_objects:
        meta = {"name": name, **({"namespace": namespace} if namespace else {})}
        cluster.apply({"apiVersion": api_version, "kind": kind, "metadata": meta, **body})

    deleted = delete(sim, deployment.name)
    assert deleted.ok, deleted.stuck
    for api_version, kind, namespace, name, _ in user_objects:
        assert cluster.get(api_version, kind, namespace, name) is not None, (kind, name)
    assert owned(sim, deployment) == {}
    assert cluster.get("v1", "ConfigMap", "kubeflow", parent_name(deployment.name)) is None
    kept = {ref for ref, _ in deleted.kept}
    crds = {str(r) for r in deployment.plan.nodes if r.kind == "CustomResourceDefinition"}
    pvcs = {str(r) for r in deployment.plan.nodes if r.kind == "PersistentVolumeClaim"}
    profiles = {str(r) for r in deployment.plan.nodes if (r.group, r.kind) == ("kubeflow.org", "Profile")}
    assert crds | pvcs | profiles <= kept  # a Profile's controller would delete its user's namespace with it
    for ref in deployment.plan.nodes:
        if ref.kind in ("CustomResourceDefinition", "PersistentVolumeClaim", "Profile") or ref.kind == "Namespace":
            continue
        group_version = deployment.plan.nodes[ref].manifest["apiVersion"]
        assert cluster.get(group_version, ref.kind, ref.namespace or None, ref.name) is None, ref
    for ref in crds:
        name = ref.split("/", 1)[1]
        crd = cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, name)
        assert crd is not None and PART_OF not in (crd["metadata"].get("labels") or {})
