"""Per-component health of a deployment, read from the cluster alone (``kfctl status``)."""

from __future__ import annotations

from dataclasses import dataclass

from kfctl.engine.clusterapi import ClusterAPI
from kfctl.engine.inventory import Inventory, read_inventory
from kfctl.engine.observe import list_owned
from kfctl.engine.readiness import assess


@dataclass(frozen=True)
class ComponentHealth:
    name: str
    version: str
    healthy: int
    total: int
    problems: tuple[tuple[str, str], ...]  # (object, why)

    @property
    def ok(self) -> bool:
        return self.healthy == self.total


def read_health(cluster: ClusterAPI, deployment: str, namespace: str) -> tuple[Inventory | None, list[ComponentHealth]]:
    inventory = read_inventory(cluster, deployment, namespace)
    if inventory is None:
        return None, []
    live = list_owned(cluster, deployment, namespace, inventory.kinds)
    versions = dict((inventory.status or {}).get("components") or {})
    by_component: dict[str, list[tuple[str, str | None]]] = {}
    for member in inventory.members:
        obj = live.get(member.ref)
        if obj is None:
            why: str | None = "missing from the cluster"
        else:
            verdict = assess(obj)
            why = None if verdict.ready else f"{verdict.status.value}: {verdict.message}"
        by_component.setdefault(member.component, []).append((str(member.ref), why))
    out = []
    for name in sorted(by_component):
        rows = by_component[name]
        problems = tuple((ref, why) for ref, why in rows if why is not None)
        out.append(ComponentHealth(name, str(versions.get(name, "")), len(rows) - len(problems), len(rows), problems))
    return inventory, out
