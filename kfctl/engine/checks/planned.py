"""The pods a plan will run, read from its workloads' pod templates: how many, and what each requests.

Shared by the nodes and capacity checks. A Deployment, StatefulSet or
ReplicaSet runs ``replicas`` pods (1 when unset), a Job ``parallelism``, a
DaemonSet one per schedulable node, a bare Pod one; CronJobs run only now and
then and are counted as one pod. Pods that operators start later (notebooks,
inference services, training jobs) are not in the plan and so not counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kfctl.engine.compare import quantity
from kfctl.plan import ObjectRef, Plan
from kfctl.plan.index import WORKLOAD_KINDS, pod_template

#: extended resources that are GPUs (what a notebook spawner or a training runtime asks for)
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")
RESOURCES = ("cpu", "memory", *GPU_RESOURCES)


@dataclass(frozen=True)
class PlannedPod:
    """One workload's pods: how many and what one of them requests (and limits)."""

    ref: ObjectRef
    component: str
    count: int
    per_node: bool  # a DaemonSet: ``count`` is per schedulable node
    requests: Mapping[str, Decimal]
    limits: Mapping[str, Decimal]
    #: containers (name) without a request, resp. a limit, for cpu or memory
    unrequested: tuple[str, ...]
    unlimited: tuple[str, ...]
    containers: tuple[Mapping[str, Any], ...]
    tolerations: tuple[Mapping[str, Any], ...]


def _sum(containers: list[Mapping[str, Any]], field: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for container in containers:
        values = ((container.get("resources") or {}).get(field)) or {}
        for key in RESOURCES:
            amount = quantity(values.get(key))
            if amount is not None:
                out[key] = out.get(key, Decimal(0)) + amount
    return out


def _effective(spec: Mapping[str, Any], field: str) -> dict[str, Decimal]:
    """A pod's effective requests (or limits): its containers' sum, or its largest init container if more."""
    out = _sum(list(spec.get("containers") or ()), field)
    for init in spec.get("initContainers") or ():
        for key, amount in _sum([init], field).items():
            if amount > out.get(key, Decimal(0)):
                out[key] = amount
    return out


def _count(ref: ObjectRef, manifest: Mapping[str, Any]) -> int:
    spec = manifest.get("spec") or {}
    if ref.kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        replicas = spec.get("replicas", 1)
        return int(replicas) if isinstance(replicas, int) else 1
    if ref.kind == "Job":
        parallelism = spec.get("parallelism", 1)
        return int(parallelism) if isinstance(parallelism, int) else 1
    return 1


def planned_pods(plan: Plan) -> list[PlannedPod]:
    """Every workload of the plan with its pod template's requests, in plan order."""
    out: list[PlannedPod] = []
    for ref, node in plan.nodes.items():
        if (ref.group, ref.kind) not in WORKLOAD_KINDS:
            continue
        template = pod_template(node.manifest)
        if template is None:
            continue
        spec = template.get("spec") or {}
        containers = [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]
        unrequested = tuple(str(c.get("name")) for c in spec.get("containers") or ()
                            if not all(k in ((c.get("resources") or {}).get("requests") or {}) for k in ("cpu", "memory")))
        unlimited = tuple(str(c.get("name")) for c in spec.get("containers") or ()
                          if not all(k in ((c.get("resources") or {}).get("limits") or {}) for k in ("cpu", "memory")))
        out.append(PlannedPod(ref, node.component, _count(ref, node.manifest), ref.kind == "DaemonSet",
                              _effective(spec, "requests"), _effective(spec, "limits"), unrequested, unlimited,
                              tuple(containers), tuple(spec.get("tolerations") or ())))
    return out


def offers_gpus(plan: Plan) -> list[str]:
    """Objects of the plan that offer GPUs to users: a pod template, runtime or spawner config naming a GPU
    resource (a notebook spawner's GPU vendors, a Trainer runtime's ``nvidia.com/gpu`` limit), one line each."""
    found: list[str] = []
    for ref, node in plan.nodes.items():
        names = sorted({key for key in GPU_RESOURCES if _mentions(node.manifest, key)})
        if names:
            found.append(f"{ref} [{node.component}] ({', '.join(names)})")
    return found


def _mentions(value: Any, key: str) -> bool:
    if isinstance(value, str):
        return key in value
    if isinstance(value, Mapping):
        return any(k == key or _mentions(v, key) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_mentions(v, key) for v in value)
    return False


def tolerates(tolerations: tuple[Mapping[str, Any], ...] | list[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    """Whether a pod with these tolerations may run on a node with this taint (the scheduler's rule)."""
    for toleration in tolerations:
        effect = toleration.get("effect")
        if effect and effect != taint.get("effect"):
            continue
        key = toleration.get("key")
        if not key:
            if toleration.get("operator") == "Exists":
                return True
            continue
        if key != taint.get("key"):
            continue
        if toleration.get("operator") == "Exists" or str(toleration.get("value") or "") == str(taint.get("value") or ""):
            return True
    return False
