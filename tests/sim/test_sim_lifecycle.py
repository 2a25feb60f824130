"""Deletion semantics: finalizers, propagation policies, garbage collection, namespaces, collections."""

from __future__ import annotations

import time
from typing import Any, Callable

import httpx
import pytest

from kfctl.sim import DeleteOptions, SimCluster

CM = "/api/v1/namespaces/default/configmaps"
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
def http(sim_cluster):
    with httpx.Client(base_url=sim_cluster.url, timeout=10) as c:
        yield c


def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def cm(name: str, **meta) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}}


def test_finalizers_keep_the_object_until_removed(http) -> None:
    http.post(CM, json=cm("held", finalizers=["example.com/hold"]))
    deleted = http.delete(f"{CM}/held")
    assert deleted.status_code == 200
    assert deleted.json()["metadata"]["deletionTimestamp"]
    live = http.get(f"{CM}/held").json()
    assert live["metadata"]["finalizers"] == ["example.com/hold"]
    added = http.patch(f"{CM}/held", json={"metadata": {"finalizers": ["example.com/hold", "x/y"]}}, headers=MERGE)
    assert added.status_code == 422 and added.json()["details"]["causes"] == [{
        "reason": "FieldValueForbidden", "field": "metadata.finalizers",
        "message": 'Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers '
                   '[]string{"x/y"}'}]
    gone = http.patch(f"{CM}/held", json={"metadata": {"finalizers": None}}, headers=MERGE)
    assert gone.status_code == 200
    assert http.get(f"{CM}/held").status_code == 404


def test_delete_preconditions(http) -> None:
    live = http.post(CM, json=cm("pre")).json()
    wrong = http.request("DELETE", f"{CM}/pre", json={"preconditions": {"uid": "not-it"}})
    assert wrong.status_code == 409
    assert wrong.json()["message"] == (f'Operation cannot be fulfilled on ConfigMap "pre": the UID in the precondition '
                                       f'(not-it) does not match the UID in record ({live["metadata"]["uid"]}). The '
                                       "object might have been deleted and then recreated")
    stale = http.request("DELETE", f"{CM}/pre", json={"preconditions": {"resourceVersion": "1"}})
    assert stale.status_code == 409
    ok = http.request("DELETE", f"{CM}/pre", json={"preconditions": {"uid": live["metadata"]["uid"]}})
    assert ok.status_code == 200 and ok.json()["status"] == "Success"


def _owned(name: str, owner: dict) -> dict:
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"],
           "uid": owner["metadata"]["uid"], "blockOwnerDeletion": True}
    return cm(name, ownerReferences=[ref])


def test_background_garbage_collection(http) -> None:
    owner = http.post(CM, json=cm("owner-bg")).json()
    http.post(CM, json=_owned("dep-bg", owner))
    assert http.delete(f"{CM}/owner-bg").status_code == 200
    assert eventually(lambda: http.get(f"{CM}/dep-bg").status_code == 404)


def test_foreground_deletion_waits_for_dependents(http) -> None:
    owner = http.post(CM, json=cm("owner-fg")).json()
    http.post(CM, json=_owned("dep-fg", owner))
    http.patch(f"{CM}/dep-fg", json={"metadata": {"finalizers": ["example.com/slow"]}}, headers=MERGE)
    r = http.request("DELETE", f"{CM}/owner-fg", json={"propagationPolicy": "Foreground"})
    assert "foregroundDeletion" in r.json()["metadata"]["finalizers"]
    assert eventually(lambda: http.get(f"{CM}/dep-fg").json()["metadata"].get("deletionTimestamp"))
    assert http.get(f"{CM}/owner-fg").status_code == 200, "owner went before its dependent"
    http.patch(f"{CM}/dep-fg", json={"metadata": {"finalizers": None}}, headers=MERGE)
    assert eventually(lambda: http.get(f"{CM}/owner-fg").status_code == 404)


def test_orphan_keeps_dependents_without_the_reference(http) -> None:
    owner = http.post(CM, json=cm("owner-or")).json()
    http.post(CM, json=_owned("dep-or", owner))
    http.delete(f"{CM}/owner-or", params={"propagationPolicy": "Orphan"})
    assert eventually(lambda: http.get(f"{CM}/owner-or").status_code == 404)
    dep = http.get(f"{CM}/dep-or").json()
    assert "ownerReferences" not in dep["metadata"]


def test_namespace_deletion_removes_contents_then_itself(http) -> None:
    http.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tmp"}})
    ns_cm = "/api/v1/namespaces/tmp/configmaps"
    http.post(ns_cm, json=cm("a"))
    http.post(ns_cm, json=cm("b", finalizers=["example.com/wait"]))
    r = http.delete("/api/v1/namespaces/tmp")
    assert r.json()["status"]["phase"] == "Terminating"
    assert eventually(lambda: http.get(f"{ns_cm}/a").status_code == 404)
    ns = eventually(lambda: (lambda o: o if o.get("status", {}).get("conditions") else None)(
        http.get("/api/v1/namespaces/tmp").json()))
    assert "example.com/wait in 1 resource instances" in ns["status"]["conditions"][0]["message"]
    refused = http.post(ns_cm, json=cm("c"))
    assert refused.status_code == 403 and refused.json()["reason"] == "Forbidden"
    assert refused.json()["message"] == ('configmaps "c" is forbidden: unable to create new content in namespace tmp '
                                         "because it is being terminated")
    http.patch(f"{ns_cm}/b", json={"metadata": {"finalizers": None}}, headers=MERGE)
    assert eventually(lambda: http.get("/api/v1/namespaces/tmp").status_code == 404)


def test_delete_collection_with_selector(http) -> None:
    for i, tier in enumerate("aab"):
        http.post(CM, json=cm(f"dc-{i}", labels={"tier": tier}))
    r = http.delete(CM, params={"labelSelector": "tier=a"})
    assert r.status_code == 200 and len(r.json()["items"]) == 2
    left = [o["metadata"]["name"] for o in http.get(CM).json()["items"]]
    assert left == ["dc-2"]


def test_in_process_access_and_subscriptions(sim_cluster: SimCluster) -> None:
    cluster = sim_cluster.cluster
    seen: list[tuple[str, str]] = []
    cluster.subscribe(lambda e: seen.append((e.type, e.name)))
    rtype = cluster.rtype("v1", "ConfigMap")
    made = cluster.create(rtype, "default", cm("inproc")).body
    assert made["metadata"]["uid"]
    cluster.update_with(rtype, "default", "inproc", lambda o: {**o, "data": {"x": "1"}})
    assert cluster.get(rtype, "default", "inproc")["data"] == {"x": "1"}
    cluster.delete(rtype, "default", "inproc", DeleteOptions())
    cluster.store.drain()
    assert seen == [("ADDED", "inproc"), ("MODIFIED", "inproc"), ("DELETED", "inproc")]


def test_admission_chain_can_mutate_and_reject(sim_cluster: SimCluster, http) -> None:
    from kfctl.sim.status import APIError

    def label_everything(request):
        obj = request.obj
        obj["metadata"].setdefault("labels", {})["admitted"] = "yes"
        return obj

    def no_secrets_named_bad(request):
        if request.rtype.kind == "ConfigMap" and request.name == "bad":
            raise APIError(403, "Forbidden", 'admission webhook "deny.example.com" denied the request: bad name')

    sim_cluster.cluster.admission.mutating.append(label_everything)
    sim_cluster.cluster.admission.validating.append(no_secrets_named_bad)
    assert http.post(CM, json=cm("good")).json()["metadata"]["labels"] == {"admitted": "yes"}
    denied = http.post(CM, json=cm("bad"))
    assert denied.status_code == 403 and "deny.example.com" in denied.json()["message"]


def test_system_namespaces_may_not_be_deleted(http) -> None:
    for name in ("default", "kube-system", "kube-public"):
        r = http.delete(f"/api/v1/namespaces/{name}")
        assert r.status_code == 403
        assert r.json()["message"] == f'namespaces "{name}" is forbidden: this namespace may not be deleted'
    assert http.delete("/api/v1/namespaces/kube-node-lease").status_code == 200
