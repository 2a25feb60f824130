"""Is the live object already what we want? A containment test, quantities normalised.

The API server fills defaults (so live objects have more fields than
manifests) and canonicalises resource quantities ("0.5" -> "500m"), so the
question is whether every field of the desired manifest appears in the live
object with an equal value. :func:`first_difference` answers it and names the
first path that differs, which becomes the drift message.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

_SUFFIX = {
    "": 1, "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")

#: fields that belong to the server or to other actors, never compared
_IGNORED_METADATA = {"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink"}


def quantity(value: Any) -> Decimal | None:
    """A Kubernetes resource quantity as a number, or None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if not match:
        return None
    try:
        return Decimal(match.group(1)) * Decimal(str(_SUFFIX[match.group(2) or ""]))
    except InvalidOperation:
        return None


def _equal_leaf(want: Any, have: Any, path: str) -> bool:
    if want == have:
        return True
    if ("resources" in path or "capacity" in path or path.endswith(".storage")) and isinstance(want, str | int | float):
        a, b = quantity(want), quantity(have)
        return a is not None and a == b
    return False


def as_stored(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    """A manifest as the API server stores it, where that differs: a Secret's write-only
    ``stringData`` is merged into ``data`` (base64)."""
    if manifest.get("kind") != "Secret" or manifest.get("apiVersion") != "v1" or not manifest.get("stringData"):
        return manifest
    out = {k: v for k, v in manifest.items() if k != "stringData"}
    data = dict(manifest.get("data") or {})
    for key, value in (manifest.get("stringData") or {}).items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    out["data"] = data
    return out


def first_difference(desired: Any, live: Any, path: str = "") -> str | None:
    """The first path where ``desired`` is not contained in ``live``, or None when it is.

    At the top level the desired object is first taken as the server would store it."""
    if path == "" and isinstance(desired, Mapping):
        desired = as_stored(desired)
    if isinstance(desired, Mapping):
        if not isinstance(live, Mapping):
            return path or "."
        for key, value in desired.items():
            if path == ".metadata" and key in _IGNORED_METADATA:
                continue
            if path == "" and key == "status":
                continue
            sub = f"{path}.{key}"
            if key not in live:
                if value in (None, {}, []):
                    continue  # empty values are dropped by the server
                return sub
            found = first_difference(value, live[key], sub)
            if found:
                return found
        return None
    if isinstance(desired, list):
        if not isinstance(live, list) or len(live) != len(desired):
            return path
        for i, (want, have) in enumerate(zip(desired, live, strict=True)):
            found = first_difference(want, have, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if _equal_leaf(desired, live, path) else path


def manifest_hash(manifest: Mapping[str, Any]) -> str:
    """A stable digest of a manifest, recorded on the object to notice fields dropped by an upgrade."""
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def same_object(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Equal apart from managedFields timestamps and resourceVersion (for dry-run results)."""

    def strip(obj: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(obj)
        meta = dict(out.get("metadata") or {})
        meta.pop("resourceVersion", None)
        meta["managedFields"] = [
            {k: v for k, v in (entry or {}).items() if k != "time"} for entry in meta.get("managedFields") or ()
        ]
        out["metadata"] = meta
        return out

    return strip(a) == strip(b)
