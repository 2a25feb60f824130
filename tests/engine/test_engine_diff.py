"""diff against a cluster that holds little or nothing of the deployment: few requests, the same answers."""

from __future__ import annotations

from collections import Counter

from kfctl.cluster import connect
from kfctl.engine.diff import compute
from kfctl.engine.observe import LIST_FROM, Lookup
from kfctl.plan import ObjectRef, build_plan

RBAC = "rbac.authorization.k8s.io/v1"


def cm(namespace: str, name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": {"a": "1"}}


def secret(namespace: str, name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}, "stringData": {"k": "v"}}


def role(name: str) -> dict:
    return {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": name},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}


#: cluster-scoped, and not among the kinds listed whole: fetched by name
VOLUME = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "data"},
          "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/data"}}}


def objects() -> list[dict]:
    """A deployment of 124 objects, most in a namespace it creates, a few in one that exists."""
    out: list[dict] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}, VOLUME]
    out += [cm("team", f"c{i}") for i in range(60)] + [secret("team", f"s{i}") for i in range(20)]
    out += [role(f"r{i}") for i in range(30)]
    # a custom resource whose CRD is not installed: a kind not served has no objects to ask for
    out += [{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": f"w{i}"}} for i in range(5)]
    out += [cm("default", f"d{i}") for i in range(LIST_FROM + 2)] + [secret("default", "one")]
    return out


def object_requests(sim, since: int) -> list[dict]:
    """Requests for objects (discovery left out) made after the first ``since`` of the timeline."""
    return [r for r in sim.timeline()[since:] if not r["resource"].startswith("/")]


def test_a_diff_on_an_empty_cluster_lists_a_few_kinds_instead_of_getting_each_object(sim_cluster):
    plan = build_plan([("app", d) for d in objects()])
    cluster = connect(sim_cluster.kubeconfig_path, None)
    try:
        since = len(sim_cluster.timeline())
        changes = compute(cluster, plan, deployment="demo", namespace="team")
    finally:
        cluster.close()
    assert len(changes) == len(plan) == 124 and {c.action for c in changes} == {"create"}
    asked = object_requests(sim_cluster, since)
    gets = Counter(r["resource"] for r in asked if r["verb"] == "get")
    # Nothing in the namespace that does not exist, nor of the kind not served, is asked for. The
    # ClusterRoles and namespaces are listed whole, the ConfigMaps in "default" listed there once; the
    # PersistentVolume and the lone Secret in "default" cost a GET each (the namespace GET is the
    # inventory's). One GET per object would be 124.
    assert gets == {"persistentvolumes": 1, "namespaces": 1, "secrets": 1}, gets
    assert Counter((r["resource"], r["namespace"]) for r in asked if r["verb"] == "list")[("configmaps", "default")] == 1
    assert len(asked) <= 15, [(r["verb"], r["resource"], r["namespace"], r["name"]) for r in asked]
    assert "+kind: ConfigMap" in next(c for c in changes if c.ref.name == "c0").detail


def test_objects_found_by_a_list_are_decided_as_if_each_was_fetched(sim_cluster):
    cluster = connect(sim_cluster.kubeconfig_path, None)
    try:
        # someone else made one object of each way of looking: listed whole, listed in its namespace, fetched
        for obj in (role("r3"), cm("default", "d2"), secret("default", "one")):
            cluster.apply(obj)
        changes = {str(c.ref): c for c in compute(cluster, build_plan([("app", d) for d in objects()]),
                                                  deployment="demo", namespace="team")}
        for ref in ("ClusterRole/r3", "ConfigMap/default/d2", "Secret/default/one"):
            assert changes[ref].action == "refuse" and "--adopt" in changes[ref].detail, (ref, changes[ref].detail)
        assert changes["ConfigMap/default/d1"].action == "create"
        lookup = Lookup(cluster)
        wanted = {ObjectRef("", "ConfigMap", "default", f"d{i}"): "v1" for i in range(LIST_FROM)}
        wanted[ObjectRef("rbac.authorization.k8s.io", "ClusterRole", "", "r3")] = RBAC
        lookup.prepare(wanted)
        for ref, api in wanted.items():  # the listed object is the one a GET returns
            assert lookup.get(api, ref) == cluster.get(api, ref.kind, ref.namespace or None, ref.name), ref
        assert lookup.absent(ObjectRef("", "ConfigMap", "nowhere", "x"))
    finally:
        cluster.close()
