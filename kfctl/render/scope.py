"""Which kinds live in a namespace, and giving namespaced objects theirs.

Built-in kinds come from :mod:`kfctl.kinds`; custom kinds from the CRDs in the
same render (a CRD declares the scope of its kind); a few cluster-scoped kinds
of CRDs that Kubeflow commonly expects from outside are listed here. A kind
known to none of them is treated as namespaced, as kubectl's RESTMapper does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kfctl.kinds import BUILTIN, crd_kind_info, split_api_version

#: Cluster-scoped built-in kinds that kfctl.kinds does not list.
_MORE_CLUSTER_SCOPED = {
    ("node.k8s.io", "RuntimeClass"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "VolumeAttributesClass"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("certificates.k8s.io", "ClusterTrustBundle"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
    ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "ResourceSlice"),
}

#: Cluster-scoped kinds of well-known third-party CRDs, for renders that use
#: them without shipping the CRD.
WELL_KNOWN_CLUSTER_SCOPED = {
    ("cert-manager.io", "ClusterIssuer"),
    ("kubeflow.org", "Profile"),
    ("serving.kserve.io", "ClusterServingRuntime"),
    ("serving.kserve.io", "ClusterStorageContainer"),
    ("argoproj.io", "ClusterWorkflowTemplate"),
    ("metacontroller.k8s.io", "CompositeController"),
    ("metacontroller.k8s.io", "DecoratorController"),
}


class Scopes:
    """Answers "is this kind namespaced?" for one render."""

    def __init__(self, crds: Iterable[Mapping[str, Any]] = ()) -> None:
        self._custom: dict[tuple[str, str], bool] = {}
        for crd in crds:
            info = crd_kind_info(dict(crd))
            if info is not None:
                self._custom[(info.group, info.kind)] = info.namespaced

    def namespaced(self, api_version: str, kind: str) -> bool:
        group = split_api_version(api_version)[0]
        key = (group, kind)
        if key in self._custom:
            return self._custom[key]
        info = BUILTIN.get(key)
        if info is not None:
            return info.namespaced
        return key not in _MORE_CLUSTER_SCOPED and key not in WELL_KNOWN_CLUSTER_SCOPED

    def known(self, api_version: str, kind: str) -> bool:
        """Whether the scope comes from a table or a CRD rather than a guess."""
        key = (split_api_version(api_version)[0], kind)
        return key in self._custom or key in BUILTIN or key in _MORE_CLUSTER_SCOPED or key in WELL_KNOWN_CLUSTER_SCOPED


def is_crd(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "CustomResourceDefinition" and str(obj.get("apiVersion", "")).startswith(
        "apiextensions.k8s.io/")
