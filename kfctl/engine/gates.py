"""Readiness gates: what an object needs beyond its own status before kfctl calls it healthy (or failed).

* :class:`WebhookGate`: an admission webhook configuration whose caBundles are
  in place is only ready once every Service it calls has a ready endpoint; a
  Deployment is Available a moment before the endpoint controller publishes its
  pods, and objects the webhook admits must wait for that. Endpoints are not
  watched (they are not ours): they are looked at, one list per Service per
  look, 0.25 s after a workload turns healthy, backing off to every 2 s.
  Between looks a Service's slices are remembered, so webhook configurations
  checked as they are written or as their watch events arrive (KServe has
  seven on one Service) do not list again. A Service kfctl saw without a
  ready endpoint is given ENDPOINT_SETTLE seconds after its first ready one
  appears: the API server resolves a webhook's Service from its own informer,
  which can trail the EndpointSlice kfctl just listed, and a write sent in
  between is refused with "no endpoints available for service" (seen on the
  real control plane under load: a KServe ClusterServingRuntime, once in about
  25 default installs).
* :class:`DeadlineGate`: a rollout's ProgressDeadlineExceeded fails it at once,
  except when the deadline is an earlier attempt's (found at this run's first
  look at an object that existed before) or when its pods only wait for image
  pulls (a node pulls one image at a time): slow, not stuck.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from kfctl.engine.clusterapi import ClusterAPI, Obj
from kfctl.plan import ObjectRef

#: fastest and slowest look at the endpoints behind waiting webhooks, in seconds
ENDPOINT_POLL = (0.25, 2.0)
#: seconds a Service's first ready endpoint is given to reach the API server's own view of it
ENDPOINT_SETTLE = 0.5
DEADLINE = "ProgressDeadlineExceeded"


class WebhookGate:
    def __init__(self, cluster: ClusterAPI) -> None:
        self.cluster = cluster
        #: webhook configurations ready but for their Service's endpoints
        self.waiting: set[ObjectRef] = set()
        self._next_look = 0.0
        self._interval = ENDPOINT_POLL[0]
        #: each Service's endpoint slices, listed once per look however many webhooks call it
        #: (forgotten when a look starts, a workload turns healthy, or after the slowest look's interval)
        self._seen: dict[tuple[str, str], tuple[float, list[Obj]]] = {}
        #: Services seen without a ready endpoint: None, then when one was first seen ready (settling)
        self._settling: dict[tuple[str, str], float | None] = {}

    def check(self, ref: ObjectRef, live: Mapping[str, Any]) -> str | None:
        """Why this webhook configuration cannot answer yet (it then waits here), or None."""
        why = self.unreachable(live)
        if why:
            self.waiting.add(ref)
        else:
            self.waiting.discard(ref)
        return why

    def workload_healthy(self) -> None:
        """A workload turned healthy: perhaps the server behind a waiting webhook. Look again soon."""
        self._next_look = 0.0
        self._interval = ENDPOINT_POLL[0]
        self._seen = {}

    @contextmanager
    def look(self, now: float) -> Iterator[list[ObjectRef]]:
        """The webhooks to check again now (none when it is not time yet), sharing one list per Service."""
        if not self.waiting or now < self._next_look:
            yield []
            return
        self._next_look = now + self._interval
        self._interval = min(self._interval * 2, ENDPOINT_POLL[1])
        self._seen = {}
        yield list(self.waiting)

    def unreachable(self, live: Mapping[str, Any]) -> str | None:
        """Why a webhook cannot answer yet: its Service has no ready endpoint (None when all can)."""
        mutating = str(live.get("kind", "")).startswith("Mutating")
        for hook in live.get("webhooks") or ():
            if hook.get("failurePolicy", "Fail") == "Ignore" and not mutating:
                continue
            service = (hook.get("clientConfig") or {}).get("service") or {}
            if not service.get("name"):
                continue
            key = (str(service.get("namespace") or ""), str(service["name"]))
            listed_at, slices = self._seen.get(key, (0.0, None))
            if slices is None or time.monotonic() - listed_at > ENDPOINT_POLL[1]:
                try:
                    slices, _ = self.cluster.list("discovery.k8s.io/v1", "EndpointSlice", namespace=key[0] or None,
                                                  label_selector=f"kubernetes.io/service-name={key[1]}")
                except Exception:  # cannot tell: let the objects it admits find out (they retry)
                    return None
                self._seen[key] = (time.monotonic(), slices)
            if not any((ep.get("conditions") or {}).get("ready") is not False
                       for sl in slices for ep in sl.get("endpoints") or ()):
                self._settling[key] = None
                return f"waiting for ready endpoints of service {service.get('namespace')}/{service['name']}"
            if key in self._settling:
                now = time.monotonic()
                since = self._settling[key] or now
                self._settling[key] = since
                if now - since < ENDPOINT_SETTLE:
                    self._next_look = min(self._next_look, since + ENDPOINT_SETTLE)
                    return (f"waiting for the API server to see the ready endpoints of service "
                            f"{service.get('namespace')}/{service['name']}")
        return None


def deadline_stamp(live: Mapping[str, Any]) -> tuple[Any, Any]:
    """The timestamps of a workload's Progressing condition: a new deadline has new ones."""
    conditions: list[dict[str, Any]] = (live.get("status") or {}).get("conditions") or []
    cond = next((c for c in conditions if c.get("type") == "Progressing"), {})
    return cond.get("lastTransitionTime"), cond.get("lastUpdateTime")


class DeadlineGate:
    def __init__(self, still_pulling: Callable[[ObjectRef], str], *, recheck: float) -> None:
        self._still_pulling = still_pulling
        self._recheck = recheck
        #: the Progressing condition's timestamps at this run's first look, when they told of an earlier attempt
        self._first: dict[ObjectRef, tuple[Any, Any] | None] = {}
        #: objects that existed before this run wrote them (only they can carry an earlier attempt's state)
        self.preexisting: set[ObjectRef] = set()
        #: when kfctl last asked whether a late workload's pods only wait for image pulls, and the answer
        self._pull_checks: dict[ObjectRef, tuple[float, str]] = {}

    def first_look(self, ref: ObjectRef, live: Mapping[str, Any], message: str) -> None:
        """Remember, once per run, a deadline an object that existed before already carried."""
        if ref not in self._first:
            earlier = ref in self.preexisting and DEADLINE in message
            self._first[ref] = deadline_stamp(live) if earlier else None

    def stale(self, ref: ObjectRef, live: Mapping[str, Any], message: str) -> bool:
        """A ProgressDeadlineExceeded of an earlier attempt.

        Once its cause is fixed (a Secret created, a node added), the controller clears it only
        when a new pod becomes available, so failing on it at once would fail every re-apply after
        a fix. Such a rollout gets this run's --object-timeout; a deadline exceeded anew during
        this run (a condition with other timestamps) fails it.
        """
        return DEADLINE in message and self._first.get(ref) == deadline_stamp(live)

    def slow_not_stuck(self, ref: ObjectRef, message: str) -> str:
        """Why a rollout past its progress deadline still waits: its pods only wait for image pulls ("" if not).

        A node pulls one image at a time by default, so on a small cluster a pod can wait longer
        than progressDeadlineSeconds (600 s) behind other pulls; the Deployment then says
        ProgressDeadlineExceeded although nothing is wrong, and flips back once the pod is ready.
        Looked at once per ``recheck`` seconds; --object-timeout and --timeout still apply.
        """
        if DEADLINE not in message:
            return ""
        now = time.monotonic()
        checked_at, why = self._pull_checks.get(ref, (-self._recheck, ""))
        if now - checked_at >= self._recheck:
            why = self._still_pulling(ref)
            self._pull_checks[ref] = (now, why)
        return why
