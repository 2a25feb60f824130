"""The standard labels the renderer puts on every object, so bundles never repeat them.

``app.kubernetes.io/part-of: kubeflow``, ``app.kubernetes.io/component``,
``app.kubernetes.io/version``, ``app.kubernetes.io/managed-by: kfctl`` always;
``app.kubernetes.io/name`` (the component's name) only when the template did
not set it. Only ``metadata.labels`` is touched: selectors and pod template
labels stay the template's own, so a version bump never changes a selector.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PART_OF = "app.kubernetes.io/part-of"
COMPONENT = "app.kubernetes.io/component"
VERSION = "app.kubernetes.io/version"
NAME = "app.kubernetes.io/name"
MANAGED_BY = "app.kubernetes.io/managed-by"

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def label_value(text: str) -> str:
    """``text`` made a valid label value (at most 63 characters, alphanumeric ends)."""
    value = re.sub(r"[^-A-Za-z0-9_.]", "-", text)[:63].strip("-_.")
    return value if _LABEL_VALUE.match(value) else ""


def standard_labels(component: str, version: str) -> dict[str, str]:
    return {
        PART_OF: "kubeflow",
        COMPONENT: label_value(component),
        VERSION: label_value(version),
        MANAGED_BY: "kfctl",
    }


def with_labels(obj: Mapping[str, Any], component: str, version: str) -> dict[str, Any]:
    """A copy of ``obj`` whose metadata.labels carry the standard labels."""
    out = dict(obj)
    meta = dict(out.get("metadata") or {})
    labels = dict(meta.get("labels") or {})
    labels.setdefault(NAME, label_value(component))
    labels.update(standard_labels(component, version))
    meta["labels"] = labels
    out["metadata"] = meta
    return out
