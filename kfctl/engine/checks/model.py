"""The values ``kfctl check`` produces and consumes: one :class:`Finding` per line, and the :class:`Facts` of a plan.

A check is a function ``(cluster, plan, facts) -> list[Finding]``; the
findings are immutable and carry everything the CLI prints (status, one-line
message, how to fix it, indented detail lines) or writes as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

PASS, WARN, FAIL = "pass", "warn", "fail"


@dataclass(frozen=True)
class Finding:
    """One line of ``kfctl check``: a check's verdict on one thing, and how to fix it."""

    check: str
    status: str
    message: str
    fix: str = ""
    #: further lines shown indented under the message (a table, the objects concerned)
    details: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "status": self.status, "message": self.message, "fix": self.fix,
                "details": list(self.details)}


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Facts:
    """What the checks need to know beyond the plan: who deploys it, and what the catalog declares."""

    deployment: str
    namespace: str
    #: component -> its supported Kubernetes versions ``{"min": "1.31", "max": "1.35"}`` (either may be absent)
    kubernetes: Mapping[str, Mapping[str, str]] = field(default_factory=_empty)
    #: apply was given --adopt: objects owned by others are taken over, not refused
    adopt: bool = False
    #: component -> how a KfDef says the cluster provides it (:func:`kfctl.config.provided_spelling`), for
    #: the components that may be provided: the alternative "already there" suggests
    providable: Mapping[str, str] = field(default_factory=_empty)
    #: what the KfDef says the cluster provides (:mod:`kfctl.engine.provided` checks it), and its StorageClass
    provided: tuple[Any, ...] = ()
    storage_class: str | None = None
    #: the plan's images still on public registries after ``spec.images`` rewrites, and whether it rewrites
    public_images: tuple[str, ...] = ()
    rewrites: bool = False


@dataclass(frozen=True)
class Report:
    """Every finding of one run, in check order; ``nodes`` is the GPU table (one dict per node)."""

    findings: tuple[Finding, ...]
    nodes: tuple[Mapping[str, Any], ...] = ()

    @property
    def failed(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status == FAIL)

    @property
    def ok(self) -> bool:
        return not self.failed

    def counts(self) -> dict[str, int]:
        return {status: sum(f.status == status for f in self.findings) for status in (PASS, WARN, FAIL)}

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "counts": self.counts(), "checks": [f.to_json() for f in self.findings],
                "nodes": [dict(n) for n in self.nodes]}


def counted(count: int, noun: str) -> str:
    """``1 object``, ``2 objects``: a count with its noun (plural by ``s``)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
