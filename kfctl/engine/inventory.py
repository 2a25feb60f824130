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

Reading and writing the parent (:func:`read_inventory`, :func:`write_inventory`)
live here too, with everything they need passed in, so apply, diff, status
and delete read the inventory one way and only apply writes it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kfctl import __version__
from kfctl.engine.clusterapi import ClusterAPI
from kfctl.engine.compare import first_difference
from kfctl.errors import OperationFailed
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

    @property
    def kinds(self) -> set[tuple[str, str]]:
        """The ``(apiVersion, kind)`` pairs of the members: what to list to find them."""
        return {(m.api_version, m.kind) for m in self.members}


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


def read_inventory(cluster: ClusterAPI, deployment: str, namespace: str, *, require_namespace: bool = False,
                   refuse_foreign: bool = True) -> Inventory | None:
    """The deployment's recorded inventory, or None when it was never applied (or is deleted).

    ``require_namespace``: a namespace that does not exist is refused (apply, when its plan does
    not create the namespace) instead of meaning "never applied". ``refuse_foreign`` (the default):
    a parent another tool wrote (``kubectl apply --applyset``) is refused, so no command acts on another
    tool's deployment: apply does not take it over, delete does not delete its members, diff and status
    do not describe them as kfctl's.
    """
    if cluster.get("v1", "Namespace", None, namespace) is None:
        if require_namespace:
            raise OperationFailed(
                f"namespace {namespace} does not exist and is not part of the deployment",
                hint="create it, or include the kubeflow-core component",
            )
        return None
    live = cluster.get("v1", "ConfigMap", namespace, parent_name(deployment))
    if live is None:
        return None
    inventory = read_parent(live, deployment=deployment)
    if refuse_foreign and inventory.tooling and not inventory.tooling.startswith(f"{TOOL}/"):
        raise OperationFailed(
            f"ConfigMap/{namespace}/{parent_name(deployment)} is an ApplySet parent of {inventory.tooling}; "
            "kfctl will not take over, describe or delete another tool's deployment",
            hint="use another deployment name (metadata.name) or namespace",
        )
    return inventory


def delete_inventory(cluster: ClusterAPI, deployment: str, namespace: str) -> None:
    """Remove the parent (delete does it last, once every member is gone or released)."""
    cluster.delete("v1", "ConfigMap", namespace, parent_name(deployment))


def ready_condition(*, final: bool, healthy: int, total: int) -> dict[str, str]:
    """The parent's Ready condition: Unknown while an apply runs, then True or False with the healthy count."""
    if not final:
        return {"type": "Ready", "status": "Unknown", "reason": "Applying", "message": "apply in progress"}
    ok = healthy == total
    return {"type": "Ready", "status": "True" if ok else "False", "reason": "Healthy" if ok else "Failed",
            "message": f"{healthy} of {total} objects healthy"}


def write_inventory(cluster: ClusterAPI, *, deployment: str, namespace: str, members: Iterable[Member],
                    old: Inventory | None, status: Mapping[str, Any], released: Collection[str] = frozenset(),
                    widen_only: bool = False, count_write: Callable[[], None] = lambda: None) -> bool:
    """Record ``members`` and ``status`` in the parent; returns whether anything was written.

    Old members stay listed until they are pruned or ``released`` (given as ``str(ref)``).
    ``widen_only`` (before an apply writes anything): written only when that adds members the
    old inventory lacks, so an interrupted apply leaves every object it may have written listed.
    Nothing is written when the live parent already says the same. ``count_write`` is called
    just before the write.
    """
    merged = {m.ref: m for m in members}
    if old is not None:
        for m in old.members:
            if str(m.ref) not in released:
                merged.setdefault(m.ref, m)
    if widen_only and old is not None and set(merged) <= {m.ref for m in old.members}:
        return False  # the recorded inventory already covers everything this run may write
    manifest = parent_manifest(deployment=deployment, namespace=namespace, members=merged.values(), status=status)
    live = cluster.get("v1", "ConfigMap", namespace, parent_name(deployment))
    if live is not None and first_difference(manifest, live) is None:
        return False
    count_write()
    cluster.apply(manifest, force=True)
    return True
