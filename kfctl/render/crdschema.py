"""CRD schemas, for the offline checks: structural or not, and custom objects validated against them.

The API server refuses a CRD whose schema is not structural (every node typed,
no ``additionalProperties`` beside ``properties``, only restrictions inside
``allOf``/``anyOf``/``oneOf``/``not``, metadata limited to name and
generateName); :func:`structural_problems` finds each reason. A custom object
is checked with jsonschema against the schema of its version in the CRD
shipped in the same deployment (:func:`custom_resource_problems`), strictly:
unknown fields are errors, as with kubectl's server-side field validation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import jsonschema

from kfctl.kinds import split_api_version
from kfctl.render.model import Resource, thaw

_JUNCTORS = ("allOf", "anyOf", "oneOf", "not")
_FORBIDDEN_IN_JUNCTOR = ("description", "type", "default", "additionalProperties", "nullable")


def _structural(node: Any, path: str, *, in_junctor: bool, out: list[str]) -> None:
    if not isinstance(node, Mapping):
        out.append(f"{path}: schema must be a mapping")
        return
    if "$ref" in node:
        out.append(f"{path}: $ref is not allowed in a CRD schema")
    int_or_string = node.get("x-kubernetes-int-or-string") is True
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    if in_junctor:
        for key in _FORBIDDEN_IN_JUNCTOR:
            if key in node and not (int_or_string or key == "type" and _int_or_string_branch(node)):
                out.append(f"{path}: {key!r} is not allowed inside allOf/anyOf/oneOf/not")
    elif not node.get("type") and not int_or_string and not preserve:
        out.append(f"{path}: every node needs a type (or x-kubernetes-int-or-string / "
                   "x-kubernetes-preserve-unknown-fields)")
    if "properties" in node and "additionalProperties" in node:
        out.append(f"{path}: properties and additionalProperties are mutually exclusive")
    if node.get("type") == "object" and "items" in node:
        out.append(f"{path}: an object node cannot have items")
    if node.get("type") == "array" and "items" not in node and not in_junctor:
        out.append(f"{path}: an array node needs items")
    for name, sub in (node.get("properties") or {}).items():
        _structural(sub, f"{path}.properties.{name}", in_junctor=in_junctor, out=out)
    if isinstance(node.get("additionalProperties"), Mapping):
        _structural(node["additionalProperties"], f"{path}.additionalProperties", in_junctor=in_junctor, out=out)
    if "items" in node:
        _structural(node["items"], f"{path}.items", in_junctor=in_junctor, out=out)
    for junctor in _JUNCTORS:
        branches = node.get(junctor)
        if branches is None:
            continue
        for i, branch in enumerate(branches if isinstance(branches, list | tuple) else [branches]):
            _structural(branch, f"{path}.{junctor}[{i}]", in_junctor=True, out=out)
            _check_specified_outside(branch, node, f"{path}.{junctor}[{i}]", out)


def _int_or_string_branch(node: Mapping[str, Any]) -> bool:
    return set(node) <= {"type"} and node.get("type") in ("integer", "string")


def _check_specified_outside(branch: Any, outer: Mapping[str, Any], path: str, out: list[str]) -> None:
    if not isinstance(branch, Mapping):
        return
    outer_props = outer.get("properties") or {}
    for name in branch.get("properties") or {}:
        if name not in outer_props and not isinstance(outer.get("additionalProperties"), Mapping):
            out.append(f"{path}.properties.{name}: a field inside a junctor must also be specified outside it")
    if "items" in branch and "items" not in outer:
        out.append(f"{path}.items: items inside a junctor must also be specified outside it")


def structural_problems(crd: Mapping[str, Any]) -> list[str]:
    """Every reason the CRD's per-version schemas are not structural."""
    out: list[str] = []
    spec = crd.get("spec") or {}
    versions = spec.get("versions") or []
    if not versions:
        return ["spec.versions is empty"]
    if sum(1 for v in versions if v.get("storage")) != 1:
        out.append("exactly one version must have storage: true")
    for i, version in enumerate(versions):
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        path = f"spec.versions[{i}] ({version.get('name')}).schema.openAPIV3Schema"
        if schema is None:
            out.append(f"{path}: missing (apiextensions.k8s.io/v1 requires a schema per version)")
            continue
        if schema.get("type") != "object":
            out.append(f"{path}: the root must have type: object")
        _structural(schema, path, in_junctor=False, out=out)
        meta = (schema.get("properties") or {}).get("metadata")
        if isinstance(meta, Mapping):
            extra = set(meta.get("properties") or {}) - {"name", "generateName"}
            if extra or set(meta) - {"type", "properties", "description"}:
                out.append(f"{path}.properties.metadata: only restrictions on name and generateName are allowed")
    return out


def _to_jsonschema(node: Any, *, root: bool = False) -> Any:
    """An OpenAPI v3 CRD schema as JSON Schema, strict about unknown fields like kubectl."""
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties",):
            out[key] = {k: _to_jsonschema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, Mapping):
            out[key] = _to_jsonschema(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_to_jsonschema(v) for v in value]
        elif key.startswith("x-kubernetes-") or key in ("nullable", "format", "description", "example",
                                                         "externalDocs"):
            continue
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if root or node.get("x-kubernetes-embedded-resource"):
        props = dict(out.get("properties") or {})
        for key in ("apiVersion", "kind"):
            props.setdefault(key, {"type": "string"})
        props["metadata"] = {"type": "object"}
        out["properties"] = props
    if (node.get("type") == "object" and "properties" in out and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def crd_index(resources: Iterable[Resource]) -> dict[tuple[str, str], Mapping[str, Any]]:
    """(group, kind) -> CRD object, for the CRDs in ``resources``."""
    index = {}
    for res in resources:
        if res.kind == "CustomResourceDefinition":
            spec = res.body.get("spec") or {}
            index[(str(spec.get("group")), str((spec.get("names") or {}).get("kind")))] = res.body
    return index


def custom_resource_problems(res: Resource, crd: Mapping[str, Any]) -> list[str]:
    """``res`` checked against the schema of its version in ``crd``."""
    version = split_api_version(res.api_version)[1]
    spec = crd.get("spec") or {}
    match = next((v for v in spec.get("versions") or () if v.get("name") == version), None)
    if match is None:
        served = ", ".join(v.get("name", "?") for v in spec.get("versions") or ())
        return [f"version {version!r} is not defined by CRD {crd['metadata']['name']} (it has: {served})"]
    if not match.get("served", False):
        return [f"version {version!r} of CRD {crd['metadata']['name']} is not served"]
    scope_namespaced = spec.get("scope") == "Namespaced"
    out = []
    if scope_namespaced != (res.namespace is not None):
        out.append(f"scope is {spec.get('scope')} but the object {'lacks' if scope_namespaced else 'has'} a namespace")
    schema = thaw((match.get("schema") or {}).get("openAPIV3Schema") or {"type": "object"})
    validator = jsonschema.Draft202012Validator(_to_jsonschema(schema, root=True))
    for error in sorted(validator.iter_errors(res.to_dict()), key=lambda e: list(map(str, e.absolute_path))):
        path = ".".join(str(p) for p in error.absolute_path) or "(root)"
        out.append(f"{path}: {error.message}")
    return out
