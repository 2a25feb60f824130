"""Readiness of apps/v1 workloads and Pods, with kstatus semantics.

Each rule reads one live object and says what it is still waiting for, in the
words a person would use ("2 of 3 replicas available").
"""

from __future__ import annotations

from typing import Any

from kfctl.engine.readiness.verdict import (
    Verdict,
    condition,
    condition_is,
    current,
    describe,
    failed,
    in_progress,
)


def _replicas(obj: dict[str, Any]) -> int:
    spec = obj.get("spec") or {}
    value = spec.get("replicas")
    return 1 if value is None else int(value)


def deployment(obj: dict[str, Any]) -> Verdict:
    status = obj.get("status") or {}
    progressing = condition(obj, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return failed(f"rollout stalled: {describe(progressing)}")
    want = _replicas(obj)
    updated = status.get("updatedReplicas", 0)
    total = status.get("replicas", 0)
    ready = status.get("readyReplicas", 0)
    available = status.get("availableReplicas", 0)
    if updated < want:
        return in_progress(f"{updated} of {want} replicas updated")
    if total > updated:
        return in_progress(f"{total - updated} old replicas pending termination")
    if available < want:
        return in_progress(f"{available} of {want} replicas available")
    if ready < want:
        return in_progress(f"{ready} of {want} replicas ready")
    if want > 0 and not condition_is(obj, "Available"):
        return in_progress("waiting for condition Available")
    return current(f"{available} of {want} replicas available")


def replicaset(obj: dict[str, Any]) -> Verdict:
    status = obj.get("status") or {}
    want = _replicas(obj)
    failure = condition(obj, "ReplicaFailure")
    if failure and failure.get("status") == "True":
        return failed(f"replica failure: {describe(failure)}")
    for field, label in (("replicas", "created"), ("readyReplicas", "ready"), ("availableReplicas", "available")):
        have = status.get(field, 0)
        if have < want:
            return in_progress(f"{have} of {want} replicas {label}")
    return current(f"{want} of {want} replicas available")


def statefulset(obj: dict[str, Any]) -> Verdict:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    strategy = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate")
    if strategy == "OnDelete":
        return current("update strategy OnDelete: not tracked")
    want = _replicas(obj)
    ready = status.get("readyReplicas", 0)
    if status.get("replicas", 0) < want:
        return in_progress(f"{status.get('replicas', 0)} of {want} replicas created")
    if ready < want:
        return in_progress(f"{ready} of {want} replicas ready")
    partition = ((spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition") or 0
    if partition:
        updated = status.get("updatedReplicas", 0)
        if updated < want - partition:
            return in_progress(f"{updated} of {want - partition} replicas updated (partition {partition})")
        return current(f"partitioned rollout complete ({want - partition} updated)")
    if status.get("updateRevision") and status.get("currentRevision") != status.get("updateRevision"):
        updated = status.get("updatedReplicas", 0)
        return in_progress(f"rolling update: {updated} of {want} replicas at revision {status['updateRevision']}")
    current_replicas = status.get("currentReplicas", 0)
    if current_replicas < want:
        return in_progress(f"{current_replicas} of {want} replicas current")
    return current(f"{ready} of {want} replicas ready")


def daemonset(obj: dict[str, Any]) -> Verdict:
    status = obj.get("status") or {}
    if not status or "desiredNumberScheduled" not in status:
        return in_progress("waiting for the controller to schedule pods")
    desired = status.get("desiredNumberScheduled", 0)
    for field, label in (
        ("currentNumberScheduled", "scheduled"),
        ("updatedNumberScheduled", "updated"),
        ("numberAvailable", "available"),
        ("numberReady", "ready"),
    ):
        have = status.get(field, 0)
        if have < desired:
            return in_progress(f"{have} of {desired} pods {label}")
    return current(f"{desired} of {desired} pods ready")


#: container waiting reasons that kstatus calls failed. CreateContainerConfigError (a Secret or
#: ConfigMap not there yet) is left out: it clears by itself once the object appears.
_FAILING_WAIT_REASONS = {
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
}


def pod(obj: dict[str, Any]) -> Verdict:
    status = obj.get("status") or {}
    phase = status.get("phase", "Pending")
    if phase == "Succeeded":
        return current("pod completed")
    if phase == "Failed":
        return failed(f"pod failed: {status.get('reason') or status.get('message') or 'Failed'}")
    for cs in [*(status.get("initContainerStatuses") or ()), *(status.get("containerStatuses") or ())]:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in _FAILING_WAIT_REASONS:
            restarts = cs.get("restartCount", 0)
            extra = f" after {restarts} restarts" if restarts else ""
            return failed(f"container {cs.get('name')}: {waiting['reason']}{extra}")
    scheduled = condition(obj, "PodScheduled")
    if scheduled and scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable":
        return in_progress(f"unschedulable: {scheduled.get('message', '')}".rstrip(": "))
    if phase == "Running" and condition_is(obj, "Ready"):
        return current("running and ready")
    return in_progress(f"pod {phase.lower()}, not ready")
