"""The type table: which resources the sim serves and how each kind behaves.

A :class:`ResourceType` is the static description discovery publishes (names,
scope, verbs, short names, subresources). A :class:`Behaviour` is the per-kind
hook set the pipeline calls (defaults on create, printer columns, and later
issues' status publishers). :class:`TypeRegistry` holds both; custom resources
are added and removed at run time as CRDs become Established or go away.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUBRESOURCE_VERBS = ("get", "patch", "update")

#: name rules, see :mod:`kfctl.sim.validation`
SUBDOMAIN, LABEL, DNS1035, PATH_SEGMENT = "subdomain", "label", "dns1035", "path"


@dataclass(frozen=True)
class Column:
    """A printer column: header, type and a JSONPath (``.status.phase``) or ``"<age>"``."""

    name: str
    type: str
    json_path: str
    description: str = ""
    priority: int = 0
    format: str = ""


@dataclass(frozen=True)
class ResourceType:
    """One served resource (group, version, plural) and what discovery says about it."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: tuple[str, ...] = ALL_VERBS
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    name_rule: str = SUBDOMAIN
    custom: bool = False
    #: the CRD's openAPIV3Schema for this version (custom resources only)
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    columns: tuple[Column, ...] = ()
    #: custom resources only: the CRD's storage version
    storage_version: str = ""
    singular_name: str = ""

    @property
    def singular(self) -> str:
        return self.singular_name or self.kind.lower()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def resource_key(self) -> tuple[str, str]:
        """Storage identity: objects of all versions of one group/plural share it."""
        return (self.group, self.plural)


@dataclass
class Behaviour:
    """Per-kind hooks. Each is optional; later issues append more (status publishers).

    ``defaults(obj)`` fills server-side defaults on create (mutating ``obj``);
    ``on_update(old, new)`` may adjust an update before it is stored.
    """

    defaults: Callable[[dict[str, Any]], None] | None = None
    on_update: Callable[[dict[str, Any], dict[str, Any]], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class TypeRegistry:
    """Thread-safe table of served types, keyed several ways for routing and lookup."""

    def __init__(self, types: list[ResourceType] | tuple[ResourceType, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._by_path: dict[tuple[str, str, str], ResourceType] = {}
        self._behaviours: dict[tuple[str, str], Behaviour] = {}
        self._group_order: list[str] = []
        for rtype in types:
            self.add(rtype)

    def add(self, rtype: ResourceType) -> None:
        with self._lock:
            self._by_path[(rtype.group, rtype.version, rtype.plural)] = rtype
            if rtype.group not in self._group_order:
                self._group_order.append(rtype.group)

    def remove(self, group: str, plural: str) -> None:
        """Stop serving every version of ``group``/``plural`` (a CRD went away)."""
        with self._lock:
            for key in [k for k in self._by_path if k[0] == group and k[2] == plural]:
                del self._by_path[key]
            if not any(k[0] == group for k in self._by_path) and group in self._group_order:
                self._group_order.remove(group)

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        with self._lock:
            for rtype in self._by_path.values():
                if rtype.group == group and rtype.version == version and rtype.kind == kind:
                    return rtype
        return None

    def versions_of(self, group: str, plural: str) -> list[ResourceType]:
        with self._lock:
            return [t for t in self._by_path.values() if t.group == group and t.plural == plural]

    def groups(self) -> list[tuple[str, list[str]]]:
        """``[(group, [versions, preferred first])]`` in registration order."""
        with self._lock:
            out = []
            for group in self._group_order:
                versions: list[str] = []
                for (g, v, _), _t in self._by_path.items():
                    if g == group and v not in versions:
                        versions.append(v)
                out.append((group, sorted(versions, key=version_priority)))
            return out

    def resources(self, group: str, version: str) -> list[ResourceType]:
        with self._lock:
            return [t for (g, v, _), t in self._by_path.items() if g == group and v == version]

    def all(self) -> list[ResourceType]:
        with self._lock:
            return list(self._by_path.values())

    # -- behaviours -------------------------------------------------------
    def behaviour(self, group: str, kind: str) -> Behaviour:
        """The hooks for a kind (an empty :class:`Behaviour` when none registered)."""
        return self._behaviours.get((group, kind)) or Behaviour()

    def register_behaviour(self, group: str, kind: str, behaviour: Behaviour) -> None:
        with self._lock:
            self._behaviours[(group, kind)] = behaviour


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Kubernetes version ordering: GA before beta before alpha, higher numbers first."""
    import re

    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not match:
        return (3, 0, 0, version)
    major, stage, minor = int(match.group(1)), match.group(2), int(match.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -major, -minor, version)
