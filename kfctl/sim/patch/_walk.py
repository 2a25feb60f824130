"""Walks over objects with their types: the field set an object sets, the
difference between two objects, and removal of owned paths.

These are structured-merge-diff's ToFieldSet, Compare and RemoveItems over
decoded JSON, producing and consuming the tries of :mod:`._fieldset`.
"""

from __future__ import annotations

from typing import Any

from ._errors import SchemaError
from ._fieldset import _MARK, MEMBER, Trie, leaf, list_pes, pe_string
from ._schema import DEDUCED, LIST, MAP, Node, resolve

def _is_leaf(node: Node, value: Any) -> bool:
    if node.kind == MAP:
        return node.atomic or not isinstance(value, dict)
    if node.kind == LIST:
        return node.list_type == "atomic" or not isinstance(value, list)
    return True


def to_fieldset(value: dict[str, Any], node: Node, where: str = "", *, strict: bool = False) -> Trie:
    """Every field ``value`` sets, as structured-merge-diff's ToFieldSet records them.

    ``strict`` (an applied configuration) refuses duplicate list keys, as the
    apiserver's validation of the typed patch object does.
    """
    return _children(value, node, where, strict)


def _children(value: Any, node: Node, where: str, strict: bool = False) -> Trie:
    node = resolve(node, value)
    if _is_leaf(node, value):
        return {}
    out: Trie = {}
    if node.kind == MAP:
        for key, sub in value.items():
            child = node.field(key)
            rnode = resolve(child, sub)
            trie = _children(sub, rnode, f"{where}.{key}", strict)
            if (sub is None or _is_leaf(rnode, sub) or (isinstance(sub, dict) and not sub)
                    or not node.has_field(key)):
                trie = {**trie, MEMBER: _MARK}
            if trie:
                out["f:" + key] = trie
        return out
    pes = list_pes(node, value, where)
    if pes is None:
        return {}
    elem = node.elem()
    for pe, item in zip(pes, value):
        if strict and pe in out:
            raise SchemaError(f"{where}: duplicate entries for key {pe_string(pe)}")
        trie = _children(item, elem, where + pe_string(pe), strict)
        out[pe] = {**trie, MEMBER: _MARK}
    return out


def ensure_named_fields(trie: Trie, node: Node) -> Trie:
    """Add struct fields that have owned children as members (structured-merge-diff's EnsureNamedFieldsAreMembers)."""
    out: Trie = {}
    for key, sub in trie.items():
        if key == MEMBER:
            out[MEMBER] = _MARK
            continue
        if key.startswith("f:"):
            name = key[2:]
            mnode = node if node.kind == MAP else resolve(node, {}) if node.kind == DEDUCED else None
            if mnode is not None and mnode.kind == MAP:
                child = ensure_named_fields(sub, mnode.field(name))
                if mnode.has_field(name):
                    child = {**child, MEMBER: _MARK}
            else:
                child = sub
        elif node.kind == LIST:
            child = ensure_named_fields(sub, node.elem())
        else:
            child = sub
        out[key] = child
    return out


_MISSING = object()


def compare(old: Any, new: Any, node: Node, where: str = "") -> tuple[Trie, Trie, Trie]:
    """(added, modified, removed) between two objects, like typed.Compare; the root is never a member."""
    added, modified, removed = _compare(old, new, node, where)
    for trie in (added, modified, removed):
        trie.pop(MEMBER, None)
    return added, modified, removed


def _compare(old: Any, new: Any, node: Node, where: str) -> tuple[Trie, Trie, Trie]:
    node = resolve(node, new if new is not _MISSING else old)
    if ((old is not _MISSING and _is_leaf(node, old)) or (new is not _MISSING and _is_leaf(node, new))
            or (old is not _MISSING and new is not _MISSING and type(old) is not type(new))):
        if old is _MISSING:
            return leaf(), {}, {}
        if new is _MISSING:
            return {}, {}, leaf()
        if old != new or type(old) is not type(new):
            return {}, leaf(), {}
        return {}, {}, {}
    added: Trie = {}
    modified: Trie = {}
    removed: Trie = {}
    if old is _MISSING:
        added[MEMBER] = _MARK
    elif new is _MISSING:
        removed[MEMBER] = _MARK
    if node.kind == MAP:
        old_map = old if old is not _MISSING else {}
        new_map = new if new is not _MISSING else {}
        for key in {**old_map, **new_map}:
            ov = old_map.get(key, _MISSING)
            nv = new_map.get(key, _MISSING)
            if ov is None:
                ov = _MISSING
            if nv is None:
                nv = _MISSING
            if ov is _MISSING and nv is _MISSING:
                continue
            if ov is nv:
                continue
            a, m, r = _compare(ov, nv, node.field(key), f"{where}.{key}")
            pe = "f:" + key
            if a:
                added[pe] = a
            if m:
                modified[pe] = m
            if r:
                removed[pe] = r
        return added, modified, removed
    old_items = _index(node, old if old is not _MISSING else [], where)
    new_items = _index(node, new if new is not _MISSING else [], where)
    if old_items is None or new_items is None:  # unkeyable list: compare whole
        if old is _MISSING or new is _MISSING or old != new:
            return ((leaf(), {}, {}) if old is _MISSING else ({}, {}, leaf()) if new is _MISSING
                    else ({}, leaf(), {}))
        return {}, {}, {}
    elem = node.elem()
    for pe in {**old_items, **new_items}:
        a, m, r = _compare(old_items.get(pe, _MISSING), new_items.get(pe, _MISSING), elem, where + pe_string(pe))
        if a:
            added[pe] = a
        if m:
            modified[pe] = m
        if r:
            removed[pe] = r
    return added, modified, removed


def _index(node: Node, items: list[Any], where: str) -> dict[str, Any] | None:
    pes = list_pes(node, items, where)
    if pes is None:
        return None
    out: dict[str, Any] = {}
    for pe, item in zip(pes, items):
        out.setdefault(pe, item)
    return out


def remove_items(value: Any, trie: Trie, node: Node, keep: Trie | None = None) -> Any:
    """``value`` without every member path of ``trie`` (a member takes its whole subtree with it).

    A map or list emptied by the removal disappears with it (structured-merge-diff
    leaves null there, which the apiserver never stores) unless ``keep`` has its
    path as a member (someone applied it empty).
    """
    out = _remove(value, trie, node, keep or {})
    return {} if out is _GONE else out


_GONE = object()


def _remove(value: Any, trie: Trie, node: Node, keep: Trie) -> Any:
    if not trie:
        return value
    node = resolve(node, value)
    if _is_leaf(node, value) or not value:
        return value
    if node.kind == MAP:
        out = {}
        for key, sub in value.items():
            pe = "f:" + key
            t = trie.get(pe)
            if t is None:
                out[key] = sub
            elif MEMBER not in t:
                kept = _remove(sub, t, node.field(key), keep.get(pe, {}))
                if kept is not _GONE:
                    out[key] = kept
        return out if out or MEMBER in keep else _GONE
    pes = list_pes(node, value, "")
    if pes is None:
        return value
    elem = node.elem()
    items = []
    for pe, item in zip(pes, value):
        t = trie.get(pe)
        if t is None:
            items.append(item)
        elif MEMBER not in t:
            kept = _remove(item, t, elem, keep.get(pe, {}))
            if kept is not _GONE:
                items.append(kept)
    return items if items or MEMBER in keep else _GONE
