"""Fields the API server refuses to change after creation, per kind.

Upgrades meet these on real clusters (a Deployment whose selector changed, a
Job whose template changed, an immutable ConfigMap) and must delete and
recreate; the sim refuses them the same way so upgrade paths are exercised.
Values are shown as JSON where the real server prints Go syntax.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from kfctl.sim import status
from kfctl.sim.types import ResourceType

Check = Callable[[dict[str, Any], dict[str, Any]], list[dict[str, Any]]]


def _get(obj: dict[str, Any], path: str) -> Any:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _fixed(*paths: str, suffix: str = "field is immutable") -> Check:
    def check(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for path in paths:
            before, after = _get(old, path), _get(new, path)
            if before is not None and before != after:
                shown = json.dumps(after, separators=(",", ":"), sort_keys=True)
                out.append(status.cause(path, "FieldValueInvalid", f"Invalid value: {shown}: {suffix}"))
        return out
    return check


def _immutable_data(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    if not old.get("immutable"):
        return []
    out = []
    if not new.get("immutable"):
        out.append(status.cause("immutable", "FieldValueForbidden",
                                "Forbidden: field is immutable when `immutable` is set"))
    for key in ("data", "binaryData"):
        if (old.get(key) or {}) != (new.get(key) or {}):
            out.append(status.cause(key, "FieldValueForbidden", "Forbidden: field is immutable when `immutable` is set"))
    return out


_STS_MUTABLE = {"replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
                "minReadySeconds"}


def _statefulset(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    before = {k: v for k, v in (old.get("spec") or {}).items() if k not in _STS_MUTABLE}
    after = {k: v for k, v in (new.get("spec") or {}).items() if k not in _STS_MUTABLE}
    if before == after:
        return []
    return [status.cause("spec", "FieldValueForbidden",
                         "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                         "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
                         "'minReadySeconds' are forbidden")]


def _pvc(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    def frozen(obj: dict[str, Any]) -> dict[str, Any]:
        spec = dict(obj.get("spec") or {})
        spec.pop("volumeAttributesClassName", None)
        resources = dict(spec.get("resources") or {})
        resources.pop("requests", None)
        spec["resources"] = resources
        for once in ("volumeName", "storageClassName"):  # binding / a retroactive default class set it once
            if (old.get("spec") or {}).get(once) is None:
                spec.pop(once, None)
        return spec
    if frozen(old) == frozen(new):
        return []
    return [status.cause("spec", "FieldValueForbidden",
                         "Forbidden: spec is immutable after creation except resources.requests and "
                         "volumeAttributesClassName for bound claims")]


CHECKS: dict[tuple[str, str], Check] = {
    ("", "ConfigMap"): _immutable_data,
    ("", "Secret"): lambda old, new: _immutable_data(old, new) + _fixed("type")(
        old, {**new, "type": new.get("type") or "Opaque"}),  # an update omitting type is defaulted first
    ("", "Service"): _fixed("spec.clusterIP", suffix="field is immutable"),
    ("", "PersistentVolumeClaim"): _pvc,
    ("apps", "Deployment"): _fixed("spec.selector"),
    ("apps", "ReplicaSet"): _fixed("spec.selector"),
    ("apps", "DaemonSet"): _fixed("spec.selector"),
    ("apps", "StatefulSet"): _statefulset,
    ("batch", "Job"): _fixed("spec.selector", "spec.template"),
    ("rbac.authorization.k8s.io", "RoleBinding"): _fixed("roleRef", suffix="cannot change roleRef"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _fixed("roleRef", suffix="cannot change roleRef"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _fixed("spec.group", "spec.names.plural"),
    ("storage.k8s.io", "StorageClass"): _fixed("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"),
    ("scheduling.k8s.io", "PriorityClass"): _fixed("value"),
}


def check_update(rtype: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
    """422 Invalid when ``new`` changes a field of ``old`` that may not change."""
    check = CHECKS.get((rtype.group, rtype.kind))
    if check is None:
        return
    causes = check(old, new)
    if causes:
        raise status.invalid(rtype.kind, rtype.group, old["metadata"]["name"], causes)
