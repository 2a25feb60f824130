"""Server-side apply and ownership tracking, as kube-apiserver's field manager does them.

:func:`server_side_apply` merges an applied configuration into the live object
(structured-merge-diff's Merge with per-field list and map semantics), removes
what this manager applied before and no longer applies unless someone else
owns it, checks conflicts with every other manager and records ownership in
``metadata.managedFields``. :func:`update_managed_fields` does the ownership
bookkeeping of an ordinary write (create, PUT, PATCH).

Caller contract (the sim's request handlers):

* Pass objects as decoded JSON; nothing passed in is mutated, results are new.
* ``api_version`` is the request's group/version (it picks the schema and is
  recorded in the entry). ``now`` is the RFC 3339 time to record.
* Status: for kinds whose status is a subresource (built-in ones are known,
  for custom resources pass ``status_subresource``), a main-resource write
  never changes or owns ``status`` (the applied ``status`` is ignored and the
  live one kept), and a ``subresource="status"`` write owns only ``status``.
  The handler must likewise keep live status on PUT/PATCH of the main resource.
* ``metadata.name/namespace/uid/resourceVersion/generation/creationTimestamp``
  and the deletion fields are never owned; the handler sets them.
"""

from __future__ import annotations

from typing import Any

from ._errors import ApplyConflictError, PatchError, SchemaError
from ._fieldset import MEMBER, Trie, difference, intersection, list_pes, path_string, paths, pe_string, union
from ._lastapplied import allowed_conflicts, sync_annotation
from ._merge import json_copy
from ._managed import STRIPPED_METADATA, Entry, Identity, cap_updaters, decode, encode, is_reset
from ._schema import LIST, MAP, Node, resolve, root_node
from ._typed import normalize
from ._walk import compare, ensure_named_fields, remove_items, to_fieldset

#: Built-in kinds served with a ``/status`` subresource.
STATUS_SUBRESOURCE_KINDS = frozenset({
    "v1/Pod", "v1/Service", "v1/Node", "v1/Namespace", "v1/PersistentVolume", "v1/PersistentVolumeClaim",
    "v1/ReplicationController", "v1/ResourceQuota",
    "apps/v1/Deployment", "apps/v1/StatefulSet", "apps/v1/DaemonSet", "apps/v1/ReplicaSet",
    "batch/v1/Job", "batch/v1/CronJob", "autoscaling/v1/HorizontalPodAutoscaler",
    "autoscaling/v2/HorizontalPodAutoscaler", "policy/v1/PodDisruptionBudget", "networking.k8s.io/v1/Ingress",
    "networking.k8s.io/v1/ServiceCIDR", "apiextensions.k8s.io/v1/CustomResourceDefinition",
    "apiregistration.k8s.io/v1/APIService", "certificates.k8s.io/v1/CertificateSigningRequest",
    "storage.k8s.io/v1/VolumeAttachment", "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy",
    "flowcontrol.apiserver.k8s.io/v1/FlowSchema", "flowcontrol.apiserver.k8s.io/v1/PriorityLevelConfiguration",
})

_MISSING = object()
_BEFORE_FIRST_APPLY = "before-first-apply"


def has_status_subresource(api_version: str, kind: str) -> bool:
    return f"{api_version}/{kind}" in STATUS_SUBRESOURCE_KINDS


# --- merge ------------------------------------------------------------------------------------------------------

def merge(live: Any, config: Any, node: Node, where: str = "") -> Any:
    """The applied ``config`` merged into ``live`` (config wins; lists and maps per their type)."""
    node = resolve(node, config)
    if node.kind == MAP and not node.atomic and isinstance(live, dict) and isinstance(config, dict):
        out = dict(live)
        for key, value in config.items():
            if value is None:
                out.pop(key, None)
                continue
            old = live.get(key, _MISSING)
            out[key] = value if old is _MISSING else merge(old, value, node.field(key), f"{where}.{key}")
        return out
    if node.kind == LIST and node.list_type != "atomic" and isinstance(live, list) and isinstance(config, list):
        return _merge_list(live, config, node, where)
    return config


def _merge_list(live: list[Any], config: list[Any], node: Node, where: str) -> list[Any]:
    """structured-merge-diff's ordered list merge: config order for shared items, live-only items stay in place."""
    rhs = list_pes(node, config, where)
    lhs = list_pes(node, live, where)
    if rhs is None or lhs is None:
        return config
    observed_r: dict[str, Any] = {}
    for pe, item in zip(rhs, config):
        if pe in observed_r:
            raise SchemaError(f"{where}: duplicate entries for key {_pe_text(pe)}")
        observed_r[pe] = item
    observed_l: dict[str, Any] = {}
    for pe, item in zip(lhs, live):
        observed_l.setdefault(pe, item)
    shared = [pe for pe in rhs if pe in observed_l]
    shared_at = 0
    next_shared = shared[0] if shared else None
    merged_r: set[str] = set()
    elem = node.elem()
    out: list[Any] = []
    li = ri = 0
    while li < len(lhs) or ri < len(rhs):
        if li < len(lhs) and ri < len(rhs):
            pe = lhs[li]
            if pe == rhs[ri]:
                merged_r.add(pe)
                out.append(merge(observed_l[pe], observed_r[pe], elem, where))
                li += 1
                ri += 1
                shared_at += 1
                next_shared = shared[shared_at] if shared_at < len(shared) else None
                continue
            if pe in observed_r and next_shared is not None and next_shared != pe:
                li += 1
                continue
        if li < len(lhs):
            pe = lhs[li]
            if pe not in observed_r:
                out.append(live[li])
                li += 1
                continue
            if pe in merged_r:
                li += 1  # already merged with its config item; like structured-merge-diff, fall through
        if ri < len(rhs):
            pe = rhs[ri]
            merged_r.add(pe)
            old = observed_l.get(pe, _MISSING)
            out.append(observed_r[pe] if old is _MISSING else merge(old, observed_r[pe], elem, where))
            ri += 1
            if next_shared is not None and next_shared == pe:
                shared_at += 1
                next_shared = shared[shared_at] if shared_at < len(shared) else None
    return out


def _pe_text(pe: str) -> str:
    return pe_string(pe)


# --- ignored fields -------------------------------------------------------------------------------------------

def _filter(trie: Trie, reset: str) -> Trie:
    """``trie`` without the ignored paths (and, for a status write, without anything but status)."""
    if reset == "all-but-status":
        return {"f:status": trie["f:status"]} if "f:status" in trie else {}
    out = dict(trie)
    if reset == "status":
        out.pop("f:status", None)
    out.pop("f:apiVersion", None)
    out.pop("f:kind", None)
    meta = out.get("f:metadata")
    if meta is not None:
        meta = {k: v for k, v in meta.items() if k != MEMBER and k[2:] not in STRIPPED_METADATA}
        if meta:
            out["f:metadata"] = meta
        else:
            del out["f:metadata"]
    return out


def _reset_mode(api_version: str, kind: str, subresource: str, status_subresource: bool | None) -> str:
    if subresource == "status":
        return "all-but-status"
    if subresource:
        return ""
    with_status = has_status_subresource(api_version, kind) if status_subresource is None else status_subresource
    return "status" if with_status else ""


def _strip_managed(obj: dict[str, Any] | None) -> dict[str, Any]:
    if obj is None:
        return {}
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        meta = {k: v for k, v in meta.items() if k != "managedFields"}
        return {**obj, "metadata": meta}
    return obj


def _with_managed(obj: dict[str, Any], entries: dict[Identity, Entry]) -> dict[str, Any]:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    encoded = encode(entries)
    if encoded:
        meta["managedFields"] = encoded
    return {**obj, "metadata": meta}


def _gvk_text(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    return f"{group}/{version}, Kind={kind}"


# --- apply ----------------------------------------------------------------------------------------------------------

def server_side_apply(live: dict[str, Any] | None, applied: dict[str, Any], *, manager: str, force: bool,
                      api_version: str, now: str, subresource: str = "", schema: dict[str, Any] | None = None,
                      status_subresource: bool | None = None) -> dict[str, Any]:
    """The object after ``manager`` applies ``applied`` to ``live`` (None: create).

    Raises :class:`ApplyConflictError` when another manager owns a field this
    apply changes (unless ``force``, which takes the field over) and
    :class:`PatchError` for a configuration that does not fit its type. A
    no-op apply returns an object equal to ``live``, managedFields included
    (an entry's ``time`` moves only when the object changes, as in the apiserver).
    The result shares no mutable structure with the arguments.
    """
    if not isinstance(applied, dict):
        raise PatchError("apply patch must be a JSON or YAML object", code=400)
    meta = applied.get("metadata")
    if isinstance(meta, dict) and meta.get("managedFields"):
        raise PatchError("metadata.managedFields must be nil", code=400)
    kind = str(applied.get("kind") or (live or {}).get("kind") or "")
    node = root_node(api_version, kind, schema)
    reset = _reset_mode(api_version, kind, subresource, status_subresource)
    config = _strip_managed(applied)
    if reset == "status" and "status" in config:
        config = {k: v for k, v in config.items() if k != "status"}
    elif reset == "all-but-status":
        ident = {k: v for k, v in (config.get("metadata") or {}).items() if k in ("name", "namespace")}
        config = {k: v for k, v in config.items() if k in ("apiVersion", "kind", "status")}
        config["metadata"] = ident
    live_body = _strip_managed(live)
    try:
        entries = decode((live or {}).get("metadata", {}).get("managedFields"))
    except SchemaError:
        entries = {}
    gvk = _gvk_text(api_version, kind)
    try:
        if live is not None and not entries:
            added, _, _ = compare({}, live_body, node)
            first = _filter(added, reset)
            if first:
                before = Entry(_BEFORE_FIRST_APPLY, "Update", api_version, "", now, first)
                entries[before.identity] = before
        config_set = _filter(to_fieldset(config, node, strict=True), reset)
    except SchemaError as err:
        raise PatchError(f"failed to create typed patch object ({gvk}): {err}", code=400) from err
    try:
        merged = merge(live_body, config, node) if live is not None else _drop_nulls(config, node)
    except SchemaError as err:
        raise PatchError(f"failed to merge the applied configuration ({gvk}): {err}", code=422) from err
    me = Entry(manager, "Apply", api_version, subresource, None, config_set)
    previous = entries.get(me.identity)
    last_set = previous.fields if previous is not None else {}
    entries[me.identity] = me
    if last_set:
        merged = _prune(merged, node, entries, last_set, reset)
    merged = normalize(merged, api_version=api_version, kind=kind)
    try:
        added, modified, removed = compare(live_body, merged, node)
    except SchemaError as err:
        raise PatchError(f"failed to compare the objects ({gvk}): {err}", code=422) from err
    changed = _filter(union(added, modified), reset)
    removed = _filter(removed, reset)
    conflicts: dict[Identity, Trie] = {}
    for identity, entry in entries.items():
        if identity == me.identity:
            continue
        clash = intersection(entry.fields, changed)
        if clash:
            conflicts[identity] = clash
    if conflicts and not force:
        allowed = allowed_conflicts(manager, live_body, node)
        remaining = {i: rest for i, c in conflicts.items() if (rest := difference(c, allowed))}
        if remaining:
            found = [entries[i].conflict(path_string(p))
                     for i in sorted(remaining, key=lambda i: entries[i].conflict("").who) for p in paths(remaining[i])]
            raise ApplyConflictError(found, api_version=api_version)
    for identity in list(entries):
        if identity == me.identity:
            continue
        entry = entries[identity]
        fields = difference(difference(entry.fields, conflicts.get(identity, {})), removed)
        if fields is not entry.fields:
            entries[identity] = entry.with_fields(fields)
    # like the apiserver, the entry's time moves only when the object itself changed
    body_changed = merged != live_body
    time = now if body_changed else previous.time if previous is not None else None
    entries[me.identity] = Entry(manager, "Apply", api_version, subresource, time, config_set)
    if reset == "status" and live is not None:
        merged = {k: v for k, v in merged.items() if k != "status"}
        if "status" in live_body:
            merged["status"] = live_body["status"]
    result = _with_managed(merged, cap_updaters({i: e for i, e in entries.items() if e.fields}))
    return json_copy(sync_annotation(manager, result, applied))


def _drop_nulls(value: Any, node: Node) -> Any:
    """A created object never stores the nulls an applied configuration may hold."""
    node = resolve(node, value)
    if isinstance(value, dict):
        return {k: _drop_nulls(v, node.field(k) if node.kind == MAP else node) for k, v in value.items()
                if v is not None}
    if isinstance(value, list) and node.kind == LIST:
        elem = node.elem()
        return [_drop_nulls(v, elem) for v in value]
    return value


def _prune(merged: dict[str, Any], node: Node, entries: dict[Identity, Entry], last_set: Trie,
           reset: str) -> dict[str, Any]:
    """Remove what this manager applied last time and no longer applies, unless someone owns it."""
    owned: Trie = {}
    for entry in entries.values():
        owned = union(owned, entry.fields)
    drop = difference(ensure_named_fields(last_set, node), ensure_named_fields(owned, node))
    for top in ("f:apiVersion", "f:kind"):
        drop.pop(top, None)
    if "f:metadata" in drop:
        meta = {k: v for k, v in drop["f:metadata"].items() if k != MEMBER and k[2:] not in STRIPPED_METADATA}
        if meta:
            drop["f:metadata"] = meta
        else:
            del drop["f:metadata"]
    if reset == "status":
        drop.pop("f:status", None)
    drop.pop(MEMBER, None)
    return remove_items(merged, drop, node, owned) if drop else merged


# --- ordinary writes ----------------------------------------------------------------------------------------------

def update_managed_fields(old: dict[str, Any] | None, new: dict[str, Any], *, manager: str,
                          operation: str = "Update", api_version: str, now: str, subresource: str = "",
                          schema: dict[str, Any] | None = None,
                          status_subresource: bool | None = None) -> list[dict[str, Any]]:
    """``metadata.managedFields`` after a create (``old`` None), PUT or PATCH by ``manager``.

    Fields the write added or changed become the manager's (and leave every
    other manager); fields it removed leave everyone. A write whose
    ``new.metadata.managedFields`` is ``[]`` resets ownership; one carrying
    other entries replaces them (as the apiserver allows). An empty list means
    the handler should omit ``managedFields``.
    """
    kind = str(new.get("kind") or (old or {}).get("kind") or "")
    node = root_node(api_version, kind, schema)
    reset = _reset_mode(api_version, kind, subresource, status_subresource)
    old_meta = (old or {}).get("metadata") or {}
    new_meta = new.get("metadata") or {}
    try:
        entries = _decode_live_or_new(old_meta, new_meta, bool(subresource))
    except SchemaError:
        entries = {}
    if not entries and old is not None:
        return []  # an object nobody tracks stays untracked (the apiserver tracks only from creation or apply)
    try:
        added, modified, removed = compare(_strip_managed(old), _strip_managed(new), node)
    except SchemaError:
        return []  # the apiserver drops managedFields it can no longer trust
    changed = _filter(union(added, modified), reset)
    removed = _filter(removed, reset)
    for identity in list(entries):
        entry = entries[identity]
        fields = difference(difference(entry.fields, changed), removed)
        if fields is not entry.fields:
            entries[identity] = entry.with_fields(fields)
    mine = difference(changed, removed)
    me = Entry(manager, operation, api_version, subresource, now, mine)
    if mine:
        previous = entries.get(me.identity)
        if previous is not None:
            me = me.with_fields(union(previous.fields, mine))
        entries[me.identity] = me
    return encode(cap_updaters({i: e for i, e in entries.items() if e.fields}))


def _decode_live_or_new(old_meta: dict[str, Any], new_meta: dict[str, Any],
                        is_subresource: bool) -> dict[Identity, Entry]:
    if is_subresource:
        return decode(old_meta.get("managedFields"))
    raw = new_meta.get("managedFields")
    if is_reset(raw):
        return {}
    try:
        entries = decode(raw)
    except SchemaError:
        entries = {}
    return entries or decode(old_meta.get("managedFields"))


