"""The plan's values: object references, nodes, labelled edges, and graph queries."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from kfctl.errors import InputError
from kfctl.kinds import BUILTIN, split_api_version


class PlanError(InputError):
    """The objects cannot be ordered: a dependency cycle or a dangling declared dependency."""


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Identity of an object in a deployment: group, kind, namespace ("" if cluster-scoped), name."""

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, manifest: Mapping[str, Any], *, namespaced: bool = True) -> ObjectRef:
        group, _ = split_api_version(str(manifest.get("apiVersion", "")))
        meta = manifest.get("metadata") or {}
        namespace = str(meta.get("namespace") or "") if namespaced else ""
        return cls(group, str(manifest.get("kind", "")), namespace, str(meta.get("name", "")))

    def __str__(self) -> str:
        builtin = (self.group, self.kind) in BUILTIN
        kind = self.kind if builtin or "." not in self.group else f"{self.kind}.{self.group}"
        return f"{kind}/{self.namespace}/{self.name}" if self.namespace else f"{kind}/{self.name}"


@dataclass(frozen=True)
class Node:
    ref: ObjectRef
    component: str
    manifest: Mapping[str, Any]


@dataclass(frozen=True, order=True)
class Edge:
    """``dependent`` waits until ``dependency`` is healthy; ``reason`` says why, for people."""

    dependent: ObjectRef
    dependency: ObjectRef
    reason: str
    #: True when the dependent only needs the dependency to exist, not to be healthy: a workload
    #: mounting a claim (a WaitForFirstConsumer claim binds only once the workload's pod is scheduled),
    #: or a client that retries its server for longer than the server takes to start
    applied_only: bool = False


@dataclass(frozen=True)
class Plan:
    """Nodes in render order and, per node, the edges to what it waits for."""

    nodes: Mapping[ObjectRef, Node]
    requires: Mapping[ObjectRef, tuple[Edge, ...]]
    required_by: Mapping[ObjectRef, tuple[Edge, ...]] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_edges(cls, nodes: Iterable[Node], edges: Iterable[Edge]) -> Plan:
        ordered = {n.ref: n for n in nodes}
        requires: dict[ObjectRef, list[Edge]] = {ref: [] for ref in ordered}
        required_by: dict[ObjectRef, list[Edge]] = {ref: [] for ref in ordered}
        chosen: dict[tuple[ObjectRef, ObjectRef], Edge] = {}
        for edge in edges:
            key = (edge.dependent, edge.dependency)
            if edge.dependent == edge.dependency:
                continue
            if key not in chosen or (chosen[key].applied_only and not edge.applied_only):
                chosen[key] = edge  # the strictest reason wins
        for edge in chosen.values():
            requires[edge.dependent].append(edge)
            required_by[edge.dependency].append(edge)
        plan = cls(
            nodes=MappingProxyType(ordered),
            requires=MappingProxyType({k: tuple(v) for k, v in requires.items()}),
            required_by=MappingProxyType({k: tuple(v) for k, v in required_by.items()}),
        )
        plan.check_acyclic()
        return plan

    def __len__(self) -> int:
        return len(self.nodes)

    def dependencies(self, ref: ObjectRef) -> tuple[ObjectRef, ...]:
        return tuple(e.dependency for e in self.requires[ref])

    def dependents(self, ref: ObjectRef) -> tuple[ObjectRef, ...]:
        return tuple(e.dependent for e in self.required_by[ref])

    @property
    def edges(self) -> tuple[Edge, ...]:
        return tuple(e for edges in self.requires.values() for e in edges)

    def check_acyclic(self) -> None:
        """Raise PlanError naming the members of a cycle, if there is one."""
        state: dict[ObjectRef, int] = {}
        for start in self.nodes:
            if state.get(start):
                continue
            stack: list[tuple[ObjectRef, int]] = [(start, 0)]
            path: list[ObjectRef] = []
            while stack:
                ref, i = stack.pop()
                if i == 0:
                    state[ref] = 1
                    path.append(ref)
                deps = self.requires[ref]
                if i < len(deps):
                    stack.append((ref, i + 1))
                    nxt = deps[i].dependency
                    if state.get(nxt) == 1:
                        cycle = path[path.index(nxt):] + [nxt]
                        raise PlanError(
                            "dependency cycle: " + " -> ".join(str(r) for r in cycle),
                            hint="remove one of these dependencies (for a declared one, the "
                            "config.kubernetes.io/depends-on annotation)",
                        )
                    if not state.get(nxt):
                        stack.append((nxt, 0))
                else:
                    state[ref] = 2
                    path.pop()

    def longest_paths(self, weight: Callable[[ObjectRef], float]) -> dict[ObjectRef, float]:
        """Per node, the heaviest chain from it through everything that waits on it (itself included).

        With ``weight`` an estimate of how long an object takes to become healthy, this is the
        classic list-scheduling priority: starting the object with the longest chain first
        shortens the whole run when there are more startable objects than workers.
        """
        out: dict[ObjectRef, float] = {}
        for wave in reversed(self.waves()):
            for ref in wave:
                out[ref] = weight(ref) + max((out[d] for d in self.dependents(ref)), default=0.0)
        return out

    def waves(self) -> tuple[tuple[ObjectRef, ...], ...]:
        """Layers by longest dependency chain: wave n waits only on waves < n (for display)."""
        depth: dict[ObjectRef, int] = {}

        def level(ref: ObjectRef) -> int:
            if ref in depth:
                return depth[ref]
            stack = [ref]
            while stack:
                top = stack[-1]
                pending = [d for d in self.dependencies(top) if d not in depth]
                if pending:
                    stack.extend(pending)
                    continue
                stack.pop()
                depth[top] = 1 + max((depth[d] for d in self.dependencies(top)), default=-1)
            return depth[ref]

        for ref in self.nodes:
            level(ref)
        layers: dict[int, list[ObjectRef]] = {}
        for ref in self.nodes:
            layers.setdefault(depth[ref], []).append(ref)
        return tuple(tuple(layers[i]) for i in sorted(layers))

    def format_waves(self) -> str:
        """The waves for people: each object with what it waits for.

        A dependency marked ``(applied)`` is waited for only until it exists, not until it is
        healthy (a claim, or a server its client keeps retrying), so the object may start long
        before its wave's predecessors are healthy: waves are layers for reading, not barriers.
        """
        lines = []
        for i, wave in enumerate(self.waves()):
            lines.append(f"wave {i + 1} ({len(wave)} objects)")
            for ref in wave:
                node = self.nodes[ref]
                waits = ", ".join(f"{e.dependency} (applied)" if e.applied_only else str(e.dependency)
                                  for e in self.requires[ref])
                lines.append(f"  {ref}  [{node.component}]" + (f"  after {waits}" if waits else ""))
        return "\n".join(lines)
