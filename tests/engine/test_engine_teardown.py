"""Teardown's waiting: a phase is sent whole, then waited on whole, a few reads per look."""

from __future__ import annotations

import threading
from typing import Any

from kfctl.engine.teardown import Target, delete_in_order
from kfctl.errors import KindNotServed
from kfctl.plan import ObjectRef


class Terminating:
    """A cluster whose deleted objects stay (terminating) for ``looks`` reads of them, then go.

    ``replaced`` objects come back at once under a new uid, as a controller would recreate them.
    """

    def __init__(self, objects: list[tuple[str, str, str, str]], *, looks: int = 2, replaced: tuple[str, ...] = (),
                 stuck: tuple[str, ...] = ()) -> None:
        self.live: dict[tuple[str, str, str], dict[str, Any]] = {}
        for api_version, kind, namespace, name in objects:
            self.live[(kind, namespace, name)] = {"apiVersion": api_version, "kind": kind, "metadata": {
                "name": name, "namespace": namespace, "uid": f"uid-{name}"}}
        self.looks_left: dict[tuple[str, str, str], int] = {}
        self.looks, self.replaced, self.stuck = looks, replaced, stuck
        self.deletes = 0
        self.deletes_at_first_look: int | None = None
        self.reads: list[str] = []
        self.lock = threading.Lock()

    def delete(self, api_version: str, kind: str, namespace: str | None, name: str, *, propagation: str = "Background",
               dry_run: bool = False) -> dict[str, Any] | None:
        key = (kind, namespace or "", name)
        with self.lock:
            obj = self.live.get(key)
            if obj is None:
                return None
            self.deletes += 1
            if name in self.replaced:
                self.live[key] = {**obj, "metadata": {**obj["metadata"], "uid": f"new-{name}"}}
                return {"kind": "Status", "status": "Success", "details": {"name": name, "uid": f"uid-{name}"}}
            obj["metadata"]["deletionTimestamp"] = "2026-12-06T00:00:00Z"
            self.looks_left[key] = 10**9 if name in self.stuck else self.looks
            return obj

    def _look(self, key: tuple[str, str, str]) -> dict[str, Any] | None:
        if self.deletes_at_first_look is None:
            self.deletes_at_first_look = self.deletes
        if key in self.looks_left:
            self.looks_left[key] -= 1
            if self.looks_left[key] < 0:
                del self.looks_left[key]
                self.live.pop(key, None)
        return self.live.get(key)

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        with self.lock:
            self.reads.append(f"get {kind}/{name}")
            return self._look((kind, namespace or "", name))

    def list(self, api_version: str, kind: str, *, namespace: str | None = None, **_: Any) -> tuple[list, str]:
        if kind == "Gone":
            raise KindNotServed(f"{kind} is not served")
        with self.lock:
            self.reads.append(f"list {kind} in {namespace}")
            keys = [k for k in self.live if k[0] == kind and k[1] == (namespace or "")]
            return [obj for obj in (self._look(k) for k in keys) if obj is not None], "1"


def targets(cluster: Terminating) -> list[Target]:
    return [Target(obj["apiVersion"], ObjectRef("apps" if kind == "Deployment" else "", kind, namespace, name))
            for (kind, namespace, name), obj in cluster.live.items()]


def test_a_phase_is_deleted_whole_before_it_is_waited_on_with_one_list_per_kind_and_namespace():
    cluster = Terminating([("apps/v1", "Deployment", "kubeflow", f"app-{i:02}") for i in range(20)], looks=3)
    gone: list[str] = []
    deleted, stuck = delete_in_order(cluster, targets(cluster), on_deleted=lambda t: gone.append(t.ref.name),
                                     on_stuck=lambda t, why: None, concurrency=2, timeout=30)
    assert stuck == [] and len(deleted) == 20 and sorted(gone) == [f"app-{i:02}" for i in range(20)]
    # every delete of the phase went out before the first look, although only two run at a time
    assert cluster.deletes_at_first_look == 20
    # and each look was one list of the kind in its namespace, not a read per object
    assert set(cluster.reads) == {"list Deployment in kubeflow"} and len(cluster.reads) == 4


def test_an_object_recreated_under_its_name_counts_as_gone_and_a_stuck_one_is_named_with_its_finalizers():
    cluster = Terminating([("v1", "ConfigMap", "kubeflow", "recreated"), ("v1", "ConfigMap", "kubeflow", "held")],
                          replaced=("recreated",), stuck=("held",))
    cluster.live[("ConfigMap", "kubeflow", "held")]["metadata"]["finalizers"] = ["example.com/guard"]
    stuck_ones: list[tuple[str, str]] = []
    deleted, stuck = delete_in_order(cluster, targets(cluster), on_deleted=lambda t: None,
                                     on_stuck=lambda t, why: stuck_ones.append((t.ref.name, why)), timeout=0.5)
    assert [t.ref.name for t in deleted] == ["recreated"]
    assert [(t.ref.name, why) for t, why in stuck] == stuck_ones
    assert stuck_ones == [("held", "finalizers example.com/guard were not removed by their controller")]
    # two objects of a kind are read one by one, not listed
    assert all(read.startswith("get ConfigMap/") for read in cluster.reads)


def test_an_object_whose_kind_is_no_longer_served_is_gone():
    cluster = Terminating([(f"example.com/v1", "Gone", "kubeflow", f"g{i}") for i in range(3)])
    deleted, stuck = delete_in_order(cluster, targets(cluster), on_deleted=lambda t: None,
                                     on_stuck=lambda t, why: None, timeout=5)
    assert stuck == [] and len(deleted) == 3
