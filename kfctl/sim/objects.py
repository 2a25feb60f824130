"""Small pure functions over stored objects shared by the pipeline, watches and controllers.

Stored objects are shared and never mutated; :func:`private` copies one for a
caller. :func:`external` / :func:`internal` move custom resources between the
requested and the storage version (conversion strategy None).
"""

from __future__ import annotations

import json
from typing import Any

from kfctl.sim.types import ResourceType

def patch_module() -> Any:
    from kfctl.sim import patch

    return patch


def schema_args(rtype: ResourceType) -> dict[str, Any]:
    return {"schema": rtype.schema if rtype.custom else None, "status_subresource": rtype.has_status}


def set_managed(meta: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    if entries:
        meta["managedFields"] = entries
    else:
        meta.pop("managedFields", None)


#: built-in kinds whose API strategy keeps ``metadata.generation`` (a Service, a claim or a Namespace has none,
#: a NetworkPolicy or a webhook configuration has one: seen on kube-apiserver 1.37 by the fidelity check)
GENERATION_KINDS = frozenset({
    ("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"), ("apps", "DaemonSet"),
    ("", "ReplicationController"), ("", "Pod"), ("batch", "Job"), ("batch", "CronJob"),
    ("autoscaling", "HorizontalPodAutoscaler"), ("policy", "PodDisruptionBudget"),
    ("networking.k8s.io", "NetworkPolicy"), ("networking.k8s.io", "Ingress"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"), ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
})


def tracks_generation(rtype: ResourceType) -> bool:
    return rtype.custom or (rtype.group, rtype.kind) in GENERATION_KINDS


def spec_changed(rtype: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> bool:
    skip = {"metadata", "status"} if (rtype.has_status or not rtype.custom) else {"metadata"}
    keys = (set(old) | set(new)) - skip - {"apiVersion", "kind"}
    return any(old.get(k) != new.get(k) for k in keys)


def same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """True when a write changes nothing but managedFields timestamps (a no-op)."""
    if set(old) != set(new):
        return False
    for key in old:
        if key != "metadata" and old[key] != new[key]:
            return False
    om, nm = old["metadata"], new["metadata"]
    if set(om) - {"managedFields"} != set(nm) - {"managedFields"}:
        return False
    if any(om[k] != nm[k] for k in om if k != "managedFields"):
        return False
    return strip_times(om.get("managedFields")) == strip_times(nm.get("managedFields"))


def strip_times(entries: Any) -> Any:
    if not isinstance(entries, list):
        return entries
    return [{k: v for k, v in e.items() if k != "time"} if isinstance(e, dict) else e for e in entries]


def private(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of a stored object for the caller: stored objects are shared and never mutated.

    Objects are plain JSON, so a JSON round trip copies them (about 3x faster than deepcopy).
    """
    return json.loads(json.dumps(obj))


def external(rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """The stored object as ``rtype``'s version (custom resources convert with strategy None)."""
    if obj.get("apiVersion") == rtype.api_version:
        return obj
    return {**obj, "apiVersion": rtype.api_version}


def internal(rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` relabelled to the storage version of its resource."""
    if rtype.custom and rtype.storage_version and rtype.storage_version != rtype.version:
        obj["apiVersion"] = f"{rtype.group}/{rtype.storage_version}"
    return obj
