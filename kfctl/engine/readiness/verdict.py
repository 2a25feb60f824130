"""The value a readiness rule returns: a status (kstatus vocabulary) and a human message."""

from __future__ import annotations

from typing import Any

from dataclasses import dataclass
from enum import Enum


class Status(str, Enum):
    """kstatus' vocabulary. Only CURRENT counts as healthy."""

    CURRENT = "Current"
    IN_PROGRESS = "InProgress"
    FAILED = "Failed"
    TERMINATING = "Terminating"
    NOT_FOUND = "NotFound"


@dataclass(frozen=True)
class Verdict:
    status: Status
    message: str

    @property
    def ready(self) -> bool:
        return self.status is Status.CURRENT

    @property
    def failed(self) -> bool:
        return self.status is Status.FAILED


def current(message: str = "ready") -> Verdict:
    return Verdict(Status.CURRENT, message)


def in_progress(message: str) -> Verdict:
    return Verdict(Status.IN_PROGRESS, message)


def failed(message: str) -> Verdict:
    return Verdict(Status.FAILED, message)


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    """The status condition of the given type, or None."""
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if isinstance(cond, dict) and cond.get("type") == type_:
            return cond
    return None


def condition_is(obj: dict[str, Any], type_: str, status: str = "True") -> bool:
    cond = condition(obj, type_)
    return cond is not None and cond.get("status") == status


def describe(cond: dict[str, Any] | None) -> str:
    """``reason: message`` of a condition, for verdict messages."""
    if not cond:
        return ""
    parts = [p for p in (cond.get("reason"), cond.get("message")) if p]
    return ": ".join(parts)
