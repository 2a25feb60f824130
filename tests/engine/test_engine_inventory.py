"""The inventory part alone: reading and writing the ApplySet parent with every argument spelt out."""

from __future__ import annotations

import copy
import json

import pytest

from kfctl.cluster import connect
from kfctl.engine.inventory import (
    APPLYSET_ID,
    TOOLING,
    Member,
    applyset_id,
    delete_inventory,
    parent_manifest,
    parent_name,
    read_inventory,
    ready_condition,
    write_inventory,
)
from kfctl.errors import OperationFailed

A = Member("v1", "ConfigMap", "kubeflow", "a", "core")
B = Member("v1", "ConfigMap", "kubeflow", "b", "core")
ROLE = Member("rbac.authorization.k8s.io/v1", "ClusterRole", "", "viewer", "core")
NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubeflow"}}


class FakeCluster:
    """Objects by (kind, namespace, name); apply stores a copy with a resourceVersion; every call is recorded."""

    def __init__(self, *objs: dict) -> None:
        self.objs = {self._key(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objs}
        self.calls: list[tuple[str, str, str]] = []

    @staticmethod
    def _key(kind: str, namespace: str | None, name: str) -> tuple[str, str, str]:
        return kind, namespace or "", name

    def get(self, api_version, kind, namespace, name):
        self.calls.append(("get", kind, name))
        return copy.deepcopy(self.objs.get(self._key(kind, namespace, name)))

    def apply(self, manifest, *, force=False, dry_run=False):
        self.calls.append(("apply", manifest["kind"], manifest["metadata"]["name"]))
        stored = copy.deepcopy(dict(manifest))
        stored["metadata"]["resourceVersion"] = str(len(self.calls))
        self.objs[self._key(manifest["kind"], manifest["metadata"].get("namespace"), manifest["metadata"]["name"])] = stored
        return stored

    def delete(self, api_version, kind, namespace, name, **kwargs):
        self.calls.append(("delete", kind, name))
        return self.objs.pop(self._key(kind, namespace, name), None)

    def writes(self) -> list[tuple[str, str, str]]:
        return [c for c in self.calls if c[0] != "get"]


def recorded(cluster: FakeCluster) -> tuple[list[list[str]], dict]:
    data = cluster.objs[("ConfigMap", "kubeflow", parent_name("demo"))]["data"]
    return json.loads(data["members.json"]), json.loads(data["status.json"])


def test_no_namespace_means_never_applied_unless_the_namespace_is_required():
    cluster = FakeCluster()
    assert read_inventory(cluster, "demo", "kubeflow") is None
    assert cluster.calls == [("get", "Namespace", "kubeflow")]  # no parent asked for in a namespace that is not there
    with pytest.raises(OperationFailed, match="namespace kubeflow does not exist and is not part of the deployment"):
        read_inventory(cluster, "demo", "kubeflow", require_namespace=True)


def test_a_namespace_without_a_parent_has_no_inventory():
    assert read_inventory(FakeCluster(NS), "demo", "kubeflow", require_namespace=True) is None


def test_the_parent_is_read_back_with_members_and_status():
    parent = parent_manifest(deployment="demo", namespace="kubeflow", members=[B, A, ROLE], status={"release": "1.10"})
    inventory = read_inventory(FakeCluster(NS, parent), "demo", "kubeflow")
    assert inventory is not None
    assert set(inventory.members) == {A, B, ROLE} and inventory.status == {"release": "1.10"}
    assert inventory.id == applyset_id("demo", "kubeflow") == parent["metadata"]["labels"][APPLYSET_ID]
    assert inventory.tooling.startswith("kfctl/v")


def test_another_tools_parent_is_refused_unless_asked_not_to():
    parent = parent_manifest(deployment="demo", namespace="kubeflow", members=[A], status={})
    parent["metadata"]["annotations"][TOOLING] = "kubectl/v1.31"
    cluster = FakeCluster(NS, parent)
    assert read_inventory(cluster, "demo", "kubeflow", refuse_foreign=False) is not None
    with pytest.raises(OperationFailed, match="ApplySet parent of kubectl/v1.31; kfctl will not take over"):
        read_inventory(cluster, "demo", "kubeflow")


def test_a_write_keeps_old_members_until_they_are_released_and_is_skipped_when_nothing_changes():
    cluster = FakeCluster(NS)
    counted: list[int] = []
    wrote = write_inventory(cluster, deployment="demo", namespace="kubeflow", members=[A, B], old=None,
                            status={"release": "1.10"}, count_write=lambda: counted.append(1))
    assert wrote and counted == [1]
    old = read_inventory(cluster, "demo", "kubeflow")
    assert old is not None
    # the next apply renders only A and ROLE: B stays listed until prune releases it
    assert write_inventory(cluster, deployment="demo", namespace="kubeflow", members=[A, ROLE], old=old, status={})
    rows, _ = recorded(cluster)
    assert sorted(row[3] for row in rows) == ["a", "b", "viewer"]
    assert write_inventory(cluster, deployment="demo", namespace="kubeflow", members=[A, ROLE], old=old, status={},
                           released={"ConfigMap/kubeflow/b"})
    rows, _ = recorded(cluster)
    assert sorted(row[3] for row in rows) == ["a", "viewer"]
    before = len(cluster.writes())
    assert not write_inventory(cluster, deployment="demo", namespace="kubeflow", members=[ROLE, A], old=old, status={},
                               released={"ConfigMap/kubeflow/b"}, count_write=lambda: counted.append(1))
    assert len(cluster.writes()) == before and counted == [1]  # the live parent already says this


def test_widen_only_writes_just_when_the_old_inventory_lacks_a_member():
    cluster = FakeCluster(NS)
    write_inventory(cluster, deployment="demo", namespace="kubeflow", members=[A, B], old=None, status={})
    old = read_inventory(cluster, "demo", "kubeflow")
    calls = len(cluster.calls)
    applying = {"conditions": [ready_condition(final=False, healthy=0, total=1)]}
    assert not write_inventory(cluster, deployment="demo", namespace="kubeflow", members=[A], old=old,
                               status=applying, widen_only=True)
    assert len(cluster.calls) == calls  # decided without a request
    assert write_inventory(cluster, deployment="demo", namespace="kubeflow", members=[A, ROLE], old=old,
                           status=applying, widen_only=True)
    rows, status = recorded(cluster)
    assert sorted(row[3] for row in rows) == ["a", "b", "viewer"]
    assert status["conditions"][0]["reason"] == "Applying"


def test_ready_condition():
    assert ready_condition(final=False, healthy=3, total=3)["status"] == "Unknown"
    assert ready_condition(final=True, healthy=3, total=3) == {
        "type": "Ready", "status": "True", "reason": "Healthy", "message": "3 of 3 objects healthy"}
    failed = ready_condition(final=True, healthy=2, total=3)
    assert (failed["status"], failed["reason"], failed["message"]) == ("False", "Failed", "2 of 3 objects healthy")


def test_written_read_back_and_deleted_on_the_sim(sim_cluster):
    cluster = connect(sim_cluster.kubeconfig_path, None)
    try:
        cluster.apply(NS)
        assert write_inventory(cluster, deployment="demo", namespace="kubeflow", members=[A, ROLE], old=None,
                               status={"release": "26.03"})
        inventory = read_inventory(cluster, "demo", "kubeflow", refuse_foreign=True)
        assert inventory is not None and set(inventory.members) == {A, ROLE}
        assert inventory.status == {"release": "26.03"}
        # what the server stored (defaults, managedFields) is no reason to write again
        assert not write_inventory(cluster, deployment="demo", namespace="kubeflow", members=[A, ROLE], old=inventory,
                                   status={"release": "26.03"})
        delete_inventory(cluster, "demo", "kubeflow")
        assert read_inventory(cluster, "demo", "kubeflow") is None
    finally:
        cluster.close()
