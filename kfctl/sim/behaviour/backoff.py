"""The back-off schedules that dominate a slow install: controller requeues, volume mounts, container restarts.

A Kubernetes install that applies everything at once is slow for two reasons
a lenient simulation hides, so both follow the real code here, on the sim
clock:

:class:`ControllerRateLimiter`
    client-go's ``workqueue.DefaultControllerRateLimiter()``
    (``k8s.io/client-go/util/workqueue/default_rate_limiters.go``): the
    maximum of a per-item exponential limiter (5 ms, doubling per failure,
    capped at 1000 s) and one overall token bucket (10 per second, burst
    100) consulted only for rate-limited requeues. The ReplicaSet,
    StatefulSet and DaemonSet controllers requeue a failed sync with it
    (``queue.AddRateLimited``) and forget the item after a successful one.
    So a ReplicaSet refused by an unready webhook retries 5 ms, 10 ms, 20 ms
    ... after each failure: about 10 s after the first failure the gap is
    already 10 s, after about 5.5 min it is 5.5 min.
    :func:`job_rate_limiter` is the Job controller's own queue limiter
    (``pkg/controller/job/job_controller.go``: ``DefaultJobApiBackOff`` 1 s,
    ``MaxJobApiBackOff`` 1 min, no bucket). :func:`mount_back_off` is the
    kubelet volume manager's per-operation back-off for a failed mount
    (``pkg/util/goroutinemap/exponentialbackoff``: 500 ms doubling, at most
    2m2s, no bucket).

:class:`CrashBackoff`
    the kubelet's restart back-off for one container
    (``pkg/kubelet/kuberuntime`` ``doBackOff`` over client-go's
    ``flowcontrol.Backoff`` with 10 s initial and 300 s maximum; Kubernetes
    docs, Pod lifecycle, "Container restarts": 10 s, 20 s, 40 s, ... capped
    at 300 s, reset once a container ran 10 minutes). The first exit is
    restarted at once (no back-off entry exists yet; "Kubernetes in Action"
    2nd ed. §6.2.1: "restart immediately after the first termination"), each
    later exit waits the current delay, which then doubles. The entry
    expires when its last update is more than twice the maximum (600 s)
    old, which is the documented 10-minute reset.
"""

from __future__ import annotations

from collections.abc import Hashable

ITEM_BASE, ITEM_MAX = 0.005, 1000.0          # workqueue.NewItemExponentialFailureRateLimiter(5ms, 1000s)
BUCKET_QPS, BUCKET_BURST = 10.0, 100          # &BucketRateLimiter{rate.NewLimiter(rate.Limit(10), 100)}
JOB_BASE, JOB_MAX = 1.0, 60.0                 # job controller: DefaultJobApiBackOff, MaxJobApiBackOff
MOUNT_BASE, MOUNT_MAX = 0.5, 122.0            # volume manager: initialDurationBeforeRetry, maxDurationBeforeRetry
RESTART_INITIAL, RESTART_MAX = 10.0, 300.0    # kubelet: backOffPeriod, MaxContainerBackOff


class ControllerRateLimiter:
    """Per-item exponential failure back-off, optionally combined (max) with one token bucket."""

    def __init__(self, base: float = ITEM_BASE, cap: float = ITEM_MAX, *, qps: float | None = BUCKET_QPS,
                 burst: int = BUCKET_BURST) -> None:
        self.base, self.cap = base, cap
        self.qps, self.burst = qps, burst
        self._failures: dict[Hashable, int] = {}
        self._tokens = float(burst)
        self._last = 0.0

    def when(self, item: Hashable, now: float) -> float:
        """Seconds to wait before retrying ``item`` after one more failure (``RateLimiter.When``)."""
        failures = self._failures.get(item, 0)
        self._failures[item] = failures + 1
        delay = min(self.base * 2.0 ** failures, self.cap)
        return max(delay, self._reserve(now))

    def _reserve(self, now: float) -> float:
        """golang.org/x/time/rate ``Limiter.Reserve()``: take a token, wait while the bucket is in debt."""
        if self.qps is None:
            return 0.0
        self._tokens = min(float(self.burst), self._tokens + max(0.0, now - self._last) * self.qps)
        self._last = max(self._last, now)
        self._tokens -= 1.0
        return max(0.0, -self._tokens / self.qps)

    def forget(self, item: Hashable) -> None:
        """A successful sync: the next failure starts again at the base delay."""
        self._failures.pop(item, None)

    def requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


def job_rate_limiter() -> ControllerRateLimiter:
    return ControllerRateLimiter(JOB_BASE, JOB_MAX, qps=None)


class CrashBackoff:
    """The kubelet's restart back-off of one container (``flowcontrol.Backoff`` keyed by container)."""

    def __init__(self, initial: float = RESTART_INITIAL, cap: float = RESTART_MAX) -> None:
        self.initial, self.cap = initial, cap
        self.delay = 0.0            # the current back-off; 0: no entry
        self.last_update: float | None = None

    def _expired(self, now: float) -> bool:
        return self.last_update is None or now - self.last_update > 2 * self.cap

    def restart_delay(self, finished_at: float) -> float:
        """Seconds from an exit at ``finished_at`` to its restart; records the exit (``Next(key, finishedAt)``).

        ``IsInBackOffSince``: an unexpired entry makes the kubelet wait its
        delay from the exit; ``Next`` then doubles the delay, or starts it at
        ``initial`` when the entry is missing or expired (the previous exit
        was more than ``2 * cap`` = 10 min earlier).
        """
        if self._expired(finished_at):
            wait, self.delay = 0.0, self.initial
        else:
            wait, self.delay = self.delay, min(self.delay * 2, self.cap)
        self.last_update = finished_at
        return wait


def mount_back_off() -> ControllerRateLimiter:
    """The volume manager's back-off between tries of a failing mount."""
    return ControllerRateLimiter(MOUNT_BASE, MOUNT_MAX, qps=None)
