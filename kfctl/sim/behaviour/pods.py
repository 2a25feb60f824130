"""Pod facts every simulated controller shares: quantities, requests, readiness, template hashes.

The scheduler needs a pod's resource requests in comparable units, the
workload controllers need to know which pods are active and ready, and the
Deployment, StatefulSet and DaemonSet controllers name revisions by a hash of
the pod template, as the real ones do (FNV-32a, rendered in the consonant
alphabet of ``rand.SafeEncodeString``).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

_SUFFIX = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
           "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1,
           "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"

CPU, MEMORY, GPU, PODS = "cpu", "memory", "nvidia.com/gpu", "pods"


def quantity(value: Any) -> Decimal:
    """A Kubernetes quantity (``500m``, ``1.5``, ``2Gi``, ``1e3``) as a number; bad text counts as 0."""
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    match = _QUANTITY.match(str(value).strip())
    if not match:
        return Decimal(0)
    try:
        return Decimal(match.group(1)) * Decimal(_SUFFIX[match.group(2) or ""])
    except InvalidOperation:
        return Decimal(0)


def _container_requests(container: dict[str, Any]) -> dict[str, Decimal]:
    resources = container.get("resources") or {}
    limits = resources.get("limits") or {}
    requests = {**limits, **(resources.get("requests") or {})}  # requests default to limits
    return {name: quantity(v) for name, v in requests.items()}


def pod_requests(spec: dict[str, Any]) -> dict[str, Decimal]:
    """Effective requests: the sum over containers, at least the largest init container, plus overhead."""
    total: dict[str, Decimal] = {}
    for container in spec.get("containers") or []:
        for name, value in _container_requests(container).items():
            total[name] = total.get(name, Decimal(0)) + value
    for init in spec.get("initContainers") or []:
        for name, value in _container_requests(init).items():
            total[name] = max(total.get(name, Decimal(0)), value)
    for name, value in (spec.get("overhead") or {}).items():
        total[name] = total.get(name, Decimal(0)) + quantity(value)
    return total


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return cond
    return None


def is_terminal(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def is_active(pod: dict[str, Any]) -> bool:
    """Counted by a ReplicaSet: not terminating, not finished."""
    return not pod["metadata"].get("deletionTimestamp") and not is_terminal(pod)


def is_ready(pod: dict[str, Any]) -> bool:
    cond = condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True" and (pod.get("status") or {}).get("phase") == "Running"


def controller_uid(obj: dict[str, Any]) -> str:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid", ""))
    return ""


def owner_reference(owner: dict[str, Any]) -> dict[str, Any]:
    """The controller reference a real controller puts on what it creates."""
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def template_hash(template: dict[str, Any], collisions: int = 0) -> str:
    """``pod-template-hash`` / ``controller-revision-hash`` of a pod template."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode() + str(collisions).encode()
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_ALPHANUMS[b % len(_ALPHANUMS)] for b in str(h).encode())


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions); an empty or missing selector matches nothing."""
    if not selector:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        if not expression_matches(expr, labels.get(expr.get("key", ""))):
            return False
    return bool(selector.get("matchLabels") or selector.get("matchExpressions"))


def label_selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Webhook namespace/object selectors: an empty selector matches everything."""
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return True
    return selector_matches(selector, labels)


def expression_matches(expr: dict[str, Any], value: str | None) -> bool:
    op = expr.get("operator", "")
    values = [str(v) for v in expr.get("values") or []]
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and values:
        try:
            return int(value) > int(values[0]) if op == "Gt" else int(value) < int(values[0])
        except ValueError:
            return False
    return False


def pod_from_template(template: dict[str, Any], *, namespace: str, owner: dict[str, Any],
                      extra_labels: dict[str, str], name: str = "", generate_name: str = "") -> dict[str, Any]:
    """A Pod as a workload controller POSTs it: template metadata and spec, owner reference, labels."""
    meta_in = template.get("metadata") or {}
    meta: dict[str, Any] = {"namespace": namespace, "labels": {**(meta_in.get("labels") or {}), **extra_labels},
                            "ownerReferences": [owner_reference(owner)]}
    if meta_in.get("annotations"):
        meta["annotations"] = dict(meta_in["annotations"])
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = generate_name
    spec = json.loads(json.dumps(template.get("spec") or {}))
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def qos_class(spec: dict[str, Any]) -> str:
    """The pod's QoS class from its containers' requests and limits (BestEffort, Burstable, Guaranteed)."""
    containers = [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
    any_set, guaranteed = False, True
    for c in containers:
        res = c.get("resources") or {}
        requests, limits = res.get("requests") or {}, res.get("limits") or {}
        if requests or limits:
            any_set = True
        for name in ("cpu", "memory"):
            if name not in limits or (name in requests and requests[name] != limits[name]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"
