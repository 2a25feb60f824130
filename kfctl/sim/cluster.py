"""The request pipeline: every read and write, from HTTP or in-process, goes through here.

:class:`Cluster` is what the HTTP handlers call and what in-process controllers
use as "the system": typed get/list/create/update/patch/delete with the same
namespace checks, validation, defaulting, admission chain, resourceVersion
preconditions, managedFields, generation and deletion semantics as a request
over the wire. Reactions to committed changes (namespace termination, garbage
collection, CRD lifecycle) live in :mod:`kfctl.sim.controllers`.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import string
import uuid
from typing import Any, Callable

from kfctl.sim import crds, immutable, status
from kfctl.sim.admission import CREATE, DELETE, UPDATE, AdmissionChain, AdmissionRequest
from kfctl.sim.builtins import VIRTUAL_KINDS, register_builtins
from kfctl.sim.quota import QuotaAdmission
from kfctl.sim.clock import SimClock
from kfctl.sim.objects import (
    external, internal, patch_module, private, same, schema_args, set_managed, spec_changed, tracks_generation,
)
from kfctl.sim.options import (  # noqa: F401  (re-exported: the pipeline's request vocabulary)
    APPLY, JSON_PATCH, MERGE, STRATEGIC, SYSTEM, SYSTEM_MANAGER, DeleteOptions, Result, WriteOptions,
)
from kfctl.sim.selectors import combine, parse_field_selector, parse_label_selector
from kfctl.sim.status import APIError
from kfctl.sim.store import StaleWrite, Store
from kfctl.sim.types import ResourceType, TypeRegistry
from kfctl.sim.validation import BuiltinSchemas, check_builtin_schema, check_metadata

#: namespaces the NamespaceLifecycle admission plugin never lets go
IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")

#: metadata only the server sets; dropped from objects being created
_SERVER_META = ("uid", "creationTimestamp", "resourceVersion", "generation", "deletionTimestamp",
                "deletionGracePeriodSeconds", "selfLink")


class Cluster:
    """The simulated API machinery without HTTP: store + types + pipeline."""

    def __init__(self, *, clock: SimClock | None = None, store: Store | None = None,
                 crd_establish_delay: float = 0.2, namespace_delete_delay: float = 1.0,
                 schemas: BuiltinSchemas | None = None) -> None:
        self.clock = clock or SimClock()
        self.store = store or Store()
        self.types = TypeRegistry()
        register_builtins(self.types)
        self.admission = AdmissionChain()
        self.schemas = schemas if schemas is not None else BuiltinSchemas()
        self.crd_establish_delay = crd_establish_delay
        #: sim seconds before the namespace controller starts emptying a terminating namespace
        self.namespace_delete_delay = namespace_delete_delay
        from kfctl.sim.controllers import Controllers  # reactions to commits; imports this module

        self.controllers = Controllers(self)
        self.quota = QuotaAdmission(self)
        self._restore_crds()
        self.controllers.resume()
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            if self.store.get("", "namespaces", "", name) is None:
                self.create(self.rtype("v1", "Namespace"), "", {"apiVersion": "v1", "kind": "Namespace",
                                                                "metadata": {"name": name}}, SYSTEM)

    # -- types ------------------------------------------------------------
    def rtype(self, api_version: str, kind: str) -> ResourceType:
        """The served type of a kind, or 404 the way a real server answers an unknown kind."""
        found = self.types.by_kind(api_version, kind)
        if found is None:
            raise status.path_not_found()
        return found

    def subscribe(self, fn: Callable[..., None]) -> Callable[[], None]:
        """In-process change notifications: ``fn(event)`` for every commit, in order."""
        return self.store.subscribe(fn)

    # -- reads ------------------------------------------------------------
    def get_raw(self, rtype: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        """The stored object in ``rtype``'s version; callers must not mutate it."""
        obj = self.store.get(rtype.group, rtype.plural, namespace if rtype.namespaced else "", name)
        if obj is None:
            raise status.not_found(rtype.plural, rtype.group, name)
        return external(rtype, obj)

    def get(self, rtype: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.get_raw(rtype, namespace, name))

    def list_raw(self, rtype: ResourceType, namespace: str | None = None, *, label_selector: str | None = None,
                 field_selector: str | None = None, limit: int = 0,
                 continue_token: str | None = None) -> dict[str, Any]:
        """A ``<Kind>List``; items are stored objects (do not mutate)."""
        match = combine(parse_label_selector(label_selector), parse_field_selector(field_selector))
        items, rv = self.store.list(rtype.group, rtype.plural, namespace if rtype.namespaced else None)
        start = None
        if continue_token:
            try:
                token = json.loads(base64.urlsafe_b64decode(continue_token.encode()))
                start, rv = tuple(token["start"]), int(token["rv"])
            except (ValueError, KeyError, TypeError):
                raise status.bad_request("continue key is not valid: illegal base64 data") from None
            if rv < self.store.compacted:
                raise status.expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start "
                    "a new list without the continue parameter, or use the continue token in this response to "
                    "retrieve the remainder of the results. Continuing with the provided token results in an "
                    "inconsistent list - objects that were created, modified, or deleted between the time the first "
                    "chunk was returned and now may show up in the list.")
        out, token_out, remaining = [], "", 0
        for index, obj in enumerate(items):
            meta = obj["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            if start is not None and key <= start:
                continue
            if match is not None and not match(obj):
                continue
            if limit and len(out) >= limit:
                remaining = sum(1 for o in items[index:] if match is None or match(o))
                last = out[-1]["metadata"]
                token_out = base64.urlsafe_b64encode(json.dumps(
                    {"rv": rv, "start": [last.get("namespace", ""), last["name"]]}).encode()).decode()
                break
            out.append(external(rtype, obj))
        meta_out: dict[str, Any] = {"resourceVersion": str(rv)}
        if token_out:
            meta_out["continue"] = token_out
            if match is None:
                meta_out["remainingItemCount"] = remaining
        return {"kind": rtype.list_kind, "apiVersion": rtype.api_version, "metadata": meta_out, "items": out}

    def list(self, rtype: ResourceType, namespace: str | None = None, **kwargs: Any) -> dict[str, Any]:
        return copy.deepcopy(self.list_raw(rtype, namespace, **kwargs))

    # -- create -----------------------------------------------------------
    def create(self, rtype: ResourceType, namespace: str, obj: dict[str, Any],
               opts: WriteOptions = SYSTEM, *, managed: bool = False) -> Result:
        """POST. ``managed``: ``obj`` already carries managedFields (server-side apply)."""
        obj = copy.deepcopy(obj)
        self._check_verb(rtype, "create")
        self._check_kind(rtype, obj)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise status.bad_request("metadata must be an object")
        namespace = self._check_namespace(rtype, namespace, meta)
        if meta.get("resourceVersion"):
            raise status.bad_request("resourceVersion should not be set on objects to be created")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
        for key in _SERVER_META:
            meta.pop(key, None)
        self._require_namespace(rtype, namespace, meta.get("name", ""))
        warnings = self._check_schema(rtype, obj, opts.field_validation)
        if rtype.has_status and not (rtype.group == "" and rtype.kind in ("Namespace",)):
            obj.pop("status", None)
        behaviour = self.types.behaviour(rtype.group, rtype.kind)
        if behaviour.defaults:
            behaviour.defaults(obj)
        name = meta.get("name", "")
        obj = self._admit(CREATE, rtype, namespace, name, obj, None, opts)
        meta = obj["metadata"]
        virtual = (rtype.group, rtype.kind) in VIRTUAL_KINDS
        if not virtual:
            check_metadata(rtype, obj, creating=True)
        if rtype.group == crds.CRD_GROUP and rtype.kind == "CustomResourceDefinition":
            crds.check_crd(obj)
            if crds.CLEANUP_FINALIZER not in meta.get("finalizers", []):
                meta.setdefault("finalizers", []).append(crds.CLEANUP_FINALIZER)
            storage = [v["name"] for v in obj["spec"]["versions"] if v.get("storage")]
            obj["status"] = {"acceptedNames": {"kind": "", "plural": ""}, "storedVersions": storage}
        self._validate(rtype, namespace, obj, None, opts)
        obj = self._normalize(rtype, obj)
        meta = obj["metadata"]
        now = self.clock.now_rfc3339()
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now
        if tracks_generation(rtype):
            meta["generation"] = 1
        if not managed:
            set_managed(meta, patch_module().update_managed_fields(
                None, obj, manager=opts.manager, operation="Update", api_version=rtype.api_version, now=now,
                **schema_args(rtype)))
        if rtype.group == "" and rtype.kind == "Namespace":  # the strategy's PrepareForCreate: no manager owns it
            spec = obj.setdefault("spec", {})
            if "kubernetes" not in (spec.get("finalizers") or []):
                spec["finalizers"] = [*(spec.get("finalizers") or []), "kubernetes"]
        if virtual:
            return Result(self._virtual(obj), 201, warnings)
        if opts.dry_run:
            return Result(obj, 201, warnings)
        stored = internal(rtype, obj)
        try:
            self.store.create(rtype.group, rtype.plural, stored)
        except StaleWrite:
            raise status.already_exists(rtype.plural, rtype.group, name) from None
        return Result(private(external(rtype, stored)), 201, warnings)

    # -- update and patch -------------------------------------------------
    def update(self, rtype: ResourceType, namespace: str, name: str, obj: dict[str, Any],
               opts: WriteOptions = SYSTEM, subresource: str = "") -> Result:
        """PUT on the object or its ``status`` subresource, with resourceVersion preconditions."""
        self._check_verb(rtype, "update")
        body = copy.deepcopy(obj)
        self._check_kind(rtype, body)
        meta = body.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise status.bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL "
                                     f"({name})")
        if rtype.namespaced and meta.get("namespace") and meta["namespace"] != namespace:
            raise status.bad_request("the namespace of the provided object does not match the namespace sent on the "
                                     "request")
        expect = meta.get("resourceVersion") or None
        warnings = self._check_schema(rtype, body, opts.field_validation)
        return self._guaranteed_update(rtype, namespace, name, lambda old: body, opts, subresource, expect,
                                       warnings=warnings)

    def update_with(self, rtype: ResourceType, namespace: str, name: str,
                    mutate: Callable[[dict[str, Any]], dict[str, Any]], opts: WriteOptions = SYSTEM,
                    subresource: str = "") -> Result:
        """Read-modify-write for in-process controllers: ``mutate`` gets a private copy, retried on races."""
        return self._guaranteed_update(rtype, namespace, name, mutate, opts, subresource, None)

    def patch(self, rtype: ResourceType, namespace: str, name: str, patch_type: str, body: Any,
              opts: WriteOptions = SYSTEM, subresource: str = "") -> Result:
        """PATCH with any of the four patch types; an apply creates a missing object."""
        self._check_verb(rtype, "patch")
        patchlib = patch_module()
        if patch_type == STRATEGIC and rtype.custom:
            raise status.unsupported_media_type(patch_type, [JSON_PATCH, MERGE, APPLY])
        if patch_type == APPLY:
            return self._apply(rtype, namespace, name, body, opts, subresource)
        if patch_type == JSON_PATCH and not isinstance(body, list):
            raise status.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        if patch_type in (MERGE, STRATEGIC) and not isinstance(body, dict):
            raise status.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
        expect = None
        if isinstance(body, dict):
            expect = (body.get("metadata") or {}).get("resourceVersion") or None

        def apply_patch(old: dict[str, Any]) -> dict[str, Any]:
            try:
                if patch_type == MERGE:
                    new = patchlib.merge_patch(old, body)
                elif patch_type == JSON_PATCH:
                    new = patchlib.json_patch(old, body)
                elif patch_type == STRATEGIC:
                    new = patchlib.strategic_merge_patch(old, body, group=rtype.group, version=rtype.version,
                                                         kind=rtype.kind)
                else:
                    raise status.unsupported_media_type(patch_type, [JSON_PATCH, MERGE, STRATEGIC, APPLY])
            except patchlib.PatchError as exc:
                code = getattr(exc, "code", 422)
                if code == 400:
                    raise status.bad_request(exc.message) from None
                raise APIError(422, getattr(exc, "reason", "Invalid") or "Invalid", exc.message) from None
            if not isinstance(new, dict):
                raise status.bad_request("the patch produced an object that is not a JSON object")
            warnings[:] = self._check_schema(rtype, new, opts.field_validation)  # the last attempt's
            return new

        warnings: list[str] = []
        return self._guaranteed_update(rtype, namespace, name, apply_patch, opts, subresource, expect,
                                       warnings=warnings)

    def _apply(self, rtype: ResourceType, namespace: str, name: str, body: Any, opts: WriteOptions,
               subresource: str) -> Result:
        patchlib = patch_module()
        if not isinstance(body, dict):
            raise status.bad_request("error decoding YAML: the apply configuration must be a YAML or JSON object")
        if not opts.field_manager:
            raise status.invalid_options("PatchOptions", "fieldManager", "FieldValueRequired",
                                         "Required value: is required for apply patch")
        self._check_kind(rtype, body)
        meta = body.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise status.bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL "
                                     f"({name})")
        meta["name"] = name
        self._reject_undeclared(rtype, namespace, body)
        warnings: list[str] = []
        expect = meta.get("resourceVersion") or None

        def run(live: dict[str, Any] | None) -> dict[str, Any]:
            try:
                merged = patchlib.server_side_apply(live, body, manager=opts.manager, force=opts.force,
                                                    api_version=rtype.api_version, now=self.clock.now_rfc3339(),
                                                    subresource=subresource, **schema_args(rtype))
                if live is not None:  # a create is validated by create(); keep the last attempt's warnings
                    warnings[:] = self._check_schema(rtype, merged, opts.field_validation)
                return merged
            except patchlib.ApplyConflictError as exc:
                causes = exc.status()["details"]["causes"]
                raise status.apply_conflict(exc.message, causes) from None
            except patchlib.PatchError as exc:
                if getattr(exc, "code", 422) == 400:
                    raise status.bad_request(exc.message) from None
                raise APIError(422, "Invalid", exc.message) from None

        store_ns = namespace if rtype.namespaced else ""
        for _ in range(20):
            live = self.store.get(rtype.group, rtype.plural, store_ns, name)
            if live is None:
                if subresource:
                    raise status.not_found(rtype.plural, rtype.group, name)
                created = run(None)
                try:
                    result = self.create(rtype, namespace, created, opts, managed=True)
                except APIError as exc:
                    if exc.reason == "AlreadyExists":
                        continue
                    raise
                result.warnings[:0] = warnings
                return result
            try:
                return self._guaranteed_update(rtype, namespace, name, run, opts, subresource, expect,
                                               managed=True, warnings=warnings, retries=1)
            except StaleWrite:
                continue
        raise status.conflict(rtype.plural, rtype.group, name, status.STALE)

    def _guaranteed_update(self, rtype: ResourceType, namespace: str, name: str,
                           compute: Callable[[dict[str, Any]], dict[str, Any]], opts: WriteOptions,
                           subresource: str, expect_rv: str | None, *, managed: bool = False,
                           warnings: list[str] | None = None, retries: int = 20) -> Result:
        if subresource and subresource not in rtype.subresources:
            raise status.path_not_found()
        store_ns = namespace if rtype.namespaced else ""
        warnings = warnings if warnings is not None else []
        for attempt in range(retries):
            stored = self.store.get(rtype.group, rtype.plural, store_ns, name)
            if stored is None:
                raise status.not_found(rtype.plural, rtype.group, name)
            old = external(rtype, stored)
            if expect_rv is not None and expect_rv != old["metadata"]["resourceVersion"]:
                raise status.conflict(rtype.plural, rtype.group, name, status.STALE)
            new = compute(copy.deepcopy(old))
            new = self._prepare_update(rtype, namespace, old, new, opts, subresource, managed)
            if same(old, new):
                return Result(private(old), 200, warnings)
            if opts.dry_run:
                return Result(new, 200, warnings)
            meta = new["metadata"]
            try:
                if meta.get("deletionTimestamp") and not meta.get("finalizers") and not (
                        rtype.group == "" and rtype.kind == "Namespace" and (new.get("spec") or {}).get("finalizers")):
                    last = self.store.delete(rtype.group, rtype.plural, store_ns, name, old["metadata"]["resourceVersion"])
                    # the answer is the update that emptied the finalizers, never stored: at the resourceVersion
                    # it replaced (the watch's DELETED event carries the last stored state), as a real server answers
                    meta["resourceVersion"] = old["metadata"]["resourceVersion"]
                    return Result(private(new), 200, warnings)
                stored_new = self.store.update(rtype.group, rtype.plural, internal(rtype, new),
                                               old["metadata"]["resourceVersion"])
            except StaleWrite:
                if expect_rv is not None:
                    raise status.conflict(rtype.plural, rtype.group, name, status.STALE) from None
                if retries == 1:
                    raise
                continue
            return Result(private(external(rtype, stored_new)), 200, warnings)
        raise status.conflict(rtype.plural, rtype.group, name, status.STALE)

    def _prepare_update(self, rtype: ResourceType, namespace: str, old: dict[str, Any], new: dict[str, Any],
                        opts: WriteOptions, subresource: str, managed: bool) -> dict[str, Any]:
        if not isinstance(new.get("metadata"), dict):
            new["metadata"] = {}
        new["apiVersion"], new["kind"] = rtype.api_version, rtype.kind
        old_meta, meta = old["metadata"], new["metadata"]
        if subresource == "status":
            kept = copy.deepcopy(old)
            kept["status"] = new.get("status")
            if kept["status"] is None:
                kept.pop("status")
            if managed:
                kept["metadata"]["managedFields"] = meta.get("managedFields", [])
            new, meta = kept, kept["metadata"]
        elif rtype.has_status:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation",
                    "resourceVersion"):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        meta["name"] = old_meta["name"]
        if rtype.namespaced:
            meta["namespace"] = old_meta.get("namespace", namespace)
        else:
            meta.pop("namespace", None)
        if old_meta.get("deletionTimestamp"):
            added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
            if added:
                why = ("Forbidden: no new finalizers can be added if the object is being deleted, found new "
                       "finalizers []string{" + ", ".join(json.dumps(f) for f in sorted(added)) + "}")
                raise status.invalid(rtype.kind, rtype.group, old_meta["name"], [status.cause(
                    "metadata.finalizers", "FieldValueForbidden", why)])
        behaviour = self.types.behaviour(rtype.group, rtype.kind)
        if behaviour.on_update:
            behaviour.on_update(old, new)
        new = self._admit(UPDATE, rtype, namespace, old_meta["name"], new, old, opts, subresource)
        meta = new["metadata"]
        check_metadata(rtype, new, creating=False)
        if subresource != "status":
            immutable.check_update(rtype, old, new)
        if rtype.group == crds.CRD_GROUP and rtype.kind == "CustomResourceDefinition":
            if subresource != "status":
                crds.check_crd(new)
            crds.record_stored_versions(new, subresource=subresource)
        self._validate(rtype, namespace, new, old, opts)
        new = self._normalize(rtype, new)
        meta = new["metadata"]
        if tracks_generation(rtype) and spec_changed(rtype, old, new):
            meta["generation"] = int(old_meta.get("generation", 1)) + 1
        if not managed:
            set_managed(meta, patch_module().update_managed_fields(
                old, new, manager=opts.manager, operation="Update", api_version=rtype.api_version,
                now=self.clock.now_rfc3339(), subresource=subresource, **schema_args(rtype)))
        return new

    # -- delete -----------------------------------------------------------
    def delete(self, rtype: ResourceType, namespace: str, name: str,
               opts: DeleteOptions = DeleteOptions()) -> Result:
        """DELETE: preconditions, finalizers, propagation policy; namespaces terminate first."""
        self._check_verb(rtype, "delete")
        store_ns = namespace if rtype.namespaced else ""
        for _ in range(20):
            stored = self.store.get(rtype.group, rtype.plural, store_ns, name)
            if stored is None:
                raise status.not_found(rtype.plural, rtype.group, name)
            old = external(rtype, stored)
            meta = old["metadata"]
            if opts.precondition_uid and opts.precondition_uid != meta["uid"]:
                raise status.precondition_failed(rtype.kind, name, "UID", opts.precondition_uid, meta["uid"])
            if opts.precondition_rv and opts.precondition_rv != meta["resourceVersion"]:
                raise status.precondition_failed(rtype.kind, name, "ResourceVersion", opts.precondition_rv,
                                                 meta["resourceVersion"])
            if rtype.group == "" and rtype.kind == "Namespace" and name in IMMORTAL_NAMESPACES:
                raise status.forbidden("namespaces", "", name, "this namespace may not be deleted")
            self.admission.validate(AdmissionRequest(DELETE, rtype, store_ns, name, None, old, opts.dry_run))
            finalizers = list(meta.get("finalizers") or [])
            policy = opts.propagation_policy or "Background"
            if policy not in ("Background", "Foreground", "Orphan"):
                raise status.invalid_options("DeleteOptions", "propagationPolicy", "FieldValueNotSupported",
                                             f'Unsupported value: "{policy}": supported values: "Foreground", '
                                             '"Background", "Orphan", "nil"')
            if not meta.get("deletionTimestamp"):
                if policy == "Foreground" and "foregroundDeletion" not in finalizers:
                    finalizers.append("foregroundDeletion")
                if policy == "Orphan" and "orphan" not in finalizers:
                    finalizers.append("orphan")
            is_namespace = rtype.group == "" and rtype.kind == "Namespace"
            if finalizers or is_namespace:
                if meta.get("deletionTimestamp"):
                    return Result(private(old), 200)
                new = copy.deepcopy(old)
                nmeta = new["metadata"]
                nmeta["deletionTimestamp"] = self.clock.now_rfc3339()
                nmeta["deletionGracePeriodSeconds"] = opts.grace_period_seconds or 0
                if finalizers:
                    nmeta["finalizers"] = finalizers
                if tracks_generation(rtype):
                    nmeta["generation"] = int(nmeta.get("generation", 1)) + 1
                if is_namespace:
                    new.setdefault("status", {})["phase"] = "Terminating"
                if rtype.group == crds.CRD_GROUP and rtype.kind == "CustomResourceDefinition":
                    new.setdefault("status", {}).setdefault("conditions", []).append(
                        {"type": "Terminating", "status": "True", "reason": "InstanceDeletionInProgress",
                         "message": "CustomResource deletion is in progress",
                         "lastTransitionTime": nmeta["deletionTimestamp"]})
                if opts.dry_run:
                    return Result(new, 200)
                try:
                    stored_new = self.store.update(rtype.group, rtype.plural, internal(rtype, new),
                                                   meta["resourceVersion"])
                except StaleWrite:
                    continue
                return Result(private(external(rtype, stored_new)), 200)
            if opts.dry_run:
                return Result(status.success(name, rtype.group, rtype.plural, meta["uid"]), 200)
            try:
                self.store.delete(rtype.group, rtype.plural, store_ns, name, meta["resourceVersion"])
            except StaleWrite:
                continue
            return Result(status.success(name, rtype.group, rtype.plural, meta["uid"]), 200)
        raise status.conflict(rtype.plural, rtype.group, name, status.STALE)

    def delete_collection(self, rtype: ResourceType, namespace: str | None, *, label_selector: str | None = None,
                          field_selector: str | None = None, opts: DeleteOptions = DeleteOptions()) -> dict[str, Any]:
        """DELETE on a collection: deletes every match; answers the list of what was deleted."""
        self._check_verb(rtype, "deletecollection")
        listing = self.list_raw(rtype, namespace, label_selector=label_selector, field_selector=field_selector)
        items = []
        for obj in listing["items"]:
            meta = obj["metadata"]
            try:
                result = self.delete(rtype, meta.get("namespace", ""), meta["name"], opts)
            except APIError as exc:
                if exc.code == 404:
                    continue
                raise
            items.append(result.body if result.body.get("kind") != "Status" else private(obj))
        return {"kind": rtype.list_kind, "apiVersion": rtype.api_version,
                "metadata": {"resourceVersion": str(self.store.resource_version)}, "items": items}

    # -- pipeline pieces --------------------------------------------------
    def _check_verb(self, rtype: ResourceType, verb: str) -> None:
        if verb not in rtype.verbs:
            raise status.method_not_allowed(verb)

    def _check_kind(self, rtype: ResourceType, obj: Any) -> None:
        if not isinstance(obj, dict):
            raise status.bad_request(f'{rtype.kind} in version "{rtype.version}" cannot be handled as a '
                                     f"{rtype.kind}: the object must be a JSON object")
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if kind and kind != rtype.kind:
            raise status.bad_request(f"the kind in the data ({kind}) does not match the expected kind "
                                     f"({rtype.kind})")
        if api_version and api_version != rtype.api_version:
            raise status.bad_request(f"the API version in the data ({api_version}) does not match the expected API "
                                     f"version ({rtype.api_version})")
        obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind

    def _check_namespace(self, rtype: ResourceType, namespace: str, meta: dict[str, Any]) -> str:
        if not rtype.namespaced:
            meta.pop("namespace", None)
            return ""
        if meta.get("namespace") and namespace and meta["namespace"] != namespace:
            raise status.bad_request("the namespace of the provided object does not match the namespace sent on the "
                                     "request")
        namespace = namespace or meta.get("namespace") or "default"
        meta["namespace"] = namespace
        return namespace

    def _require_namespace(self, rtype: ResourceType, namespace: str, name: str) -> None:
        if not rtype.namespaced:
            return
        ns = self.store.get("", "namespaces", "", namespace)
        if ns is None:
            raise status.not_found("namespaces", "", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise status.forbidden(rtype.plural, rtype.group, name,
                                   f"unable to create new content in namespace {namespace} because it is being "
                                   "terminated", causes=[status.cause("metadata.namespace", "NamespaceTerminating",
                                                                      f"namespace {namespace} is being terminated")])

    def _check_schema(self, rtype: ResourceType, obj: dict[str, Any], field_validation: str) -> list[str]:
        if field_validation not in ("Strict", "Warn", "Ignore"):
            raise status.bad_request(f'fieldValidation must be one of "Strict", "Warn", "Ignore", got '
                                     f'"{field_validation}"')
        if rtype.custom:
            return crds.check_custom_resource(rtype, obj, field_validation)
        return check_builtin_schema(self.schemas, rtype, obj, field_validation)

    @staticmethod
    def _normalize(rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """Built-in objects as the typed round trip stores them (empty lists and string maps vanish)."""
        if rtype.custom:
            return obj
        return patch_module().normalize(obj, api_version=rtype.api_version, kind=rtype.kind)

    def _reject_undeclared(self, rtype: ResourceType, namespace: str, config: dict[str, Any]) -> None:
        """An apply configuration may not name fields the type lacks, whatever fieldValidation says.

        The real server fails converting it to a typed object: a 500 without a reason.
        """
        if rtype.custom:
            unknown = crds.check_custom_resource(rtype, config, "Warn", unknown_only=True)
        else:
            unknown = check_builtin_schema(self.schemas, rtype, config, "Warn", unknown_only=True)
        if unknown:
            name = config["metadata"]["name"]
            ident = f"{namespace}/{name}" if rtype.namespaced else name
            gvk = f"{rtype.group}/{rtype.version}, Kind={rtype.kind}"
            errors = "\n".join(f".{path}: field not declared in schema" for path in unknown)
            if len(unknown) > 1:
                errors = "errors:\n" + "\n".join(f"  .{path}: field not declared in schema" for path in unknown)
            raise APIError(500, "", f"failed to create typed patch object ({ident}; {gvk}): {errors}")

    def _admit(self, operation: str, rtype: ResourceType, namespace: str, name: str, obj: dict[str, Any],
               old: dict[str, Any] | None, opts: WriteOptions, subresource: str = "") -> dict[str, Any]:
        request = AdmissionRequest(operation, rtype, namespace, name, obj, old, opts.dry_run, subresource)
        if self.admission.mutating:
            obj = self.admission.mutate(request) or obj
        return obj

    def _validate(self, rtype: ResourceType, namespace: str, obj: dict[str, Any], old: dict[str, Any] | None,
                  opts: WriteOptions) -> None:
        if self.admission.validating:
            self.admission.validate(AdmissionRequest(UPDATE if old else CREATE, rtype, namespace,
                                                     obj["metadata"].get("name", ""), obj, old, opts.dry_run))

    def _virtual(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Self-subject reviews in process (the HTTP server answers them per user): the admin may do everything."""
        if obj.get("kind") == "SelfSubjectReview":
            obj["status"] = {"userInfo": {"username": "kubernetes-admin", "groups": ["system:masters",
                                                                                    "system:authenticated"]}}
        elif obj.get("kind") == "SelfSubjectRulesReview":
            obj["status"] = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                             "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": False}
        else:
            obj["status"] = {"allowed": True, "reason": "kfctl sim grants every request"}
        for key in ("uid", "resourceVersion", "generation", "managedFields"):
            obj["metadata"].pop(key, None)
        return obj

    def _restore_crds(self) -> None:
        """CRDs loaded from a persisted store serve again at once (they were Established)."""
        items, _ = self.store.list(crds.CRD_GROUP, "customresourcedefinitions")
        for crd in items:
            if any(c.get("type") == "Established" and c.get("status") == "True"
                   for c in (crd.get("status") or {}).get("conditions") or []):
                for rtype in crds.crd_types(crd):
                    self.types.add(rtype)

    def close(self) -> None:
        self.quota.close()
        self.controllers.close()
        self.store.close()
        self.clock.close()
