"""Object validation shared by every kind: names, metadata limits, built-in schemas.

Names follow the per-kind rules of the API server (DNS-1123 subdomain or label,
DNS-1035 label for Services, path segment for RBAC) with its exact messages.
Built-in kinds are checked against the strict JSON schemas shipped by the
optional ``kubernetes-validate`` package: unknown fields honour
``fieldValidation`` (Strict: 400, Warn: dropped with a warning, Ignore:
dropped), wrong types are 400 and missing required fields 422, as on a real
server. Without that package installed the sim skips built-in schema checks.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

from kfctl.sim.status import APIError, bad_request, cause, invalid
from kfctl.sim.types import DNS1035, LABEL, PATH_SEGMENT, ResourceType

ANNOTATIONS_LIMIT = 262144

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                 "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
             "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
               "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex "
               "used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")


_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
NAME_PART_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                 "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
                 "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
                   "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
                   "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


def qualified_name_problems(key: str) -> list[str]:
    """Why ``key`` is not a valid label or annotation key (``[prefix/]name``)."""
    prefix, slash, name = key.rpartition("/")
    out = []
    if slash and not prefix:
        out.append("prefix part must be non-empty")
    elif prefix:
        if not _SUBDOMAIN.match(prefix):
            out.append("prefix part " + SUBDOMAIN_MSG)
        if len(prefix) > 253:
            out.append("prefix part must be no more than 253 characters")
    if not name:
        out.append("name part must be non-empty")
    else:
        if len(name) > 63:
            out.append("name part must be no more than 63 characters")
        if not _NAME_PART.match(name):
            out.append(NAME_PART_MSG)
    return out


def _label_causes(labels: Any, annotations: Any) -> list[dict[str, Any]]:
    causes = []
    for field, mapping in (("metadata.labels", labels), ("metadata.annotations", annotations)):
        for key, value in (mapping or {}).items():
            for problem in qualified_name_problems(str(key)):
                causes.append(cause(field, "FieldValueInvalid", f'Invalid value: "{key}": {problem}'))
            if field == "metadata.labels" and isinstance(value, str):
                if len(value) > 63:
                    causes.append(cause(field, "FieldValueInvalid",
                                        f'Invalid value: "{value}": must be no more than 63 bytes'))
                if value and not _NAME_PART.match(value):
                    causes.append(cause(field, "FieldValueInvalid", f'Invalid value: "{value}": {LABEL_VALUE_MSG}'))
    return causes


def name_problems(name: str, rule: str) -> list[str]:
    """Why ``name`` is not a valid object name under ``rule`` (empty list: valid)."""
    if rule == PATH_SEGMENT:
        if name in (".", ".."):
            return [f'may not be \'{name}\'']
        return [f"may not contain '{c}'" for c in "/%" if c in name]
    if rule == LABEL:
        out = [] if _LABEL.match(name) else [LABEL_MSG]
        return out + (["must be no more than 63 characters"] if len(name) > 63 else [])
    if rule == DNS1035:
        out = [] if _DNS1035.match(name) else [DNS1035_MSG]
        return out + (["must be no more than 63 characters"] if len(name) > 63 else [])
    out = [] if _SUBDOMAIN.match(name) else [SUBDOMAIN_MSG]
    return out + (["must be no more than 253 characters"] if len(name) > 253 else [])


def check_metadata(rtype: ResourceType, obj: dict[str, Any], *, creating: bool) -> None:
    """422 for a bad name, a missing name or annotations over the total size limit."""
    meta = obj.get("metadata") or {}
    name = meta.get("name") or ""
    causes = []
    if not name:
        causes.append(cause("metadata.name", "FieldValueRequired", "Required value: name or generateName is required"))
    elif creating:
        for problem in name_problems(name, rtype.name_rule):
            causes.append(cause("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {problem}'))
    annotations = meta.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise bad_request(f"{rtype.kind} in version \"{rtype.version}\" cannot be handled as a {rtype.kind}: "
                          "json: cannot unmarshal into Go struct field ObjectMeta.metadata.annotations of type "
                          "map[string]string")
    size = sum(len(str(k)) + len(str(v)) for k, v in annotations.items())
    if size > ANNOTATIONS_LIMIT:
        causes.append(cause("metadata.annotations", "FieldValueTooLong",
                            f"Too long: may not be more than {ANNOTATIONS_LIMIT} bytes"))
    labels = meta.get("labels") or {}
    if isinstance(labels, dict):
        causes.extend(_label_causes(labels, annotations))
    causes.extend(_finalizer_causes(rtype, meta.get("finalizers")))
    causes.extend(_config_key_causes(rtype, obj))
    if causes:
        raise invalid(rtype.kind, rtype.group, name, causes)


#: finalizer names without a "/" that Kubernetes' own kinds accept
STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})


def _finalizer_causes(rtype: ResourceType, finalizers: Any) -> list[dict[str, Any]]:
    """Finalizers are qualified names; the kinds of kube-apiserver's core validation also refuse an unqualified
    one that is not standard (custom resources and apiextensions' own kinds do not)."""
    causes = []
    core = not rtype.custom and rtype.group not in ("apiextensions.k8s.io", "apiregistration.k8s.io")
    for i, value in enumerate(finalizers if isinstance(finalizers, list) else []):
        field, value = f"metadata.finalizers[{i}]", str(value)
        for problem in qualified_name_problems(value):
            causes.append(cause(field, "FieldValueInvalid", f'Invalid value: "{value}": {problem}'))
        if core and "/" not in value and value not in STANDARD_FINALIZERS:
            causes.append(cause(field, "FieldValueInvalid", f'Invalid value: "{value}": name is neither a standard '
                                                            "finalizer name nor is it fully qualified"))
    return causes


CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
CONFIG_KEY_MSG = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
                  "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")


def _config_key_causes(rtype: ResourceType, obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The keys of a ConfigMap's or Secret's data are config keys (file names in a volume)."""
    if rtype.group != "" or rtype.kind not in ("ConfigMap", "Secret"):
        return []
    causes = []
    for section in ("data", "binaryData", "stringData"):
        for key in obj.get(section) or {} if isinstance(obj.get(section), dict) else {}:
            if not CONFIG_KEY.fullmatch(str(key)):
                causes.append(cause(f"{section}[{key}]", "FieldValueInvalid",
                                    f'Invalid value: "{key}": {CONFIG_KEY_MSG}'))
    return causes


# -- built-in schemas ---------------------------------------------------------

class BuiltinSchemas:
    """Compiled strict validators per (apiVersion, kind), loaded lazily and cached."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._validators: dict[tuple[str, str], Any] = {}
        self._dir: Path | None = None
        self._registry: Any = None
        self.available = self._locate()

    def _locate(self) -> bool:
        try:
            import kubernetes_validate
        except ImportError:
            return False
        root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
        dirs = sorted((d for d in root.glob("v*-local-strict")),
                      key=lambda d: tuple(int(x) for x in d.name[1:].split("-")[0].split(".")))
        if not dirs:
            return False
        self._dir = dirs[-1]
        return True

    def validator(self, api_version: str, kind: str) -> Any:
        key = (api_version, kind)
        if key in self._validators:
            return self._validators[key]
        with self._lock:
            if key not in self._validators:
                self._validators[key] = self._compile(api_version, kind)
            return self._validators[key]

    def _compile(self, api_version: str, kind: str) -> Any:
        import jsonschema
        from referencing import Registry, Resource

        assert self._dir is not None
        short = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        path = self._dir / f"{kind.lower()}-{short}.json"
        if not path.exists():
            return None
        if self._registry is None:
            definitions = json.loads((self._dir / "_definitions.json").read_text())
            self._registry = Resource.from_contents(definitions) @ Registry()
        schema = json.loads(path.read_text())
        registry = Resource.from_contents(schema) @ self._registry
        return jsonschema.Draft202012Validator(schema, registry=registry)


_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "bool", int: "number", float: "number"}


def check_builtin_schema(schemas: BuiltinSchemas, rtype: ResourceType, obj: dict[str, Any],
                         field_validation: str, *, unknown_only: bool = False) -> list[str]:
    """Validate a built-in object; drop unknown fields unless Strict. Returns warnings.

    ``unknown_only``: just list the unknown fields' paths (an apply configuration,
    which may be partial, is checked for nothing else).
    """
    if not schemas.available or rtype.custom:
        return []
    validator = schemas.validator(rtype.api_version, rtype.kind)
    if validator is None:
        return []
    unknown: list[tuple[list[Any], str]] = []
    required: list[str] = []
    for error in validator.iter_errors(obj):
        path = list(error.absolute_path)
        dotted = _dotted(path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set((error.schema or {}).get("properties", {}))
            for extra in sorted(set(error.instance) - known):
                unknown.append((path, extra))
        elif unknown_only:
            continue
        elif error.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", error.message)
            for name in missing:
                required.append(f"{dotted}.{name}" if dotted else name)
        elif error.validator in ("type", "oneOf", "anyOf", "enum") and path[:1] not in (["apiVersion"], ["kind"]):
            got = _JSON_TYPES.get(type(error.instance), "null")
            raise bad_request(f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
                              f"json: cannot unmarshal {got} into Go struct field {rtype.kind}.{dotted} of type "
                              f"{_wanted(error.schema)}")
    if unknown_only:
        return [_dotted(p + [f]) for p, f in unknown]
    if unknown and field_validation == "Strict":
        fields = [_dotted(p + [f]) for p, f in unknown]
        detail = ", ".join(f'unknown field "{f}"' for f in fields)
        raise bad_request(f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
                          f"strict decoding error: {detail}")
    warnings = []
    for path, extra in unknown:
        parent: Any = obj
        for part in path:
            parent = parent[part]
        parent.pop(extra, None)
        if field_validation != "Ignore":
            warnings.append(f'unknown field "{_dotted(path + [extra])}"')
    if required:
        raise invalid(rtype.kind, rtype.group, (obj.get("metadata") or {}).get("name", ""),
                      [cause(r, "FieldValueRequired", "Required value") for r in required])
    return warnings


def _dotted(path: list[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _wanted(schema: Any) -> str:
    if isinstance(schema, dict):
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "object")
        if kind:
            return str(kind)
        if "oneOf" in schema or "anyOf" in schema:
            return "intstr.IntOrString"
    return "object"


__all__ = ["APIError", "BuiltinSchemas", "check_builtin_schema", "check_metadata", "name_problems"]
