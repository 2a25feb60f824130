"""Pod indexes, kept from the event stream like an informer's indexers.

Controllers must not scan every object on every event: a ReplicaSet asks for
the pods it owns, an endpoints controller for the pods of one namespace, the
scheduler for what is already bound to a node. Each answer is a set of keys;
the pod itself is read from the store, so callers always see the latest state.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from kfctl.sim.behaviour.pods import controller_uid
from kfctl.sim.store import DELETED, Event

Key = tuple[str, str]


class PodIndex:
    """Pods by controller owner uid, by namespace and by node."""

    def __init__(self) -> None:
        self.by_owner: dict[str, set[Key]] = defaultdict(set)
        self.by_namespace: dict[str, set[Key]] = defaultdict(set)
        self.by_node: dict[str, set[Key]] = defaultdict(set)
        self._facts: dict[Key, tuple[str, str]] = {}  # key -> (owner uid, node)

    def update(self, event: Event) -> None:
        pod = event.obj
        key = (event.namespace, event.name)
        old = self._facts.pop(key, None)
        if old is not None:
            self.by_owner[old[0]].discard(key)
            self.by_node[old[1]].discard(key)
        if event.type == DELETED:
            self.by_namespace[key[0]].discard(key)
            return
        owner = controller_uid(pod)
        node = (pod.get("spec") or {}).get("nodeName") or ""
        self._facts[key] = (owner, node)
        self.by_owner[owner].add(key)
        self.by_node[node].add(key)
        self.by_namespace[key[0]].add(key)

    def owned_by(self, uid: str) -> list[Key]:
        return sorted(self.by_owner.get(uid, ()))

    def in_namespace(self, namespace: str) -> list[Key]:
        return sorted(self.by_namespace.get(namespace, ()))

    def on_node(self, node: str) -> list[Key]:
        return sorted(self.by_node.get(node, ()))


class OwnerIndex:
    """Objects of one kind by controller owner uid (ReplicaSets of a Deployment, PVCs...)."""

    def __init__(self) -> None:
        self.by_owner: dict[str, set[Key]] = defaultdict(set)
        self._owner: dict[Key, str] = {}

    def update(self, event: Event) -> str:
        """Index the change; returns the controller uid (old one on delete)."""
        key = (event.namespace, event.name)
        old = self._owner.pop(key, None)
        if old is not None:
            self.by_owner[old].discard(key)
        if event.type == DELETED:
            return old or ""
        uid = controller_uid(event.obj)
        self._owner[key] = uid
        self.by_owner[uid].add(key)
        return uid

    def owned_by(self, uid: str) -> list[Key]:
        return sorted(self.by_owner.get(uid, ()))


def owner_key(obj: dict[str, Any], kind: str) -> tuple[str, str] | None:
    """(namespace, name) of the controller owner of ``kind``, if any."""
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == kind:
            return (obj["metadata"].get("namespace", ""), str(ref.get("name", "")))
    return None
