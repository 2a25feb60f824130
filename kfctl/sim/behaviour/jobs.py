"""The Job controller: run pods to completion, then Complete or Failed; CronJobs stay idle.

A Job keeps ``parallelism`` pods (default 1) running until ``completions``
(default 1) have Succeeded, then sets ``SuccessCriteriaMet`` and
``Complete`` (reason ``CompletionsReached``), as Kubernetes 1.31+ does. Failed
pods count against ``backoffLimit`` (default 6); past it the Job gets
``FailureTarget`` and ``Failed`` (reason ``BackoffLimitExceeded``).
``activeDeadlineSeconds`` fails it with ``DeadlineExceeded``. Pods carry the
``batch.kubernetes.io/job-name`` and ``controller-uid`` labels. CronJobs are
stored and never fire: an install does not wait for a schedule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kfctl.sim.behaviour.backoff import job_rate_limiter
from kfctl.sim.behaviour.events import NORMAL, WARNING
from kfctl.sim.behaviour.index import owner_key
from kfctl.sim.behaviour.pods import condition, is_active, is_ready, pod_from_template
from kfctl.sim.clock import parse_time
from kfctl.sim.status import APIError
from kfctl.sim.store import DELETED, Event

if TYPE_CHECKING:
    from kfctl.sim.behaviour import Behaviours

COMPONENT = "job-controller"


class JobController:
    """Job -> pods; completion and failure conditions."""

    def __init__(self, behaviours: Behaviours) -> None:
        self.b = behaviours
        rt = behaviours.runtime
        rt.reconciler("job", self.reconcile)
        rt.watch("batch", "jobs", self._on_job)
        rt.watch("", "pods", self._on_pod)
        self._limiter = job_rate_limiter()  # the Job controller's own queue: 1 s doubling to 1 min

    def _on_job(self, event: Event) -> None:
        if event.type != DELETED:
            self.b.runtime.mark("job", event.namespace, event.name)

    def _on_pod(self, event: Event) -> None:
        key = owner_key(event.obj, "Job")
        if key is not None:
            self.b.runtime.mark("job", *key)

    def reconcile(self, namespace: str, name: str) -> None:
        rt = self.b.runtime
        job = rt.get("batch", "jobs", namespace, name)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return
        if _finished(job):
            return
        spec = job.get("spec") or {}
        if spec.get("suspend"):
            return
        uid = job["metadata"]["uid"]
        pods = [p for p in (rt.get("", "pods", *k) for k in self.b.pods.owned_by(uid)) if p is not None]
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        active = [p for p in pods if is_active(p)]
        completions = spec.get("completions", 1)
        completions = 1 if completions is None else int(completions)
        parallelism = int(spec.get("parallelism", 1) if spec.get("parallelism") is not None else 1)
        status = dict(job.get("status") or {})
        now = rt.clock.now()
        status.setdefault("startTime", rt.clock.now_rfc3339())
        limit = int(spec.get("backoffLimit", 6) if spec.get("backoffLimit") is not None else 6)
        deadline = spec.get("activeDeadlineSeconds")
        outcome = None
        if succeeded >= completions:
            outcome = ("SuccessCriteriaMet", "Complete", "CompletionsReached", "Reached expected number of succeeded "
                       "pods")
        elif failed > limit:
            outcome = ("FailureTarget", "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
        elif deadline is not None and now - parse_time(status["startTime"]) >= int(deadline):
            outcome = ("FailureTarget", "Failed", "DeadlineExceeded", "Job was active longer than specified deadline")
        elif deadline is not None:
            rt.mark_after(parse_time(status["startTime"]) + int(deadline) - now + 0.5, "job", namespace, name)
        if outcome is None:
            missing = min(parallelism, completions - succeeded) - len(active)
            for _ in range(max(0, missing)):
                self._create(job)
            active = [p for p in (rt.get("", "pods", *k) for k in self.b.pods.owned_by(uid))
                      if p is not None and is_active(p)]
        else:
            for pod in active:
                rt.delete("v1", "Pod", namespace, pod["metadata"]["name"])
            active = []
        status.update({"active": len(active), "succeeded": succeeded, "failed": failed,
                       "ready": sum(1 for p in active if is_ready(p)), "terminating": 0})
        if outcome is not None:
            stamp = rt.clock.now_rfc3339()
            interim, final, reason, message = outcome
            status["conditions"] = [
                {"type": interim, "status": "True", "reason": reason, "message": message,
                 "lastProbeTime": stamp, "lastTransitionTime": stamp},
                {"type": final, "status": "True", "reason": reason, "message": message,
                 "lastProbeTime": stamp, "lastTransitionTime": stamp}]
            if final == "Complete":
                status["completionTime"] = stamp
                self.b.events.record(job, NORMAL, "Completed", "Job completed", COMPONENT)
            else:
                self.b.events.record(job, WARNING, reason, message, COMPONENT)
        status = {k: v for k, v in status.items() if v or k in ("ready", "terminating")}
        if status != (job.get("status") or {}):
            rt.write_status("batch/v1", "Job", namespace, name, status)

    def _create(self, job: dict[str, Any]) -> None:
        meta = job["metadata"]
        template = (job.get("spec") or {}).get("template") or {}
        labels = {"batch.kubernetes.io/controller-uid": meta["uid"], "batch.kubernetes.io/job-name": meta["name"],
                  "controller-uid": meta["uid"], "job-name": meta["name"]}
        pod = pod_from_template(template, namespace=meta["namespace"], owner=job, extra_labels=labels,
                                generate_name=f"{meta['name']}-")
        pod["spec"]["restartPolicy"] = (template.get("spec") or {}).get("restartPolicy", "Never")
        try:
            created = self.b.runtime.create("v1", "Pod", meta["namespace"], pod)
        except APIError as exc:
            self.b.events.record(job, WARNING, "FailedCreate", f"Error creating: {exc.message}", COMPONENT)
            self.b.runtime.mark_after(self._limiter.when(meta["uid"], self.b.runtime.clock.now()), "job",
                                      meta["namespace"], meta["name"])
            return
        self._limiter.forget(meta["uid"])
        self.b.events.record(job, NORMAL, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}",
                             COMPONENT)


def _finished(job: dict[str, Any]) -> bool:
    for type_ in ("Complete", "Failed"):
        cond = condition(job, type_)
        if cond is not None and cond.get("status") == "True":
            return True
    return False
