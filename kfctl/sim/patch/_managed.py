"""``metadata.managedFields``: decoding, identity, ordering and encoding of entries.

kube-apiserver keys an entry by (manager, operation, subresource) and, for
``Update`` entries only, the apiVersion: an applier keeps one entry across
versions, an updater gets one per version. Entries are written sorted by
operation (``Apply`` before ``Update``), time, manager, apiVersion and
subresource, each with ``fieldsType: FieldsV1``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ._errors import Conflict, SchemaError
from ._fieldset import Trie, from_fields_v1, to_fields_v1, union

Identity = tuple[str, str, str, str]

#: Paths never owned (structured-merge-diff's stripMetaManager, plus the
#: deletion fields the server alone sets).
STRIPPED_METADATA = ("name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation",
                     "managedFields", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds")


@dataclass(frozen=True)
class Entry:
    manager: str
    operation: str
    api_version: str
    subresource: str
    time: str | None
    fields: Trie

    @property
    def identity(self) -> Identity:
        return (self.manager, self.operation, self.subresource,
                "" if self.operation == "Apply" else self.api_version)

    def conflict(self, field: str) -> Conflict:
        return Conflict(manager=self.manager, field=field, operation=self.operation, api_version=self.api_version,
                        subresource=self.subresource)

    def with_fields(self, fields: Trie) -> Entry:
        return replace(self, fields=fields)

    def encode(self) -> dict[str, Any]:
        out: dict[str, Any] = {"apiVersion": self.api_version, "fieldsType": "FieldsV1",
                               "fieldsV1": to_fields_v1(self.fields), "manager": self.manager,
                               "operation": self.operation}
        if self.subresource:
            out["subresource"] = self.subresource
        if self.time is not None:
            out["time"] = self.time
        return out


def decode(raw: Any) -> dict[Identity, Entry]:
    """Entries of a ``managedFields`` list; SchemaError when malformed."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise SchemaError("metadata.managedFields must be a list")
    out: dict[Identity, Entry] = {}
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise SchemaError(f"metadata.managedFields[{index}] must be an object")
        if item.get("fieldsType", "FieldsV1") != "FieldsV1":
            raise SchemaError(f"metadata.managedFields[{index}].fieldsType: only FieldsV1 is supported")
        operation = item.get("operation", "")
        if operation not in ("Apply", "Update"):
            raise SchemaError(f"metadata.managedFields[{index}].operation must be Apply or Update")
        entry = Entry(manager=str(item.get("manager", "")), operation=operation,
                      api_version=str(item.get("apiVersion", "")), subresource=str(item.get("subresource", "")),
                      time=item.get("time"), fields=from_fields_v1(item.get("fieldsV1", {})))
        previous = out.get(entry.identity)
        if previous is not None:
            entry = entry.with_fields(union(previous.fields, entry.fields))
        out[entry.identity] = entry
    return out


def encode(entries: dict[Identity, Entry]) -> list[dict[str, Any]]:
    def order(entry: Entry) -> tuple[str, str, str, str, str]:
        return (entry.operation, entry.time or "", entry.manager, entry.api_version, entry.subresource)

    return [e.encode() for e in sorted(entries.values(), key=order) if e.fields]


def is_reset(raw: Any) -> bool:
    """``managedFields: []`` (or ``[{}]``) in a write asks the server to drop all ownership."""
    return isinstance(raw, list) and (raw == [] or raw == [{}])


MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES = "ancient-changes"


def cap_updaters(entries: dict[Identity, Entry]) -> dict[Identity, Entry]:
    """Fold the oldest ``Update`` entries into one ``ancient-changes`` entry per apiVersion once
    there are more than ten, as the apiserver's capManagersManager does."""
    updaters = [e for e in entries.values() if e.operation == "Update"]
    if len(updaters) <= MAX_UPDATE_MANAGERS:
        return entries
    out = dict(entries)
    updaters.sort(key=lambda e: (e.time or "", e.identity))
    first_by_version: dict[str, Identity] = {}
    count = len(updaters)
    for entry in updaters:
        if count <= MAX_UPDATE_MANAGERS:
            break
        bucket = Entry(ANCIENT_CHANGES, "Update", entry.api_version, "", entry.time, {})
        first = first_by_version.get(entry.api_version)
        if first is None:
            first_by_version[entry.api_version] = entry.identity
            continue
        if bucket.identity not in out:
            seed = out.pop(first)
            out[bucket.identity] = replace(bucket, fields=seed.fields)
        merged = union(out[bucket.identity].fields, entry.fields)
        out[bucket.identity] = replace(bucket, fields=merged, time=entry.time)
        del out[entry.identity]
        count -= 1
    return out
