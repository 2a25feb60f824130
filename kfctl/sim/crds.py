"""CustomResourceDefinitions: their validation, their types, and custom-resource schemas.

A CRD turns into one :class:`ResourceType` per served version once it is
Established. Custom resources are checked against the version's structural
schema the way the API server does: types, required, enum, bounds, patterns,
``default`` values filled in, unknown fields pruned (or refused under
``fieldValidation=Strict``) unless ``x-kubernetes-preserve-unknown-fields``.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from kfctl.sim.status import bad_request, cause, invalid
from kfctl.sim.types import Column, ResourceType

CRD_GROUP = "apiextensions.k8s.io"
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


def check_crd(obj: dict[str, Any]) -> None:
    """422 for a CRD the API server would refuse (names, scope, storage version)."""
    spec = obj.get("spec") or {}
    name = (obj.get("metadata") or {}).get("name", "")
    names = spec.get("names") or {}
    causes = []
    group, plural = spec.get("group") or "", names.get("plural") or ""
    if not group:
        causes.append(cause("spec.group", "FieldValueRequired", "Required value"))
    if not plural:
        causes.append(cause("spec.names.plural", "FieldValueRequired", "Required value"))
    if not names.get("kind"):
        causes.append(cause("spec.names.kind", "FieldValueRequired", "Required value"))
    if group and plural and name != f"{plural}.{group}":
        causes.append(cause("metadata.name", "FieldValueInvalid",
                            f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(cause("spec.scope", "FieldValueNotSupported",
                            f'Unsupported value: "{spec.get("scope", "")}": supported values: "Cluster", "Namespaced"'))
    versions = spec.get("versions") or []
    if not versions:
        causes.append(cause("spec.versions", "FieldValueInvalid", "Invalid value: null: must have exactly one version "
                            "marked as storage version"))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(cause("spec.versions", "FieldValueInvalid",
                            f"Invalid value: {json.dumps(versions)[:80]}: must have exactly one version marked as "
                            "storage version"))
    for i, version in enumerate(versions):
        schema = ((version.get("schema") or {}).get("openAPIV3Schema"))
        if schema is None:
            causes.append(cause(f"spec.versions[{i}].schema.openAPIV3Schema", "FieldValueRequired",
                                "Required value: schemas are required"))
    conversion = spec.get("conversion") or {}
    strategy = conversion.get("strategy") or "None"
    if strategy == "Webhook" and not conversion.get("webhook"):
        causes.append(cause("spec.conversion.webhook", "FieldValueRequired",
                            "Required value: required when strategy is set to Webhook"))
    elif strategy != "Webhook" and conversion.get("webhook"):
        causes.append(cause("spec.conversion.webhook", "FieldValueForbidden",
                            "Forbidden: should not be set when strategy is not set to Webhook"))
    if causes:
        raise invalid("CustomResourceDefinition", CRD_GROUP, name, causes)


def storage_version(crd: dict[str, Any]) -> str:
    return next((v["name"] for v in (crd.get("spec") or {}).get("versions") or [] if v.get("storage")), "")


def record_stored_versions(crd: dict[str, Any], *, subresource: str) -> None:
    """An update keeps ``status.storedVersions``: the storage version is added, none is forgotten.

    As the API server's CRD strategy does, objects once stored in a version may still be in
    etcd in it, so a version leaves the list only when someone (having migrated the objects)
    writes the status without it; and a spec update that leaves a listed version out of
    ``spec.versions`` is refused (422, the API server's message).
    """
    status = crd.get("status")
    if not isinstance(status, dict) or "storedVersions" not in status:
        return
    stored = list(status.get("storedVersions") or [])
    current = storage_version(crd)
    if subresource != "status" and current and current not in stored and stored:
        stored.append(current)
        status["storedVersions"] = stored
    names = {v.get("name") for v in (crd.get("spec") or {}).get("versions") or []}
    causes = [cause(f"status.storedVersions[{i}]", "FieldValueInvalid",
                    f'Invalid value: "{v}": must appear in spec.versions')
              for i, v in enumerate(stored) if v not in names]
    if causes:
        raise invalid("CustomResourceDefinition", CRD_GROUP, (crd.get("metadata") or {}).get("name", ""), causes)


def crd_types(crd: dict[str, Any]) -> list[ResourceType]:
    """The served resource types a CRD defines."""
    spec = crd["spec"]
    names = spec["names"]
    storage = next((v["name"] for v in spec["versions"] if v.get("storage")), "")
    out = []
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        subs = version.get("subresources") or {}
        subresources = tuple(s for s in ("status", "scale") if s in subs)
        columns = tuple(
            Column(c["name"], c.get("type", "string"), c["jsonPath"], c.get("description", ""),
                   int(c.get("priority", 0)), c.get("format", ""))
            for c in version.get("additionalPrinterColumns") or [])
        if not version.get("additionalPrinterColumns"):
            columns = (Column("Age", "date", "<age>"),)
        out.append(ResourceType(
            group=spec["group"], version=version["name"], kind=names["kind"], plural=names["plural"],
            namespaced=spec.get("scope") == "Namespaced", short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()), subresources=subresources, custom=True,
            schema=(version.get("schema") or {}).get("openAPIV3Schema") or {"type": "object",
                                                                             "x-kubernetes-preserve-unknown-fields": True},
            columns=columns, storage_version=storage, singular_name=names.get("singular") or names["kind"].lower()))
    return out


def established_conditions(now: str) -> list[dict[str, Any]]:
    return [
        {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now, "reason": "NoConflicts",
         "message": "no conflicts found"},
        {"type": "Established", "status": "True", "lastTransitionTime": now, "reason": "InitialNamesAccepted",
         "message": "the initial names have been accepted"},
    ]


def _accepted(crd: dict[str, Any]) -> dict[str, Any]:
    return (crd.get("status") or {}).get("acceptedNames") or {}


def names_conflict(crd: dict[str, Any], others: list[dict[str, Any]]) -> tuple[str, str] | None:
    """(reason, message) when another CRD of the group already accepted this CRD's kind or names."""
    spec = crd["spec"]
    names = spec["names"]
    mine_kinds = {names["kind"], names.get("listKind") or names["kind"] + "List"}
    mine_names = {names["plural"], names.get("singular") or names["kind"].lower(), *(names.get("shortNames") or [])}
    for other in others:
        if (other.get("spec") or {}).get("group") != spec["group"]:
            continue
        accepted = _accepted(other)
        if not accepted.get("kind"):
            continue
        kinds = {accepted["kind"], accepted.get("listKind") or accepted["kind"] + "List"}
        used = {accepted.get("plural"), accepted.get("singular"), *(accepted.get("shortNames") or [])}
        for kind in sorted(mine_kinds & kinds):
            return "KindConflict", f'"{kind}" is already in use'
        for name in sorted(mine_names & {u for u in used if u}):
            return "NameConflict", f'"{name}" is already in use'
    return None


def conflict_conditions(now: str, reason: str, message: str) -> list[dict[str, Any]]:
    return [
        {"type": "NamesAccepted", "status": "False", "lastTransitionTime": now, "reason": reason,
         "message": message},
        {"type": "Established", "status": "False", "lastTransitionTime": now, "reason": "NotAccepted",
         "message": "not all names are accepted"},
    ]


# -- custom resource schema validation ---------------------------------------

_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


class _Walk:
    def __init__(self) -> None:
        self.causes: list[dict[str, Any]] = []
        self.unknown: list[tuple[Any, str, str]] = []  # (container, key, dotted path)

    def error(self, path: str, reason: str, message: str) -> None:
        self.causes.append(cause(path, reason, message))

    def walk(self, schema: dict[str, Any], value: Any, path: str, root: bool = False) -> None:
        if value is None:
            if not schema.get("nullable") and schema.get("type"):
                self.error(path, "FieldValueTypeInvalid",
                           f'Invalid value: "null": {path} in body must be of type {schema["type"]}: "null"')
            return
        if schema.get("x-kubernetes-int-or-string"):
            if not isinstance(value, (int, str)) or isinstance(value, bool):
                self.error(path, "FieldValueTypeInvalid",
                           f'Invalid value: "{_tname(value)}": {path} in body must be of type integer,string: '
                           f'"{_tname(value)}"')
                return
        elif not self._type_ok(schema.get("type"), value):
            self.error(path, "FieldValueTypeInvalid",
                       f'Invalid value: "{_tname(value)}": {path} in body must be of type {schema["type"]}: '
                       f'"{_tname(value)}"')
            return
        self._scalar_rules(schema, value, path)
        if isinstance(value, dict):
            self._object(schema, value, path, root)
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                self.walk(schema["items"], item, f"{path}[{i}]")
            self._list_duplicates(schema, value, path)

    @staticmethod
    def _type_ok(kind: str | None, value: Any) -> bool:
        if not kind:
            return True
        if kind == "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        if kind == "number":
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        want = _TYPES.get(kind)
        return want is None or isinstance(value, want)

    def _scalar_rules(self, schema: dict[str, Any], value: Any, path: str) -> None:
        if "enum" in schema and value not in schema["enum"]:
            allowed = ", ".join(json.dumps(v) for v in schema["enum"])
            self.error(path, "FieldValueNotSupported", f"Unsupported value: {json.dumps(value)}: supported values: "
                                                       f"{allowed}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                self.error(path, "FieldValueInvalid", f"Invalid value: {value}: {path} in body should be greater "
                                                      f"than or equal to {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                self.error(path, "FieldValueInvalid", f"Invalid value: {value}: {path} in body should be less than "
                                                      f"or equal to {schema['maximum']}")
        if isinstance(value, str):
            if "pattern" in schema and not re.search(schema["pattern"], value):
                self.error(path, "FieldValueInvalid", f'Invalid value: "{value}": {path} in body should match '
                                                      f"'{schema['pattern']}'")
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                self.error(path, "FieldValueTooLong", f"Too long: may not be more than {schema['maxLength']} bytes")
            if "minLength" in schema and len(value) < schema["minLength"]:
                self.error(path, "FieldValueInvalid", f'Invalid value: "{value}": {path} in body should be at least '
                                                      f"{schema['minLength']} chars long")
        if isinstance(value, list):
            if "maxItems" in schema and len(value) > schema["maxItems"]:
                self.error(path, "FieldValueTooMany", f"Too many: {len(value)}: must have at most "
                                                      f"{schema['maxItems']} items")
            if "minItems" in schema and len(value) < schema["minItems"]:
                self.error(path, "FieldValueInvalid", f"Invalid value: {len(value)}: {path} in body should have at "
                                                      f"least {schema['minItems']} items")

    def _list_duplicates(self, schema: dict[str, Any], items: list[Any], path: str) -> None:
        """``x-kubernetes-list-type`` set and map lists may not repeat an element or a key."""
        list_type = schema.get("x-kubernetes-list-type")
        if list_type not in ("set", "map"):
            return
        keys = schema.get("x-kubernetes-list-map-keys") or []
        seen: set[str] = set()
        for i, item in enumerate(items):
            if list_type == "map":
                if not isinstance(item, dict):
                    continue
                ident = {k: item.get(k) for k in keys}
                shown = "map[string]interface {}{" + ", ".join(
                    f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(ident.items())) + "}"
            else:
                ident, shown = item, json.dumps(item)
            token = json.dumps(ident, sort_keys=True)
            if token in seen:
                self.error(f"{path}[{i}]", "FieldValueDuplicate", f"Duplicate value: {shown}")
            seen.add(token)

    def _metadata(self, meta: Any, path: str) -> None:
        """ObjectMeta is never validated against the CRD schema, but its unknown fields are pruned."""
        if isinstance(meta, dict):
            for key in list(meta):
                if key not in OBJECT_META_FIELDS:
                    self.unknown.append((meta, key, f"{path}.{key}"))

    def _object(self, schema: dict[str, Any], value: dict[str, Any], path: str, root: bool) -> None:
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") or False
        embedded = schema.get("x-kubernetes-embedded-resource") or False
        for key, sub in props.items():
            if key not in value and isinstance(sub, dict) and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
        for name in schema.get("required") or []:
            if name not in value:
                self.error(f"{path}.{name}" if path else name, "FieldValueRequired", "Required value")
        for key in list(value):
            child = f"{path}.{key}" if path else key
            if (root or embedded) and key == "metadata":
                self._metadata(value[key], child)
            elif key in props:
                self.walk(props[key], value[key], child)
            elif (root or embedded) and key in ("apiVersion", "kind"):
                continue
            elif isinstance(extra, dict):
                self.walk(extra, value[key], child)
            elif extra is True or preserve:
                continue
            else:
                self.unknown.append((value, key, child))


OBJECT_META_FIELDS = frozenset({
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
    "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers",
    "managedFields"})


def _tname(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {dict: "object", list: "array", str: "string"}.get(type(value), "null")


def check_custom_resource(rtype: ResourceType, obj: dict[str, Any], field_validation: str, *,
                          unknown_only: bool = False) -> list[str]:
    """Validate, default and prune ``obj`` in place; returns warnings; raises 400/422.

    ``unknown_only``: leave ``obj`` alone and list the paths of its unknown fields.
    """
    schema = rtype.schema or {}
    walk = _Walk()
    if unknown_only:
        obj = copy.deepcopy(obj)
    walk.walk(schema, obj, "", root=True)
    if unknown_only:
        return [p for _, _, p in walk.unknown]
    name = (obj.get("metadata") or {}).get("name", "")
    if walk.unknown and field_validation == "Strict":
        detail = ", ".join(f'unknown field "{p}"' for _, _, p in walk.unknown)
        raise bad_request(f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
                          f"strict decoding error: {detail}")
    if walk.causes:
        raise invalid(rtype.kind, rtype.group, name, walk.causes)
    warnings = []
    for container, key, path in walk.unknown:
        container.pop(key, None)
        if field_validation != "Ignore":
            warnings.append(f'unknown field "{path}"')
    return warnings
