"""Deleting owned objects in a safe order and waiting until each is gone.

Order (shared by prune and ``kfctl delete``): admission webhook
configurations and APIServices first, so they cannot block the rest; then
custom resources (before their CRDs, so controllers can run finalizers);
workloads (foreground, so their pods go with them); services, configuration
and RBAC; CRDs; namespaces last. Each phase is waited on, following watches,
before the next starts. A timeout names what is stuck and why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from kfctl.kinds import BUILTIN
from kfctl.engine.clusterapi import ClusterAPI
from kfctl.plan import ObjectRef
from kfctl.plan.index import WORKLOAD_KINDS

PHASES = ("webhooks", "custom resources", "workloads", "services, configuration and RBAC", "CRDs", "namespaces")


def phase_of(ref: ObjectRef) -> int:
    key = (ref.group, ref.kind)
    if ref.group == "admissionregistration.k8s.io" or key == ("apiregistration.k8s.io", "APIService"):
        return 0
    if key not in BUILTIN:
        return 1
    if key in WORKLOAD_KINDS:
        return 2
    if key == ("apiextensions.k8s.io", "CustomResourceDefinition"):
        return 4
    if key == ("", "Namespace"):
        return 5
    return 3


@dataclass(frozen=True)
class Target:
    api_version: str
    ref: ObjectRef
    component: str = ""


def explain_stuck(live: dict[str, Any] | None) -> str:
    """Why an object is still there, in one line."""
    if live is None:
        return "gone"
    meta = live.get("metadata") or {}
    parts = []
    if meta.get("finalizers"):
        parts.append(f"finalizers {', '.join(meta['finalizers'])} were not removed by their controller")
    for cond in (live.get("status") or {}).get("conditions") or ():
        if cond.get("status") == "True" and cond.get("type", "").startswith("Namespace"):
            parts.append(f"{cond.get('type')}: {cond.get('message', '')}")
    if not meta.get("deletionTimestamp"):
        parts.append("deletion was not accepted yet")
    return "; ".join(parts) or "still present"


def wait_gone(cluster: ClusterAPI, target: Target, deadline: float) -> dict[str, Any] | None:
    """Follow one object until it is deleted; returns None when gone, else its last state."""
    ref = target.ref
    live = cluster.get(target.api_version, ref.kind, ref.namespace or None, ref.name)
    while live is not None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return live
        version = (live.get("metadata") or {}).get("resourceVersion")
        try:
            for event_type, obj in cluster.watch(
                target.api_version, ref.kind, namespace=ref.namespace or None,
                field_selector=f"metadata.name={ref.name}", resource_version=version,
                timeout_seconds=max(1, min(int(remaining) + 1, 30)),
            ):
                if event_type == "DELETED":
                    return None
                if event_type in ("ADDED", "MODIFIED"):
                    live = obj
                if time.monotonic() > deadline:
                    return live
        except Exception:  # a cut stream or expired version: read again
            pass
        live = cluster.get(target.api_version, ref.kind, ref.namespace or None, ref.name)
    return None


def delete_in_order(
    cluster: ClusterAPI,
    targets: Iterable[Target],
    *,
    on_deleted: Callable[[Target], None],
    on_stuck: Callable[[Target, str], None],
    timeout: float = 300.0,
    concurrency: int = 8,
    dry_run: bool = False,
) -> tuple[list[Target], list[tuple[Target, str]]]:
    """Delete targets phase by phase; returns (deleted, stuck with reasons)."""
    by_phase: dict[int, list[Target]] = {}
    for target in targets:
        by_phase.setdefault(phase_of(target.ref), []).append(target)
    deleted: list[Target] = []
    stuck: list[tuple[Target, str]] = []
    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="delete") as pool:
        for phase in sorted(by_phase):
            batch = sorted(by_phase[phase], key=lambda t: t.ref)

            def one(target: Target) -> tuple[Target, dict[str, Any] | None, bool]:
                ref = target.ref
                propagation = "Foreground" if (ref.group, ref.kind) in WORKLOAD_KINDS else "Background"
                existed = cluster.delete(target.api_version, ref.kind, ref.namespace or None, ref.name,
                                         propagation=propagation, dry_run=dry_run)
                if dry_run or existed is None:
                    return target, None, existed is not None
                return target, wait_gone(cluster, target, deadline), True

            for target, left, existed in pool.map(one, batch):
                if left is None:
                    if existed:
                        deleted.append(target)
                        on_deleted(target)
                else:
                    why = explain_stuck(left)
                    stuck.append((target, why))
                    on_stuck(target, why)
    return deleted, stuck
