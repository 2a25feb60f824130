"""What the cluster lacks for a plan, found before the first write.

Two problems used to show only as an apply that waited out its whole
timeout: a claim naming a StorageClass the cluster does not have (it stays
Pending, and so does every pod mounting it), and an object of a kind the
cluster does not serve and no CRD in the plan defines (retried as "not
served yet" until the object timeout). :func:`lacking` reads the cluster's
StorageClasses and discovery, and names each such object; ``kfctl apply``
refuses them with exit 2 before it writes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kfctl.engine.clusterapi import ClusterAPI
from kfctl.plan import ObjectRef, Plan

DEFAULT_CLASS = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")


def is_default(obj: Mapping[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return any(str(annotations.get(key, "")).lower() == "true" for key in DEFAULT_CLASS)


def claims_of(ref: ObjectRef, manifest: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """(what, storageClassName or None when unset) for a claim, or each volumeClaimTemplate of a StatefulSet."""
    if ref.group == "" and ref.kind == "PersistentVolumeClaim":
        return [(str(ref), (manifest.get("spec") or {}).get("storageClassName"))]
    if ref.group == "apps" and ref.kind == "StatefulSet":
        return [(f"{ref} volumeClaimTemplate {(t.get('metadata') or {}).get('name')}",
                 (t.get("spec") or {}).get("storageClassName"))
                for t in (manifest.get("spec") or {}).get("volumeClaimTemplates") or ()]
    return []


def missing_storage(cluster: ClusterAPI, plan: Plan) -> list[str]:
    """Claims naming a StorageClass neither the cluster nor the plan has, or none with no default class."""
    planned = {ref.name: node.manifest for ref, node in plan.nodes.items()
               if ref.group == "storage.k8s.io" and ref.kind == "StorageClass"}
    wanted = [claim for ref, node in plan.nodes.items() for claim in claims_of(ref, node.manifest)]
    if not wanted:
        return []
    live, _ = cluster.list("storage.k8s.io/v1", "StorageClass")
    classes = {str((sc.get("metadata") or {}).get("name")): sc for sc in live} | planned
    has_default = any(is_default(sc) for sc in classes.values())
    known = ", ".join(sorted(classes)) or "none"
    out: list[str] = []
    for what, name in wanted:
        if name is None and not has_default:
            out.append(f"{what} names no StorageClass and the cluster has no default one (it has: {known}); "
                       "set the component's storageClassName parameter, or mark a class as the default")
        elif name and name not in classes:
            out.append(f"{what} names StorageClass {name!r}, which the cluster lacks (it has: {known}); "
                       "set the component's storageClassName parameter to one of those, or create it")
    return out


def unserved_kinds(cluster: ClusterAPI, plan: Plan) -> list[str]:
    """Objects of kinds the cluster does not serve and no CRD in the plan defines."""
    defined = set()
    for ref, node in plan.nodes.items():
        if ref.group == "apiextensions.k8s.io" and ref.kind == "CustomResourceDefinition":
            spec = node.manifest.get("spec") or {}
            defined.add((str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", ""))))
    by_kind: dict[tuple[str, str], list[ObjectRef]] = {}
    for ref, node in plan.nodes.items():
        if (ref.group, ref.kind) in defined:
            continue
        by_kind.setdefault((str(node.manifest.get("apiVersion")), ref.kind), []).append(ref)
    out: list[str] = []
    for (api_version, kind), refs in sorted(by_kind.items()):
        if not cluster.serves(api_version, kind):
            shown = ", ".join(str(r) for r in refs[:3]) + (f" and {len(refs) - 3} more" if len(refs) > 3 else "")
            out.append(f"{shown}: the cluster does not serve {kind} ({api_version}) and no CRD in this deployment "
                       "defines it; install what provides it first, or leave the object out")
    return out


def lacking(cluster: ClusterAPI, plan: Plan) -> list[str]:
    """Everything :mod:`this module <kfctl.engine.preflight>` finds missing, one line each."""
    return unserved_kinds(cluster, plan) + missing_storage(cluster, plan)
