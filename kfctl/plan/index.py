"""Lookups over the objects being planned, shared by the edge rules.

Built once per plan: which kinds are namespaced (built-in facts plus the CRDs
being deployed), namespaces and their labels, pod templates of workloads, and
the workloads behind each Service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kfctl.kinds import BUILTIN, KindInfo, crd_kind_info, guess_plural, split_api_version
from kfctl.plan.graph import Node, ObjectRef

WORKLOAD_KINDS = {
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("apps", "ReplicaSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("", "Pod"),
}


def pod_template(manifest: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod template (metadata + spec) of a workload manifest, or None."""
    kind = manifest.get("kind")
    spec = manifest.get("spec") or {}
    if kind == "Pod":
        return {"metadata": manifest.get("metadata") or {}, "spec": spec}
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = spec.get("template")
    return template if isinstance(template, Mapping) else None


def labels_match(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A Kubernetes LabelSelector (matchLabels + matchExpressions). None or {} matches everything."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


@dataclass
class Index:
    nodes: Sequence[Node]
    kinds: dict[tuple[str, str], KindInfo]
    by_ref: dict[ObjectRef, Node]
    namespace_labels: dict[str, dict[str, str]]

    @classmethod
    def build(cls, items: Sequence[tuple[str, Mapping[str, Any]]]) -> Index:
        kinds = dict(BUILTIN)
        for _, manifest in items:
            if manifest.get("kind") == "CustomResourceDefinition":
                info = crd_kind_info(dict(manifest))
                if info:
                    kinds[(info.group, info.kind)] = info
        nodes = []
        for component, manifest in items:
            group, _ = split_api_version(str(manifest.get("apiVersion", "")))
            info = kinds.get((group, str(manifest.get("kind"))))
            namespaced = info.namespaced if info else True
            nodes.append(Node(ObjectRef.of(manifest, namespaced=namespaced), component, manifest))
        ns_labels = {
            n.ref.name: dict((n.manifest.get("metadata") or {}).get("labels") or {})
            for n in nodes
            if n.ref.group == "" and n.ref.kind == "Namespace"
        }
        return cls(nodes=nodes, kinds=kinds, by_ref={n.ref: n for n in nodes}, namespace_labels=ns_labels)

    def labels_of_namespace(self, name: str) -> dict[str, str]:
        """A namespace's labels as the server will have them: the plan's, plus the
        ``kubernetes.io/metadata.name`` label the API server puts on every namespace."""
        return {**self.namespace_labels.get(name, {}), "kubernetes.io/metadata.name": name}

    def info(self, ref: ObjectRef) -> KindInfo:
        return self.kinds.get((ref.group, ref.kind)) or KindInfo(ref.group, ref.kind, guess_plural(ref.kind), True)

    def find(self, group: str, kind: str, namespace: str, name: str) -> ObjectRef | None:
        ref = ObjectRef(group, kind, namespace, name)
        return ref if ref in self.by_ref else None

    def workloads(self) -> list[Node]:
        return [n for n in self.nodes if (n.ref.group, n.ref.kind) in WORKLOAD_KINDS]

    def backing_workloads(self, namespace: str, service_name: str) -> list[ObjectRef]:
        """Workloads whose pods a Service in the plan selects (the Service itself included first)."""
        service = self.find("", "Service", namespace, service_name)
        if service is None:
            return []
        selector = (self.by_ref[service].manifest.get("spec") or {}).get("selector") or {}
        found = [service]
        if not selector:
            return found
        for node in self.workloads():
            if node.ref.namespace != namespace or node.ref.kind == "ReplicaSet":
                continue
            template = pod_template(node.manifest) or {}
            labels = (template.get("metadata") or {}).get("labels") or {}
            if all(labels.get(k) == v for k, v in selector.items()):
                found.append(node.ref)
        return found
