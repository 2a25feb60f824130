"""Label and field selectors, parsed once per request and matched per object.

Grammar and error texts follow the API server: ``a=b,c!=d,e in (f,g),!h,i``
for labels; ``metadata.name=x,status.phase!=Running`` for fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from kfctl.sim.status import APIError, bad_request

Matcher = Callable[[dict[str, Any]], bool]

_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)\s*$")


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p for p in parts if p.strip()]


@dataclass(frozen=True)
class LabelRequirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "=":
            return present and value == self.values[0]
        if self.op == "!=":
            return not present or value != self.values[0]
        if self.op == "in":
            return present and value in self.values
        if self.op == "notin":
            return not present or value not in self.values
        if self.op == "exists":
            return present
        return not present


def parse_label_selector(text: str | None) -> Matcher | None:
    """A predicate over objects, or None for "everything"; 400 for bad syntax."""
    if not text:
        return None
    reqs: list[LabelRequirement] = []
    for part in _split_top(text):
        eq = _EQ_RE.match(part)
        if eq:
            reqs.append(LabelRequirement(eq.group(1), "!=" if eq.group(2) == "!=" else "=", (eq.group(3),)))
            continue
        st = _SET_RE.match(part)
        if not st:
            raise bad_request(f"unable to parse requirement: found '{part.strip()}', expected: in, notin, =, ==, !=, "
                              "gt, lt")
        neg, key, op, values = st.groups()
        if op:
            if neg:
                raise bad_request(f"unable to parse requirement: {part.strip()}")
            reqs.append(LabelRequirement(key, op, tuple(v.strip() for v in values.split(",") if v.strip())))
        else:
            reqs.append(LabelRequirement(key, "!" if neg else "exists"))

    def match(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in reqs)

    return match


def field_value(obj: dict[str, Any], path: str) -> str | None:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    if cur is None:
        return None
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def parse_field_selector(text: str | None) -> Matcher | None:
    """Field selector over dotted paths; unset fields compare as the empty string."""
    if not text:
        return None
    reqs: list[tuple[str, bool, str]] = []
    for part in _split_top(text):
        match = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not match:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        reqs.append((match.group(1), match.group(2) != "!=", match.group(3)))

    def match_fields(obj: dict[str, Any]) -> bool:
        for path, equal, want in reqs:
            have = field_value(obj, path) or ""
            if (have == want) != equal:
                return False
        return True

    return match_fields


def combine(*matchers: Matcher | None) -> Matcher | None:
    active = [m for m in matchers if m is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]
    return lambda obj: all(m(obj) for m in active)


__all__ = ["APIError", "combine", "field_value", "parse_field_selector", "parse_label_selector"]
