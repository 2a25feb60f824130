"""The DaemonSet controller: one pod per eligible node.

A node is eligible when it matches the pod template's nodeSelector and
required node affinity and every NoSchedule/NoExecute taint is tolerated
(DaemonSet pods also get the automatic ``not-ready``/``unreachable``/...
tolerations). Pods are pinned with a ``matchFields metadata.name`` node
affinity and bound by the scheduler, as since Kubernetes 1.12. Template
changes roll pods one node at a time (maxUnavailable 1) under the
``RollingUpdate`` strategy.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from kfctl.sim.behaviour.backoff import ControllerRateLimiter
from kfctl.sim.behaviour.events import NORMAL, WARNING
from kfctl.sim.behaviour.index import owner_key
from kfctl.sim.behaviour.pods import is_active, is_ready, pod_from_template, template_hash
from kfctl.sim.behaviour.scheduler import _untolerated, affinity_matches
from kfctl.sim.status import APIError
from kfctl.sim.store import DELETED, Event

if TYPE_CHECKING:
    from kfctl.sim.behaviour import Behaviours

COMPONENT = "daemonset-controller"
AUTO_TOLERATIONS = [
    {"key": k, "operator": "Exists", "effect": e} for k, e in (
        ("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"), ("node.kubernetes.io/unschedulable", "NoSchedule"))]


class DaemonSetController:
    """DaemonSet -> a pod on every eligible node; status."""

    def __init__(self, behaviours: Behaviours) -> None:
        self.b = behaviours
        rt = behaviours.runtime
        rt.reconciler("daemonset", self.reconcile)
        rt.watch("apps", "daemonsets", self._on_set)
        rt.watch("", "pods", self._on_pod)
        rt.watch("", "nodes", self._on_node)
        self._limiter = ControllerRateLimiter()  # failed creations requeue like queue.AddRateLimited

    def _on_set(self, event: Event) -> None:
        if event.type != DELETED:
            self.b.runtime.mark("daemonset", event.namespace, event.name)

    def _on_pod(self, event: Event) -> None:
        key = owner_key(event.obj, "DaemonSet")
        if key is not None:
            self.b.runtime.mark("daemonset", *key)

    def _on_node(self, event: Event) -> None:
        items, _ = self.b.runtime.store.list("apps", "daemonsets")
        for ds in items:
            self.b.runtime.mark("daemonset", ds["metadata"]["namespace"], ds["metadata"]["name"])

    def reconcile(self, namespace: str, name: str) -> None:
        rt = self.b.runtime
        ds = rt.get("apps", "daemonsets", namespace, name)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return
        spec = ds.get("spec") or {}
        template = spec.get("template") or {}
        pod_spec = template.get("spec") or {}
        revision = template_hash(template)
        nodes, _ = rt.store.list("", "nodes")
        eligible = [n["metadata"]["name"] for n in nodes
                    if affinity_matches(pod_spec, n) and _untolerated(
                        {**pod_spec, "tolerations": [*(pod_spec.get("tolerations") or []), *AUTO_TOLERATIONS]},
                        n) is None]
        uid = ds["metadata"]["uid"]
        pods = [p for p in (rt.get("", "pods", *k) for k in self.b.pods.owned_by(uid)) if p is not None and is_active(p)]
        by_node: dict[str, list[dict[str, Any]]] = {}
        for pod in pods:
            by_node.setdefault(_target_node(pod), []).append(pod)
        for node in eligible:
            if node not in by_node:
                self._create(ds, node, revision)
        for node, on_node in by_node.items():
            extra = on_node[1:] if node in eligible else on_node
            for pod in extra:
                rt.delete("v1", "Pod", namespace, pod["metadata"]["name"])
        self._roll(ds, by_node, eligible, revision)
        pods = [p for p in (rt.get("", "pods", *k) for k in self.b.pods.owned_by(uid)) if p is not None and is_active(p)]
        self._publish(ds, pods, eligible, revision)

    def _create(self, ds: dict[str, Any], node: str, revision: str) -> None:
        rt = self.b.runtime
        meta = ds["metadata"]
        pod = pod_from_template((ds.get("spec") or {}).get("template") or {}, namespace=meta["namespace"], owner=ds,
                                extra_labels={"controller-revision-hash": revision, "pod-template-generation":
                                              str(meta.get("generation", 1))},
                                generate_name=f"{meta['name']}-")
        spec = pod["spec"]
        spec["tolerations"] = [*(spec.get("tolerations") or []), *copy.deepcopy(AUTO_TOLERATIONS)]
        affinity = spec.setdefault("affinity", {})
        affinity["nodeAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}
        try:
            created = rt.create("v1", "Pod", meta["namespace"], pod)
        except APIError as exc:
            self.b.events.record(ds, WARNING, "FailedCreate", f"Error creating: {exc.message}", COMPONENT)
            rt.mark_after(self._limiter.when(meta["uid"], rt.clock.now()), "daemonset", meta["namespace"],
                          meta["name"])
            return
        self._limiter.forget(meta["uid"])
        self.b.events.record(ds, NORMAL, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}", COMPONENT)

    def _roll(self, ds: dict[str, Any], by_node: dict[str, list[dict[str, Any]]], eligible: list[str],
              revision: str) -> None:
        if ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type") == "OnDelete":
            return
        current = [p[0] for n, p in by_node.items() if n in eligible and p]
        if any(not is_ready(p) for p in current):
            return  # maxUnavailable 1: wait for the replaced pod
        for pod in current:
            if (pod["metadata"].get("labels") or {}).get("controller-revision-hash") != revision:
                self.b.runtime.delete("v1", "Pod", pod["metadata"]["namespace"], pod["metadata"]["name"])
                return

    def _publish(self, ds: dict[str, Any], pods: list[dict[str, Any]], eligible: list[str], revision: str) -> None:
        meta = ds["metadata"]
        scheduled = [p for p in pods if _target_node(p) in eligible]
        ready = sum(1 for p in scheduled if is_ready(p))
        updated = sum(1 for p in scheduled if (p["metadata"].get("labels") or {}).get("controller-revision-hash") ==
                      revision)
        status = {"observedGeneration": meta.get("generation", 1), "desiredNumberScheduled": len(eligible),
                  "currentNumberScheduled": len(scheduled), "numberMisscheduled": len(pods) - len(scheduled),
                  "numberReady": ready, "updatedNumberScheduled": updated, "numberAvailable": ready,
                  "numberUnavailable": max(0, len(eligible) - ready)}
        status = {k: v for k, v in status.items() if v or k in (
            "desiredNumberScheduled", "currentNumberScheduled", "numberMisscheduled", "numberReady")}
        if status != (ds.get("status") or {}):
            self.b.runtime.write_status("apps/v1", "DaemonSet", meta["namespace"], meta["name"], status)


def _target_node(pod: dict[str, Any]) -> str:
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    terms = ((((spec.get("affinity") or {}).get("nodeAffinity") or {})
              .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or [])
    for term in terms:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("values"):
                return str(field["values"][0])
    return ""
