"""The version check: is the API server's Kubernetes minor within what every chosen component supports?

Each component declares ``kubernetes: {min, max}`` in its component.yaml
(else its release's). Below a component's ``min`` is a failure: it uses APIs
or fields the server does not have yet. Above its ``max`` is a warning only:
Kubernetes keeps served APIs for several releases, the component is merely
not tested there, and what a newer server removed is caught by the APIs check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kfctl.engine.checks.model import FAIL, PASS, WARN, Facts, Finding

_MINOR = re.compile(r"^v?(\d+)\.(\d+)")
_DIGITS = re.compile(r"\d+")


def minor_of(text: str) -> tuple[int, int] | None:
    """``"1.31"``, ``"v1.33.2-eks-1"`` -> (1, 31); None when it is no version."""
    match = _MINOR.match(str(text).strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def server_minor(document: Mapping[str, Any]) -> tuple[int, int] | None:
    """The server's (major, minor) from ``GET /version``: ``gitVersion``, else ``major``/``minor`` ("28+" on GKE)."""
    found = minor_of(str(document.get("gitVersion") or ""))
    if found:
        return found
    major, minor = _DIGITS.search(str(document.get("major") or "")), _DIGITS.search(str(document.get("minor") or ""))
    return (int(major.group()), int(minor.group())) if major and minor else None


def _show(minor: tuple[int, int]) -> str:
    return f"{minor[0]}.{minor[1]}"


def _grouped(items: list[tuple[str, tuple[int, int]]], total: int) -> str:
    """``[(component, bound)]`` -> ``"1.34 (c); 1.35 (a, b)"``, or ``"1.35 (all)"`` when one bound holds for all."""
    by_bound: dict[tuple[int, int], list[str]] = {}
    for component, bound in items:
        by_bound.setdefault(bound, []).append(component)
    return "; ".join(f"{_show(bound)} ({'all' if len(names) == total > 1 else ', '.join(names)})"
                     for bound, names in sorted(by_bound.items()))


def judge(server: tuple[int, int], ranges: Mapping[str, Mapping[str, str]]) -> list[Finding]:
    """The findings for a server minor against each component's range (pure)."""
    too_old: list[tuple[str, tuple[int, int]]] = []
    too_new: list[tuple[str, tuple[int, int]]] = []
    low: list[tuple[int, int]] = []
    high: list[tuple[int, int]] = []
    for component, bounds in sorted(ranges.items()):
        lo, hi = minor_of(bounds.get("min", "")), minor_of(bounds.get("max", ""))
        low += [lo] if lo else []
        high += [hi] if hi else []
        if lo and server < lo:
            too_old.append((component, lo))
        elif hi and server > hi:
            too_new.append((component, hi))
    shown = _show(server)
    span = (f"{_show(max(low)) if low else 'any'} to {_show(min(high)) if high else 'any'}")
    out: list[Finding] = []
    if too_old:
        out.append(Finding("version", FAIL, f"Kubernetes {shown} is older than {len(too_old)} of the "
                           f"{len(ranges)} components support; they need at least " + _grouped(too_old, len(ranges)),
                           fix=f"upgrade the cluster to Kubernetes {_show(max(low))} or newer, or leave those "
                               "components out of spec.applications"))
    if too_new:
        out.append(Finding("version", WARN, f"Kubernetes {shown} is newer than {len(too_new)} of the "
                           f"{len(ranges)} components are tested with; they are tested up to " + _grouped(too_new, len(ranges)),
                           fix="expect untested behaviour; a Kubeflow release that supports it, or a cluster at "
                               f"{_show(min(high))} or older, is the supported combination"))
    if not out:
        count = len(ranges)
        out.append(Finding("version", PASS, f"Kubernetes {shown} is within what all {count} components support "
                           f"({span})" if count else f"Kubernetes {shown} (no component declares supported versions)"))
    return out


def check_version(cluster: Any, plan: Any, facts: Facts) -> list[Finding]:
    document = cluster.server_version()
    server = server_minor(document)
    if server is None:
        return [Finding("version", WARN, f"the server's version {document.get('gitVersion')!r} is not a Kubernetes "
                        "version kfctl can read", fix="compare it with the supported versions in README.md by hand")]
    return judge(server, facts.kubernetes)
