"""Field sets: which fields of an object a manager owns, and how they are written.

A field set is a trie of path elements in the exact spelling of the
``managedFields[].fieldsV1`` encoding (``f:name`` a field, ``k:{"name":"app"}``
an item of a keyed list, ``v:"x"`` an item of a set, ``i:3`` an index). Inside
this package a node is a dict of child tries; the key ``"."`` marks the path
itself as a member. :func:`from_fields_v1` and :func:`to_fields_v1` convert to
and from the wire form, where a member leaf is ``{}`` and ``"."`` appears only
next to children, ordered like structured-merge-diff orders them.

Tries are immutable values once built: the set operations return new tries
and may share untouched subtries.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from ._errors import SchemaError
from ._schema import DEDUCED, KEY_DEFAULTS, LIST, MAP, Node, resolve

Trie = dict[str, Any]
MEMBER = "."
_MARK: dict[str, Any] = {}


def leaf() -> Trie:
    return {MEMBER: _MARK}


# --- path elements -----------------------------------------------------------------------------------------

def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def field_pe(name: str) -> str:
    return "f:" + name


def item_pe(node: Node, item: Any, where: str) -> str | None:
    """The path element of a list item; None when the list cannot be keyed (treated as atomic)."""
    if node.list_type == "map" and node.keys:
        if not isinstance(item, dict):
            raise SchemaError(f"{where}: expected map, got {_json(item)}")
        key = {}
        for name in node.keys:
            if name in item:
                key[name] = item[name]
            elif name in KEY_DEFAULTS:
                key[name] = KEY_DEFAULTS[name]
            else:
                raise SchemaError(f"{where}: associative list with keys has an element that omits key field "
                                  f"{json.dumps(name)} (and doesn't have default value)")
        return "k:" + _json(key)
    if node.list_type == "set":
        if isinstance(item, (dict, list)):
            return None
        return "v:" + _json(item)
    return None


def list_pes(node: Node, items: list[Any], where: str) -> list[str] | None:
    """Path elements of every item, or None if this list is handled as atomic."""
    if node.list_type not in ("map", "set"):
        return None
    pes = []
    for item in items:
        pe = item_pe(node, item, where)
        if pe is None:
            return None
        pes.append(pe)
    return pes


def _go_string(value: Any) -> str:
    """Go's value.ToString spelling used in field paths (``"app"``, ``80``, ``true``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    return _json(value)


@lru_cache(maxsize=4096)
def pe_string(pe: str) -> str:
    """A path element as kube-apiserver prints it in conflict messages."""
    tag, body = pe[:2], pe[2:]
    if tag == "f:":
        return "." + body
    if tag == "k:":
        return "[" + ",".join(f"{k}={_go_string(v)}" for k, v in json.loads(body).items()) + "]"
    if tag == "v:":
        return "[=" + _go_string(json.loads(body)) + "]"
    return "[" + body + "]"


def _value_rank(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, (int, float)):
        return (2, value)
    if isinstance(value, str):
        return (3, value)
    return (4, _json(value))


@lru_cache(maxsize=8192)
def pe_order(pe: str) -> tuple[Any, ...]:
    """Sort key of a path element: fields, then keys, then values, then indexes (structured-merge-diff order)."""
    tag, body = pe[:2], pe[2:]
    if tag == "f:":
        return (0, body)
    if tag == "k:":
        return (1, tuple((k, _value_rank(v)) for k, v in sorted(json.loads(body).items())))
    if tag == "v:":
        return (2, _value_rank(json.loads(body)))
    return (3, int(body) if body.isdigit() else body)


# --- set algebra ---------------------------------------------------------------------------------------------

def union(a: Trie, b: Trie) -> Trie:
    if not a:
        return b
    if not b:
        return a
    out = dict(a)
    for key, sub in b.items():
        if key == MEMBER:
            out[MEMBER] = _MARK
        elif key in out:
            out[key] = union(out[key], sub)
        else:
            out[key] = sub
    return out


def difference(a: Trie, b: Trie) -> Trie:
    if not b or not a:
        return a
    out: Trie = {}
    for key, sub in a.items():
        if key == MEMBER:
            if MEMBER not in b:
                out[MEMBER] = _MARK
        elif key in b:
            rest = difference(sub, b[key])
            if rest:
                out[key] = rest
        else:
            out[key] = sub
    return out


def intersection(a: Trie, b: Trie) -> Trie:
    if not a or not b:
        return {}
    if len(b) < len(a):
        a, b = b, a
    out: Trie = {}
    for key, sub in a.items():
        if key not in b:
            continue
        if key == MEMBER:
            out[MEMBER] = _MARK
        else:
            both = intersection(sub, b[key])
            if both:
                out[key] = both
    return out


def paths(trie: Trie, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Member paths in structured-merge-diff iteration order: a level's members, then its children."""
    out: list[tuple[str, ...]] = []
    keys = sorted((k for k in trie if k != MEMBER), key=pe_order)
    for key in keys:
        if MEMBER in trie[key]:
            out.append((*prefix, key))
    for key in keys:
        sub = {k: v for k, v in trie[key].items() if k != MEMBER}
        if sub:
            out.extend(paths(sub, (*prefix, key)))
    return out


def path_string(path: tuple[str, ...]) -> str:
    return "".join(pe_string(pe) for pe in path)


def without(trie: Trie, path: tuple[str, ...]) -> Trie:
    """``trie`` minus the single member ``path`` (its descendants stay)."""
    if not path:
        return {k: v for k, v in trie.items() if k != MEMBER}
    head = path[0]
    if head not in trie:
        return trie
    rest = without(trie[head], path[1:])
    out = dict(trie)
    if rest:
        out[head] = rest
    else:
        del out[head]
    return out


def subtree_without(trie: Trie, head: str) -> Trie:
    """``trie`` minus ``head`` and everything under it."""
    if head not in trie:
        return trie
    return {k: v for k, v in trie.items() if k != head}


# --- wire form -------------------------------------------------------------------------------------------------

def from_fields_v1(raw: Any) -> Trie:
    if not isinstance(raw, dict):
        raise SchemaError("fieldsV1 must be a JSON object")
    if not raw:
        return leaf()
    out: Trie = {}
    for key, sub in raw.items():
        if key == MEMBER:
            out[MEMBER] = _MARK
        else:
            out[key] = from_fields_v1(sub)
    return out


def to_fields_v1(trie: Trie) -> dict[str, Any]:
    """The wire form: ``{}`` for a member leaf, ``"."`` first then children in order."""
    keys = sorted((k for k in trie if k != MEMBER), key=pe_order)
    out: dict[str, Any] = {}
    if MEMBER in trie and keys:
        out[MEMBER] = {}
    for key in keys:
        out[key] = to_fields_v1(trie[key])
    return out


# --- object walks ----------------------------------------------------------------------------------------------

def _is_leaf(node: Node, value: Any) -> bool:
    if node.kind == MAP:
        return node.atomic or not isinstance(value, dict)
    if node.kind == LIST:
        return node.list_type == "atomic" or not isinstance(value, list)
    return True


def to_fieldset(value: dict[str, Any], node: Node, where: str = "") -> Trie:
    """Every field ``value`` sets, as structured-merge-diff's ToFieldSet records them."""
    return _children(value, node, where)


def _children(value: Any, node: Node, where: str) -> Trie:
    node = resolve(node, value)
    if _is_leaf(node, value):
        return {}
    out: Trie = {}
    if node.kind == MAP:
        for key, sub in value.items():
            child = node.field(key)
            rnode = resolve(child, sub)
            trie = _children(sub, rnode, f"{where}.{key}")
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
        trie = _children(item, elem, where + pe_string(pe))
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


def remove_items(value: Any, trie: Trie, node: Node) -> Any:
    """``value`` without every member path of ``trie`` (a member takes its whole subtree with it)."""
    if not trie:
        return value
    node = resolve(node, value)
    if _is_leaf(node, value):
        return value
    if node.kind == MAP:
        out = {}
        for key, sub in value.items():
            pe = "f:" + key
            t = trie.get(pe)
            if t is None:
                out[key] = sub
            elif MEMBER in t:
                continue
            else:
                out[key] = remove_items(sub, t, node.field(key))
        return out
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
            items.append(remove_items(item, t, elem))
    return items
