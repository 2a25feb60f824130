"""Deterministic YAML in and out, so unchanged input gives byte-identical output.

Loading is strict: a duplicate mapping key is an error (PyYAML would silently
keep the last one), and the caller learns the line. Dumping puts ``apiVersion``,
``kind`` and ``metadata`` first and, inside metadata, ``name``, ``namespace``,
``labels``, ``annotations`` first, as kubectl users expect; every other key
keeps the order the template wrote it in (insertion order, not sorted, so a
container reads image-command-args in the order its author chose).
Multi-line strings are written as literal blocks (``|``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

TOP_ORDER = ("apiVersion", "kind", "metadata")
META_ORDER = ("name", "generateName", "namespace", "labels", "annotations")


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A mapping repeats a key."""


class StrictLoader(_Loader):  # type: ignore[misc,valid-type]
    """Safe loader that refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            # Scalar keys (all of Kubernetes') compare as resolved tag and text, without building them twice.
            key = (key_node.tag, key_node.value) if isinstance(key_node, yaml.ScalarNode) \
                else self.construct_object(key_node, deep=True)
            if key in seen:
                raise DuplicateKeyError(
                    "while constructing a mapping", node.start_mark,
                    f"found duplicate key {(key[1] if isinstance(key, tuple) else key)!r}", key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, StrictLoader.construct_mapping)


def load_all(text: str) -> list[Any]:
    """Every document of a YAML stream, empty documents dropped. Raises yaml.YAMLError."""
    return [doc for doc in yaml.load_all(text, Loader=StrictLoader) if doc is not None]


def load(text: str) -> Any:
    return yaml.load(text, Loader=StrictLoader)


class _OutDumper(_Dumper):  # type: ignore[misc,valid-type]
    pass


def _str(dumper: yaml.Dumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_OutDumper.add_representer(str, _str)


def _ordered(mapping: Mapping[str, Any], first: Iterable[str]) -> dict[str, Any]:
    out = {k: mapping[k] for k in first if k in mapping}
    out.update((k, v) for k, v in mapping.items() if k not in out)
    return out


def canonical(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object with the documented key order (a shallow reorder; values shared)."""
    out = _ordered(obj, TOP_ORDER)
    if isinstance(out.get("metadata"), Mapping):
        out["metadata"] = _ordered(out["metadata"], META_ORDER)
    return out


def dump(obj: Any) -> str:
    """One document, deterministic."""
    return yaml.dump(obj, Dumper=_OutDumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=4096, indent=2)


def dump_objects(objects: Iterable[Mapping[str, Any]]) -> str:
    """A multi-document stream of Kubernetes objects, each starting with ``---``."""
    return "".join("---\n" + dump(canonical(obj)) for obj in objects)
