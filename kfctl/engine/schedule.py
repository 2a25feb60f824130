"""Scheduling: which planned object starts next.

An object may start once every dependency it waits for is met: healthy, or
only applied for an ``applied_only`` edge (a claim, a server its clients retry).
When more objects could start than there are workers, the one heading the
longest chain of waiting objects goes first (:func:`start_priority`), ties in
render order. :class:`Schedule` keeps that bookkeeping; the engine tells it
what happened to each object and asks it what to start.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import Any

from kfctl.plan import ObjectRef, Plan
from kfctl.plan.index import WORKLOAD_KINDS, pod_template

#: Rough seconds from applying an object to its health, only to rank startable objects (see
#: :func:`start_priority`): workloads pull images and start, claims bind, certificates are issued,
#: CRDs are established; anything else is healthy once written.
_EXPECTED_SECONDS = {"PersistentVolumeClaim": 5.0, "Certificate": 2.0, "CustomResourceDefinition": 1.0}


def expected_seconds(ref: ObjectRef) -> float:
    if (ref.group, ref.kind) in WORKLOAD_KINDS:
        return 20.0
    return _EXPECTED_SECONDS.get(ref.kind, 0.1)


def start_priority(plan: Plan) -> dict[ObjectRef, float]:
    """When more objects could start than there are workers, the one heading the longest chain goes first.

    The chain is weighted by rough expected times, so the namespace, account and bindings istiod
    needs go before a hundred ClusterRoles nothing waits on; ties keep the render order. A Service
    ranks with the workloads it selects: nothing in the plan waits on it, but their clients find
    them through it, so a Service queued behind hundreds of objects would keep them unreachable.
    """
    priority = plan.longest_paths(expected_seconds)
    templates: dict[str, list[tuple[Mapping[str, Any], float]]] = {}
    for ref, node in plan.nodes.items():
        template = pod_template(node.manifest) if (ref.group, ref.kind) in WORKLOAD_KINDS else None
        if template is not None:
            labels = (template.get("metadata") or {}).get("labels") or {}
            templates.setdefault(ref.namespace, []).append((labels, priority[ref]))
    for ref, node in plan.nodes.items():
        if ref.group == "" and ref.kind == "Service":
            selector = (node.manifest.get("spec") or {}).get("selector") or {}
            if selector:
                priority[ref] = max([priority[ref]] + [p for labels, p in templates.get(ref.namespace, ())
                                                       if all(labels.get(k) == v for k, v in selector.items())])
    return priority


class Schedule:
    """Unmet dependencies, objects whose dependencies are met, and the queue of those waiting for a worker."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.unmet: dict[ObjectRef, set[ObjectRef]] = {ref: set(plan.dependencies(ref)) for ref in plan.nodes}
        self._ready: list[ObjectRef] = [ref for ref, deps in self.unmet.items() if not deps]
        self.priority = start_priority(plan)
        self._order = {ref: i for i, ref in enumerate(plan.nodes)}
        #: startable objects waiting for a worker: (-priority, render order, ref)
        self._queued: list[tuple[float, int, ObjectRef]] = []

    def newly_ready(self) -> list[ObjectRef]:
        """Objects whose dependencies became met since the last call (the caller checks they are pending)."""
        ready, self._ready = self._ready, []
        return ready

    def hold(self, refs: list[ObjectRef]) -> None:
        """Give back ready objects the caller cannot start yet: they come back with the next newly_ready()."""
        self._ready.extend(refs)

    @property
    def holding(self) -> bool:
        return bool(self._ready)

    def met(self, ref: ObjectRef, *, healthy: bool) -> None:
        """``ref`` was applied (``healthy`` False) or became healthy: release what waited for that."""
        for edge in self.plan.required_by[ref]:
            if healthy or edge.applied_only:
                unmet = self.unmet[edge.dependent]
                if ref in unmet:
                    unmet.discard(ref)
                    if not unmet:
                        self._ready.append(edge.dependent)

    def enqueue(self, ref: ObjectRef) -> None:
        heapq.heappush(self._queued, (-self.priority[ref], self._order[ref], ref))

    @property
    def queued(self) -> bool:
        return bool(self._queued)

    def next(self) -> ObjectRef:
        """The queued object heading the longest chain (ties: render order)."""
        return heapq.heappop(self._queued)[2]

    def drain(self) -> list[ObjectRef]:
        """Empty the queue (the apply timed out): the objects that never started."""
        refs = [ref for _, _, ref in self._queued]
        self._queued.clear()
        return refs
