"""Events the engine emits while it works; the CLI turns them into live, plain or JSON output.

Events are immutable values with a ``kind`` and a JSON form, so the same
stream feeds a progress display, timestamped log lines and ``--output json``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """One thing that happened. ``kind`` names it (applied, healthy, failed, blocked, ...)."""

    kind: str
    obj: str = ""
    component: str = ""
    message: str = ""
    elapsed: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v not in ("", {}, None)}
        out["elapsed"] = round(self.elapsed, 3)
        return out


#: event kinds, in the order a person would read them
APPLIED = "applied"          # written to the cluster (created or changed)
UNCHANGED = "unchanged"      # already as wanted: no write
WAITING = "waiting"          # applied, health pending (message says what is awaited)
HEALTHY = "healthy"
FAILED = "failed"
BLOCKED = "blocked"          # not attempted: something it depends on failed
RETRY = "retry"              # a transient error, retried after a backoff
PRUNED = "pruned"
KEPT = "kept"                # left in place on purpose (a CRD on prune, a PVC, ...)
DELETED = "deleted"
COMPONENT_READY = "component-ready"
SUMMARY = "summary"

Sink = Callable[[Event], None]


class Clock:
    """Elapsed seconds since the operation started (monotonic)."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self.start
