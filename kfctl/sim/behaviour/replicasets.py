"""The ReplicaSet controller: keep ``spec.replicas`` pods alive and publish their counts.

Pods are created THROUGH the API pipeline, admission webhooks included, as
the real controller does; so an unready pod-mutating webhook with
failurePolicy Fail stalls the ReplicaSet, which records a ``FailedCreate``
event, sets the ``ReplicaFailure`` condition and retries on client-go's
default controller rate limiter (:class:`.backoff.ControllerRateLimiter`:
5 ms doubling per failure to 1000 s, with a 10 qps / burst 100 bucket),
forgotten after a successful creation, as ``queue.AddRateLimited`` /
``queue.Forget`` do in the real controller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kfctl.sim.behaviour.backoff import ControllerRateLimiter
from kfctl.sim.behaviour.events import NORMAL, WARNING
from kfctl.sim.behaviour.index import owner_key
from kfctl.sim.behaviour.pods import condition, is_active, is_ready, pod_from_template
from kfctl.sim.clock import format_time, parse_time
from kfctl.sim.status import APIError
from kfctl.sim.store import DELETED, Event

if TYPE_CHECKING:
    from kfctl.sim.behaviour import Behaviours

COMPONENT = "replicaset-controller"


def ready_since(pod: dict[str, Any]) -> float | None:
    cond = condition(pod, "Ready")
    if cond is None or cond.get("status") != "True" or not is_ready(pod):
        return None
    try:
        return parse_time(cond.get("lastTransitionTime", ""))
    except ValueError:
        return 0.0


def count_available(pods: list[dict[str, Any]], min_ready: int, now: float) -> tuple[int, float | None]:
    """Pods ready for at least ``min_ready`` s, and when the next one will be (to recheck then)."""
    available, next_due = 0, None
    for pod in pods:
        since = ready_since(pod)
        if since is None:
            continue
        if since + min_ready <= now:
            available += 1
        else:
            due = since + min_ready - now
            next_due = due if next_due is None else min(next_due, due)
    return available, next_due


class ReplicaSetController:
    """Creates and deletes pods of ReplicaSets; publishes status."""

    def __init__(self, behaviours: Behaviours) -> None:
        self.b = behaviours
        rt = behaviours.runtime
        rt.reconciler("replicaset", self.reconcile)
        rt.watch("apps", "replicasets", self._on_rs)
        rt.watch("", "pods", self._on_pod)
        self._created: dict[str, set[str]] = {}   # rs uid -> pod names created, not yet indexed
        self._limiter = ControllerRateLimiter()   # keyed by rs uid
        self._blocked_until: dict[str, float] = {}
        self._failure: dict[str, str] = {}        # rs uid -> message of the last failed create

    def _on_rs(self, event: Event) -> None:
        if event.type == DELETED:
            uid = event.obj["metadata"]["uid"]
            for table in (self._created, self._blocked_until, self._failure):
                table.pop(uid, None)
            self._limiter.forget(uid)
            return
        self.b.runtime.mark("replicaset", event.namespace, event.name)

    def _on_pod(self, event: Event) -> None:
        key = owner_key(event.obj, "ReplicaSet")
        if key is None:
            return
        uid = next(r["uid"] for r in event.obj["metadata"]["ownerReferences"] if r.get("controller"))
        created = self._created.get(uid)
        if created is not None:
            created.discard(event.name)
        self.b.runtime.mark("replicaset", *key)

    # -- reconcile ------------------------------------------------------------
    def _pods(self, rs: dict[str, Any]) -> list[dict[str, Any]]:
        uid = rs["metadata"]["uid"]
        ns = rs["metadata"]["namespace"]
        names = {n for _, n in self.b.pods.owned_by(uid)} | self._created.get(uid, set())
        out = []
        for name in sorted(names):
            pod = self.b.runtime.get("", "pods", ns, name)
            if pod is not None and any(r.get("uid") == uid for r in pod["metadata"].get("ownerReferences") or []):
                out.append(pod)
        return out

    def reconcile(self, namespace: str, name: str) -> None:
        rt = self.b.runtime
        rs = rt.get("apps", "replicasets", namespace, name)
        if rs is None or rs["metadata"].get("deletionTimestamp"):
            return
        uid = rs["metadata"]["uid"]
        pods = [p for p in self._pods(rs) if is_active(p)]
        want = int((rs.get("spec") or {}).get("replicas", 1))
        now = rt.clock.now()
        diff = want - len(pods)
        if diff > 0:
            blocked = self._blocked_until.get(uid, 0.0)
            if blocked <= now:
                self._create_pods(rs, diff)
                pods = [p for p in self._pods(rs) if is_active(p)]
        elif diff < 0:
            for pod in self._victims(pods, -diff):
                rt.delete("v1", "Pod", namespace, pod["metadata"]["name"])
                self.b.events.record(rs, NORMAL, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}",
                                     COMPONENT)
            pods = [p for p in self._pods(rs) if is_active(p)]
        self._publish(rs, pods, now)

    def _create_pods(self, rs: dict[str, Any], count: int) -> None:
        rt = self.b.runtime
        meta = rs["metadata"]
        uid = meta["uid"]
        template = (rs.get("spec") or {}).get("template") or {}
        for _ in range(count):
            pod = pod_from_template(template, namespace=meta["namespace"], owner=rs, extra_labels={},
                                    generate_name=f"{meta['name']}-")
            try:
                created = rt.create("v1", "Pod", meta["namespace"], pod)
            except APIError as exc:
                message = f"Error creating: {exc.message}"
                self.b.events.record(rs, WARNING, "FailedCreate", message, COMPONENT)
                self._failure[uid] = exc.message
                now = rt.clock.now()
                delay = self._limiter.when(uid, now)
                self._blocked_until[uid] = now + delay
                rt.mark_after(delay, "replicaset", meta["namespace"], meta["name"])
                return
            self._created.setdefault(uid, set()).add(created["metadata"]["name"])
            self._limiter.forget(uid)
            self._failure.pop(uid, None)
            self.b.events.record(rs, NORMAL, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}",
                                 COMPONENT)

    @staticmethod
    def _victims(pods: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
        """Which pods go first: unscheduled, then pending, then not ready, then the newest."""
        phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}

        def rank(pod: dict[str, Any]) -> tuple[Any, ...]:
            status = pod.get("status") or {}
            return (bool((pod.get("spec") or {}).get("nodeName")), phase_rank.get(status.get("phase", "Pending"), 0),
                    is_ready(pod), [-ord(c) for c in pod["metadata"].get("creationTimestamp", "")])
        return sorted(pods, key=rank)[:count]

    def _publish(self, rs: dict[str, Any], pods: list[dict[str, Any]], now: float) -> None:
        rt = self.b.runtime
        meta = rs["metadata"]
        spec = rs.get("spec") or {}
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        available, next_due = count_available(pods, min_ready, now)
        if next_due is not None:
            rt.mark_after(next_due + 0.01, "replicaset", meta["namespace"], meta["name"])
        status: dict[str, Any] = {
            "replicas": len(pods),
            "fullyLabeledReplicas": sum(1 for p in pods if all(
                (p["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items())),
            "readyReplicas": sum(1 for p in pods if is_ready(p)),
            "availableReplicas": available,
            "terminatingReplicas": 0,
            "observedGeneration": meta.get("generation", 1),
        }
        old = rs.get("status") or {}
        failure = self._failure.get(meta["uid"])
        if failure:
            prior = condition(rs, "ReplicaFailure")
            since = prior.get("lastTransitionTime") if prior else format_time(now)
            status["conditions"] = [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                                     "message": failure, "lastTransitionTime": since}]
        status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
        if status != old:
            rt.write_status("apps/v1", "ReplicaSet", meta["namespace"], meta["name"], status)
