"""Ownership and inventory in the cluster, following ApplySet (KEP-3659).

Each deployment has a parent ConfigMap ``kfctl-<deployment>`` in its
namespace, labelled ``applyset.kubernetes.io/id`` and annotated with the
tooling, the group-kinds and the namespaces its members live in; every member
carries ``applyset.kubernetes.io/part-of: <id>`` and
``app.kubernetes.io/managed-by: kfctl``. So any machine can upgrade, prune or
delete the deployment from the cluster alone, and ``kubectl apply --prune
--applyset`` users see a familiar structure.

The parent's data also records the deployment's status (what was applied,
component versions, the cluster it belongs to) and the list of its members,
so delete works after the bundles changed and can resume after interruption.
The user's KfDef file is never written.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kfctl import __version__
from kfctl.kinds import split_api_version
from kfctl.plan import ObjectRef

PART_OF = "applyset.kubernetes.io/part-of"
APPLYSET_ID = "applyset.kubernetes.io/id"
TOOLING = "applyset.kubernetes.io/tooling"
GROUP_KINDS = "applyset.kubernetes.io/contains-group-kinds"
ADDITIONAL_NAMESPACES = "applyset.kubernetes.io/additional-namespaces"
MANAGED_BY = "app.kubernetes.io/managed-by"
HASH_ANNOTATION = "kfctl.kubeflow.org/applied-hash"
COMPONENT_LABEL = "app.kubernetes.io/component"
TOOL = "kfctl"
#: set on objects a delete or prune kept (CRDs, PVCs, namespaces with user objects) when it released
#: them: the same deployment re-adopts them on its next apply without --adopt
RELEASED_FROM = "kfctl.kubeflow.org/released-from"


def parent_name(deployment: str) -> str:
    return f"kfctl-{deployment}"


def applyset_id(deployment: str, namespace: str) -> str:
    """The KEP-3659 id of a deployment's parent ConfigMap."""
    key = f"{parent_name(deployment)}.{namespace}.ConfigMap."
    digest = hashlib.sha256(key.encode()).digest()
    return "applyset-" + base64.urlsafe_b64encode(digest).decode().rstrip("=") + "-v1"


def group_kind(ref: ObjectRef) -> str:
    return f"{ref.kind}.{ref.group}" if ref.group else ref.kind


@dataclass(frozen=True)
class Member:
    """An object the inventory says this deployment owns."""

    api_version: str
    kind: str
    namespace: str
    name: str
    component: str

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(split_api_version(self.api_version)[0], self.kind, self.namespace, self.name)

    def to_json(self) -> list[str]:
        return [self.api_version, self.kind, self.namespace, self.name, self.component]

    @classmethod
    def from_json(cls, row: list[str]) -> Member:
        return cls(*row)


@dataclass(frozen=True)
class Inventory:
    """What the parent object says: id, members, recorded status."""

    deployment: str
    namespace: str
    members: tuple[Member, ...]
    status: Mapping[str, Any]
    tooling: str = ""

    @property
    def id(self) -> str:
        return applyset_id(self.deployment, self.namespace)


def label_member(manifest: Mapping[str, Any], *, set_id: str, digest: str) -> dict[str, Any]:
    """A copy of a manifest with the ownership label, managed-by label and applied-hash annotation."""
    out = dict(manifest)
    meta = dict(out.get("metadata") or {})
    meta["labels"] = {**(meta.get("labels") or {}), PART_OF: set_id, MANAGED_BY: TOOL}
    meta["annotations"] = {**(meta.get("annotations") or {}), HASH_ANNOTATION: digest}
    out["metadata"] = meta
    return out


def parent_manifest(
    *, deployment: str, namespace: str, members: Iterable[Member], status: Mapping[str, Any], extra_group_kinds: Iterable[str] = ()
) -> dict[str, Any]:
    """The parent ConfigMap. ``extra_group_kinds`` widens it before a prune (old + new kinds)."""
    members = sorted(members, key=lambda m: (m.component, m.kind, m.namespace, m.name))
    kinds = sorted({group_kind(m.ref) for m in members} | set(extra_group_kinds))
    namespaces = sorted({m.namespace for m in members if m.namespace and m.namespace != namespace})
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": parent_name(deployment),
            "namespace": namespace,
            "labels": {APPLYSET_ID: applyset_id(deployment, namespace), MANAGED_BY: TOOL},
            "annotations": {
                TOOLING: f"{TOOL}/v{__version__}",
                GROUP_KINDS: ",".join(kinds),
                ADDITIONAL_NAMESPACES: ",".join(namespaces),
            },
        },
        "data": {
            "members.json": json.dumps([m.to_json() for m in members], separators=(",", ":")),
            "status.json": json.dumps(dict(status), sort_keys=True, indent=1),
        },
    }


def read_parent(obj: Mapping[str, Any], *, deployment: str) -> Inventory:
    """Parse a live parent ConfigMap; a parent written by another tool is refused by the caller."""
    meta = obj.get("metadata") or {}
    data = obj.get("data") or {}
    try:
        members = tuple(Member.from_json(row) for row in json.loads(data.get("members.json") or "[]"))
        status = json.loads(data.get("status.json") or "{}")
    except (ValueError, TypeError):
        members, status = (), {}
    return Inventory(
        deployment=deployment,
        namespace=str(meta.get("namespace", "")),
        members=members,
        status=status,
        tooling=str((meta.get("annotations") or {}).get(TOOLING, "")),
    )


def same_applied_manifest(desired: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    """Whether the live object was last applied from this very manifest (by the hash annotation)."""
    def digest(obj: Mapping[str, Any]) -> str | None:
        return ((obj.get("metadata") or {}).get("annotations") or {}).get(HASH_ANNOTATION)

    return digest(desired) is not None and digest(desired) == digest(live)


def release_patch(set_id: str) -> dict[str, Any]:
    """The merge patch that makes a kept object stop belonging to a deployment (remembering which)."""
    return {"metadata": {"labels": {PART_OF: None, MANAGED_BY: None}, "annotations": {RELEASED_FROM: set_id}}}


def released_from(live: Mapping[str, Any]) -> str | None:
    return ((live.get("metadata") or {}).get("annotations") or {}).get(RELEASED_FROM)


def owner_of(live: Mapping[str, Any]) -> str | None:
    """The applyset id a live object belongs to, if any."""
    return ((live.get("metadata") or {}).get("labels") or {}).get(PART_OF)
