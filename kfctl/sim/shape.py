"""The shape of a simulated cluster: what a real admin's cluster looks like before Kubeflow arrives.

Install failures mostly come from what a cluster already has or lacks: GPU
nodes behind taints, no default StorageClass, a cert-manager or Istio that
Helm installed, a token that may not create ClusterRoles, a ResourceQuota in
the Kubeflow namespace, an older Kubernetes. A :class:`ClusterShape` says all
of that as one immutable value; :func:`load_shape` reads it from a YAML file
(``kfctl sim serve --shape FILE``, ``SimCluster(shape="file.yaml")``),
validated against :data:`SCHEMA` so a bad file is refused with the file, the
line and the path of the offending field. The format is documented in
``kfctl/sim/README.md`` ("Cluster shape files").

Nodes and StorageClasses are created by the simulated controllers
(:mod:`kfctl.sim.behaviour`); namespaces, quotas, users' RBAC objects and
pre-installed components by :mod:`kfctl.sim.seed` when the sim starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

# -- the value --------------------------------------------------------------------


@dataclass(frozen=True)
class NodeSpec:
    """One node: capacity and scheduling attributes."""

    name: str
    cpu: str = "8"
    memory: str = "32Gi"
    gpus: int = 0  # nvidia.com/gpu
    pods: int = 110
    labels: tuple[tuple[str, str], ...] = ()
    taints: tuple[tuple[str, str, str], ...] = ()  # (key, value, effect)
    amd_gpus: int = 0  # amd.com/gpu
    unschedulable: bool = False  # cordoned: spec.unschedulable and the node.kubernetes.io/unschedulable taint
    ready: bool = True  # False: Ready=False and the node.kubernetes.io/not-ready taints


@dataclass(frozen=True)
class StorageClassSpec:
    """One StorageClass the cluster starts with."""

    name: str
    provisioner: str = "rancher.io/local-path"
    volume_binding_mode: str = "Immediate"
    default: bool = False
    reclaim_policy: str = "Delete"
    allow_volume_expansion: bool | None = None
    parameters: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class UserSpec:
    """A second identity: a bearer token whose requests RBAC decides.

    ``rules`` become a Role in ``namespace`` (or a ClusterRole without one)
    named ``kfctl-sim:<name>``, bound to the user; ``role_refs`` bind existing
    roles (``{"kind": "ClusterRole", "name": "view", "namespace": "kubeflow"}``:
    a RoleBinding there; without a namespace a ClusterRoleBinding).
    """

    name: str
    token: str
    groups: tuple[str, ...] = ()
    namespace: str = ""
    rules: tuple[Mapping[str, Any], ...] = ()
    role_refs: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class NamespaceSpec:
    """A namespace created at start, with its ResourceQuotas and LimitRanges (each ``{name, spec}``)."""

    name: str
    labels: tuple[tuple[str, str], ...] = ()
    resource_quotas: tuple[Mapping[str, Any], ...] = ()
    limit_ranges: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class ComponentSpec:
    """A component installed before Kubeflow, as its Helm chart leaves it (``cert-manager`` or ``istio``)."""

    name: str
    release: str = ""
    namespace: str = ""
    version: str = ""
    revision: str = ""  # istio: the istio.io/rev label ("default" when empty)


@dataclass(frozen=True)
class ClusterShape:
    """What a simulated cluster starts with: nodes, image pulls, StorageClasses, and (shape files) the rest.

    ``serialize_image_pulls``: the kubelet's ``serializeImagePulls`` (default
    true, as in kubeadm, kind and most clusters; EKS node images set it
    false): each node pulls one image at a time, first come first served.
    ``storage_classes``, when not None, replaces ``default_storage_class`` /
    ``storage_class_name`` / ``volume_binding_mode`` / ``extra_storage_classes``.
    ``kubernetes_version`` (e.g. ``v1.29.4``) is what ``/version`` and the
    nodes' kubelets report; empty: the sim's own.
    """

    nodes: tuple[NodeSpec, ...] = (NodeSpec("sim-node-1"),)
    serialize_image_pulls: bool = True
    default_storage_class: bool = True
    storage_class_name: str = "standard"
    volume_binding_mode: str = "Immediate"
    #: more (non-default) classes, e.g. a cloud's ``standard-rwo`` or ``managed-csi`` for a rehearsal
    extra_storage_classes: tuple[str, ...] = ()
    storage_classes: tuple[StorageClassSpec, ...] | None = None
    kubernetes_version: str = ""
    namespaces: tuple[NamespaceSpec, ...] = ()
    users: tuple[UserSpec, ...] = ()
    components: tuple[ComponentSpec, ...] = ()
    source: str = field(default="", compare=False)  # the file it was read from, for messages

    @classmethod
    def uniform(cls, count: int = 1, *, cpu: str = "8", memory: str = "32Gi", gpus: int = 0,
                default_storage_class: bool = True, volume_binding_mode: str = "Immediate",
                extra_storage_classes: tuple[str, ...] = (), serialize_image_pulls: bool = True) -> ClusterShape:
        """``count`` identical nodes named ``sim-node-1`` ... ``sim-node-N``."""
        if count < 0:
            raise ValueError("node count must not be negative")
        nodes = tuple(NodeSpec(f"sim-node-{i + 1}", cpu=cpu, memory=memory, gpus=gpus) for i in range(count))
        return cls(nodes=nodes, default_storage_class=default_storage_class,
                   volume_binding_mode=volume_binding_mode, extra_storage_classes=tuple(extra_storage_classes),
                   serialize_image_pulls=serialize_image_pulls)

    def storage_class_specs(self) -> tuple[StorageClassSpec, ...]:
        """Every StorageClass to create at start, whichever way the shape said it."""
        if self.storage_classes is not None:
            return self.storage_classes
        out = [StorageClassSpec(self.storage_class_name, volume_binding_mode=self.volume_binding_mode,
                                default=True)] if self.default_storage_class else []
        out += [StorageClassSpec(name, volume_binding_mode=self.volume_binding_mode)
                for name in self.extra_storage_classes]
        return tuple(out)


# -- the file format ----------------------------------------------------------------

_NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63}
_QUANTITY = {"type": ["string", "integer", "number"],
             "pattern": r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$"}
_LABELS = {"type": "object", "additionalProperties": {"type": ["string", "boolean", "integer"]}}
_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
_TAINT = {"oneOf": [
    {"type": "string", "pattern": r"^[^=:\s]+(=[^:\s]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$"},
    {"type": "object", "required": ["key", "effect"], "additionalProperties": False,
     "properties": {"key": {"type": "string", "minLength": 1}, "value": {"type": "string"},
                    "effect": {"enum": _EFFECTS}}}]}
_RULE = {"type": "object", "required": ["verbs"], "additionalProperties": False, "properties": {
    "verbs": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    "apiGroups": {"type": "array", "items": {"type": "string"}},
    "resources": {"type": "array", "items": {"type": "string"}},
    "resourceNames": {"type": "array", "items": {"type": "string"}},
    "nonResourceURLs": {"type": "array", "items": {"type": "string"}}}}
_ROLE_REF = {"type": "object", "required": ["kind", "name"], "additionalProperties": False, "properties": {
    "kind": {"enum": ["Role", "ClusterRole"]}, "name": {"type": "string", "minLength": 1}, "namespace": _NAME}}
_QUOTA = {"type": "object", "required": ["name", "spec"], "additionalProperties": False, "properties": {
    "name": _NAME, "spec": {"type": "object", "required": ["hard"], "properties": {
        "hard": {"type": "object", "minProperties": 1, "additionalProperties": _QUANTITY}}}}}
_LIMITS = {"type": "object", "additionalProperties": _QUANTITY}
_LIMIT_RANGE = {"type": "object", "required": ["name", "spec"], "additionalProperties": False, "properties": {
    "name": _NAME, "spec": {"type": "object", "required": ["limits"], "properties": {"limits": {
        "type": "array", "minItems": 1, "items": {"type": "object", "required": ["type"], "properties": {
            "type": {"enum": ["Container", "Pod", "PersistentVolumeClaim"]}, "default": _LIMITS,
            "defaultRequest": _LIMITS, "max": _LIMITS, "min": _LIMITS, "maxLimitRequestRatio": _LIMITS}}}}}}}

#: the JSON schema of a shape file (documented in kfctl/sim/README.md)
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "kfctl sim cluster shape",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "kfctl.sim/v1"},
        "kind": {"const": "ClusterShape"},
        "kubernetesVersion": {"type": "string", "pattern": r"^v?1\.[0-9]+\.[0-9]+$"},
        "parallelImagePulls": {"type": "boolean"},
        "nodes": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "properties": {
                "name": _NAME, "count": {"type": "integer", "minimum": 0, "maximum": 1000},
                "cpu": _QUANTITY, "memory": _QUANTITY, "pods": {"type": "integer", "minimum": 1},
                "nvidia.com/gpu": {"type": "integer", "minimum": 0},
                "amd.com/gpu": {"type": "integer", "minimum": 0},
                "labels": _LABELS, "taints": {"type": "array", "items": _TAINT},
                "unschedulable": {"type": "boolean"}, "ready": {"type": "boolean"}}}},
        "storageClasses": {"type": "array", "items": {
            "type": "object", "required": ["name"], "additionalProperties": False, "properties": {
                "name": _NAME, "provisioner": {"type": "string", "minLength": 1},
                "volumeBindingMode": {"enum": ["Immediate", "WaitForFirstConsumer"]},
                "default": {"type": "boolean"}, "reclaimPolicy": {"enum": ["Delete", "Retain"]},
                "allowVolumeExpansion": {"type": "boolean"},
                "parameters": {"type": "object", "additionalProperties": {"type": "string"}}}}},
        "namespaces": {"type": "array", "items": {
            "type": "object", "required": ["name"], "additionalProperties": False, "properties": {
                "name": _NAME, "labels": _LABELS,
                "resourceQuotas": {"type": "array", "items": _QUOTA},
                "limitRanges": {"type": "array", "items": _LIMIT_RANGE}}}},
        "users": {"type": "array", "items": {
            "type": "object", "required": ["name", "token"], "additionalProperties": False, "properties": {
                "name": {"type": "string", "minLength": 1, "pattern": r"^[^:]"},
                "token": {"type": "string", "minLength": 8, "pattern": r"^[A-Za-z0-9._~-]+$"},  # URL-safe
                "groups": {"type": "array", "items": {"type": "string"}},
                "namespace": _NAME,
                "rules": {"type": "array", "items": _RULE},
                "roleRefs": {"type": "array", "items": _ROLE_REF}}}},
        "components": {"type": "array", "items": {
            "type": "object", "required": ["name"], "additionalProperties": False, "properties": {
                "name": {"enum": ["cert-manager", "istio"]}, "release": _NAME, "namespace": _NAME,
                "version": {"type": "string", "pattern": r"^v?[0-9]+\.[0-9]+\.[0-9]+$"},
                "revision": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}}}},
    },
}


class ShapeError(ValueError):
    """A shape file that cannot be used: the message names the file, line and field, and what to do."""


def _path_text(path: list[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _line_of(text: str, path: list[Any]) -> int | None:
    """The 1-based line of the YAML node at ``path`` (or of its nearest parent)."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if getattr(k, "value", None) == part]
            if not found:
                break
            node = found[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _taint(value: Any) -> tuple[str, str, str]:
    if isinstance(value, str):
        head, _, effect = value.rpartition(":")
        key, _, val = head.partition("=")
        return key, val, effect
    return str(value["key"]), str(value.get("value", "")), str(value["effect"])


def _labels(value: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v).lower() if isinstance(v, bool) else str(v)) for k, v in (value or {}).items())


def shape_from_dict(doc: Mapping[str, Any], *, source: str = "<shape>", text: str | None = None,
                    base: ClusterShape | None = None) -> ClusterShape:
    """Validate a parsed shape document and turn it into a :class:`ClusterShape`.

    Parts the document leaves out keep ``base``'s (default: one 8-cpu node and a default StorageClass).
    """
    from kfctl.sim.behaviour.pods import quantity  # the sim's own quantity parser (no cycle at import time)

    def fail(path: list[Any], message: str, hint: str) -> ShapeError:
        line = _line_of(text, path) if text is not None else None
        where = f"{source}:{line}" if line else source
        return ShapeError(f"{where}: {_path_text(path)}: {message}\n  hint: {hint}")

    if not isinstance(doc, Mapping):
        raise fail([], f"a shape file is a YAML mapping, not {type(doc).__name__}",
                   "start from an example in tests/data/shapes/")
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(dict(doc)),
                    key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        err = errors[0]
        if err.validator == "oneOf" and err.context:
            err = min(err.context, key=lambda e: len(e.message))
        raise fail(list(err.absolute_path), err.message,
                   "see \"Cluster shape files\" in kfctl/sim/README.md for the format")
    base = base or ClusterShape()
    nodes: list[NodeSpec] = []
    for gi, group in enumerate(doc.get("nodes") or []):
        for key in ("cpu", "memory"):
            if key in group and quantity(group[key]) <= 0:
                raise fail(["nodes", gi, key], f"{group[key]!r} is not a positive quantity",
                           "write e.g. cpu: 4 or 3500m, memory: 16Gi")
        prefix = group.get("name", "sim-node")
        for i in range(group.get("count", 1)):
            nodes.append(NodeSpec(
                f"{prefix}-{i + 1}", cpu=str(group.get("cpu", "8")), memory=str(group.get("memory", "32Gi")),
                gpus=group.get("nvidia.com/gpu", 0), amd_gpus=group.get("amd.com/gpu", 0),
                pods=group.get("pods", 110), labels=_labels(group.get("labels")),
                taints=tuple(_taint(t) for t in group.get("taints") or []),
                unschedulable=group.get("unschedulable", False), ready=group.get("ready", True)))
    seen: set[str] = set()
    for index, node in enumerate(nodes):
        if node.name in seen:
            raise fail(["nodes"], f"two node groups make a node named {node.name!r}",
                       "give each group its own name (nodes are named <name>-1 ... <name>-<count>)")
        seen.add(node.name)
    classes = None
    if "storageClasses" in doc:
        classes = tuple(StorageClassSpec(
            sc["name"], provisioner=sc.get("provisioner", "rancher.io/local-path"),
            volume_binding_mode=sc.get("volumeBindingMode", "Immediate"), default=sc.get("default", False),
            reclaim_policy=sc.get("reclaimPolicy", "Delete"), allow_volume_expansion=sc.get("allowVolumeExpansion"),
            parameters=tuple(sorted((sc.get("parameters") or {}).items()))) for sc in doc["storageClasses"])
        names = [sc.name for sc in classes]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise fail(["storageClasses"], f"StorageClass {sorted(dup)[0]!r} is listed twice", "name each once")
    namespaces = tuple(NamespaceSpec(
        ns["name"], labels=_labels(ns.get("labels")), resource_quotas=tuple(ns.get("resourceQuotas") or ()),
        limit_ranges=tuple(ns.get("limitRanges") or ())) for ns in doc.get("namespaces") or [])
    users = []
    tokens: set[str] = set()
    for ui, user in enumerate(doc.get("users") or []):
        if user["token"] in tokens:
            raise fail(["users", ui, "token"], "two users have the same token", "give each user its own token")
        tokens.add(user["token"])
        if not user.get("rules") and not user.get("roleRefs"):
            raise fail(["users", ui], f"user {user['name']!r} has neither rules nor roleRefs",
                       "add rules (PolicyRules) or roleRefs naming roles to bind; a user without any may do nothing")
        for ri, ref in enumerate(user.get("roleRefs") or []):
            if ref["kind"] == "Role" and not (ref.get("namespace") or user.get("namespace")):
                raise fail(["users", ui, "roleRefs", ri], "a Role lives in a namespace; none is given",
                           "add namespace: to the roleRef or to the user")
        users.append(UserSpec(user["name"], user["token"], groups=tuple(user.get("groups") or ()),
                              namespace=user.get("namespace", ""), rules=tuple(user.get("rules") or ()),
                              role_refs=tuple(user.get("roleRefs") or ())))
    components = []
    for ci, comp in enumerate(doc.get("components") or []):
        if any(c.name == comp["name"] for c in components):
            raise fail(["components", ci], f"{comp['name']} is listed twice", "list each component once")
        components.append(ComponentSpec(comp["name"], release=comp.get("release", ""),
                                        namespace=comp.get("namespace", ""), version=comp.get("version", ""),
                                        revision=comp.get("revision", "")))
    version = str(doc.get("kubernetesVersion", base.kubernetes_version))
    if version and not version.startswith("v"):
        version = "v" + version
    return ClusterShape(
        nodes=tuple(nodes) if "nodes" in doc else base.nodes,
        serialize_image_pulls=not doc["parallelImagePulls"] if "parallelImagePulls" in doc
        else base.serialize_image_pulls,
        default_storage_class=base.default_storage_class, storage_class_name=base.storage_class_name,
        volume_binding_mode=base.volume_binding_mode, extra_storage_classes=base.extra_storage_classes,
        storage_classes=classes if classes is not None else base.storage_classes,
        kubernetes_version=version, namespaces=namespaces or base.namespaces, users=tuple(users) or base.users,
        components=tuple(components) or base.components, source=source)


def load_shape(source: str | os.PathLike[str] | Mapping[str, Any] | ClusterShape) -> ClusterShape:
    """A :class:`ClusterShape` from a YAML file path, a parsed document, or itself."""
    if isinstance(source, ClusterShape):
        return source
    if isinstance(source, Mapping):
        return shape_from_dict(source)
    path = Path(source)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ShapeError(f"{path}: cannot read the shape file: {exc.strerror or exc}\n"
                         "  hint: name an existing YAML file, e.g. tests/data/shapes/gpu.yaml") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ShapeError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}\n"
                         "  hint: fix the YAML syntax") from None
    return shape_from_dict(doc if doc is not None else {}, source=str(path), text=text)

