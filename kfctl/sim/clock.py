"""One simulated clock for the whole simulated cluster.

Every delay in the sim (CRD establishment, namespace finalisation retries,
injected latency, later: controllers and kubelet) is expressed in *sim seconds*
and scheduled here, so a test can run ten sim minutes in six real seconds with
``time_scale=0.01``. Request handlers never call ``time.sleep``: they schedule a
callback with :meth:`SimClock.call_later` or wait with :meth:`SimClock.sleep`.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

log = logging.getLogger(__name__)


@dataclass(order=True)
class _Timer:
    due: float
    seq: int
    fn: Callable[..., Any] = field(compare=False)
    args: tuple[Any, ...] = field(compare=False, default=())
    cancelled: bool = field(compare=False, default=False)

    def cancel(self) -> None:
        """Stop the callback from running if it has not run yet."""
        self.cancelled = True


class SimClock:
    """Sim time running ``1 / time_scale`` times as fast as real time.

    ``time_scale`` is real seconds per sim second: 1.0 is real time, 0.01 makes
    a sim minute last 0.6 real seconds. Sim time starts at the wall-clock time of
    construction (or ``start``, epoch seconds) so timestamps look real.
    """

    def __init__(self, *, time_scale: float = 1.0, start: float | None = None) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self._sim_start = time.time() if start is None else start
        self._real_start = time.monotonic()
        self._heap: list[_Timer] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="sim-clock", daemon=True)
        self._thread.start()

    # -- reading the time -------------------------------------------------
    def now(self) -> float:
        """Sim time in epoch seconds."""
        return self._sim_start + (time.monotonic() - self._real_start) / self.time_scale

    def now_rfc3339(self) -> str:
        """Sim time formatted as Kubernetes timestamps are (second precision, ``Z``)."""
        return format_time(self.now())

    def real_seconds(self, sim_seconds: float) -> float:
        """How long ``sim_seconds`` last in real time."""
        return max(0.0, sim_seconds) * self.time_scale

    # -- scheduling -------------------------------------------------------
    def call_later(self, sim_delay: float, fn: Callable[..., Any], *args: Any) -> _Timer:
        """Run ``fn(*args)`` on the clock thread after ``sim_delay`` sim seconds."""
        timer = _Timer(time.monotonic() + self.real_seconds(sim_delay), next(self._seq), fn, args)
        with self._cond:
            heapq.heappush(self._heap, timer)
            self._cond.notify()
        return timer

    def sleep(self, sim_seconds: float) -> None:
        """Block the calling thread for ``sim_seconds`` of sim time (fault latency, tests)."""
        if sim_seconds > 0:
            threading.Event().wait(self.real_seconds(sim_seconds))

    def close(self) -> None:
        """Stop the scheduler thread; pending callbacks are dropped."""
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._heap or self._heap[0].due > time.monotonic()):
                    timeout = self._heap[0].due - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._closed:
                    return
                timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            try:
                timer.fn(*timer.args)
            except Exception:  # a failing callback must not stop the clock
                log.exception("sim clock callback %r failed", timer.fn)


def format_time(epoch: float) -> str:
    """Epoch seconds as an RFC 3339 UTC timestamp with second precision."""
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> float:
    """An RFC 3339 timestamp (as written by :func:`format_time`) as epoch seconds."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
