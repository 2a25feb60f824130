"""The delete engine: remove exactly what a deployment owns, safely, in order, resumably.

Members come from the in-cluster inventory (the ApplySet parent), so delete
works without the KfDef and after the bundles changed. Data is kept by
default: CRDs (every user object of their kinds would go with them) unless
``purge_crds``, PVCs unless ``delete_storage``, and a namespace that still
holds objects the deployment does not own (a user's notebook, a ConfigMap
made by hand) is kept, naming what kept it. Objects created by controllers
(anything with ownerReferences, events, endpoints, leases, the CA bundles
kube and istio publish in every namespace, cert-manager's secrets of our own
certificates and the CA its webhook makes for itself) do not keep a namespace.

Kept objects are released (their ownership labels removed) and the parent
is deleted last, just before the namespaces, so a finished delete leaves
nothing that belongs to the deployment, and an interrupted one resumes by
running it again. The Secrets cert-manager issued for the deployment's
Certificates are deleted with them (derived data, not user data).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from kfctl.engine.clusterapi import ClusterAPI
from kfctl.engine import events as ev
from kfctl.engine.keep import kept_reason
from kfctl.engine.inventory import (Inventory, Member, applyset_id, delete_inventory, owner_of, parent_name,
                                    read_inventory, release_patch)
from kfctl.engine.observe import list_owned
from kfctl.engine.teardown import Target, delete_in_order
from kfctl.errors import ApiError, KindNotServed, NotFound
from kfctl.plan import ObjectRef

#: kinds whose objects are made by the control plane, never by users
_SYSTEM_KINDS = {("", "Event"), ("events.k8s.io", "Event"), ("", "Endpoints"), ("discovery.k8s.io", "EndpointSlice"),
                 ("coordination.k8s.io", "Lease"), ("apps", "ControllerRevision")}
_PUBLISHED_CONFIGMAPS = {"kube-root-ca.crt", "istio-ca-root-cert"}


@dataclass(frozen=True)
class DeleteOptions:
    purge_crds: bool = False
    delete_storage: bool = False
    remove_finalizers: bool = False
    timeout: float = 600.0
    concurrency: int = 8
    dry_run: bool = False


@dataclass(frozen=True)
class DeletePlan:
    delete: tuple[Member, ...]
    keep: tuple[tuple[Member, str], ...]          # (member, why)
    gone: tuple[Member, ...]                      # recorded but already absent


@dataclass(frozen=True)
class DeleteResult:
    deleted: tuple[str, ...]
    kept: tuple[tuple[str, str], ...]
    stuck: tuple[tuple[str, str], ...]
    elapsed: float

    @property
    def ok(self) -> bool:
        return not self.stuck


def _is_system(obj: dict[str, Any], our_certificates: set[tuple[str, str]]) -> bool:
    meta = obj.get("metadata") or {}
    group = (str(obj.get("apiVersion", "")).split("/", 1)[0]) if "/" in str(obj.get("apiVersion", "")) else ""
    if (group, obj.get("kind")) in _SYSTEM_KINDS or meta.get("ownerReferences"):
        return True
    kind, name, ns = obj.get("kind"), meta.get("name"), meta.get("namespace")
    if kind == "ConfigMap" and name in _PUBLISHED_CONFIGMAPS:
        return True
    if kind == "ServiceAccount" and name == "default":
        return True
    if kind == "Secret":
        if obj.get("type") == "kubernetes.io/service-account-token":
            return True
        annotations = meta.get("annotations") or {}
        cert = annotations.get("cert-manager.io/certificate-name")
        if cert and (ns, cert) in our_certificates:
            return True
        if annotations.get("cert-manager.io/allow-direct-injection") == "true":
            return True  # the CA cert-manager's webhook makes for itself (its dynamic serving authority)
    return False


class DeleteEngine:
    def __init__(self, cluster: ClusterAPI, *, deployment: str, namespace: str, options: DeleteOptions = DeleteOptions(),
                 sink: ev.Sink = lambda e: None) -> None:
        self.cluster = cluster
        self.deployment = deployment
        self.namespace = namespace
        self.options = options
        self.sink = sink
        self.clock = ev.Clock()
        self.set_id = applyset_id(deployment, namespace)

    def emit(self, kind: str, obj: str = "", message: str = "", component: str = "", **data: Any) -> None:
        self.sink(ev.Event(kind=kind, obj=obj, component=component, message=message, elapsed=self.clock(), data=data))

    def inventory(self) -> Inventory | None:
        return read_inventory(self.cluster, self.deployment, self.namespace)

    def plan(self, inventory: Inventory | None) -> DeletePlan:
        members: list[Member] = list(inventory.members) if inventory else []
        if not members:
            # An apply interrupted before it recorded its inventory can only have created the namespace.
            ns = self.cluster.get("v1", "Namespace", None, self.namespace)
            if ns is not None and owner_of(ns) == self.set_id:
                members = [Member("v1", "Namespace", "", self.namespace, "")]
        live = list_owned(self.cluster, self.deployment, self.namespace, {(m.api_version, m.kind) for m in members},
                          concurrency=self.options.concurrency)
        delete: list[Member] = []
        keep: list[tuple[Member, str]] = []
        gone: list[Member] = []
        for member in members:
            if member.ref not in live:
                gone.append(member)
            elif reason := kept_reason(member.ref, purge_crds=self.options.purge_crds,
                                       delete_storage=self.options.delete_storage):
                keep.append((member, reason))
            else:
                delete.append(member)
        certificates = {(m.namespace, m.name) for m in members if m.kind == "Certificate" and m.ref.group == "cert-manager.io"}
        delete.extend(self._issued_secrets(delete, live))
        kept_pvc_namespaces = {m.namespace for m, _ in keep if m.kind == "PersistentVolumeClaim"}
        final_delete = []
        kinds: list[tuple[str, str]] | None = None  # discovered once, for every namespace
        for member in delete:
            if member.ref.kind == "Namespace" and member.ref.group == "":
                kinds = self.cluster.namespaced_kinds() if kinds is None else kinds
                why = self._namespace_keepers(member.name, set(live), certificates, kinds)
                if member.name in kept_pvc_namespaces:
                    why = (why + "; " if why else "") + "it holds kept PVCs"
                if why:
                    keep.append((member, f"namespace kept: {why}"))
                    continue
            final_delete.append(member)
        return DeletePlan(tuple(final_delete), tuple(keep), tuple(gone))

    def _issued_secrets(self, members: list[Member], live: dict[ObjectRef, dict[str, Any]]) -> list[Member]:
        """The Secrets cert-manager issued for the deployment's Certificates: derived data, deleted with them."""
        found: list[Member] = []
        for member in members:
            if member.kind != "Certificate" or member.ref.group != "cert-manager.io":
                continue
            secret_name = ((live.get(member.ref) or {}).get("spec") or {}).get("secretName")
            if not secret_name:
                continue
            secret = self.cluster.get("v1", "Secret", member.namespace, secret_name)
            annotations = ((secret or {}).get("metadata") or {}).get("annotations") or {}
            if secret is not None and annotations.get("cert-manager.io/certificate-name") == member.name \
                    and owner_of(secret) in (None, self.set_id):
                found.append(Member("v1", "Secret", member.namespace, secret_name, member.component))
        return found

    def _namespace_keepers(self, namespace: str, owned: set[ObjectRef], certificates: set[tuple[str, str]],
                           kinds: list[tuple[str, str]]) -> str:
        """Objects in the namespace that the deployment does not own (and that no controller made)."""
        def foreign(kind: tuple[str, str]) -> list[str]:
            try:
                items, _ = self.cluster.list(kind[0], kind[1], namespace=namespace)
            except ApiError as exc:
                if exc.transient and not isinstance(exc, KindNotServed):
                    raise
                return []
            found: list[str] = []
            for item in items:
                ref = ObjectRef.of(item)
                if ref in owned or owner_of(item) == self.set_id:
                    continue
                if ref.kind == "ConfigMap" and ref.name == parent_name(self.deployment):
                    continue
                if _is_system(item, certificates):
                    continue
                found.append(f"{ref.kind}/{ref.name}")
            return found

        # one list per namespaced kind (a hundred or more with Kubeflow's CRDs): several at a time
        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency), thread_name_prefix="keepers") as pool:
            found = [name for names in pool.map(foreign, kinds) for name in names]
        if not found:
            return ""
        shown = ", ".join(sorted(found)[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        return f"it holds objects this deployment does not own: {shown}"

    def run(self, plan: DeletePlan) -> DeleteResult:
        targets = [Target(m.api_version, m.ref, m.component) for m in plan.delete if m.ref.kind != "Namespace"]
        namespaces = [Target(m.api_version, m.ref, m.component) for m in plan.delete if m.ref.kind == "Namespace"]
        for member, why in plan.keep:
            self.emit(ev.KEPT, str(member.ref), why, member.component)
            if not self.options.dry_run:
                self._release(member)
        deleted: list[str] = []
        def on_deleted(target: Target) -> None:
            deleted.append(str(target.ref))
            self.emit(ev.DELETED, str(target.ref), "gone" if not self.options.dry_run else "would be deleted", target.component)

        def delete_all(batch: list[Target]) -> list[tuple[str, str]]:
            _, stuck_targets = delete_in_order(self.cluster, batch, on_deleted=on_deleted, on_stuck=lambda t, w: None,
                                               timeout=self.options.timeout, concurrency=self.options.concurrency,
                                               dry_run=self.options.dry_run)
            if stuck_targets and self.options.remove_finalizers and not self.options.dry_run:
                again = self._strip_finalizers([t for t, _ in stuck_targets])
                _, stuck_targets = delete_in_order(self.cluster, again, on_deleted=on_deleted,
                                                   on_stuck=lambda t, w: None, timeout=self.options.timeout,
                                                   concurrency=self.options.concurrency)
            return [(str(t.ref), why) for t, why in stuck_targets]

        stuck = delete_all(targets)
        if not stuck:
            # Everything the inventory lists is gone: now the inventory itself, then the namespaces.
            if not self.options.dry_run:
                delete_inventory(self.cluster, self.deployment, self.namespace)
            stuck = delete_all(namespaces)
        for ref, why in stuck:
            self.emit(ev.FAILED, ref, f"stuck: {why}")
        result = DeleteResult(tuple(deleted), tuple((str(m.ref), w) for m, w in plan.keep), tuple(stuck), self.clock())
        self.emit(ev.SUMMARY, "", "deleted" if result.ok else "stuck", phase="end", deleted=len(deleted),
                  kept=len(plan.keep), stuck=len(stuck))
        return result

    def _release(self, member: Member) -> None:
        """A kept object stops being the deployment's: its ownership labels go, so nothing later prunes it."""
        try:
            self.cluster.merge_patch(member.api_version, member.kind, member.namespace or None, member.name,
                                     release_patch(self.set_id))
        except NotFound:
            pass  # already gone

    def _strip_finalizers(self, targets: Iterable[Target]) -> list[Target]:
        """Clear finalizers of stuck objects (asked for with --remove-finalizers); returns those to wait for again."""
        again: list[Target] = []
        for target in targets:
            ref = target.ref
            self.emit(ev.RETRY, str(ref), "removing finalizers (--remove-finalizers): external resources they "
                      "guard may be orphaned")
            try:
                self.cluster.merge_patch(target.api_version, ref.kind, ref.namespace or None, ref.name,
                                         {"metadata": {"finalizers": None}})
            except NotFound:
                pass  # already gone
            again.append(target)
        return again
