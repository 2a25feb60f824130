"""Immutable values: deep read-only copies of plain data and back.

Values flow one way through kfctl as immutable data; parsed YAML (dicts and
lists) is frozen into ``MappingProxyType`` and tuples where it enters a model,
and thawed into fresh dicts and lists where a library needs mutable input
(jsonschema, Jinja2, ``json.dumps``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any


def freeze(value: Any) -> Any:
    """A deep, read-only copy: mappings become MappingProxyType, lists tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """A plain, mutable deep copy of a frozen value (dicts and lists)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    return value
