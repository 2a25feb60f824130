"""Values that describe one request to the pipeline and its outcome.

Immutable options flow from the HTTP layer (or an in-process controller) into
:class:`~kfctl.sim.cluster.Cluster`; a :class:`Result` flows back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MERGE, JSON_PATCH, STRATEGIC, APPLY = ("application/merge-patch+json", "application/json-patch+json",
                                       "application/strategic-merge-patch+json", "application/apply-patch+yaml")
SYSTEM_MANAGER = "kfctl-sim"


@dataclass(frozen=True)
class WriteOptions:
    """Query parameters of a write (dryRun, fieldManager, fieldValidation, force)."""

    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = "Warn"
    force: bool = False
    user_agent: str = ""

    @property
    def manager(self) -> str:
        if self.field_manager:
            return self.field_manager
        if self.user_agent:
            return self.user_agent.split("/")[0]
        return SYSTEM_MANAGER


@dataclass(frozen=True)
class DeleteOptions:
    """The DeleteOptions body and query of a DELETE."""

    propagation_policy: str | None = None
    precondition_uid: str | None = None
    precondition_rv: str | None = None
    grace_period_seconds: int | None = None
    dry_run: bool = False


@dataclass
class Result:
    """A write's outcome: the object (or Status), HTTP code and Warning texts."""

    body: dict[str, Any]
    code: int = 200
    warnings: list[str] = field(default_factory=list)


SYSTEM = WriteOptions(field_validation="Ignore")
