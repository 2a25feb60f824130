"""Pod diagnosis: what a workload's pods say when the workload is late or failed.

The readiness of a Deployment or StatefulSet only counts replicas; why they are
not ready (unschedulable, crash-looping, waiting for a Secret, queued behind
other image pulls) is on their pods and their events. These functions read
them, for messages and for one decision: a workload whose pods only wait for
image pulls is slow, not stuck.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kfctl.engine.clusterapi import ClusterAPI, Obj
from kfctl.engine.readiness import assess
from kfctl.plan import ObjectRef
from kfctl.plan.index import WORKLOAD_KINDS


def pods_of(cluster: ClusterAPI, ref: ObjectRef, manifest: Mapping[str, Any]) -> list[Obj]:
    """The pods of a workload found by its selector (none for Jobs, CronJobs, bare Pods)."""
    if (ref.group, ref.kind) not in WORKLOAD_KINDS or ref.kind in ("Pod", "Job", "CronJob"):
        return []
    selector = ((manifest.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    if not selector:
        return []
    pods, _ = cluster.list("v1", "Pod", namespace=ref.namespace,
                           label_selector=",".join(f"{k}={v}" for k, v in sorted(selector.items())))
    return pods


def still_pulling(cluster: ClusterAPI, ref: ObjectRef, pods: list[Obj]) -> str:
    """Which pod of a late workload is only waiting for its images (a node pulls one at a time), or "".

    "" unless every unready pod is scheduled, has no container in an error or back-off
    state, and has a pull under way (a Pulling event with no Pulled after it). A pod
    waiting for a Secret or a claim, crash-looping or failing its pulls is stuck, not slow.
    """
    waiting = ""
    for pod in pods:
        if assess(pod).ready:
            continue
        status = pod.get("status") or {}
        if not (pod.get("spec") or {}).get("nodeName"):
            return ""
        for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
            reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason")
            if (reason and reason not in ("ContainerCreating", "PodInitializing")) or cs.get("restartCount"):
                return ""
        name = (pod.get("metadata") or {}).get("name", "")
        events, _ = cluster.list("v1", "Event", namespace=ref.namespace, field_selector=f"involvedObject.name={name}")
        asked = {(e.get("involvedObject") or {}).get("fieldPath") for e in events if e.get("reason") == "Pulling"}
        pulled = {(e.get("involvedObject") or {}).get("fieldPath") for e in events if e.get("reason") == "Pulled"}
        if not asked - pulled:
            return ""
        waiting = waiting or f"pod {name} is still waiting for its images to be pulled"
    return waiting


def pods_say(pods: list[Obj]) -> str:
    """What the first unready pod reports, as a message suffix ("; pod NAME: WHY"), or ""."""
    for pod in pods:
        verdict = assess(pod)
        if not verdict.ready:
            return f"; pod {(pod.get('metadata') or {}).get('name')}: {verdict.message}"
    return ""
