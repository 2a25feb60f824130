"""kubectl's ``last-applied-configuration`` annotation meets server-side apply.

kube-apiserver eases the move from client-side to server-side apply for
kubectl: a ``kubectl*`` applier does not conflict on fields whose live value
still equals the annotation's (they become its own), and a ``kubectl``
applier keeps the annotation, when present, in step with what it applied.
"""

from __future__ import annotations

import json
from typing import Any

from ._errors import SchemaError
from ._fieldset import Trie, difference
from ._walk import compare, to_fieldset
from ._schema import Node

ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"


def _annotation(obj: dict[str, Any] | None) -> str | None:
    annotations = ((obj or {}).get("metadata") or {}).get("annotations") or {}
    value = annotations.get(ANNOTATION)
    return value if isinstance(value, str) and value else None


def allowed_conflicts(manager: str, live: dict[str, Any] | None, node: Node) -> Trie:
    """Fields a ``kubectl*`` applier may take over without conflict: set in the annotation and unchanged since."""
    text = _annotation(live) if manager.startswith("kubectl") else None
    if text is None:
        return {}
    try:
        last = json.loads(text)
        if not isinstance(last, dict):
            return {}
        _, modified, _ = compare(last, live, node)
        return difference(to_fieldset(last, node), modified)
    except (ValueError, SchemaError):  # an unusable annotation allows nothing, like the apiserver
        return {}


def sync_annotation(manager: str, result: dict[str, Any], applied: dict[str, Any]) -> dict[str, Any]:
    """``result`` with the annotation rewritten to ``applied`` when ``kubectl`` applies and one exists."""
    if manager != "kubectl" or _annotation(result) is None:
        return result
    config = dict(applied)
    meta = dict(config.get("metadata") or {})
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != ANNOTATION}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    config["metadata"] = meta
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    out_meta = dict(result["metadata"])
    out_meta["annotations"] = {**out_meta["annotations"], ANNOTATION: text}
    return {**result, "metadata": out_meta}
