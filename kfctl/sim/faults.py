"""Seeded, deterministic fault injection for the simulated API server.

A :class:`Faults` value says how often each fault happens; a
:class:`FaultInjector` draws from one seeded RNG per request, so the same
seed and the same sequence of requests give the same faults. Faults apply to
resource requests only (not discovery, OpenAPI or ``/_sim``), so a client can
always find out what the server serves.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from dataclasses import dataclass
from typing import Any

WRITE_VERBS = frozenset({"create", "update", "patch", "apply", "delete", "deletecollection"})


@dataclass(frozen=True)
class Faults:
    """Probabilities (0..1) of each fault, plus latency in sim seconds."""

    seed: int = 0
    error_500: float = 0.0
    error_503: float = 0.0
    error_429: float = 0.0
    retry_after: int = 1
    conflict_409: float = 0.0
    drop: float = 0.0
    latency: float = 0.0
    jitter: float = 0.0
    watch_cut: float = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        known = {f.name: f.type for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values: dict[str, Any] = {}
        for key, value in data.items():
            values[key] = int(value) if key in ("seed", "retry_after") else float(value)
            if key not in ("seed", "retry_after", "latency", "jitter") and not 0 <= values[key] <= 1:
                raise ValueError(f"{key} must be a probability between 0 and 1, got {value}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Decision:
    """What happens to one request: an error code, a dropped connection, extra latency."""

    code: int = 0
    drop: bool = False
    delay: float = 0.0
    cut_watch_after: int = -1  # events after which a watch stream is cut (-1: never)


class FaultInjector:
    """Thread-safe decisions from one seeded RNG; reconfigurable at run time."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(faults or Faults())

    def configure(self, faults: Faults) -> None:
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)

    def decide(self, verb: str) -> Decision:
        f = self.faults
        if not (f.error_500 or f.error_503 or f.error_429 or f.conflict_409 or f.drop or f.latency or f.jitter
                or f.watch_cut):
            return Decision()
        with self._lock:
            rng = self._rng
            delay = f.latency + (rng.random() * f.jitter if f.jitter else 0.0)
            roll = rng.random()
            code, drop = 0, False
            for probability, outcome in ((f.drop, -1), (f.error_500, 500), (f.error_503, 503),
                                         (f.error_429, 429)):
                if roll < probability:
                    if outcome == -1:
                        drop = True
                    else:
                        code = outcome
                    break
                roll -= probability
            if not code and not drop and verb in WRITE_VERBS and f.conflict_409 and rng.random() < f.conflict_409:
                code = 409
            cut = -1
            if verb == "watch" and f.watch_cut and rng.random() < f.watch_cut:
                cut = rng.randint(0, 3)
            return Decision(code=code, drop=drop, delay=delay, cut_watch_after=cut)
