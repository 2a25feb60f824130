"""Server-side defaults of the workload kinds the controllers (and kubectl) rely on.

``kubectl rollout status statefulset`` refuses a StatefulSet without
``updateStrategy.type: RollingUpdate``, and the controllers read
``podManagementPolicy``, ``completions`` and ``backoffLimit``: a real API
server fills these on create. They are added to the kinds' existing
:class:`~kfctl.sim.types.Behaviour` hooks (the API machinery's own defaults
run first).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from kfctl.sim.types import Behaviour, TypeRegistry


def _statefulset(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        strategy["type"] = "RollingUpdate"
        strategy.setdefault("rollingUpdate", {"partition": 0})
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    for claim in spec.get("volumeClaimTemplates") or []:
        if isinstance(claim, dict):
            claim.setdefault("apiVersion", "v1")
            claim.setdefault("kind", "PersistentVolumeClaim")
            claim.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")


def _daemonset(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        strategy["type"] = "RollingUpdate"
        strategy.setdefault("rollingUpdate", {"maxUnavailable": 1, "maxSurge": 0})
    spec.setdefault("revisionHistoryLimit", 10)


def _job(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)


def _chain(first: Callable[[dict[str, Any]], None] | None,
           then: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def both(obj: dict[str, Any]) -> None:
        if first is not None:
            first(obj)
        then(obj)
    return both


def install(registry: TypeRegistry) -> None:
    """Add the workload defaults to the registry's behaviours (once)."""
    for group, kind, fn in (("apps", "StatefulSet", _statefulset), ("apps", "DaemonSet", _daemonset),
                            ("batch", "Job", _job)):
        current = registry.behaviour(group, kind)
        if current.extra.get("kfctl.sim.behaviour.defaults"):
            continue
        extra = {**current.extra, "kfctl.sim.behaviour.defaults": True}
        registry.register_behaviour(group, kind, dataclasses.replace(
            current, defaults=_chain(current.defaults, fn), extra=extra) if current.defaults or current.on_update
            else Behaviour(defaults=fn, extra=extra))
