"""The StatefulSet controller: ordinal pods, claims from volumeClaimTemplates, revisions.

Pods are named ``<set>-0 .. <set>-N-1``; with the default ``OrderedReady``
policy the next ordinal is created only when every lower one is Running and
Ready (``Parallel`` creates all at once). Each pod's claims
``<template>-<set>-<ordinal>`` are created before the pod. Revisions are
``<set>-<hash>`` ControllerRevisions; a template change makes a new
``updateRevision`` and the rolling update replaces pods from the highest
ordinal down, one at a time (respecting ``partition``), until
``currentRevision`` catches up, which is what ``kubectl rollout status
statefulset`` waits for.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from kfctl.sim.behaviour.backoff import ControllerRateLimiter
from kfctl.sim.behaviour.events import NORMAL, WARNING
from kfctl.sim.behaviour.index import owner_key
from kfctl.sim.behaviour.pods import is_active, is_ready, owner_reference, pod_from_template, template_hash
from kfctl.sim.status import APIError
from kfctl.sim.store import DELETED, Event

if TYPE_CHECKING:
    from kfctl.sim.behaviour import Behaviours

COMPONENT = "statefulset-controller"
REVISION_LABEL = "controller-revision-hash"


class StatefulSetController:
    """StatefulSet -> pods and claims; status with revisions."""

    def __init__(self, behaviours: Behaviours) -> None:
        self.b = behaviours
        rt = behaviours.runtime
        rt.reconciler("statefulset", self.reconcile)
        rt.watch("apps", "statefulsets", self._on_set)
        rt.watch("", "pods", self._on_pod)
        self._current: dict[str, str] = {}  # set uid -> current revision name
        self._limiter = ControllerRateLimiter()  # failed creations requeue like queue.AddRateLimited

    def _on_set(self, event: Event) -> None:
        if event.type == DELETED:
            self._current.pop(event.obj["metadata"]["uid"], None)
        else:
            self.b.runtime.mark("statefulset", event.namespace, event.name)

    def _on_pod(self, event: Event) -> None:
        key = owner_key(event.obj, "StatefulSet")
        if key is not None:
            self.b.runtime.mark("statefulset", *key)

    def reconcile(self, namespace: str, name: str) -> None:
        rt = self.b.runtime
        sts = rt.get("apps", "statefulsets", namespace, name)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return
        spec = sts.get("spec") or {}
        want = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        revision = f"{name}-{template_hash(template)}"
        self._ensure_revision(sts, revision)
        uid = sts["metadata"]["uid"]
        current_rev = (sts.get("status") or {}).get("currentRevision") or self._current.get(uid) or revision
        pods: dict[int, dict[str, Any]] = {}
        for i in range(max(want, len(self.b.pods.owned_by(uid)) + want)):
            pod = rt.get("", "pods", namespace, f"{name}-{i}")
            if pod is not None and any(r.get("uid") == uid for r in pod["metadata"].get("ownerReferences") or []):
                pods[i] = pod
        parallel = spec.get("podManagementPolicy") == "Parallel"
        for i in range(want):
            if i in pods:
                if not parallel and not (is_active(pods[i]) and is_ready(pods[i])):
                    break
                continue
            self._create_pod(sts, i, revision)
            if not parallel:
                break
        for i in sorted((i for i in pods if i >= want), reverse=True):  # scale down, highest first
            rt.delete("v1", "Pod", namespace, pods[i]["metadata"]["name"])
            self.b.events.record(sts, NORMAL, "SuccessfulDelete",
                                 f"delete Pod {pods[i]['metadata']['name']} in StatefulSet {name} successful",
                                 COMPONENT)
            if not parallel:
                break
        pods = {i: p for i, p in pods.items() if i < want and rt.get("", "pods", namespace, p["metadata"]["name"])}
        self._roll(sts, pods, revision, want)
        self._publish(sts, pods, revision, current_rev, want)

    def _ensure_revision(self, sts: dict[str, Any], revision: str) -> None:
        rt = self.b.runtime
        ns = sts["metadata"]["namespace"]
        if rt.get("apps", "controllerrevisions", ns, revision) is not None:
            return
        items, _ = rt.store.list("apps", "controllerrevisions", ns)
        number = 1 + sum(1 for r in items if any(ref.get("uid") == sts["metadata"]["uid"]
                                                 for ref in r["metadata"].get("ownerReferences") or []))
        labels = dict(((sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
        labels[REVISION_LABEL] = revision
        try:
            rt.create("apps/v1", "ControllerRevision", ns, {
                "apiVersion": "apps/v1", "kind": "ControllerRevision",
                "metadata": {"name": revision, "namespace": ns, "labels": labels,
                             "ownerReferences": [owner_reference(sts)]},
                "data": {"spec": {"template": copy.deepcopy((sts.get("spec") or {}).get("template") or {})}},
                "revision": number})
        except APIError as exc:
            if exc.code != 409:
                raise

    def _create_pod(self, sts: dict[str, Any], ordinal: int, revision: str) -> None:
        rt = self.b.runtime
        meta, spec = sts["metadata"], sts.get("spec") or {}
        name = f"{meta['name']}-{ordinal}"
        for claim in spec.get("volumeClaimTemplates") or []:
            self._ensure_claim(sts, claim, ordinal)
        labels = {REVISION_LABEL: revision, "statefulset.kubernetes.io/pod-name": name,
                  "apps.kubernetes.io/pod-index": str(ordinal)}
        pod = pod_from_template(spec.get("template") or {}, namespace=meta["namespace"], owner=sts,
                                extra_labels=labels, name=name)
        pod["spec"]["hostname"] = name
        if spec.get("serviceName"):
            pod["spec"]["subdomain"] = spec["serviceName"]
        volumes = pod["spec"].setdefault("volumes", [])
        present = {v.get("name") for v in volumes}
        for claim in spec.get("volumeClaimTemplates") or []:
            cname = (claim.get("metadata") or {}).get("name", "")
            if cname not in present:
                volumes.append({"name": cname, "persistentVolumeClaim": {"claimName": f"{cname}-{name}"}})
        try:
            rt.create("v1", "Pod", meta["namespace"], pod)
        except APIError as exc:
            if exc.code == 409:
                return
            self.b.events.record(sts, WARNING, "FailedCreate",
                                 f"create Pod {name} in StatefulSet {meta['name']} failed error: {exc.message}",
                                 COMPONENT)
            rt.mark_after(self._limiter.when(meta["uid"], rt.clock.now()), "statefulset", meta["namespace"],
                          meta["name"])
            return
        self._limiter.forget(meta["uid"])
        self.b.events.record(sts, NORMAL, "SuccessfulCreate",
                             f"create Pod {name} in StatefulSet {meta['name']} successful", COMPONENT)

    def _ensure_claim(self, sts: dict[str, Any], template: dict[str, Any], ordinal: int) -> None:
        rt = self.b.runtime
        meta = sts["metadata"]
        tmeta = template.get("metadata") or {}
        name = f"{tmeta.get('name', '')}-{meta['name']}-{ordinal}"
        if rt.get("", "persistentvolumeclaims", meta["namespace"], name) is not None:
            return
        labels = {**(tmeta.get("labels") or {}),
                  **(((sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})}
        claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                 "metadata": {"name": name, "namespace": meta["namespace"], "labels": labels},
                 "spec": copy.deepcopy(template.get("spec") or {})}
        if tmeta.get("annotations"):
            claim["metadata"]["annotations"] = dict(tmeta["annotations"])
        try:
            rt.create("v1", "PersistentVolumeClaim", meta["namespace"], claim)
            self.b.events.record(sts, NORMAL, "SuccessfulCreate",
                                 f"create Claim {name} Pod {meta['name']}-{ordinal} in StatefulSet {meta['name']} "
                                 "success", COMPONENT)
        except APIError as exc:
            if exc.code != 409:
                raise

    def _roll(self, sts: dict[str, Any], pods: dict[int, dict[str, Any]], revision: str, want: int) -> None:
        spec = sts.get("spec") or {}
        strategy = spec.get("updateStrategy") or {}
        if strategy.get("type") == "OnDelete" or len(pods) < want:
            return
        if not all(is_ready(p) for p in pods.values()):
            return  # one at a time: wait until the replaced pod is ready
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
        for i in sorted(pods, reverse=True):
            if i < partition:
                break
            if (pods[i]["metadata"].get("labels") or {}).get(REVISION_LABEL) != revision:
                self.b.runtime.delete("v1", "Pod", pods[i]["metadata"]["namespace"], pods[i]["metadata"]["name"])
                return

    def _publish(self, sts: dict[str, Any], pods: dict[int, dict[str, Any]], revision: str, current_rev: str,
                 want: int) -> None:
        rt = self.b.runtime
        meta = sts["metadata"]
        active = [p for p in pods.values() if is_active(p)]
        rev_of = lambda p: (p["metadata"].get("labels") or {}).get(REVISION_LABEL)  # noqa: E731
        updated = sum(1 for p in active if rev_of(p) == revision)
        current = sum(1 for p in active if rev_of(p) == current_rev)
        ready = sum(1 for p in active if is_ready(p))
        if updated == want and ready == want and len(active) == want:
            current_rev, current = revision, updated
        self._current[meta["uid"]] = current_rev
        status = {"observedGeneration": meta.get("generation", 1), "replicas": len(active), "readyReplicas": ready,
                  "currentReplicas": current, "updatedReplicas": updated, "availableReplicas": ready,
                  "currentRevision": current_rev, "updateRevision": revision, "collisionCount": 0}
        status = {k: v for k, v in status.items() if v or k in ("replicas", "collisionCount", "availableReplicas")}
        if status != (sts.get("status") or {}):
            rt.write_status("apps/v1", "StatefulSet", meta["namespace"], meta["name"], status)
