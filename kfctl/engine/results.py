"""The apply engine's values: options, per-object outcomes, the result, object states."""

from __future__ import annotations

from dataclasses import dataclass, field

from kfctl.engine.retry import Backoff
from kfctl.plan import ObjectRef

PENDING, RUNNING, WAITING, HEALTHY, FAILED, BLOCKED = "pending", "running", "waiting", "healthy", "failed", "blocked"


@dataclass(frozen=True)
class ApplyOptions:
    concurrency: int = 8
    timeout: float = 1800.0         # whole apply, seconds
    object_timeout: float = 600.0   # one object from apply to healthy
    force_conflicts: bool = False
    adopt: bool = False
    prune: bool = True
    purge_crds: bool = False
    #: components the cluster now provides: members of theirs the deployment owned are released, never pruned
    handed_over: frozenset[str] = frozenset()
    backoff: Backoff = field(default_factory=Backoff)


@dataclass(frozen=True)
class ObjectOutcome:
    ref: ObjectRef
    component: str
    state: str
    message: str
    wrote: bool = False


@dataclass(frozen=True)
class ApplyResult:
    outcomes: tuple[ObjectOutcome, ...]
    pruned: tuple[str, ...]
    kept: tuple[str, ...]
    elapsed: float
    writes: int
    #: old members that are no longer rendered but were not pruned, because the apply ended unhealthy
    pending_prune: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(o.state == HEALTHY for o in self.outcomes)

    @property
    def problems(self) -> tuple[ObjectOutcome, ...]:
        return tuple(o for o in self.outcomes if o.state != HEALTHY)
