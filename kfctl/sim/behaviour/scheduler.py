"""The scheduler: bind each pending pod to a node that fits, or say why none does.

Kubeflow installs stall on small clusters because pods do not fit (Katib's
MySQL, KFP, notebooks with GPUs). A pod binds to the least-allocated node
that passes the filters a real scheduler applies first: node unschedulable,
untolerated NoSchedule/NoExecute taints, nodeSelector and required node
affinity (matchExpressions and matchFields), resource requests against
allocatable (cpu, memory, ``nvidia.com/gpu``, pod count), and claims that do
not exist. Otherwise the pod stays Pending with ``PodScheduled=False``
reason ``Unschedulable`` and a ``FailedScheduling`` event whose message has
the real shape (``0/3 nodes are available: 3 Insufficient cpu. preemption:
...``). Unschedulable pods are retried when nodes, pods or claims change.

Binding writes ``spec.nodeName`` directly in the store, as the ``binding``
subresource does: it is not a pod UPDATE, so pod webhooks never see it.
"""

from __future__ import annotations

import copy
from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kfctl.sim.behaviour.events import NORMAL, WARNING
from kfctl.sim.behaviour.pods import (
    CPU, GPU, MEMORY, condition, expression_matches, is_terminal, pod_requests, quantity,
)
from kfctl.sim.store import DELETED, Event, StaleWrite

if TYPE_CHECKING:
    from kfctl.sim.behaviour import Behaviours

COMPONENT = "default-scheduler"
RETRY = 300.0  # podMaxInUnschedulablePodsDuration: unschedulable pods are tried again every 5 minutes
SELECTED_NODE = "volume.kubernetes.io/selected-node"


def tolerates(tolerations: list[dict[str, Any]], taint: dict[str, Any]) -> bool:
    for tol in tolerations:
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        op = tol.get("operator", "Equal")
        if not tol.get("key") and op == "Exists":
            return True
        if tol.get("key") != taint.get("key"):
            continue
        if op == "Exists" or tol.get("value", "") == taint.get("value", ""):
            return True
    return False


def _term_matches(term: dict[str, Any], node: dict[str, Any]) -> bool:
    labels = node["metadata"].get("labels") or {}
    for expr in term.get("matchExpressions") or []:
        if not expression_matches(expr, labels.get(expr.get("key", ""))):
            return False
    for expr in term.get("matchFields") or []:
        value = node["metadata"]["name"] if expr.get("key") == "metadata.name" else None
        if not expression_matches(expr, value):
            return False
    return bool(term.get("matchExpressions") or term.get("matchFields"))


def affinity_matches(spec: dict[str, Any], node: dict[str, Any]) -> bool:
    labels = node["metadata"].get("labels") or {}
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms")
    if terms:
        return any(_term_matches(t, node) for t in terms)
    return True


def _untolerated(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any] | None:
    tolerations = spec.get("tolerations") or []
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
            return taint
    return None


class Scheduler:
    """Binds pods; records why a pod cannot be bound."""

    def __init__(self, behaviours: Behaviours) -> None:
        self.b = behaviours
        rt = behaviours.runtime
        self._waiting: set[tuple[str, str]] = set()
        self._retrying: set[tuple[str, str]] = set()
        rt.reconciler("scheduler", self.reconcile)
        rt.watch("", "pods", self._on_pod)
        rt.watch("", "nodes", self._retry_all)
        rt.watch("", "persistentvolumeclaims", self._retry_all)

    def _on_pod(self, event: Event) -> None:
        key = (event.namespace, event.name)
        if event.type == DELETED:
            self._waiting.discard(key)
            if (event.obj.get("spec") or {}).get("nodeName"):
                self._retry_all(event)  # capacity freed
            return
        spec = event.obj.get("spec") or {}
        if spec.get("nodeName") or is_terminal(event.obj) or event.obj["metadata"].get("deletionTimestamp"):
            self._waiting.discard(key)
            return
        if spec.get("schedulerName", "default-scheduler") == "default-scheduler":
            self.b.runtime.mark("scheduler", *key)

    def _retry(self, key: tuple[str, str]) -> None:
        self._retrying.discard(key)
        if key in self._waiting:
            self.reconcile(*key)

    def _retry_all(self, event: Event) -> None:
        for key in list(self._waiting):
            self.b.runtime.mark("scheduler", *key)

    # -- reconcile ------------------------------------------------------------
    def reconcile(self, namespace: str, name: str) -> None:
        rt = self.b.runtime
        pod = rt.get("", "pods", namespace, name)
        if pod is None or (pod.get("spec") or {}).get("nodeName") or pod["metadata"].get("deletionTimestamp") or \
                is_terminal(pod):
            self._waiting.discard((namespace, name))
            return
        spec = pod.get("spec") or {}
        nodes, _ = rt.store.list("", "nodes")
        missing = self._missing_claim(pod)
        if missing:
            self._unschedulable(pod, f"0/{len(nodes)} nodes are available: persistentvolumeclaim \"{missing}\" not "
                                     f"found. preemption: 0/{len(nodes)} nodes are available: {len(nodes)} "
                                     "Preemption is not helpful for scheduling.")
            return
        if not nodes:
            self._unschedulable(pod, "no nodes available to schedule pods")
            return
        requests = pod_requests(spec)
        reasons: Counter[str] = Counter()
        resource_failures = 0
        fits: list[tuple[Decimal, str]] = []
        for node in nodes:
            why, score = self._filter(spec, requests, node)
            if why:
                reasons.update(why)
                resource_failures += any(w.startswith(("Insufficient", "Too many")) for w in why)
            else:
                fits.append((score, node["metadata"]["name"]))
        if not fits:
            detail = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
            other = len(nodes) - resource_failures
            pre = []
            if resource_failures:
                pre.append(f"{resource_failures} No preemption victims found for incoming pod")
            if other:
                pre.append(f"{other} Preemption is not helpful for scheduling")
            self._unschedulable(pod, f"0/{len(nodes)} nodes are available: {detail}. preemption: 0/{len(nodes)} "
                                     f"nodes are available: {', '.join(pre)}.")
            return
        fits.sort()
        self._bind(pod, fits[0][1])

    def _missing_claim(self, pod: dict[str, Any]) -> str:
        ns = pod["metadata"]["namespace"]
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim and self.b.runtime.get("", "persistentvolumeclaims", ns, claim) is None:
                return str(claim)
        return ""

    def _filter(self, spec: dict[str, Any], requests: dict[str, Decimal],
                node: dict[str, Any]) -> tuple[list[str], Decimal]:
        if (node.get("spec") or {}).get("unschedulable"):
            return ["node(s) were unschedulable"], Decimal(0)
        taint = _untolerated(spec, node)
        if taint is not None:
            text = f"{taint.get('key')}: {taint.get('value')}" if taint.get("value") else f"{taint.get('key')}: "
            return [f"node(s) had untolerated taint {{{text}}}"], Decimal(0)
        if not affinity_matches(spec, node):
            return ["node(s) didn't match Pod's node affinity/selector"], Decimal(0)
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        used: dict[str, Decimal] = {}
        count = 0
        for key in self.b.pods.on_node(node["metadata"]["name"]):
            other = self.b.runtime.get("", "pods", *key)
            if other is None or is_terminal(other):
                continue
            count += 1
            for res, value in pod_requests(other.get("spec") or {}).items():
                used[res] = used.get(res, Decimal(0)) + value
        why = []
        for res in sorted(set(requests) | {CPU, MEMORY}):
            want = requests.get(res, Decimal(0))
            if want <= 0:
                continue
            have = quantity(allocatable.get(res, 0))
            if used.get(res, Decimal(0)) + want > have:
                why.append(f"Insufficient {res}")
        if count + 1 > int(quantity(allocatable.get("pods", 110))):
            why.append("Too many pods")
        if why:
            return why, Decimal(0)
        score = Decimal(0)
        for res in (CPU, MEMORY, GPU):
            have = quantity(allocatable.get(res, 0))
            if have > 0:
                score += (used.get(res, Decimal(0)) + requests.get(res, Decimal(0))) / have
        return [], score

    def _unschedulable(self, pod: dict[str, Any], message: str) -> None:
        meta = pod["metadata"]
        self._waiting.add((meta["namespace"], meta["name"]))
        key = (meta["namespace"], meta["name"])
        if key not in self._retrying:
            self._retrying.add(key)
            self.b.runtime.after(RETRY, self._retry, key)
        prior = condition(pod, "PodScheduled")
        if prior is not None and prior.get("message") == message:
            self.b.events.record(pod, WARNING, "FailedScheduling", message, COMPONENT)  # counted repeat
            return
        status = copy.deepcopy(pod.get("status") or {})
        status["phase"] = "Pending"
        status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"] + [
            {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
             "lastTransitionTime": self.b.runtime.clock.now_rfc3339(), "reason": "Unschedulable",
             "message": message}]
        self.b.runtime.write_status("v1", "Pod", meta["namespace"], meta["name"], status)
        self.b.events.record(pod, WARNING, "FailedScheduling", message, COMPONENT)

    def _bind(self, pod: dict[str, Any], node: str) -> None:
        rt = self.b.runtime
        meta = pod["metadata"]
        self._waiting.discard((meta["namespace"], meta["name"]))
        new = copy.deepcopy(pod)
        new["spec"]["nodeName"] = node
        status = new.setdefault("status", {})
        status.setdefault("phase", "Pending")
        status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"] + [
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": rt.clock.now_rfc3339()}]
        try:
            rt.store.update("", "pods", new, meta["resourceVersion"])
        except StaleWrite:
            rt.mark("scheduler", meta["namespace"], meta["name"])
            return
        self.b.pods.by_node[node].add((meta["namespace"], meta["name"]))  # count it before its event arrives
        self.b.events.record(pod, NORMAL, "Scheduled",
                             f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}", COMPONENT)
        self.b.storage.pod_scheduled(new, node)
