"""The storage check on shaped sims: a default class, a named one, none at all."""

from __future__ import annotations

from checks_helpers import plan_of

from kfctl.engine.checks.model import Facts
from kfctl.engine.checks.storage import check_storage
from kfctl.sim.behaviour import ClusterShape

FACTS = Facts("app", "kubeflow")


def claim(name: str, cls: str | None = None) -> dict:
    spec: dict = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if cls:
        spec["storageClassName"] = cls
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "kubeflow"},
            "spec": spec}


def test_the_default_class_serving_the_claims_is_named_with_provisioner_and_binding_mode(shaped):
    cluster = shaped(ClusterShape.uniform(1, volume_binding_mode="WaitForFirstConsumer"))
    [finding] = check_storage(cluster, plan_of(claim("a"), claim("b")), FACTS)
    assert finding.status == "pass" and "every claim of the plan (2)" in finding.message
    assert "volumeBindingMode WaitForFirstConsumer" in finding.message
    assert finding.details[0].startswith("standard (provisioner ") and finding.details[0].endswith(": 2 claims")


def test_no_default_class_fails_for_a_claim_without_one_and_warns_otherwise(shaped):
    cluster = shaped(ClusterShape.uniform(1, default_storage_class=False, extra_storage_classes=("fast",)))
    failed = check_storage(cluster, plan_of(claim("a")), FACTS)
    assert [f.status for f in failed] == ["fail"]
    assert "PersistentVolumeClaim/kubeflow/a names no StorageClass" in failed[0].details[0]
    named = check_storage(cluster, plan_of(claim("a", "fast")), FACTS)
    assert [f.status for f in named] == ["pass", "warn"]
    assert "no default StorageClass (it has: fast)" in named[1].message
    assert "kubectl annotate storageclass" in named[1].fix


def test_a_class_the_cluster_lacks_fails(shaped):
    cluster = shaped(ClusterShape.uniform(1))
    [finding] = check_storage(cluster, plan_of(claim("a", "gold")), FACTS)
    assert finding.status == "fail" and "'gold', which the cluster lacks" in finding.details[0]
