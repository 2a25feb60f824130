"""Type knowledge: how each field of an object merges, patches and is owned.

Server-side apply and strategic merge patch both need to know, per field,
whether a list is atomic, a set of scalars or a map keyed by some fields, and
whether a map is granular or atomic. Built-in kinds take this from
``_builtin_types.json`` (generated from the Kubernetes OpenAPI schema by
``_generate.py``); custom resources from their CRD's ``openAPIV3Schema``;
anything else is *deduced* like structured-merge-diff does for untyped
objects: maps are granular, lists atomic, everything else a scalar.

Nodes are compiled lazily and cached, so recursive types (``JSONSchemaProps``)
and big schemas cost only what an object actually touches.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

SCALAR = "scalar"
MAP = "map"
LIST = "list"
DEDUCED = "deduced"

#: Key fields of associative lists that the API defaults when omitted. The
#: OpenAPI documents only ``protocol`` (``TCP``) among list-map keys of built-in
#: types (ContainerPort, ServicePort); structured-merge-diff uses such defaults
#: to build the item's key.
KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}


class Node:
    """One schema node. ``kind`` is ``scalar``, ``map``, ``list`` or ``deduced``.

    Maps (structs and string-keyed maps alike) have ``atomic``, named
    ``fields`` and an ``elem`` type for other keys (None: undeclared keys are
    deduced). Lists have ``list_type`` (``atomic``, ``set``, ``map``), ``keys``
    and ``elem``. ``strategy`` and ``merge_key`` are the field's
    strategic-merge-patch metadata, when it is reached through a field.
    """

    __slots__ = ("kind", "atomic", "list_type", "keys", "strategy", "merge_key", "_fields", "_raw_elem", "_elem",
                 "_resolver", "_compiled")

    def __init__(self, kind: str, *, resolver: Resolver | None = None, atomic: bool = False, list_type: str = "",
                 keys: tuple[str, ...] = (), strategy: str = "", merge_key: str = "",
                 fields: dict[str, Any] | None = None, elem: Any = None) -> None:
        self.kind = kind
        self.atomic = atomic
        self.list_type = list_type
        self.keys = keys
        self.strategy = strategy
        self.merge_key = merge_key
        self._fields = fields or {}
        self._raw_elem = elem
        self._elem: Node | None = None
        self._resolver = resolver
        self._compiled: dict[str, Node] = {}

    def has_field(self, name: str) -> bool:
        return name in self._fields

    def field(self, name: str) -> Node:
        """The node of field or map key ``name`` (deduced when undeclared)."""
        node = self._compiled.get(name)
        if node is None:
            raw = self._fields.get(name)
            if raw is None:
                node = self.elem()
            else:
                assert self._resolver is not None
                node = self._resolver.compile(raw)
            self._compiled[name] = node
        return node

    @property
    def is_struct(self) -> bool:
        """A map with declared fields (a Go struct), as opposed to a string-keyed map."""
        return self.kind == MAP and bool(self._fields)

    def elem(self) -> Node:
        if self._elem is None:
            if self._raw_elem is None or self._resolver is None:
                self._elem = DEDUCED_NODE
            else:
                self._elem = self._resolver.compile(self._raw_elem)
        return self._elem

    def patch_strategies(self) -> tuple[str, ...]:
        return tuple(s for s in self.strategy.split(",") if s)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Node({self.kind}, list_type={self.list_type!r}, keys={self.keys!r}, atomic={self.atomic})"


DEDUCED_NODE = Node(DEDUCED)
SCALAR_NODE = Node(SCALAR)


class Resolver:
    """Compiles compact nodes of the built-in table, resolving ``@Type`` references."""

    def __init__(self, types: dict[str, Any]) -> None:
        self._types = types
        self._named: dict[str, Node] = {}

    def named(self, name: str, strategy: str = "", merge_key: str = "") -> Node:
        key = f"{name}|{strategy}|{merge_key}"
        node = self._named.get(key)
        if node is None:
            node = self.compile(self._types[name], strategy=strategy, merge_key=merge_key)
            self._named[key] = node
        return node

    def compile(self, raw: Any, *, strategy: str = "", merge_key: str = "") -> Node:
        if raw == "s":
            return SCALAR_NODE if not strategy else Node(SCALAR, strategy=strategy)
        if raw == "u":
            return DEDUCED_NODE
        if isinstance(raw, str):  # "@Type"
            return self.named(raw[1:], strategy, merge_key)
        strategy = raw.get("ps", strategy)
        merge_key = raw.get("pk", merge_key)
        if "r" in raw:
            return self.named(raw["r"], strategy, merge_key)
        if "l" in raw:
            list_type = raw["l"]
            keys = tuple(raw.get("k", ()))
            if not list_type:  # no list-type: fall back on the patch strategy, as the apiserver does
                if "merge" in strategy.split(","):
                    list_type = "map" if merge_key else "set"
                    keys = (merge_key,) if merge_key else ()
                else:
                    list_type = "atomic"
            return Node(LIST, resolver=self, list_type=list_type, keys=keys, strategy=strategy,
                        merge_key=merge_key, elem=raw["i"])
        return Node(MAP, resolver=self, atomic=bool(raw.get("a")), strategy=strategy, fields=raw.get("f"),
                    elem=raw.get("m"))


@lru_cache(maxsize=1)
def _builtin() -> tuple[dict[str, str], Resolver]:
    text = resources.files(__package__).joinpath("_builtin_types.json").read_text(encoding="utf-8")
    table = json.loads(text)
    return table["kinds"], Resolver(table["types"])


def builtin_kinds() -> frozenset[str]:
    """Every ``apiVersion/Kind`` whose semantics come from the built-in table."""
    return frozenset(_builtin()[0])


def root_node(api_version: str, kind: str, schema: dict[str, Any] | None = None) -> Node:
    """The type of a whole object: built-in, from a CRD schema, or deduced.

    A CRD schema is compiled once per schema object (kept by identity): treat
    the dicts you pass as immutable, and pass a new one when a CRD changes.
    """
    kinds, resolver = _builtin()
    name = kinds.get(f"{api_version}/{kind}")
    if name is not None:
        return resolver.named(name)
    if schema is not None:
        return _crd_root(schema)
    return _DEDUCED_ROOT


def _object_meta() -> Node:
    return _builtin()[1].named("meta.v1.ObjectMeta")


class _CrdResolver(Resolver):
    """Compiles an ``openAPIV3Schema`` (JSONSchemaProps) into nodes."""

    def __init__(self) -> None:
        super().__init__({})

    def compile(self, raw: Any, *, strategy: str = "", merge_key: str = "") -> Node:
        if not isinstance(raw, dict):
            return DEDUCED_NODE
        kind = raw.get("type")
        if kind == "array" or "items" in raw:
            list_type = raw.get("x-kubernetes-list-type", "atomic")
            keys = tuple(raw.get("x-kubernetes-list-map-keys", ()))
            return Node(LIST, resolver=self, list_type=list_type, keys=keys, elem=raw.get("items"))
        if kind == "object" or "properties" in raw or "additionalProperties" in raw:
            fields = dict(raw.get("properties") or {})
            elem = raw.get("additionalProperties")
            if raw.get("x-kubernetes-embedded-resource"):
                fields.setdefault("apiVersion", {"type": "string"})
                fields.setdefault("kind", {"type": "string"})
            if not isinstance(elem, dict):
                elem = None  # undeclared keys (preserve-unknown-fields) are deduced
            return Node(MAP, resolver=self, atomic=raw.get("x-kubernetes-map-type") == "atomic", fields=fields,
                        elem=elem)
        if raw.get("x-kubernetes-int-or-string") or kind in ("string", "integer", "number", "boolean"):
            return SCALAR_NODE
        return DEDUCED_NODE


class _CrdRoot(Node):
    """A custom resource: its schema, with ``metadata`` typed as ObjectMeta like the apiserver does."""

    __slots__ = ()

    def field(self, name: str) -> Node:
        if name == "metadata":
            return _object_meta()
        return super().field(name)


_CRD_CACHE: dict[int, tuple[dict[str, Any], Node]] = {}
_CRD_CACHE_SIZE = 512


def _crd_root(raw: dict[str, Any]) -> Node:
    """The compiled root of a CRD schema, cached by identity (schemas can be hundreds of KB)."""
    hit = _CRD_CACHE.get(id(raw))
    if hit is not None and hit[0] is raw:
        return hit[1]
    if len(_CRD_CACHE) >= _CRD_CACHE_SIZE:
        _CRD_CACHE.pop(next(iter(_CRD_CACHE)))
    node = _compile_crd_root(raw)
    _CRD_CACHE[id(raw)] = (raw, node)
    return node


def _compile_crd_root(raw: dict[str, Any]) -> Node:
    resolver = _CrdResolver()
    fields = dict(raw.get("properties") or {})
    fields.setdefault("apiVersion", {"type": "string"})
    fields.setdefault("kind", {"type": "string"})
    return _CrdRoot(MAP, resolver=resolver, fields=fields, elem=None)


_DEDUCED_ROOT = _CrdRoot(MAP, resolver=_CrdResolver(), fields={"apiVersion": {"type": "string"},
                                                                "kind": {"type": "string"}})


def resolve(node: Node, value: Any) -> Node:
    """``node``, or for a deduced node the shape ``value`` has (granular map, atomic list, scalar)."""
    if node.kind != DEDUCED:
        return node
    if isinstance(value, dict):
        return _DEDUCED_MAP
    if isinstance(value, list):
        return _DEDUCED_LIST
    return SCALAR_NODE


_DEDUCED_MAP = Node(MAP)
_DEDUCED_LIST = Node(LIST, list_type="atomic")
