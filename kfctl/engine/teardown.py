"""Deleting owned objects in a safe order and waiting until each is gone.

Order (shared by prune and ``kfctl delete``): admission webhook
configurations and APIServices first, so they cannot block the rest; then
custom resources (before their CRDs, so controllers can run finalizers);
workloads (foreground, so their pods go with them); services, configuration
and RBAC; CRDs; namespaces last. Each phase is waited on before the next starts.
A timeout names what is stuck and why.

A phase's deletes are sent with bounded concurrency, then the whole phase is
waited on at once: a few lists per round (one per kind and namespace) until
every object is gone. Waiting object by object, ``concurrency`` at a time,
made a phase as slow as its objects' terminations one after another: the 54
workloads of the default set, whose pods each take a moment to stop (up to
their grace period on a real kubelet), took 17 s of a real control plane's
32 s delete, against 4 s when they all terminate together.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from kfctl.errors import KindNotServed, NotFound
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


#: seconds between looks while a phase's objects terminate: soon at first, then at most once a second
GONE_POLL = (0.05, 1.0)
#: a kind and namespace with at most this many objects left is read object by object, not listed
GET_AT_MOST = 2


def _uid(answer: dict[str, Any] | None) -> str:
    """The uid of a deleted object, from the delete's answer (the object, or a Status naming it)."""
    if not answer:
        return ""
    return str((answer.get("metadata") or {}).get("uid") or (answer.get("details") or {}).get("uid") or "")


def wait_all_gone(
    cluster: ClusterAPI,
    pending: dict[Target, dict[str, Any] | None],
    deadline: float,
    on_gone: Callable[[Target], None],
) -> dict[Target, dict[str, Any] | None]:
    """Wait until every target is gone (deleted, or replaced by a new object of that name).

    ``pending`` maps each target to its delete's answer. Returns those still there at the deadline, with their
    last state. Each round lists each kind and namespace once (reads an object alone when few are left).
    """
    uids = {target: _uid(answer) for target, answer in pending.items()}
    last = {target: (answer if (answer or {}).get("kind") != "Status" else None) for target, answer in pending.items()}
    interval = GONE_POLL[0]
    while last:
        groups: dict[tuple[str, str, str], list[Target]] = {}
        for target in last:
            groups.setdefault((target.api_version, target.ref.kind, target.ref.namespace), []).append(target)
        for (api_version, kind, namespace), members in groups.items():
            present: dict[str, dict[str, Any]] = {}
            try:
                if len(members) <= GET_AT_MOST:
                    for target in members:
                        live = cluster.get(api_version, kind, namespace or None, target.ref.name)
                        if live is not None:
                            present[target.ref.name] = live
                else:
                    items, _ = cluster.list(api_version, kind, namespace=namespace or None)
                    present = {str((item.get("metadata") or {}).get("name")): item for item in items}
            except (KindNotServed, NotFound):
                present = {}  # the kind is no longer served: nothing of it is left
            for target in members:
                live = present.get(target.ref.name)
                uid = (live or {}).get("metadata", {}).get("uid")
                if live is None or (uids[target] and uid and uid != uids[target]):
                    del last[target]
                    on_gone(target)
                else:
                    last[target] = live
        if not last or time.monotonic() >= deadline:
            break
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        interval = min(interval * 1.6, GONE_POLL[1])
    return last


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

    def gone(target: Target) -> None:
        deleted.append(target)
        on_deleted(target)

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="delete") as pool:
        for phase in sorted(by_phase):
            batch = sorted(by_phase[phase], key=lambda t: t.ref)

            def one(target: Target) -> tuple[Target, dict[str, Any] | None]:
                ref = target.ref
                propagation = "Foreground" if (ref.group, ref.kind) in WORKLOAD_KINDS else "Background"
                return target, cluster.delete(target.api_version, ref.kind, ref.namespace or None, ref.name,
                                              propagation=propagation, dry_run=dry_run)

            pending: dict[Target, dict[str, Any] | None] = {}
            for target, answer in pool.map(one, batch):
                if answer is None:
                    continue  # already gone
                if dry_run:
                    gone(target)
                else:
                    pending[target] = answer
            left = wait_all_gone(cluster, pending, deadline, gone) if pending else {}
            for target in batch:
                if target in left:
                    why = explain_stuck(left[target])
                    stuck.append((target, why))
                    on_stuck(target, why)
    return deleted, stuck
