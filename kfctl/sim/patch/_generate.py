"""Regenerate ``_builtin_types.json``: the list and map semantics of built-in kinds.

The simulated API server must merge, patch and track ownership of built-in
objects exactly as kube-apiserver does, and kube-apiserver takes those rules
from its OpenAPI schema: ``x-kubernetes-list-type``, ``x-kubernetes-list-map-keys``,
``x-kubernetes-map-type`` (server-side apply) and ``x-kubernetes-patch-strategy``,
``x-kubernetes-patch-merge-key`` (strategic merge patch). The
``kubernetes-validate`` package (a test dependency) ships that schema with the
extensions intact; this script keeps only the structure and those extensions,
for every stable (``v1``/``v2``) kind and the types it reaches, so kfctl itself
never needs ``kubernetes-validate`` at run time.

Run: ``python -m kfctl.sim.patch._generate`` (a test checks the shipped table
still equals what this produces).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).with_name("_builtin_types.json")
SCHEMA_VERSION = "v1.37.0-local"
_STABLE = re.compile(r"^v\d+$")
_PREFIXES = (
    "io.k8s.api.",
    "io.k8s.apimachinery.pkg.apis.",
    "io.k8s.apimachinery.pkg.",
    "io.k8s.apiextensions-apiserver.pkg.apis.",
    "io.k8s.kube-aggregator.pkg.apis.",
)


def _short(name: str) -> str:
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    if ref is None and len(schema.get("allOf", ())) == 1:
        ref = schema["allOf"][0].get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def _node(schema: dict[str, Any], refs: set[str]) -> Any:
    """Compact node: "s" scalar, "u" untyped, "@Type" reference, or a dict."""
    extra: dict[str, Any] = {}
    if "x-kubernetes-patch-strategy" in schema:
        extra["ps"] = schema["x-kubernetes-patch-strategy"]
    if "x-kubernetes-patch-merge-key" in schema:
        extra["pk"] = schema["x-kubernetes-patch-merge-key"]
    ref = _ref_name(schema)
    if ref is not None:
        refs.add(ref)
        return {"r": _short(ref), **extra} if extra else "@" + _short(ref)
    kind = schema.get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind} if kind else set()
    kinds.discard("null")
    if "array" in kinds:
        node = {"l": schema.get("x-kubernetes-list-type", ""), "i": _node(schema.get("items", {}), refs)}
        if "x-kubernetes-list-map-keys" in schema:
            node["k"] = schema["x-kubernetes-list-map-keys"]
        return {**node, **extra}
    if "object" in kinds or "properties" in schema or "additionalProperties" in schema:
        node = {}
        if "properties" in schema:
            node["f"] = {name: _node(sub, refs) for name, sub in sorted(schema["properties"].items())}
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            node["m"] = _node(additional, refs)
        if not node:
            return "u"
        if schema.get("x-kubernetes-map-type") == "atomic":
            node["a"] = 1
        return {**node, **extra}
    if not kinds and "oneOf" not in schema and "format" not in schema:
        return "u"
    return "s"


def build(definitions: dict[str, Any]) -> dict[str, Any]:
    """The compact table for every stable kind in ``definitions`` (an OpenAPI ``$defs``)."""
    kinds: dict[str, str] = {}
    pending: list[str] = []
    for name, schema in definitions.items():
        for gvk in schema.get("x-kubernetes-group-version-kind", ()):
            if not _STABLE.match(gvk["version"]) or gvk["kind"].endswith("List"):
                continue
            if "metadata" not in schema.get("properties", {}):
                continue
            api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
            kinds[f"{api_version}/{gvk['kind']}"] = _short(name)
            pending.append(name)
    types: dict[str, Any] = {}
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        refs: set[str] = set()
        types[_short(name)] = _node(definitions[name], refs)
        pending.extend(sorted(refs - seen))
    return {
        "source": f"kubernetes-validate {SCHEMA_VERSION}/_definitions.json (Kubernetes OpenAPI v3)",
        "kinds": dict(sorted(kinds.items())),
        "types": dict(sorted(types.items())),
    }


def load_upstream() -> dict[str, Any]:
    """The ``$defs`` of the OpenAPI schema bundled with ``kubernetes-validate``."""
    import kubernetes_validate  # test dependency only

    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / SCHEMA_VERSION
    return json.loads((root / "_definitions.json").read_text())["$defs"]


def render(table: dict[str, Any]) -> str:
    return json.dumps(table, separators=(",", ":"), sort_keys=False) + "\n"


if __name__ == "__main__":
    OUTPUT.write_text(render(build(load_upstream())))
    print(f"wrote {OUTPUT}")
