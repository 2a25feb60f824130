"""Strategic merge patch, the ``application/strategic-merge-patch+json`` PATCH type.

A port of the server side of k8s.io/apimachinery's strategicpatch (with the
options kube-apiserver uses: parallel deletion lists merged, unmatched nulls
ignored). Lists whose field declares ``x-kubernetes-patch-strategy: merge``
merge by their ``x-kubernetes-patch-merge-key`` (or as sets of scalars);
every other list is replaced; maps merge. Directives: ``$patch``
(``replace``/``delete`` on maps and list items), ``$retainKeys``,
``$deleteFromPrimitiveList/<field>`` and ``$setElementOrder/<field>``.
Kinds unknown to the table merge maps and replace lists.
"""

from __future__ import annotations

import json
from typing import Any

from ._errors import PatchError
from ._merge import json_copy
from ._schema import LIST, MAP, Node, resolve, root_node

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_DELETE_PREFIX = "$deleteFromPrimitiveList/"
_ORDER_PREFIX = "$setElementOrder/"


def strategic_merge_patch(target: dict[str, Any], patch: dict[str, Any], *, group: str, version: str,
                          kind: str) -> dict[str, Any]:
    """``target`` with the strategic merge ``patch`` applied; neither argument is changed."""
    if not isinstance(patch, dict):
        raise PatchError("json: cannot unmarshal array into Go value of type map[string]interface {}", code=400)
    api_version = f"{group}/{version}" if group else version
    node = root_node(api_version, kind)
    return _merge_map(json_copy(target), json_copy(patch), node)


def _go(value: Any) -> str:
    """Go's %v of decoded JSON, as apimachinery's error messages print it."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _merge_map(original: dict[str, Any] | None, patch: dict[str, Any], node: Node) -> dict[str, Any]:
    if _DIRECTIVE in patch:
        directive = patch[_DIRECTIVE]
        if directive == "replace":
            return _clean({k: v for k, v in patch.items() if k != _DIRECTIVE}, node)
        if directive == "delete":
            return {}
        raise PatchError(f"unknown patch type: {directive} in map: {_go(patch)}", code=422)
    original = {} if original is None else original
    _retain_keys(original, patch)
    _set_element_order(original, patch, node)
    for key, value in patch.items():
        delete_list = key.startswith(_DELETE_PREFIX)
        if delete_list:
            key = key[len(_DELETE_PREFIX):]
        elif key.startswith("$"):
            continue
        if value is None:
            original.pop(key, None)
            continue
        if key not in original:
            if not delete_list:
                original[key] = _clean(value, node.field(key) if node.kind == MAP else node)
            continue
        current = original[key]
        child = node.field(key) if node.kind == MAP else node
        if isinstance(current, dict) and isinstance(value, dict):
            child = resolve(child, value)
            if "replace" in child.patch_strategies():
                original[key] = _clean(value, child)
            else:
                original[key] = _merge_map(current, value, child)
        elif isinstance(current, list) and isinstance(value, list):
            child = resolve(child, value)
            if delete_list or "merge" in child.patch_strategies():
                original[key] = _merge_list(current, value, child, delete_list)
            else:
                original[key] = _clean(value, child)
        elif delete_list:
            continue
        else:
            original[key] = _clean(value, child)
    return original


def _retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if _RETAIN_KEYS not in patch:
        return
    keep = patch.pop(_RETAIN_KEYS)
    if not isinstance(keep, list):
        raise PatchError("invalid patch format of retainKeys", code=400)
    wanted = {k for k in keep if isinstance(k, str)}
    for key, value in patch.items():
        if value is None or key.startswith(("$", )):
            continue
        if key not in wanted:
            raise PatchError("invalid patch format of retainKeys", code=400)
    for key in list(original):
        if key not in wanted:
            del original[key]


def _set_element_order(original: dict[str, Any], patch: dict[str, Any], node: Node) -> None:
    for key in [k for k in patch if k.startswith(_ORDER_PREFIX)]:
        order = patch.pop(key)
        field = key[len(_ORDER_PREFIX):]
        if not isinstance(order, list):
            raise PatchError("invalid patch format of setElementOrder list", code=400)
        child = node.field(field) if node.kind == MAP else node
        merge_key = child.merge_key
        patch_items = patch.pop(field, None)
        if patch_items is None:
            patch_items = []
        if not isinstance(patch_items, list):
            raise PatchError("invalid patch format of setElementOrder list", code=400)
        _check_order(patch_items, order, merge_key)
        current = original.get(field)
        if not isinstance(current, list):
            current = []
        if "merge" in child.patch_strategies():
            merged = _merge_list(current, patch_items, child, False, order_override=order)
        elif patch_items:
            merged = _clean(patch_items, child)
        else:
            merged = current
        original[field] = merged


def _check_order(patch_items: list[Any], order: list[Any], merge_key: str) -> None:
    """Patch items must appear in the order list, in the same relative order (validatePatchWithSetOrderList)."""
    wanted = [_identity(item, merge_key) for item in order]
    at = 0
    for item in patch_items:
        if isinstance(item, dict) and _DIRECTIVE in item:
            continue
        ident = _identity(item, merge_key)
        while at < len(wanted) and wanted[at] != ident:
            at += 1
        if at == len(wanted):
            raise PatchError(f"The order in patch list:\n{_go(patch_items)}\n doesn't match {_ORDER_PREFIX} list:\n"
                             f"{_go(order)}\n", code=422)
        at += 1


def _identity(item: Any, merge_key: str) -> str:
    if isinstance(item, dict):
        return json.dumps(item.get(merge_key), sort_keys=True)
    return json.dumps(item, sort_keys=True)


def _merge_list(original: list[Any], patch: list[Any], node: Node, delete_list: bool,
                order_override: list[Any] | None = None) -> list[Any]:
    if not original and not patch:
        return original
    sample = (patch or original)[0]
    if any(isinstance(x, list) for x in (*original, *patch)):
        raise PatchError("lists of lists are not supported", code=422)
    merge_key = node.merge_key
    server_order = original
    if not isinstance(sample, dict):
        if delete_list:
            doomed = {_identity(v, "") for v in patch}
            return [v for v in original if _identity(v, "") not in doomed]
        merged: list[Any] = []
        seen: set[str] = set()
        for item in (*original, *patch):
            ident = _identity(item, "")
            if ident not in seen:
                seen.add(ident)
                merged.append(item)
        order = order_override if order_override is not None else patch
        return _normalize(merged, order, server_order, "")
    if not merge_key:
        raise PatchError("cannot merge lists without merge key for type map", code=422)
    original, patch, replaced = _special_elements(original, patch, merge_key)
    if replaced:
        server_order = original
    elem = node.elem()
    result = list(original)
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            raise PatchError(f"map: {_go(item)} does not contain declared merge key: {merge_key}", code=422)
        ident = _identity(item, merge_key)
        for index, existing in enumerate(result):
            if isinstance(existing, dict) and _identity(existing, merge_key) == ident:
                result[index] = _merge_map(existing, item, elem)
                break
        else:
            result.append(_clean(item, elem))
    order = order_override if order_override is not None else patch
    return _normalize(result, order, server_order, merge_key)


def _special_elements(original: list[Any], patch: list[Any], merge_key: str) -> tuple[list[Any], list[Any], bool]:
    plain = []
    replace = False
    for item in patch:
        if not isinstance(item, dict) or _DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[_DIRECTIVE]
        if directive == "delete":
            if merge_key not in item:
                raise PatchError(f"map: {_go(item)} does not contain declared merge key: {merge_key}", code=422)
            ident = _identity(item, merge_key)
            original = [o for o in original if not (isinstance(o, dict) and _identity(o, merge_key) == ident)]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise PatchError("merging lists cannot yet be specified in the patch", code=422)
        else:
            raise PatchError(f"unknown patch type: {directive} in map: {_go(item)}", code=422)
    if replace:
        return [json_copy(p) for p in plain], [], True
    return original, plain, False


def _normalize(merged: list[Any], patch_order: list[Any], server_order: list[Any], merge_key: str) -> list[Any]:
    """apimachinery's normalizeElementOrder: patch items in patch order, interleaved with server-only items."""
    patch_ids = {_identity(p, merge_key): i for i, p in enumerate(patch_order)
                 if not (isinstance(p, dict) and _DIRECTIVE in p)}
    server_ids = {}
    for i, s in enumerate(server_order):
        server_ids.setdefault(_identity(s, merge_key), i)
    in_patch = [m for m in merged if _identity(m, merge_key) in patch_ids]
    server_only = [m for m in merged if _identity(m, merge_key) not in patch_ids]
    in_patch.sort(key=lambda m: patch_ids[_identity(m, merge_key)])
    out: list[Any] = []
    i = j = 0
    while i < len(server_only) or j < len(in_patch):
        if i >= len(server_only):
            out.append(in_patch[j])
            j += 1
        elif j >= len(in_patch):
            out.append(server_only[i])
            i += 1
        else:
            left = server_ids.get(_identity(server_only[i], merge_key), -1)
            right = server_ids.get(_identity(in_patch[j], merge_key), -1)
            if left >= 0 and right >= 0 and left < right:
                out.append(server_only[i])
                i += 1
            else:
                out.append(in_patch[j])
                j += 1
    return out


def _clean(value: Any, node: Node) -> Any:
    """A patch value stored as is: without directives and null map values."""
    if isinstance(value, dict):
        node = resolve(node, value)
        out = {}
        for key, sub in value.items():
            if key.startswith("$") or sub is None:
                continue
            out[key] = _clean(sub, node.field(key) if node.kind == MAP else node)
        return out
    if isinstance(value, list):
        node = resolve(node, value)
        elem = node.elem() if node.kind == LIST else node
        return [_clean(v, elem) for v in value if not (isinstance(v, dict) and _DIRECTIVE in v)]
    return value
