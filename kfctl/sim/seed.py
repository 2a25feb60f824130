"""What a shaped cluster holds before anyone connects: namespaces, quotas, users' RBAC, pre-installed components.

A cluster shape (:mod:`kfctl.sim.shape`) describes a cluster that already has
things in it. :func:`seed` writes them through the ordinary request pipeline
(so they carry uids, managedFields and resourceVersions like anything else)
when the sim starts, before it serves. It is idempotent: a persisted sim that
restarts keeps what it has and only adds what is missing. Nodes and
StorageClasses are not here: the simulated controllers register them
(:mod:`kfctl.sim.behaviour`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kfctl.sim.options import WriteOptions
from kfctl.sim.shape import ClusterShape, ShapeError, UserSpec
from kfctl.sim.status import APIError

if TYPE_CHECKING:
    from kfctl.sim.cluster import Cluster

#: the field manager of the objects a shape creates (kubectl shows it in managedFields)
SHAPE_MANAGER = "kfctl-sim-shape"
RBAC = "rbac.authorization.k8s.io/v1"


def ensure(cluster: Cluster, obj: dict[str, Any], manager: str = SHAPE_MANAGER) -> None:
    """Create ``obj`` unless an object of that name exists (a persisted sim keeps its own)."""
    rtype = cluster.types.by_kind(obj["apiVersion"], obj["kind"])
    if rtype is None:
        raise RuntimeError(f"the sim does not serve {obj['apiVersion']} {obj['kind']}")
    namespace = obj["metadata"].get("namespace", "") if rtype.namespaced else ""
    if cluster.store.get(rtype.group, rtype.plural, namespace, obj["metadata"]["name"]) is not None:
        return
    try:
        cluster.create(rtype, namespace, obj, WriteOptions(field_manager=manager, field_validation="Strict"))
    except APIError as exc:
        if exc.code != 409:
            raise _Refused(obj, exc) from None


def namespace(name: str, labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None
              ) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def user_objects(user: UserSpec) -> list[dict[str, Any]]:
    """The Role/ClusterRole holding a user's rules and the bindings that give them (and its roleRefs) to it."""
    subject = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user.name}]
    own = f"kfctl-sim:{user.name}"
    out: list[dict[str, Any]] = []
    if user.rules:
        kind = "Role" if user.namespace else "ClusterRole"
        meta: dict[str, Any] = {"name": own}
        if user.namespace:
            meta["namespace"] = user.namespace
        out.append({"apiVersion": RBAC, "kind": kind, "metadata": meta, "rules": [dict(r) for r in user.rules]})
        out.append(_binding(own, user.namespace, kind, own, subject))
    for ref in user.role_refs:
        ns = ref.get("namespace", "") or (user.namespace if ref["kind"] == "Role" else "")
        name = f"kfctl-sim:{user.name}:{ref['kind'].lower()}:{ref['name']}"
        out.append(_binding(name, ns, ref["kind"], ref["name"], subject))
    return out


def _binding(name: str, ns: str, ref_kind: str, ref_name: str, subjects: list[dict[str, Any]]) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {"apiVersion": RBAC, "kind": "RoleBinding" if ns else "ClusterRoleBinding", "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": ref_kind, "name": ref_name},
            "subjects": subjects}


def seed(cluster: Cluster, shape: ClusterShape) -> None:
    """Write everything of ``shape`` that lives in the API (not nodes or StorageClasses).

    An object the API refuses (a quota or role the shape spelled wrongly) raises :class:`ShapeError` naming it.
    """
    try:
        _seed(cluster, shape)
    except _Refused as exc:
        obj, error = exc.args
        meta = obj["metadata"]
        ident = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
        raise ShapeError(f"{shape.source or '<shape>'}: {obj['kind']} {ident}: the API server refuses it: "
                         f"{error.message}\n  hint: fix it in the shape file") from None


class _Refused(Exception):
    pass


def _seed(cluster: Cluster, shape: ClusterShape) -> None:
    from kfctl.sim import rbac

    wanted = [ns.name for ns in shape.namespaces] + [u.namespace for u in shape.users if u.namespace] + \
        [r["namespace"] for u in shape.users for r in u.role_refs if r.get("namespace")]
    labels = {ns.name: dict(ns.labels) for ns in shape.namespaces}
    for name in dict.fromkeys(wanted):
        ensure(cluster, namespace(name, labels.get(name)))
    for ns in shape.namespaces:
        for quota in ns.resource_quotas:
            ensure(cluster, {"apiVersion": "v1", "kind": "ResourceQuota",
                             "metadata": {"name": quota["name"], "namespace": ns.name}, "spec": dict(quota["spec"])})
        for limits in ns.limit_ranges:
            ensure(cluster, {"apiVersion": "v1", "kind": "LimitRange",
                             "metadata": {"name": limits["name"], "namespace": ns.name}, "spec": dict(limits["spec"])})
    if shape.users:
        for obj in rbac.default_cluster_roles():
            ensure(cluster, obj)
        for user in shape.users:
            for obj in user_objects(user):
                ensure(cluster, obj)
    if shape.components:
        from kfctl.sim import components
    for spec in shape.components:
        for obj in components.objects(spec):
            ensure(cluster, obj, manager="helm")
