"""Prune, alone, with its arguments spelt out: deleted, kept (and released) and gone members."""

from __future__ import annotations

from kfctl.engine import events as ev
from kfctl.engine.inventory import PART_OF, RELEASED_FROM, Inventory, Member
from kfctl.engine.keep import kept_reason
from kfctl.engine.prune import prune, stale_members
from kfctl.plan import ObjectRef

SET = "applyset-x"


class FakeCluster:
    """Objects by (kind, name); deletes are immediate."""

    def __init__(self, *objs: dict) -> None:
        self.objs = {(o["kind"], o["metadata"]["name"]): o for o in objs}
        self.patches: list[tuple[str, dict]] = []

    def get(self, api_version, kind, namespace, name):
        return self.objs.get((kind, name))

    def delete(self, api_version, kind, namespace, name, **kwargs):
        return self.objs.pop((kind, name), None)

    def merge_patch(self, api_version, kind, namespace, name, patch, **kwargs):
        self.patches.append((name, patch))
        return self.objs[(kind, name)]


def obj(kind: str, name: str, api: str = "v1") -> dict:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": "ns", "labels": {PART_OF: SET}}}


def test_prune_deletes_keeps_and_knows_what_was_already_gone():
    crd = {**obj("CustomResourceDefinition", "w.example.com", "apiextensions.k8s.io/v1")}
    crd["metadata"].pop("namespace")
    cluster = FakeCluster(obj("ConfigMap", "old"), obj("PersistentVolumeClaim", "data"), crd)
    stale = [Member("v1", "ConfigMap", "ns", "old", "c"), Member("v1", "ConfigMap", "ns", "never-made", "c"),
             Member("v1", "PersistentVolumeClaim", "ns", "data", "c"),
             Member("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "w.example.com", "c")]
    said: list[tuple[str, str]] = []
    writes: list[int] = []
    result = prune(cluster, stale, set_id=SET, purge_crds=False, timeout=5, concurrency=2,
                   report=lambda kind, message, component, o: said.append((kind, o)), count_write=lambda: writes.append(1))
    assert result.pruned == ("ConfigMap/ns/old",)
    assert sorted(result.kept) == ["CustomResourceDefinition/w.example.com", "PersistentVolumeClaim/ns/data"]
    assert result.gone == ("ConfigMap/ns/never-made",)
    assert result.released == frozenset(result.pruned + result.kept + result.gone)
    assert sorted(name for name, _ in cluster.patches) == ["data", "w.example.com"]
    assert all(p["metadata"]["annotations"][RELEASED_FROM] == SET for _, p in cluster.patches)
    assert (ev.PRUNED, "ConfigMap/ns/old") in said and len(writes) == 3  # one delete, two releases


def test_stale_members_and_the_keep_rule():
    old = Inventory("x", "ns", (Member("v1", "ConfigMap", "ns", "a", "c"), Member("v1", "ConfigMap", "ns", "b", "c")), {})
    assert [m.name for m in stale_members([ObjectRef("", "ConfigMap", "ns", "a")], old)] == ["b"]
    assert stale_members([], None) == []
    claim = ObjectRef("", "PersistentVolumeClaim", "ns", "data")
    crd = ObjectRef("apiextensions.k8s.io", "CustomResourceDefinition", "", "w.example.com")
    assert kept_reason(claim) and kept_reason(crd)
    assert kept_reason(claim, delete_storage=True) is None and kept_reason(crd, purge_crds=True) is None
    assert kept_reason(ObjectRef("", "ConfigMap", "ns", "a")) is None
    profile = ObjectRef("kubeflow.org", "Profile", "", "kubeflow-user-example-com")  # its namespace is a user's
    assert "namespace" in (kept_reason(profile) or "")
    assert kept_reason(profile, purge_crds=True, delete_storage=True)  # neither flag deletes a user's namespace
