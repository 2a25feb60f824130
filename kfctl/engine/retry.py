"""Backoff for transient API failures: exponential with full jitter, honouring Retry-After.

:class:`Retrying` wraps a cluster client so every call is retried while the
error is transient (throttling, 5xx, a webhook not up yet, a dropped
connection); permanent errors pass through at once. Watches are not wrapped:
their callers re-list and re-watch.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Backoff:
    base: float = 0.2
    cap: float = 10.0
    attempts: int = 12

    def delay(self, attempt: int, *, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None and retry_after > 0:
            return min(retry_after, self.cap * 3)
        ceiling = min(self.cap, self.base * (2 ** (attempt - 1)))
        return (rng or random).uniform(ceiling / 2, ceiling)


def call_with_retry(fn: Callable[[], Any], *, backoff: Backoff = Backoff(), deadline: float | None = None,
                    on_retry: Callable[[Exception, int, float], None] | None = None) -> Any:
    """Call ``fn`` until it succeeds, a permanent error occurs, attempts run out or ``deadline`` passes."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except Exception as exc:
            if not getattr(exc, "transient", False) or attempt >= backoff.attempts:
                raise
            if deadline is not None and time.monotonic() > deadline:
                raise
            delay = backoff.delay(attempt, retry_after=getattr(exc, "retry_after", None))
            if on_retry is not None:
                on_retry(exc, attempt, delay)
            time.sleep(delay)


class Retrying:
    """A cluster client whose request methods retry transient failures."""

    _WRAPPED = {"get", "list", "apply", "delete", "merge_patch", "identity", "namespaced_kinds", "resource", "serves"}

    def __init__(self, cluster: Any, *, backoff: Backoff = Backoff(),
                 on_retry: Callable[[Exception, int, float], None] | None = None) -> None:
        self._cluster = cluster
        self._backoff = backoff
        self._on_retry = on_retry

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._cluster, name)
        if name not in self._WRAPPED:
            return target

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            return call_with_retry(lambda: target(*args, **kwargs), backoff=self._backoff, on_retry=self._on_retry)

        return wrapped
