"""A small strategic-merge patch, written for overlays (the simulator has its own).

Rules, a documented subset of Kubernetes' strategic merge:

* mappings merge recursively; a ``null`` value deletes the key;
  ``$patch: replace`` in a patch mapping replaces the target mapping wholesale;
* lists named in :data:`LIST_MERGE_KEYS` merge item by item on their key
  (``containers`` by ``name``, ...): a patch item with a known key merges into
  the matching item, an unknown key is appended, and an item with
  ``$patch: delete`` removes the match;
* every other list is replaced by the patch's list (as Kubernetes does for
  ``args``, ``command``, ``tolerations``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: list field name -> the item key it merges on. ``ports`` merge on
#: ``containerPort`` inside containers and on ``port`` in a Service: the key is
#: the first one of the tuple the items carry.
LIST_MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "ports": ("containerPort", "port"),
    "imagePullSecrets": ("name",),
    "hostAliases": ("ip",),
    "topologySpreadConstraints": ("topologyKey",),
    "webhooks": ("name",),
}

DIRECTIVE = "$patch"
#: A merge-key value that merges the patch item into every existing item
#: (``containers: [{name: "*", resources: ...}]``): kfctl's one extension.
EVERY = "*"


def _merge_key(field: str, items: list[Any]) -> str | None:
    keys = LIST_MERGE_KEYS.get(field)
    if not keys:
        return None
    for key in keys:
        if all(isinstance(i, Mapping) and key in i for i in items if isinstance(i, Mapping)) and any(
            isinstance(i, Mapping) and key in i for i in items
        ):
            return key
    return keys[0]


def _strip(value: Any) -> Any:
    """A patch value as it goes into the target: directives removed."""
    if isinstance(value, Mapping):
        return {k: _strip(v) for k, v in value.items() if k != DIRECTIVE and v is not None}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _merge_list(field: str, target: list[Any], patch: list[Any]) -> list[Any]:
    key = _merge_key(field, [*target, *patch])
    if key is None:
        return _strip(patch)
    out = list(target)
    for item in patch:
        if not isinstance(item, Mapping) or key not in item:
            raise ValueError(f"{field}: every patch item needs the merge key {key!r}")
        if item[key] == EVERY:
            if item.get(DIRECTIVE) == "delete":
                out = []
            else:
                out = [merge(t, {k: v for k, v in item.items() if k != key}) for t in out]
            continue
        index = next((i for i, t in enumerate(out) if isinstance(t, Mapping) and t.get(key) == item[key]), None)
        if item.get(DIRECTIVE) == "delete":
            if index is not None:
                del out[index]
            continue
        if index is None:
            out.append(_strip(item))
        else:
            out[index] = merge(out[index], item)
    return out


def merge(target: Any, patch: Any, field: str = "") -> Any:
    """``target`` with ``patch`` merged in; neither argument is changed."""
    if isinstance(patch, Mapping):
        if patch.get(DIRECTIVE) == "replace" or not isinstance(target, Mapping):
            return _strip(patch)
        out = dict(target)  # shallow: nothing below is changed in place
        for key, value in patch.items():
            if key == DIRECTIVE:
                continue
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = merge(out[key], value, key)
            else:
                out[key] = _strip(value)
        return out
    if isinstance(patch, list) and isinstance(target, list):
        return _merge_list(field, target, patch)
    return _strip(patch)
