"""Facts about the built-in Kubernetes kinds kfctl meets: plural resource name and scope.

The planner needs them to match admission-webhook rules (which name resources
by plural) and to know which objects live in a namespace. Custom kinds are
learned from the CRDs being deployed; a kind known to neither is assumed
namespaced with a lower-case plural, as kubectl's RESTMapper guesses.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KindInfo:
    group: str
    kind: str
    plural: str
    namespaced: bool


def _k(group: str, kind: str, plural: str, namespaced: bool = True) -> tuple[tuple[str, str], KindInfo]:
    return (group, kind), KindInfo(group, kind, plural, namespaced)


BUILTIN: dict[tuple[str, str], KindInfo] = dict(
    [
        _k("", "Namespace", "namespaces", False),
        _k("", "Node", "nodes", False),
        _k("", "PersistentVolume", "persistentvolumes", False),
        _k("", "ConfigMap", "configmaps"),
        _k("", "Secret", "secrets"),
        _k("", "Service", "services"),
        _k("", "ServiceAccount", "serviceaccounts"),
        _k("", "Pod", "pods"),
        _k("", "PersistentVolumeClaim", "persistentvolumeclaims"),
        _k("", "Endpoints", "endpoints"),
        _k("", "Event", "events"),
        _k("", "ResourceQuota", "resourcequotas"),
        _k("", "LimitRange", "limitranges"),
        _k("", "ReplicationController", "replicationcontrollers"),
        _k("apps", "Deployment", "deployments"),
        _k("apps", "StatefulSet", "statefulsets"),
        _k("apps", "DaemonSet", "daemonsets"),
        _k("apps", "ReplicaSet", "replicasets"),
        _k("apps", "ControllerRevision", "controllerrevisions"),
        _k("batch", "Job", "jobs"),
        _k("batch", "CronJob", "cronjobs"),
        _k("rbac.authorization.k8s.io", "Role", "roles"),
        _k("rbac.authorization.k8s.io", "RoleBinding", "rolebindings"),
        _k("rbac.authorization.k8s.io", "ClusterRole", "clusterroles", False),
        _k("rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings", False),
        _k("apiextensions.k8s.io", "CustomResourceDefinition", "customresourcedefinitions", False),
        _k("admissionregistration.k8s.io", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", False),
        _k("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", False),
        _k("admissionregistration.k8s.io", "ValidatingAdmissionPolicy", "validatingadmissionpolicies", False),
        _k("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings", False),
        _k("networking.k8s.io", "Ingress", "ingresses"),
        _k("networking.k8s.io", "IngressClass", "ingressclasses", False),
        _k("networking.k8s.io", "NetworkPolicy", "networkpolicies"),
        _k("policy", "PodDisruptionBudget", "poddisruptionbudgets"),
        _k("storage.k8s.io", "StorageClass", "storageclasses", False),
        _k("storage.k8s.io", "CSIDriver", "csidrivers", False),
        _k("scheduling.k8s.io", "PriorityClass", "priorityclasses", False),
        _k("autoscaling", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
        _k("discovery.k8s.io", "EndpointSlice", "endpointslices"),
        _k("coordination.k8s.io", "Lease", "leases"),
        _k("apiregistration.k8s.io", "APIService", "apiservices", False),
        _k("authorization.k8s.io", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False),
    ]
)


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` -> ("apps", "v1"); ``v1`` -> ("", "v1")."""
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return group, version
    return "", api_version


def guess_plural(kind: str) -> str:
    lower = kind.lower()
    if lower.endswith("s"):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in "aeiou":
        return lower[:-1] + "ies"
    return lower + "s"


def crd_kind_info(crd: dict) -> KindInfo | None:
    """The kind a CustomResourceDefinition manifest defines."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    if not spec.get("group") or not names.get("kind"):
        return None
    return KindInfo(
        group=spec["group"],
        kind=names["kind"],
        plural=names.get("plural") or guess_plural(names["kind"]),
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
    )
