"""Effective parameters of a component or platform, validated against their schema.

Precedence, lowest first: the schema's ``default`` s, then the platform's
``componentParameters`` (for components), then the request (the KfDef).
Each parameter is overridden as a whole (no deep merge), so what a user writes
is exactly what a template sees. The result is checked with jsonschema; a bad
value is a ConfigError naming the component or platform and the parameter path
(and, for a parameter marked ``x-kfctl-secret``, the rule it breaks but not the value).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema

from kfctl.catalog.model import thaw
from kfctl.errors import ConfigError, Problem


def _path(error: jsonschema.ValidationError) -> str:
    text = ""
    for part in error.absolute_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def validate(schema: Mapping[str, Any], values: Mapping[str, Any], *, owner: str, file: str | None) -> None:
    """Raise ConfigError listing every way ``values`` break ``schema``."""
    validator_cls = jsonschema.validators.validator_for(thaw(schema), default=jsonschema.Draft202012Validator)
    validator = validator_cls(thaw(schema))
    errors = sorted(validator.iter_errors(thaw(values)), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if not errors:
        return
    problems = []
    properties = schema.get("properties") or {}
    known = ", ".join(sorted(properties)) or "(none)"
    for err in errors:
        where = _path(err)
        top = err.absolute_path[0] if err.absolute_path else None
        if isinstance(top, str) and (properties.get(top) or {}).get("x-kfctl-secret"):
            # the value may be a KfDef secret: name the rule it breaks, never the value
            err.message = f"the value (a secret, not shown) fails {err.validator}: {err.validator_value!r}"
        if err.validator == "additionalProperties" and not where:
            hint: str | None = f"known parameters: {known}"
        else:
            hint = err.schema.get("description") if isinstance(err.schema, Mapping) else None
        problems.append(Problem(
            message=err.message,
            file=file,
            path=f"{owner} parameters" + (f".{where}" if where else ""),
            hint=hint,
        ))
    raise ConfigError(problems, summary=f"invalid parameters for {owner}")


def demo_defaults(schema: Mapping[str, Any], values: Mapping[str, Any], *, owner: str) -> list[str]:
    """``owner.name`` for each parameter still at a default its schema marks ``x-kfctl-demo``."""
    return [f"{owner}.{name}" for name, spec in (schema.get("properties") or {}).items()
            if spec.get("x-kfctl-demo") and values.get(name) == thaw(spec.get("default"))]


def effective(
    schema: Mapping[str, Any],
    *layers: Mapping[str, Any] | None,
    owner: str,
    file: str | None = None,
) -> dict[str, Any]:
    """Schema defaults overridden by each layer in turn, then validated."""
    values = {name: thaw(spec.get("default")) for name, spec in (schema.get("properties") or {}).items()}
    for layer in layers:
        if layer:
            values.update({k: thaw(v) for k, v in layer.items()})
    validate(schema, values, owner=owner, file=file)
    return values


def mismatches(schemas: Mapping[str, Mapping[str, Any]], values: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Parameters marked ``x-kfctl-same-as: COMPONENT.PARAMETER`` whose value differs from that one's.

    A component declares which other component's value it must repeat (user-profile's owner is Dex's user:
    a Profile owned by someone else leaves that user with no namespace). Checked only when both are selected.
    """
    found = []
    for owner, schema in schemas.items():
        for name, spec in (schema.get("properties") or {}).items():
            target = spec.get("x-kfctl-same-as")
            if not target or name not in values.get(owner, {}):
                continue
            other, _, param = str(target).partition(".")
            if other in values and param in values[other] and values[other][param] != values[owner][name]:
                found.append(f"{owner}.{name} is {values[owner][name]!r} but {other}.{param} is "
                             f"{values[other][param]!r}; set both to the same value")
    return found
