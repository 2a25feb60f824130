"""Check plain data against a JSON Schema and say what is wrong in a YAML author's words.

The KfDef schema (``kfdef.schema.json``, shipped beside this module) is the
single source of a KfDef's structure; component parameter schemas come from the
catalog. Both are checked with jsonschema's Draft 2020-12 validator, every
error at once, and each error becomes a :class:`~kfctl.errors.Problem` located
at the YAML node it concerns. Cryptic keyword messages are rewritten:
``additionalProperties`` becomes "unknown field 'nmae' (did you mean
'name'?)", ``type`` becomes "expected a list, got a string". A subschema may
carry ``x-kfctl-message`` / ``x-kfctl-hint`` to word its own failures.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from kfctl.config.yamlread import JsonPath, Location, kind_of
from kfctl.errors import Problem

SCHEMA_FILE = "kfdef.schema.json"

_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "true or false", "null": "an empty value"}

#: path -> location of the value (key=False) or of its key (key=True)
Locator = Callable[[JsonPath, bool], Location]


@functools.cache
def kfdef_schema() -> dict[str, Any]:
    """The KfDef JSON Schema shipped in the package."""
    text = resources.files("kfctl.config").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@functools.cache
def _kfdef_validator() -> Draft202012Validator:
    schema = kfdef_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validator_for(schema: Mapping[str, Any]) -> Draft202012Validator:
    """A 2020-12 validator for a (catalog) schema; a broken schema raises SchemaError."""
    plain = json.loads(json.dumps(schema, default=dict))
    Draft202012Validator.check_schema(plain)
    return Draft202012Validator(plain)


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The closest choice to ``name``, if one is close enough to be a likely typo."""
    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return match[0] if match else None


def _type_words(types: Any) -> str:
    if isinstance(types, str):
        types = [types]
    return " or ".join(_TYPE_WORDS.get(t, t) for t in types)


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(schema: Mapping[str, Any]) -> list[str]:
    return sorted(schema.get("properties", {}))


def _pattern_matches(schema: Mapping[str, Any], key: str) -> bool:
    return any(re.search(p, key) for p in schema.get("patternProperties", {}))


def explain(error: jsonschema.ValidationError, locate: Locator, *,
            base: JsonPath = (), noun: str = "field") -> list[Problem]:
    """Turn one jsonschema error into located problems (several for many unknown keys)."""
    path: JsonPath = (*base, *error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    keyword = error.validator
    instance = error.instance
    if keyword == "additionalProperties" and isinstance(instance, dict):
        allowed = _allowed_keys(schema)
        problems = []
        for key in instance:
            if key in allowed or _pattern_matches(schema, key):
                continue
            guess = closest(key, allowed)
            message = f"unknown {noun} {key!r}" + (f" (did you mean {guess!r}?)" if guess else "")
            hint: str | None = (f"{noun}s allowed here: {', '.join(allowed)}" if allowed
                                else f"no {noun}s are allowed here")
            problems.append(locate((*path, key), True).problem(message, hint=hint))
        return problems
    if keyword == "required" and isinstance(instance, dict):
        return [locate(path, False).problem(f"missing required {noun} {name!r}")
                for name in _as_list(error.validator_value) if name not in instance]
    if keyword == "type":
        message = f"expected {_type_words(error.validator_value)}, got {kind_of(instance)}"
        if isinstance(instance, str | int | float) and not isinstance(instance, bool):
            message += f" ({_show(instance)})"
        hint = None
        if "string" in _as_list(error.validator_value) and isinstance(instance, bool | int | float):
            hint = "quote the value to make it a string"
        return [locate(path, False).problem(message, hint=hint)]
    custom = schema.get("x-kfctl-message")
    hint = schema.get("x-kfctl-hint")
    if custom:
        message = custom
        if isinstance(instance, str | int | float) and not isinstance(instance, bool):
            message += f": {_show(instance)}"
    elif keyword in ("enum", "const"):
        choices = _as_list(error.validator_value) if keyword == "enum" else [error.validator_value]
        message = f"{_show(instance)} is not allowed; expected {' or '.join(_show(c) for c in choices)}"
        if isinstance(instance, str):
            guess = closest(instance, [c for c in choices if isinstance(c, str)])
            hint = hint or (f"did you mean {guess!r}?" if guess else None)
    elif keyword == "minItems":
        message = "must not be empty" if error.validator_value == 1 else \
            f"needs at least {error.validator_value} items"
    elif keyword == "minLength" and error.validator_value == 1:
        message = "must not be empty"
    elif keyword == "pattern":
        message = f"{_show(instance)} does not have the expected form (pattern {error.validator_value})"
    else:
        message = error.message
    if hint is None and isinstance(schema.get("description"), str) and error.relative_schema_path:
        hint = schema["description"]
    return [locate(path, False).problem(message, hint=hint)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def check(data: Any, validator: Draft202012Validator, locate: Locator, *,
          base: JsonPath = (), noun: str = "field") -> list[Problem]:
    """Every problem of ``data`` against ``validator``, located, typo-suppressed and in file order."""
    problems: list[Problem] = []
    for error in validator.iter_errors(data):
        problems.extend(explain(error, locate, base=base, noun=noun))
    return _drop_shadowed(problems)


_UNKNOWN = re.compile(r"unknown \w+ '(.+)' \(did you mean '(.+)'\?\)")
_MISSING = re.compile(r"missing required \w+ '(.+)'")


def _drop_shadowed(problems: list[Problem]) -> list[Problem]:
    """Drop "missing 'name'" where the same mapping has "unknown 'nmae' (did you mean 'name'?)"."""
    guessed: set[tuple[str, str]] = set()
    for p in problems:
        m = _UNKNOWN.match(p.message)
        if m and p.path:
            parent = p.path.rsplit(".", 1)[0] if "." in p.path else ""
            guessed.add((parent, m.group(2)))
    kept = []
    for p in problems:
        m = _MISSING.match(p.message)
        if m and ((p.path or ""), m.group(1)) in guessed:
            continue
        kept.append(p)
    return kept


def check_kfdef(data: Any, locate: Locator) -> list[Problem]:
    """Problems of a KfDef's structure against the shipped schema."""
    return check(data, _kfdef_validator(), locate)
