"""Reactions to committed changes that a real control plane performs.

These are the API machinery's own controllers, not the workload ones (the next
issue adds those): the CRD establishing controller, the namespace lifecycle
controller, the custom-resource cleanup finalizer and the garbage collector
(ownerReferences, background / foreground / orphan). They run on the store's
event dispatcher thread, like controllers reacting to a watch, and write
through the same :class:`~kfctl.sim.cluster.Cluster` pipeline as everyone.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from kfctl.sim import crds
from kfctl.sim.status import APIError
from kfctl.sim.store import ADDED, DELETED, MODIFIED, Event

if TYPE_CHECKING:
    from kfctl.sim.cluster import Cluster
    from kfctl.sim.types import ResourceType

log = logging.getLogger(__name__)

NS_FINALIZER = "kubernetes"


class Controllers:
    """Subscribes to the store and keeps namespaces, CRDs and owner references consistent."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._lock = threading.Lock()
        self._ns_scheduled: set[str] = set()  # uids of terminating namespaces the controller will clean
        self._ns_started: set[str] = set()    # ... and those it has started cleaning
        self._unsubscribe = cluster.store.subscribe(self.on_event)

    def close(self) -> None:
        self._unsubscribe()

    def resume(self) -> None:
        """After loading a persisted store, pick up what the last run left unfinished.

        Objects being deleted and CRDs not yet Established get their event again.
        """
        def pending(group: str, plural: str, obj: dict[str, Any]) -> bool:
            return bool(obj["metadata"].get("deletionTimestamp")) or (
                group == crds.CRD_GROUP and plural == "customresourcedefinitions")

        for group, plural, obj in self.cluster.store.scan(pending):
            kind = MODIFIED
            if group == crds.CRD_GROUP and not obj["metadata"].get("deletionTimestamp") and not any(
                    c.get("type") == "Established" and c.get("status") == "True"
                    for c in (obj.get("status") or {}).get("conditions") or []):
                kind = ADDED
            self.cluster.store.redeliver(Event(kind, int(obj["metadata"]["resourceVersion"]), group, plural, obj))

    # -- dispatch ---------------------------------------------------------
    def on_event(self, event: Event) -> None:
        obj = event.obj
        meta = obj["metadata"]
        is_crd = event.group == crds.CRD_GROUP and event.plural == "customresourcedefinitions"
        if is_crd:
            self._crd_changed(event)
        if event.group == "" and event.plural == "namespaces" and event.type != DELETED and \
                meta.get("deletionTimestamp"):
            self._namespace_deleting(meta["name"], meta["uid"])
        if event.type == DELETED:
            self._gc_dependents(meta["uid"])
            self._owners_may_finish(obj)
            ns = meta.get("namespace")
            if ns:
                self._namespace_may_finish(ns)
            if obj.get("apiVersion", "").partition("/")[0] and not is_crd:
                self._crd_may_finish(event.group, event.plural)
        elif meta.get("deletionTimestamp"):
            finalizers = meta.get("finalizers") or []
            if "foregroundDeletion" in finalizers:
                self._foreground(obj, event)
            if "orphan" in finalizers:
                self._orphan(obj, event)

    # -- helpers ----------------------------------------------------------
    def _rtype_of(self, group: str, plural: str, obj: dict[str, Any]) -> ResourceType | None:
        versions = self.cluster.types.versions_of(group, plural)
        if not versions:
            return None
        for rtype in versions:
            if rtype.api_version == obj.get("apiVersion"):
                return rtype
        return versions[0]

    def _delete(self, group: str, plural: str, obj: dict[str, Any], policy: str = "Background") -> None:
        from kfctl.sim.options import DeleteOptions

        rtype = self._rtype_of(group, plural, obj)
        if rtype is None:
            return
        meta = obj["metadata"]
        try:
            self.cluster.delete(rtype, meta.get("namespace", ""), meta["name"],
                                DeleteOptions(propagation_policy=policy))
        except APIError as exc:
            if exc.code != 404:
                log.warning("sim controller could not delete %s %s: %s", plural, meta["name"], exc.message)

    def _remove_finalizer(self, group: str, plural: str, obj: dict[str, Any], finalizer: str) -> None:
        rtype = self._rtype_of(group, plural, obj)
        if rtype is None:
            return
        meta = obj["metadata"]

        def drop(live: dict[str, Any]) -> dict[str, Any]:
            live["metadata"]["finalizers"] = [f for f in live["metadata"].get("finalizers") or [] if f != finalizer]
            if not live["metadata"]["finalizers"]:
                del live["metadata"]["finalizers"]
            return live
        try:
            self.cluster.update_with(rtype, meta.get("namespace", ""), meta["name"], drop)
        except APIError as exc:
            if exc.code != 404:
                log.warning("sim controller could not finalize %s %s: %s", plural, meta["name"], exc.message)

    def _dependents(self, uid: str) -> list[tuple[str, str, dict[str, Any]]]:
        return self.cluster.store.scan(lambda g, p, o: any(
            ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences") or []))

    # -- garbage collector ------------------------------------------------
    def _gc_dependents(self, uid: str) -> None:
        """An owner is gone: delete dependents that have no other live owner."""
        for group, plural, dep in self._dependents(uid):
            refs = dep["metadata"].get("ownerReferences") or []
            others = [r for r in refs if r.get("uid") != uid and self._owner_exists(r, dep)]
            if not others:
                self._delete(group, plural, dep)

    def _owner_exists(self, ref: dict[str, Any], dependent: dict[str, Any]) -> bool:
        rtype = self.cluster.types.by_kind(ref.get("apiVersion", ""), ref.get("kind", ""))
        if rtype is None:
            return False
        ns = dependent["metadata"].get("namespace", "") if rtype.namespaced else ""
        live = self.cluster.store.get(rtype.group, rtype.plural, ns, ref.get("name", ""))
        return live is not None and live["metadata"]["uid"] == ref.get("uid")

    def _foreground(self, owner: dict[str, Any], event: Event) -> None:
        dependents = self._dependents(owner["metadata"]["uid"])
        if not dependents:
            self._remove_finalizer(event.group, event.plural, owner, "foregroundDeletion")
            return
        for group, plural, dep in dependents:
            if not dep["metadata"].get("deletionTimestamp"):
                self._delete(group, plural, dep, "Foreground")

    def _owners_may_finish(self, dependent: dict[str, Any]) -> None:
        """A dependent is gone: an owner deleting in the foreground may now go too."""
        for ref in dependent["metadata"].get("ownerReferences") or []:
            rtype = self.cluster.types.by_kind(ref.get("apiVersion", ""), ref.get("kind", ""))
            if rtype is None:
                continue
            ns = dependent["metadata"].get("namespace", "") if rtype.namespaced else ""
            owner = self.cluster.store.get(rtype.group, rtype.plural, ns, ref.get("name", ""))
            if owner is None or owner["metadata"]["uid"] != ref.get("uid"):
                continue
            if "foregroundDeletion" in (owner["metadata"].get("finalizers") or []) and \
                    not self._dependents(owner["metadata"]["uid"]):
                self._remove_finalizer(rtype.group, rtype.plural, owner, "foregroundDeletion")

    def _orphan(self, owner: dict[str, Any], event: Event) -> None:
        uid = owner["metadata"]["uid"]
        for group, plural, dep in self._dependents(uid):
            rtype = self._rtype_of(group, plural, dep)
            if rtype is None:
                continue

            def unown(live: dict[str, Any]) -> dict[str, Any]:
                refs = [r for r in live["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
                if refs:
                    live["metadata"]["ownerReferences"] = refs
                else:
                    live["metadata"].pop("ownerReferences", None)
                return live
            try:
                self.cluster.update_with(rtype, dep["metadata"].get("namespace", ""), dep["metadata"]["name"], unown)
            except APIError:
                pass
        self._remove_finalizer(event.group, event.plural, owner, "orphan")

    # -- namespaces -------------------------------------------------------
    def _namespace_deleting(self, name: str, uid: str) -> None:
        """The namespace controller picks a terminating namespace up after ``namespace_delete_delay``."""
        with self._lock:
            started = uid in self._ns_started
            first = not started and uid not in self._ns_scheduled
            self._ns_scheduled.add(uid)
        if started:
            self._terminate_namespace(name)
        elif first:
            self.cluster.clock.call_later(self.cluster.namespace_delete_delay, self._start_termination, name, uid)

    def _start_termination(self, name: str, uid: str) -> None:
        with self._lock:
            self._ns_started.add(uid)
        self._terminate_namespace(name)

    def _terminate_namespace(self, name: str) -> None:
        """Delete everything in a terminating namespace; finish when it is empty."""
        contents = self._contents(name)
        for group, plural, obj in contents:
            if not obj["metadata"].get("deletionTimestamp"):
                self._delete(group, plural, obj)
        self._namespace_may_finish(name)

    def _contents(self, namespace: str) -> list[tuple[str, str, dict[str, Any]]]:
        return self.cluster.store.scan(lambda g, p, o: o["metadata"].get("namespace") == namespace and
                                       not (g == "" and p == "namespaces"))

    def _namespace_may_finish(self, name: str) -> None:
        ns = self.cluster.store.get("", "namespaces", "", name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        with self._lock:
            if ns["metadata"]["uid"] not in self._ns_started:
                return
        remaining = self._contents(name)
        if remaining:
            self._report_remaining(ns, remaining)
            return
        rtype = self.cluster.types.by_kind("v1", "Namespace")
        assert rtype is not None

        def finalize(live: dict[str, Any]) -> dict[str, Any]:
            spec = live.get("spec") or {}
            spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != NS_FINALIZER]
            live["spec"] = spec
            return live
        try:
            self.cluster.update_with(rtype, "", name, finalize)
        except APIError as exc:
            if exc.code != 404:
                log.warning("sim namespace controller: %s", exc.message)

    def _report_remaining(self, ns: dict[str, Any], remaining: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Set the conditions a real namespace shows while content with finalizers blocks it."""
        finalizers: dict[str, int] = {}
        for _, _, obj in remaining:
            for fin in obj["metadata"].get("finalizers") or []:
                finalizers[fin] = finalizers.get(fin, 0) + 1
        if not finalizers:
            return
        text = ", ".join(f"{f} in {n} resource instances" for f, n in sorted(finalizers.items()))
        message = f"Some content in the namespace has finalizers remaining: {text}"
        conditions = (ns.get("status") or {}).get("conditions") or []
        if any(c.get("message") == message for c in conditions):
            return
        rtype = self.cluster.types.by_kind("v1", "Namespace")
        assert rtype is not None

        def set_condition(live: dict[str, Any]) -> dict[str, Any]:
            status = live.setdefault("status", {})
            conds = [c for c in status.get("conditions") or [] if c.get("type") != "NamespaceFinalizersRemaining"]
            conds.append({"type": "NamespaceFinalizersRemaining", "status": "True", "reason": "SomeFinalizersRemain",
                          "message": message, "lastTransitionTime": self.cluster.clock.now_rfc3339()})
            status["conditions"] = conds
            return live
        try:
            self.cluster.update_with(rtype, "", ns["metadata"]["name"], set_condition, subresource="status")
        except APIError:
            pass

    # -- CRDs -------------------------------------------------------------
    def _crd_changed(self, event: Event) -> None:
        crd = event.obj
        meta = crd["metadata"]
        if event.type == DELETED:
            spec = crd.get("spec") or {}
            self.cluster.types.remove(spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))
            return
        if meta.get("deletionTimestamp"):
            self._cleanup_crd(crd)
            return
        established = any(c.get("type") == "Established" and c.get("status") == "True"
                          for c in (crd.get("status") or {}).get("conditions") or [])
        if event.type == ADDED and not established:
            self.cluster.clock.call_later(self.cluster.crd_establish_delay, self._establish, meta["name"],
                                          meta["uid"])
        elif established:
            self._serve(crd)

    def _serve(self, crd: dict[str, Any]) -> None:
        spec = crd["spec"]
        served = {t.version for t in crds.crd_types(crd)}
        for old in self.cluster.types.versions_of(spec["group"], spec["names"]["plural"]):
            if old.version not in served:
                self.cluster.types.remove(spec["group"], spec["names"]["plural"])
                break
        for rtype in crds.crd_types(crd):
            self.cluster.types.add(rtype)

    def _establish(self, name: str, uid: str) -> None:
        rtype = self.cluster.types.by_kind("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        assert rtype is not None
        live = self.cluster.store.get(crds.CRD_GROUP, "customresourcedefinitions", "", name)
        if live is None or live["metadata"]["uid"] != uid or live["metadata"].get("deletionTimestamp"):
            return
        others = [o for _, _, o in self.cluster.store.scan(
            lambda g, p, o: g == crds.CRD_GROUP and p == "customresourcedefinitions" and o["metadata"]["name"] != name)]
        conflict = crds.names_conflict(live, others)
        if conflict:
            reason, message = conflict

            def refuse(obj: dict[str, Any]) -> dict[str, Any]:
                obj["status"] = {"conditions": crds.conflict_conditions(self.cluster.clock.now_rfc3339(), reason,
                                                                        message),
                                 "acceptedNames": {"kind": "", "plural": ""}, "storedVersions": []}
                return obj
            try:
                self.cluster.update_with(rtype, "", name, refuse, subresource="status")
            except APIError as exc:
                log.warning("sim could not mark CRD %s: %s", name, exc.message)
            return
        self._serve(live)

        def mark(obj: dict[str, Any]) -> dict[str, Any]:
            names = obj["spec"]["names"]
            # versions stored before stay listed (the API server only adds to storedVersions)
            stored = list((obj.get("status") or {}).get("storedVersions") or [])
            stored += [v["name"] for v in obj["spec"]["versions"] if v.get("storage") and v["name"] not in stored]
            obj["status"] = {
                "conditions": crds.established_conditions(self.cluster.clock.now_rfc3339()),
                "acceptedNames": {k: v for k, v in names.items()},
                "storedVersions": stored,
            }
            return obj
        try:
            self.cluster.update_with(rtype, "", name, mark, subresource="status")
        except APIError as exc:
            log.warning("sim could not establish CRD %s: %s", name, exc.message)

    def _cleanup_crd(self, crd: dict[str, Any]) -> None:
        spec = crd["spec"]
        group, plural = spec["group"], spec["names"]["plural"]
        remaining = self.cluster.store.scan(lambda g, p, o: g == group and p == plural)
        for g, p, obj in remaining:
            if not obj["metadata"].get("deletionTimestamp"):
                self._delete(g, p, obj)
        self._crd_may_finish(group, plural)

    def _crd_may_finish(self, group: str, plural: str) -> None:
        crd = self.cluster.store.get(crds.CRD_GROUP, "customresourcedefinitions", "", f"{plural}.{group}")
        if crd is None or not crd["metadata"].get("deletionTimestamp"):
            return
        if self.cluster.store.scan(lambda g, p, o: g == group and p == plural):
            return
        self._remove_finalizer(crds.CRD_GROUP, "customresourcedefinitions", crd, crds.CLEANUP_FINALIZER)
