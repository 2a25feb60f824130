"""The built-in Kubernetes types the sim serves, with their defaults and columns.

Discovery facts (short names, categories, subresources, name rules) follow a
real v1.37 server. Defaults are the few a client can observe right after a
write (a Namespace is ``Active`` with the ``kubernetes`` finalizer, a Service
gets a ClusterIP, a Deployment gets replicas 1 and a strategy).
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import threading
from typing import Any

from kfctl.sim.types import (
    DNS1035, LABEL, PATH_SEGMENT, Behaviour, Column, ResourceType, TypeRegistry,
)

R = ResourceType
ST = ("status",)
SCALE = ("status", "scale")
ALL = ("all",)
CREATE_ONLY = ("create",)
NO_WATCH_UPDATE = ("create", "delete", "get", "list", "patch", "update", "watch")

BUILTIN_TYPES: tuple[ResourceType, ...] = (
    R("", "v1", "Namespace", "namespaces", False, verbs=NO_WATCH_UPDATE, short_names=("ns",),
      subresources=("status", "finalize"), name_rule=LABEL),
    R("", "v1", "ConfigMap", "configmaps", True, short_names=("cm",)),
    R("", "v1", "Secret", "secrets", True),
    R("", "v1", "Service", "services", True, verbs=NO_WATCH_UPDATE, short_names=("svc",), categories=ALL,
      subresources=ST, name_rule=DNS1035),
    R("", "v1", "ServiceAccount", "serviceaccounts", True, short_names=("sa",)),
    R("", "v1", "Pod", "pods", True, short_names=("po",), categories=ALL, subresources=ST),
    R("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, short_names=("pvc",), subresources=ST),
    R("", "v1", "PersistentVolume", "persistentvolumes", False, short_names=("pv",), subresources=ST),
    R("", "v1", "Endpoints", "endpoints", True, short_names=("ep",)),
    R("", "v1", "Event", "events", True, short_names=("ev",)),
    R("", "v1", "Node", "nodes", False, short_names=("no",), subresources=ST),
    R("", "v1", "ResourceQuota", "resourcequotas", True, short_names=("quota",), subresources=ST),
    R("", "v1", "LimitRange", "limitranges", True, short_names=("limits",)),
    R("apps", "v1", "Deployment", "deployments", True, short_names=("deploy",), categories=ALL, subresources=SCALE),
    R("apps", "v1", "StatefulSet", "statefulsets", True, short_names=("sts",), categories=ALL, subresources=SCALE),
    R("apps", "v1", "DaemonSet", "daemonsets", True, short_names=("ds",), categories=ALL, subresources=ST),
    R("apps", "v1", "ReplicaSet", "replicasets", True, short_names=("rs",), categories=ALL, subresources=SCALE),
    R("apps", "v1", "ControllerRevision", "controllerrevisions", True),
    R("batch", "v1", "Job", "jobs", True, categories=ALL, subresources=ST),
    R("batch", "v1", "CronJob", "cronjobs", True, short_names=("cj",), categories=ALL, subresources=ST),
    R("rbac.authorization.k8s.io", "v1", "Role", "roles", True, name_rule=PATH_SEGMENT),
    R("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True, name_rule=PATH_SEGMENT),
    R("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False, name_rule=PATH_SEGMENT),
    R("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False, name_rule=PATH_SEGMENT),
    R("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False,
      short_names=("crd", "crds"), categories=("api-extensions",), subresources=ST),
    R("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", False,
      categories=("api-extensions",)),
    R("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations",
      False, categories=("api-extensions",)),
    R("networking.k8s.io", "v1", "Ingress", "ingresses", True, short_names=("ing",), subresources=ST),
    R("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    R("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, short_names=("netpol",)),
    R("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, short_names=("pdb",), subresources=ST),
    R("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, short_names=("sc",)),
    R("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, short_names=("pc",)),
    R("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, short_names=("hpa",),
      categories=ALL, subresources=ST),
    R("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True),
    R("coordination.k8s.io", "v1", "Lease", "leases", True),
    R("apiregistration.k8s.io", "v1", "APIService", "apiservices", False, categories=("api-extensions",),
      subresources=ST),
    R("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False,
      verbs=CREATE_ONLY),
    R("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", False,
      verbs=CREATE_ONLY),
    R("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", False, verbs=CREATE_ONLY),
)

#: kinds that are never stored: a create is answered and forgotten
VIRTUAL_KINDS = {("authorization.k8s.io", "SelfSubjectAccessReview"), ("authorization.k8s.io", "SelfSubjectRulesReview"),
                 ("authentication.k8s.io", "SelfSubjectReview")}

AGE = Column("Age", "date", "<age>", "CreationTimestamp is a timestamp representing the server time when "
             "this object was created.")


def _c(name: str, path: str, type_: str = "string", priority: int = 0) -> Column:
    return Column(name, type_, path, priority=priority)


COLUMNS: dict[tuple[str, str], tuple[Column, ...]] = {
    ("", "Namespace"): (_c("Status", ".status.phase"), AGE),
    ("", "ConfigMap"): (_c("Data", "<count:.data>", "integer"), AGE),
    ("", "Secret"): (_c("Type", ".type"), _c("Data", "<count:.data>", "integer"), AGE),
    ("", "Service"): (_c("Type", ".spec.type"), _c("Cluster-IP", ".spec.clusterIP"),
                      _c("External-IP", "<none:.status.loadBalancer.ingress[0].ip>"),
                      _c("Port(s)", "<ports>"), AGE),
    ("", "Pod"): (_c("Ready", "<podready>"), _c("Status", ".status.phase"),
                  _c("Restarts", "<restarts>", "integer"), AGE),
    ("", "PersistentVolumeClaim"): (_c("Status", ".status.phase"), _c("Volume", ".spec.volumeName"), AGE),
    ("", "Node"): (_c("Status", "<nodeready>"), AGE),
    ("apps", "Deployment"): (_c("Ready", "<ready:.status.readyReplicas/.spec.replicas>"),
                             _c("Up-to-date", ".status.updatedReplicas", "integer"),
                             _c("Available", ".status.availableReplicas", "integer"), AGE),
    ("apps", "StatefulSet"): (_c("Ready", "<ready:.status.readyReplicas/.spec.replicas>"), AGE),
    ("apps", "ReplicaSet"): (_c("Desired", ".spec.replicas", "integer"), _c("Current", ".status.replicas", "integer"),
                             _c("Ready", ".status.readyReplicas", "integer"), AGE),
    ("apps", "DaemonSet"): (_c("Desired", ".status.desiredNumberScheduled", "integer"),
                            _c("Current", ".status.currentNumberScheduled", "integer"),
                            _c("Ready", ".status.numberReady", "integer"), AGE),
    ("batch", "Job"): (_c("Status", "<jobstatus>"), _c("Completions", "<ready:.status.succeeded/.spec.completions>"),
                       AGE),
    ("batch", "CronJob"): (_c("Schedule", ".spec.schedule"), _c("Suspend", ".spec.suspend", "boolean"), AGE),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): (_c("Created At", ".metadata.creationTimestamp", "date"),),
    ("networking.k8s.io", "Ingress"): (_c("Class", ".spec.ingressClassName"), AGE),
    ("storage.k8s.io", "StorageClass"): (_c("Provisioner", ".provisioner"), AGE),
    ("scheduling.k8s.io", "PriorityClass"): (_c("Value", ".value", "integer"), AGE),
    ("coordination.k8s.io", "Lease"): (_c("Holder", ".spec.holderIdentity"), AGE),
    ("apiregistration.k8s.io", "APIService"): (_c("Service", ".spec.service.name"),
                                               _c("Available", "<cond:Available>"), AGE),
}


class _ClusterIPs:
    """Hands out ClusterIPs from 10.96.0.0/12 the way the allocator looks from outside."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = itertools.count(10)

    def next(self) -> str:
        with self._lock:
            n = next(self._next)
        return f"10.96.{n // 254}.{n % 254 + 1}"


def _namespace_defaults(obj: dict[str, Any]) -> None:
    """The phase and name label (``spec.finalizers`` is added after the field manager ran: see Cluster.create)."""
    obj["status"] = {"phase": "Active"}
    obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]


def _service_defaults(ips: _ClusterIPs):
    def defaults(obj: dict[str, Any]) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        if spec.get("clusterIP") != "None" and not spec.get("clusterIP"):
            spec["clusterIP"] = ips.next()
        if spec.get("clusterIP"):
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
        obj.setdefault("status", {"loadBalancer": {}})
    return defaults


def _service_update(old: dict[str, Any], new: dict[str, Any]) -> None:
    """clusterIP is immutable and allocated: an update that omits it keeps the old one."""
    old_spec, new_spec = old.get("spec") or {}, new.setdefault("spec", {})
    for key in ("clusterIP", "clusterIPs"):
        if key in old_spec and not new_spec.get(key):
            new_spec[key] = old_spec[key]


def _workload_defaults(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    if obj["kind"] == "Deployment":
        spec.setdefault("strategy", {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)


def _secret_defaults(obj: dict[str, Any]) -> None:
    """``type`` defaults to Opaque; write-only ``stringData`` is merged into ``data`` (base64)."""
    if not obj.get("type"):
        obj["type"] = "Opaque"
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = obj.get("data") or {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data


def _secret_update(old: dict[str, Any], new: dict[str, Any]) -> None:
    _secret_defaults(new)


def _crd_defaults(obj: dict[str, Any]) -> None:
    """A CRD without a conversion gets ``strategy: None`` written out, as the API server defaults it."""
    spec = obj.get("spec")
    if isinstance(spec, dict) and not spec.get("conversion"):
        spec["conversion"] = {"strategy": "None"}


def register_builtins(registry: TypeRegistry) -> None:
    """Add every built-in type and its behaviour to ``registry``."""
    columns = dict(COLUMNS)
    for rtype in BUILTIN_TYPES:
        cols = columns.get((rtype.group, rtype.kind), (AGE,))
        registry.add(dataclasses.replace(rtype, columns=cols))
    ips = _ClusterIPs()
    registry.register_behaviour("", "Namespace", Behaviour(defaults=_namespace_defaults))
    registry.register_behaviour("", "Service", Behaviour(defaults=_service_defaults(ips), on_update=_service_update))
    registry.register_behaviour("", "Secret", Behaviour(defaults=_secret_defaults, on_update=_secret_update))
    registry.register_behaviour("apiextensions.k8s.io", "CustomResourceDefinition",
                                Behaviour(defaults=_crd_defaults, on_update=lambda old, new: _crd_defaults(new)))
    for kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        registry.register_behaviour("apps", kind, Behaviour(defaults=_workload_defaults))

