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
from ._schema import KEY_DEFAULTS, Node

Trie = dict[str, Any]
MEMBER = "."
_MARK: dict[str, Any] = {}


def leaf() -> Trie:
    return {MEMBER: _MARK}


# --- path elements -----------------------------------------------------------------------------------------

def _json(value: Any) -> str:
    """Compact JSON as Go's encoding/json writes it (UTF-8 kept, HTML characters escaped)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    if "<" in text or ">" in text or "&" in text:
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text


def field_pe(name: str) -> str:
    return "f:" + name


def item_pe(node: Node, item: Any, where: str) -> str | None:
    """The path element of a list item; None when the list cannot be keyed (treated as atomic).

    Key fields the item omits are left out of the key (or take the schema's
    default), as structured-merge-diff does; omitting all of them is an error.
    """
    if node.list_type == "map" and node.keys:
        if not isinstance(item, dict):
            raise SchemaError(f"{where}: associative list with keys may not have non-map elements")
        key = {}
        for name in node.keys:
            if name in item:
                key[name] = item[name]
            elif name in KEY_DEFAULTS:
                key[name] = KEY_DEFAULTS[name]
        if not key:
            names = " ".join(json.dumps(k) for k in node.keys)
            raise SchemaError(f"{where}: associative list with keys has an element that omits all key fields "
                              f"[{names}] (and doesn't have default values for any key fields)")
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
    for index, item in enumerate(items):
        pe = item_pe(node, item, f"{where}: element {index}")
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
    """structured-merge-diff's value order: numbers, strings, booleans, lists, maps, null."""
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, list):
        return (3, _json(value))
    if isinstance(value, dict):
        return (4, _json(value))
    return (5, 0)


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
