"""The built-in kinds' typed round trip: empty lists and maps are not stored.

kube-apiserver decodes built-in objects into Go structs and encodes them back,
so an empty list or string-keyed map (``labels: {}``, ``ports: []``) vanishes
(``omitempty``) while an empty struct (``emptyDir: {}``) stays. Custom
resources are stored as sent. :func:`normalize` applies that rule, so the sim
stores what the apiserver would and a re-apply of the same configuration is
a no-op.
"""

from __future__ import annotations

from typing import Any

from ._schema import DEDUCED, LIST, MAP, Node, builtin_kinds, root_node


def normalize(obj: dict[str, Any], *, api_version: str, kind: str) -> dict[str, Any]:
    """``obj`` as the apiserver would store it (a new object; unchanged for custom resources)."""
    if f"{api_version}/{kind}" not in builtin_kinds():
        return obj
    return _drop_empty(obj, root_node(api_version, kind))


def _drop_empty(value: Any, node: Node) -> Any:
    if node.kind == DEDUCED:  # raw JSON (FieldsV1, RawExtension, JSON): kept verbatim
        return value
    if isinstance(value, dict) and node.kind == MAP and not node.atomic:
        out = {}
        for key, sub in value.items():
            child = node.field(key)
            if child.kind == DEDUCED:
                out[key] = sub
                continue
            if sub is None or (sub == [] and child.kind == LIST) or (
                    sub == {} and child.kind == MAP and not child.is_struct):
                continue
            out[key] = _drop_empty(sub, child) if isinstance(sub, (dict, list)) else sub
        return out
    if isinstance(value, list) and node.kind == LIST:
        elem = node.elem()
        return [_drop_empty(item, elem) if isinstance(item, (dict, list)) else item for item in value]
    return value
