"""JSON patch (RFC 6902), the ``application/json-patch+json`` PATCH type.

The ``jsonpatch`` library applies the operations; this module applies them one
at a time so that a failure can be reported with kube-apiserver's wording
(evanphx/json-patch v4): a malformed patch is 400 BadRequest, an operation
that does not apply (a failed ``test``, a missing path) is 422 Invalid.
"""

from __future__ import annotations

from typing import Any

import jsonpatch
import jsonpointer

from ._errors import PatchError
from ._merge import json_copy

_OPS = frozenset({"add", "remove", "replace", "move", "copy", "test"})


def json_patch(target: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
    """``target`` with ``ops`` applied in order; ``target`` is not changed."""
    if not isinstance(ops, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch", code=400)
    doc: Any = json_copy(target)
    for op in ops:
        _check(op)
        try:
            doc = jsonpatch.JsonPatch([op]).apply(doc, in_place=True)
        except jsonpatch.JsonPatchTestFailed as err:
            raise PatchError(f"testing value {op['path']} failed: test failed", code=422) from err
        except (jsonpatch.JsonPatchConflict, jsonpointer.JsonPointerException, IndexError, KeyError,
                TypeError) as err:
            raise PatchError(_missing(op, doc), code=422) from err
        except jsonpatch.JsonPatchException as err:
            raise PatchError(str(err), code=422) from err
    if not isinstance(doc, dict):
        raise PatchError("the patched document is not a JSON object", code=422)
    return doc


def _check(op: Any) -> None:
    if not isinstance(op, dict):
        raise PatchError("json: cannot unmarshal non-object into Go value of type jsonpatch.Operation", code=400)
    kind = op.get("op")
    if kind not in _OPS:
        raise PatchError(f"Unexpected kind: {kind if kind is not None else 'unknown'}", code=422)
    if not isinstance(op.get("path"), str):
        raise PatchError(f"{kind} operation missing path", code=422)
    if kind in ("add", "replace", "test") and "value" not in op:
        raise PatchError(f"{kind} operation missing value", code=422)
    if kind in ("move", "copy") and not isinstance(op.get("from"), str):
        raise PatchError(f"{kind} operation missing from", code=422)


def _has_parent(doc: Any, path: str) -> bool:
    try:
        jsonpointer.resolve_pointer(doc, path.rsplit("/", 1)[0])
    except jsonpointer.JsonPointerException:
        return False
    return True


def _missing(op: dict[str, Any], doc: Any) -> str:
    kind, path = op["op"], op["path"]
    key = path.rsplit("/", 1)[-1]
    parent = _has_parent(doc, path)
    if kind == "remove":
        if parent:
            return f"error in remove for path: '{path}': Unable to remove nonexistent key: {key}: missing value"
        return f'remove operation does not apply: doc is missing path: "{path}": missing value'
    if kind == "replace":
        what = "key" if parent else "path"
        return f"replace operation does not apply: doc is missing {what}: {path}: missing value"
    if kind == "add":
        return f'add operation does not apply: doc is missing path: "{path}": missing value'
    if kind in ("move", "copy"):
        return f"{kind} operation does not apply: doc is missing from path: {op['from']}: missing value"
    return f"testing value {path} failed: test failed"
