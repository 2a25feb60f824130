"""ResourceQuota and LimitRange admission, and the quota controller's ``status``: a namespace's budget.

A shared cluster's admin gives Kubeflow's namespace a quota; a Deployment
whose pods exceed it stays at 0 ready replicas while its ReplicaSet reports
``FailedCreate: exceeded quota``. For kfctl to diagnose that, the sim must
refuse such pods as kube-apiserver does:

- **LimitRanger** (mutating, first): a ``Container`` limit range's
  ``defaultRequest``/``default`` fill the requests and limits a container
  leaves out (a default limit also becomes the request when none is given),
  and a container over ``max`` (or under ``min``) is refused with 403
  ``maximum cpu usage per Container is 2, but limit is 4``.
- **ResourceQuota** (validating, last): for a new pod, the live usage of the
  namespace's other pods plus the pod's own must stay within each quota's
  ``hard`` for ``pods``, ``count/pods``, ``requests.*``/``limits.*`` (and
  ``cpu``/``memory``, meaning requests); a quota limiting a compute resource
  the pod does not set refuses it with ``failed quota: <name>: must specify
  ...``. Object counts (``count/<resource>[.<group>]``, ``services``,
  ``configmaps``, ``secrets``, ``persistentvolumeclaims``) and
  ``requests.storage`` are checked on create of those kinds.
- the quota controller writes ``status.hard`` and ``status.used`` after every
  change of pods, claims and quotas in the namespace.

Not modelled: quota scopes and scope selectors (a scoped quota is applied as if
unscoped), priority-class quotas, admission races between concurrent creates.
"""

from __future__ import annotations

import copy
import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kfctl.sim.admission import CREATE, AdmissionRequest
from kfctl.sim.status import APIError
from kfctl.sim.store import Event, StaleWrite

if TYPE_CHECKING:
    from kfctl.sim.cluster import Cluster

log = logging.getLogger(__name__)

COMPUTE = ("cpu", "memory")
#: legacy object-count names and the (group, plural) they count
LEGACY_COUNTS = {"pods": ("", "pods"), "services": ("", "services"), "configmaps": ("", "configmaps"),
                 "secrets": ("", "secrets"), "persistentvolumeclaims": ("", "persistentvolumeclaims"),
                 "replicationcontrollers": ("", "replicationcontrollers"),
                 "resourcequotas": ("", "resourcequotas")}


def _quantity(value: Any) -> Decimal:
    from kfctl.sim.behaviour.pods import quantity  # one parser for the sim

    return quantity(value)


def _format(value: Decimal, resource: str) -> str:
    """A quantity as the quota admission prints it (cpu in millicores when fractional, memory in bytes)."""
    if value == value.to_integral_value():
        number = int(value)
        if resource.endswith(("memory", "storage")) and number:
            for suffix, size in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
                if number % size == 0:
                    return f"{number // size}{suffix}"
        return str(number)
    if resource.endswith("cpu"):
        return f"{int(value * 1000)}m"
    return str(value.normalize())


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def pod_usage(pod: dict[str, Any]) -> dict[str, Decimal]:
    """What one pod counts against a quota: pods, requests.* and limits.* (init containers by their maximum)."""
    spec = pod.get("spec") or {}
    usage: dict[str, Decimal] = {"pods": Decimal(1), "count/pods": Decimal(1)}
    for kind in ("requests", "limits"):
        totals: dict[str, Decimal] = {}
        for container in spec.get("containers") or []:
            for res, value in ((container.get("resources") or {}).get(kind) or {}).items():
                totals[res] = totals.get(res, Decimal(0)) + _quantity(value)
        for container in spec.get("initContainers") or []:
            for res, value in ((container.get("resources") or {}).get(kind) or {}).items():
                totals[res] = max(totals.get(res, Decimal(0)), _quantity(value))
        for res, value in (spec.get("overhead") or {}).items():
            totals[res] = totals.get(res, Decimal(0)) + _quantity(value)
        for res, value in totals.items():
            usage[f"{kind}.{res}"] = value
            if kind == "requests" and res in COMPUTE:
                usage[res] = value
    return usage


def _counts(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def _count_key(group: str, plural: str) -> str:
    return f"count/{plural}.{group}" if group else f"count/{plural}"


class QuotaAdmission:
    """LimitRanger and ResourceQuota as admission plugins, plus the quota status controller."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.store = cluster.store
        cluster.admission.mutating.insert(0, self.limit_ranger)
        cluster.admission.validating.append(self.resource_quota)
        self._unsubscribe = cluster.store.subscribe(self.on_event)

    def close(self) -> None:
        self._unsubscribe()

    # -- LimitRanger ------------------------------------------------------------------------------------
    def limit_ranger(self, request: AdmissionRequest) -> dict[str, Any] | None:
        if request.operation != CREATE or request.rtype.group or request.rtype.kind != "Pod" or request.obj is None:
            return None
        ranges, _ = self.store.list("", "limitranges", request.namespace)
        limits = [item for lr in ranges for item in (lr.get("spec") or {}).get("limits") or []
                  if item.get("type") == "Container"]
        if not limits:
            return None
        pod = copy.deepcopy(request.obj)
        for container in _containers(pod.get("spec") or {}):
            resources = container.setdefault("resources", {})
            for res, value in (resources.get("limits") or {}).items():  # the pod's own defaulting comes first
                resources.setdefault("requests", {}).setdefault(res, value)
            for item in limits:
                for res, value in (item.get("default") or {}).items():
                    resources.setdefault("limits", {}).setdefault(res, value)
                for res, value in (item.get("defaultRequest") or item.get("default") or {}).items():
                    resources.setdefault("requests", {}).setdefault(res, value)
            for item in limits:
                for res, value in (item.get("max") or {}).items():
                    limit = (resources.get("limits") or {}).get(res)
                    if limit is not None and _quantity(limit) > _quantity(value):
                        raise APIError(403, "Forbidden", f'pods "{request.name}" is forbidden: maximum {res} usage '
                                                         f"per Container is {value}, but limit is {limit}")
                for res, value in (item.get("min") or {}).items():
                    want = (resources.get("requests") or {}).get(res)
                    if want is not None and _quantity(want) < _quantity(value):
                        raise APIError(403, "Forbidden", f'pods "{request.name}" is forbidden: minimum {res} usage '
                                                         f"per Container is {value}, but request is {want}")
        return pod

    # -- ResourceQuota ----------------------------------------------------------------------------------
    def usage(self, namespace: str, hard: dict[str, Any]) -> dict[str, Decimal]:
        """Live usage of everything ``hard`` names in ``namespace``."""
        used: dict[str, Decimal] = {key: Decimal(0) for key in hard}
        if any(k == "pods" or k.startswith(("requests.", "limits.", "count/pods")) or k in COMPUTE for k in hard):
            pods, _ = self.store.list("", "pods", namespace)
            for pod in pods:
                if _counts(pod):
                    for key, value in pod_usage(pod).items():
                        if key in used:
                            used[key] += value
        if "requests.storage" in hard:
            claims, _ = self.store.list("", "persistentvolumeclaims", namespace)
            used["requests.storage"] = sum((_quantity(((c.get("spec") or {}).get("resources") or {})
                                                      .get("requests", {}).get("storage", 0)) for c in claims),
                                           Decimal(0))
        for key in hard:
            target = self._counted(key)
            if target and key not in ("pods", "count/pods"):
                items, _ = self.store.list(target[0], target[1], namespace)
                used[key] = Decimal(len(items))
        return used

    def _counted(self, key: str) -> tuple[str, str] | None:
        if key in LEGACY_COUNTS:
            return LEGACY_COUNTS[key]
        if key.startswith("count/"):
            plural, _, group = key[len("count/"):].partition(".")
            return group, plural
        return None

    def _requested(self, request: AdmissionRequest, hard: dict[str, Any]) -> dict[str, Decimal]:
        rtype = request.rtype
        obj = request.obj or {}
        wanted: dict[str, Decimal] = {}
        if rtype.group == "" and rtype.kind == "Pod":
            wanted.update(pod_usage(obj))
        if rtype.group == "" and rtype.kind == "PersistentVolumeClaim":
            wanted["requests.storage"] = _quantity(((obj.get("spec") or {}).get("resources") or {})
                                                   .get("requests", {}).get("storage", 0))
        for key in hard:
            if self._counted(key) == (rtype.group, rtype.plural):
                wanted[key] = Decimal(1)
        return {k: v for k, v in wanted.items() if k in hard}

    def resource_quota(self, request: AdmissionRequest) -> None:
        if request.operation != CREATE or not request.namespace or request.obj is None:
            return
        quotas, _ = self.store.list("", "resourcequotas", request.namespace)
        for quota in sorted(quotas, key=lambda q: q["metadata"]["name"]):
            hard = (quota.get("spec") or {}).get("hard") or {}
            name = quota["metadata"]["name"]
            wanted = self._requested(request, hard)
            if request.rtype.group == "" and request.rtype.kind == "Pod":
                missing = self._unspecified(request.obj, hard)
                if missing:
                    self._refuse(request, f"failed quota: {name}: must specify {missing}")
            if not wanted:
                continue
            used = self.usage(request.namespace, {k: hard[k] for k in wanted})
            over = sorted(k for k, v in wanted.items() if v > 0 and used[k] + v > _quantity(hard[k]))
            if over:
                self._refuse(request, f"exceeded quota: {name}, requested: "
                             + ",".join(f"{k}={_format(wanted[k], k)}" for k in over) + ", used: "
                             + ",".join(f"{k}={_format(used[k], k)}" for k in over) + ", limited: "
                             + ",".join(f"{k}={hard[k]}" for k in over))

    @staticmethod
    def _unspecified(pod: dict[str, Any], hard: dict[str, Any]) -> str:
        """``limits.cpu for: app; requests.memory for: app,sidecar`` for what the quota tracks and the pod omits."""
        parts = []
        for key in sorted(hard):
            kind, _, res = key.partition(".")
            if key in COMPUTE:
                kind, res = "requests", key
            if kind not in ("requests", "limits") or res not in COMPUTE:
                continue
            names = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []
                     if res not in ((c.get("resources") or {}).get(kind) or {})]
            if names:
                parts.append(f"{key} for: {','.join(names)}")
        return "; ".join(parts)

    def _refuse(self, request: AdmissionRequest, why: str) -> None:
        from kfctl.sim.status import qualified

        raise APIError(403, "Forbidden", f'{qualified(request.rtype.plural, request.rtype.group)} '
                                         f'"{request.name}" is forbidden: {why}',
                       details={"name": request.name, "kind": request.rtype.plural,
                                **({"group": request.rtype.group} if request.rtype.group else {})})

    # -- status -------------------------------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        if event.group != "" or not event.namespace:
            return
        if event.plural not in ("pods", "persistentvolumeclaims", "resourcequotas", *[
                p for _, p in LEGACY_COUNTS.values()]):
            return
        try:
            self.refresh(event.namespace)
        except Exception:  # a status write must never break the dispatcher
            log.exception("quota status of namespace %s", event.namespace)

    def refresh(self, namespace: str) -> None:
        quotas, _ = self.store.list("", "resourcequotas", namespace)
        for quota in quotas:
            if quota["metadata"].get("deletionTimestamp"):
                continue
            hard = dict((quota.get("spec") or {}).get("hard") or {})
            used = {k: _format(v, k) for k, v in self.usage(namespace, hard).items()}
            wanted = {"hard": hard, "used": used}
            if quota.get("status") == wanted:
                continue
            new = copy.deepcopy(quota)
            new["status"] = wanted
            try:
                self.store.update("", "resourcequotas", new, quota["metadata"]["resourceVersion"])
            except StaleWrite:
                continue  # a newer version is coming: its event refreshes again
