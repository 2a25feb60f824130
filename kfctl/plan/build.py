"""Build a :class:`Plan` from rendered objects: run the edge rules, honour declared edges.

Declared edges use the key of sigs.k8s.io/cli-utils (kpt, Config Sync), so
manifests written for those tools keep their meaning here::

    metadata:
      annotations:
        config.kubernetes.io/depends-on: apps/namespaces/kubeflow/Deployment/mysql,rbac.authorization.k8s.io/ClusterRole/kubeflow-view

Each reference is ``<group>/namespaces/<namespace>/<kind>/<name>`` for a
namespaced object or ``<group>/<kind>/<name>`` for a cluster-scoped one (an
empty group for the core API: ``/namespaces/kubeflow/ConfigMap/x``). A
reference to an object outside the deployment is an error.

Webhook edges are added last and any that would close a cycle is dropped: a
webhook's own workload (or anything it needs) never waits for that webhook.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kfctl.plan import rules
from kfctl.plan.graph import Edge, ObjectRef, Plan, PlanError
from kfctl.plan.index import Index

DEPENDS_ON_ANNOTATION = "config.kubernetes.io/depends-on"


def _parse_reference(text: str) -> ObjectRef | None:
    parts = text.strip().split("/")
    if len(parts) == 5 and parts[1] == "namespaces":
        return ObjectRef(parts[0], parts[3], parts[2], parts[4])
    if len(parts) == 3:
        return ObjectRef(parts[0], parts[1], "", parts[2])
    return None


def _declared(index: Index) -> Iterable[Edge]:
    for node in index.nodes:
        annotations = (node.manifest.get("metadata") or {}).get("annotations") or {}
        value = annotations.get(DEPENDS_ON_ANNOTATION)
        if not value:
            continue
        for text in str(value).split(","):
            ref = _parse_reference(text)
            if ref is None:
                raise PlanError(
                    f"{node.ref}: annotation {DEPENDS_ON_ANNOTATION}: cannot read {text.strip()!r}",
                    hint="write <group>/namespaces/<namespace>/<kind>/<name> or <group>/<kind>/<name>",
                )
            if ref not in index.by_ref:
                raise PlanError(
                    f"{node.ref}: annotation {DEPENDS_ON_ANNOTATION} names {ref}, which is not part of this deployment",
                    hint="a declared dependency must be an object kfctl deploys in the same run",
                )
            yield Edge(node.ref, ref, f"declared in {DEPENDS_ON_ANNOTATION}")


def _reaches(requires: dict[ObjectRef, set[ObjectRef]], start: ObjectRef, goal: ObjectRef) -> bool:
    stack, seen = [start], {start}
    while stack:
        ref = stack.pop()
        if ref == goal:
            return True
        for nxt in requires.get(ref, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def build_plan(
    items: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    component_deps: Mapping[str, Sequence[str]] | None = None,
) -> Plan:
    """Plan the given ``(component, manifest)`` pairs, in render order.

    ``component_deps`` maps each component to the components (of this
    deployment) it depends on.
    """
    index = Index.build(items)
    seen_refs: dict[ObjectRef, str] = {}
    for node in index.nodes:
        if node.ref in seen_refs:
            raise PlanError(
                f"{node.ref} is rendered twice (components {seen_refs[node.ref]} and {node.component})",
                hint="each object may belong to one component only",
            )
        seen_refs[node.ref] = node.component
    deps = {k: tuple(v) for k, v in (component_deps or {}).items()}
    edges: list[Edge] = []
    for rule in (rules.namespaces, rules.crds, rules.workload_references, rules.published, rules.runtime_dependencies,
                 rules.storage, rules.rbac, rules.certificates):
        edges.extend(rule(index))
    edges.extend(rules.component_order(index, deps))
    edges.extend(_declared(index))
    requires: dict[ObjectRef, set[ObjectRef]] = {}
    for edge in edges:
        requires.setdefault(edge.dependent, set()).add(edge.dependency)
    for edge in rules.webhook_edges(index):
        if edge.dependency in requires.get(edge.dependent, ()):
            edges.append(edge)
            continue
        if edge.dependent == edge.dependency or _reaches(requires, edge.dependency, edge.dependent):
            continue
        requires.setdefault(edge.dependent, set()).add(edge.dependency)
        edges.append(edge)
    return Plan.from_edges(index.nodes, edges)
