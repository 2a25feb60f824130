"""The Deployment controller: ReplicaSets per template, rolling updates, status and conditions.

Status is published exactly as kube-controller-manager does, because
``kubectl rollout status``, ``kubectl wait --for=condition=Available`` and
kfctl's health checks read it: observedGeneration, replicas,
updatedReplicas, readyReplicas, availableReplicas, unavailableReplicas, and
the conditions Available (MinimumReplicasAvailable /
MinimumReplicasUnavailable) and Progressing (NewReplicaSetCreated,
ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded after
``progressDeadlineSeconds`` without progress).
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any

from kfctl.sim.behaviour.events import NORMAL
from kfctl.sim.behaviour.index import OwnerIndex, owner_key
from kfctl.sim.behaviour.pods import condition, owner_reference, template_hash
from kfctl.sim.clock import format_time, parse_time
from kfctl.sim.status import APIError
from kfctl.sim.store import DELETED, Event

if TYPE_CHECKING:
    from kfctl.sim.behaviour import Behaviours

COMPONENT = "deployment-controller"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"


def resolve(value: Any, total: int, round_up: bool) -> int:
    """An int-or-percent (maxSurge, maxUnavailable) against ``total``."""
    if isinstance(value, str) and value.endswith("%"):
        try:
            fraction = float(value[:-1]) / 100 * total
        except ValueError:
            return 0
        return math.ceil(fraction) if round_up else math.floor(fraction)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _without_hash(template: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(template)
    labels = (out.get("metadata") or {}).get("labels")
    if labels is not None:
        labels.pop(HASH_LABEL, None)
    return out


class DeploymentController:
    """Deployment -> ReplicaSets; scaling by strategy; status."""

    def __init__(self, behaviours: Behaviours) -> None:
        self.b = behaviours
        rt = behaviours.runtime
        self.replicasets = OwnerIndex()
        rt.reconciler("deployment", self.reconcile)
        rt.watch("apps", "deployments", self._on_deployment)
        rt.watch("apps", "replicasets", self._on_rs)

    def _on_deployment(self, event: Event) -> None:
        if event.type != DELETED:
            self.b.runtime.mark("deployment", event.namespace, event.name)

    def _on_rs(self, event: Event) -> None:
        self.replicasets.update(event)
        key = owner_key(event.obj, "Deployment")
        if key is not None:
            self.b.runtime.mark("deployment", *key)

    def _owned(self, d: dict[str, Any]) -> list[dict[str, Any]]:
        uid, ns = d["metadata"]["uid"], d["metadata"]["namespace"]
        out = []
        for _, name in self.replicasets.owned_by(uid):
            rs = self.b.runtime.get("apps", "replicasets", ns, name)
            if rs is not None and not rs["metadata"].get("deletionTimestamp"):
                out.append(rs)
        return out

    # -- reconcile ------------------------------------------------------------
    def reconcile(self, namespace: str, name: str) -> None:
        rt = self.b.runtime
        d = rt.get("apps", "deployments", namespace, name)
        if d is None or d["metadata"].get("deletionTimestamp"):
            return
        spec = d.get("spec") or {}
        template = spec.get("template") or {}
        rss = self._owned(d)
        new_rs = next((rs for rs in rss if _without_hash((rs.get("spec") or {}).get("template") or {}) ==
                       _without_hash(template)), None)
        old_rss = [rs for rs in rss if rs is not new_rs]
        want = int(spec.get("replicas", 1))
        created = False
        if not spec.get("paused"):
            if new_rs is None:
                new_rs = self._create_rs(d, old_rss, want)
                created = new_rs is not None
            if new_rs is not None:
                strategy = spec.get("strategy") or {}
                if strategy.get("type") == "Recreate":
                    self._recreate(d, new_rs, old_rss, want)
                else:
                    self._rolling(d, new_rs, old_rss, want, strategy.get("rollingUpdate") or {})
            rss = self._owned(d)
            new_rs = next((rs for rs in rss if new_rs is not None and rs["metadata"]["uid"] ==
                           new_rs["metadata"]["uid"]), None)
        self._sync_revision(d, new_rs)
        self._publish(d, new_rs, [rs for rs in rss if rs is not new_rs], want, created)

    def _create_rs(self, d: dict[str, Any], old_rss: list[dict[str, Any]], want: int) -> dict[str, Any] | None:
        rt = self.b.runtime
        meta, spec = d["metadata"], d.get("spec") or {}
        collisions = int((d.get("status") or {}).get("collisionCount") or 0)
        template = copy.deepcopy(spec.get("template") or {})
        pod_hash = template_hash(template, collisions)
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
        selector = copy.deepcopy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
        revision = 1 + max((int((rs["metadata"].get("annotations") or {}).get(REVISION, "0") or 0)
                            for rs in old_rss), default=0)
        strategy = spec.get("strategy") or {}
        surge = resolve((strategy.get("rollingUpdate") or {}).get("maxSurge", "25%"), want, True)
        replicas = want if not old_rss or strategy.get("type") == "Recreate" else 0
        if old_rss and strategy.get("type") != "Recreate":
            total = sum(int((rs.get("spec") or {}).get("replicas", 0)) for rs in old_rss)
            replicas = max(0, min(want, want + surge - total))
        if strategy.get("type") == "Recreate" and any(int((rs.get("spec") or {}).get("replicas", 0)) or
                                                      (rs.get("status") or {}).get("replicas") for rs in old_rss):
            replicas = 0
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": f"{meta['name']}-{pod_hash}", "namespace": meta["namespace"],
                           "labels": dict(template["metadata"]["labels"]),
                           "annotations": {REVISION: str(revision), "deployment.kubernetes.io/desired-replicas":
                                           str(want), "deployment.kubernetes.io/max-replicas": str(want + surge)},
                           "ownerReferences": [owner_reference(d)]},
              "spec": {"replicas": replicas, "minReadySeconds": int(spec.get("minReadySeconds") or 0),
                       "selector": selector, "template": template}}
        try:
            created = rt.create("apps/v1", "ReplicaSet", meta["namespace"], rs)
        except APIError as exc:
            if exc.code == 409:  # a hash collision: the next reconcile uses collisionCount + 1
                status = dict(d.get("status") or {})
                status["collisionCount"] = collisions + 1
                rt.write_status("apps/v1", "Deployment", meta["namespace"], meta["name"], status)
                return None
            raise
        self.replicasets.by_owner[meta["uid"]].add((meta["namespace"], created["metadata"]["name"]))
        self.b.events.record(d, NORMAL, "ScalingReplicaSet",
                             f"Scaled up replica set {created['metadata']['name']} from 0 to {replicas}", COMPONENT)
        return created

    def _scale(self, d: dict[str, Any], rs: dict[str, Any], replicas: int) -> None:
        old = int((rs.get("spec") or {}).get("replicas", 0))
        if old == replicas:
            return
        want = int((d.get("spec") or {}).get("replicas", 1))

        def scale(live: dict[str, Any]) -> dict[str, Any]:
            live["spec"]["replicas"] = replicas
            annotations = live["metadata"].setdefault("annotations", {})
            annotations["deployment.kubernetes.io/desired-replicas"] = str(want)
            return live
        self.b.runtime.update("apps/v1", "ReplicaSet", rs["metadata"]["namespace"], rs["metadata"]["name"], scale)
        verb = "up" if replicas > old else "down"
        self.b.events.record(d, NORMAL, "ScalingReplicaSet",
                             f"Scaled {verb} replica set {rs['metadata']['name']} from {old} to {replicas}", COMPONENT)

    def _recreate(self, d: dict[str, Any], new_rs: dict[str, Any], old_rss: list[dict[str, Any]], want: int) -> None:
        for rs in old_rss:
            self._scale(d, rs, 0)
        if any((rs.get("status") or {}).get("replicas") for rs in old_rss):
            return  # wait until every old pod is gone
        self._scale(d, new_rs, want)

    def _rolling(self, d: dict[str, Any], new_rs: dict[str, Any], old_rss: list[dict[str, Any]], want: int,
                 rolling: dict[str, Any]) -> None:
        surge = resolve(rolling.get("maxSurge", "25%"), want, True)
        unavailable = resolve(rolling.get("maxUnavailable", "25%"), want, False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        replicas = lambda rs: int((rs.get("spec") or {}).get("replicas", 0))  # noqa: E731
        available = lambda rs: int((rs.get("status") or {}).get("availableReplicas", 0))  # noqa: E731
        # scale the new ReplicaSet up within maxSurge
        new_count = replicas(new_rs)
        if new_count > want:
            self._scale(d, new_rs, want)
            new_count = want
        elif new_count < want:
            room = want + surge - sum(replicas(rs) for rs in [new_rs, *old_rss])
            if room > 0:
                new_count = new_count + min(room, want - new_count)
                self._scale(d, new_rs, new_count)
        if not old_rss:
            return
        # scale old ReplicaSets down while keeping want - maxUnavailable available
        min_available = want - unavailable
        all_count = new_count + sum(replicas(rs) for rs in old_rss)
        new_unavailable = new_count - available(new_rs)
        budget = all_count - min_available - new_unavailable
        if budget <= 0:
            return
        ordered = sorted(old_rss, key=lambda rs: rs["metadata"].get("creationTimestamp", ""))
        for rs in ordered:  # unhealthy old replicas go first, they count against nothing
            unhealthy = replicas(rs) - available(rs)
            cut = min(budget, max(0, unhealthy))
            if cut:
                self._scale(d, rs, replicas(rs) - cut)
                rs = {**rs, "spec": {**rs["spec"], "replicas": replicas(rs) - cut}}
                budget -= cut
        total_available = sum(available(rs) for rs in [new_rs, *old_rss])
        budget = total_available - min_available
        for rs in ordered:
            live = self.b.runtime.get("apps", "replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])
            if live is None or budget <= 0:
                continue
            cut = min(budget, replicas(live))
            if cut:
                self._scale(d, live, replicas(live) - cut)
                budget -= cut

    def _sync_revision(self, d: dict[str, Any], new_rs: dict[str, Any] | None) -> None:
        if new_rs is None:
            return
        revision = (new_rs["metadata"].get("annotations") or {}).get(REVISION)
        if not revision or (d["metadata"].get("annotations") or {}).get(REVISION) == revision:
            return

        def annotate(live: dict[str, Any]) -> dict[str, Any]:
            live["metadata"].setdefault("annotations", {})[REVISION] = revision
            return live
        self.b.runtime.update("apps/v1", "Deployment", d["metadata"]["namespace"], d["metadata"]["name"], annotate)

    # -- status -----------------------------------------------------------------
    def _publish(self, d: dict[str, Any], new_rs: dict[str, Any] | None, old_rss: list[dict[str, Any]],
                 want: int, created: bool) -> None:
        rt = self.b.runtime
        d = rt.get("apps", "deployments", d["metadata"]["namespace"], d["metadata"]["name"]) or d
        meta, spec = d["metadata"], d.get("spec") or {}
        old_status = d.get("status") or {}
        every = ([new_rs] if new_rs is not None else []) + old_rss
        total = lambda field: sum(int((rs.get("status") or {}).get(field, 0)) for rs in every)  # noqa: E731
        updated = int((new_rs.get("status") or {}).get("replicas", 0)) if new_rs is not None else 0
        status: dict[str, Any] = {
            "observedGeneration": meta.get("generation", 1), "replicas": total("replicas"),
            "updatedReplicas": updated, "readyReplicas": total("readyReplicas"),
            "availableReplicas": total("availableReplicas"),
        }
        status["unavailableReplicas"] = max(0, want - status["availableReplicas"])
        if old_status.get("collisionCount"):
            status["collisionCount"] = old_status["collisionCount"]
        now = rt.clock.now()
        stamp = format_time(now)
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        unavailable = resolve(rolling.get("maxUnavailable", "25%"), want, False)
        if (spec.get("strategy") or {}).get("type") == "Recreate":
            unavailable = 0
        available_ok = status["availableReplicas"] >= want - unavailable
        conditions: dict[str, dict[str, Any]] = {}
        conditions["Available"] = _condition(
            d, "Available", "True" if available_ok else "False",
            "MinimumReplicasAvailable" if available_ok else "MinimumReplicasUnavailable",
            "Deployment has minimum availability." if available_ok else
            "Deployment does not have minimum availability.", stamp)
        rs_name = new_rs["metadata"]["name"] if new_rs is not None else ""
        complete = (new_rs is not None and updated == want and status["replicas"] == want and
                    status["availableReplicas"] == want)
        prior = condition(d, "Progressing")
        progressed = (status["replicas"], status["updatedReplicas"], status["readyReplicas"],
                      status["availableReplicas"]) != tuple(int(old_status.get(k, 0)) for k in (
                          "replicas", "updatedReplicas", "readyReplicas", "availableReplicas"))
        deadline = spec.get("progressDeadlineSeconds", 600)
        if complete:
            progressing = _condition(d, "Progressing", "True", "NewReplicaSetAvailable",
                                     f'ReplicaSet "{rs_name}" has successfully progressed.', stamp, update=progressed
                                     or (prior or {}).get("reason") != "NewReplicaSetAvailable")
        elif created or prior is None:
            progressing = _condition(d, "Progressing", "True", "NewReplicaSetCreated",
                                     f'Created new replica set "{rs_name}"', stamp, update=True)
        elif prior.get("reason") == "ProgressDeadlineExceeded" and not progressed:
            progressing = prior
        else:
            since = parse_time(prior.get("lastUpdateTime") or stamp)
            if not progressed and deadline is not None and now - since >= int(deadline) and \
                    (spec.get("paused") is not True):
                progressing = _condition(d, "Progressing", "False", "ProgressDeadlineExceeded",
                                         f'ReplicaSet "{rs_name}" has timed out progressing.', stamp, update=True)
                self.b.events.record(d, "Warning", "ProgressDeadlineExceeded",
                                     f'Deployment "{meta["name"]}" has timed out progressing.', COMPONENT)
            else:
                moving = progressed or prior.get("reason") not in ("ReplicaSetUpdated",)
                progressing = _condition(d, "Progressing", "True", "ReplicaSetUpdated",
                                         f'ReplicaSet "{rs_name}" is progressing.', stamp, update=moving)
                if deadline is not None:
                    last = parse_time(progressing["lastUpdateTime"])
                    rt.mark_after(max(0.0, last + int(deadline) - now) + 0.5, "deployment", meta["namespace"],
                                  meta["name"])
        conditions["Progressing"] = progressing
        status["conditions"] = [conditions["Available"], conditions["Progressing"]]
        if not status["unavailableReplicas"]:
            del status["unavailableReplicas"]
        status = {k: v for k, v in status.items() if v or k in ("observedGeneration", "conditions")}
        if status != old_status:
            rt.write_status("apps/v1", "Deployment", meta["namespace"], meta["name"], status)


def _condition(obj: dict[str, Any], type_: str, status: str, reason: str, message: str, stamp: str,
               *, update: bool = False) -> dict[str, Any]:
    """A condition keeping lastTransitionTime unless the status flips; lastUpdateTime on progress."""
    prior = condition(obj, type_)
    if prior is not None and prior.get("status") == status and prior.get("reason") == reason and \
            prior.get("message") == message and not update:
        return prior
    transition = prior.get("lastTransitionTime") if prior is not None and prior.get("status") == status else stamp
    return {"type": type_, "status": status, "lastUpdateTime": stamp, "lastTransitionTime": transition or stamp,
            "reason": reason, "message": message}
