"""Recording core/v1 Events the way client-go's event recorder does.

Users debug a stuck install with ``kubectl get events`` and ``kubectl
describe``: FailedScheduling, FailedMount, FailedCreate, BackOff. The recorder
writes Events named ``<object>.<hex nanoseconds>`` in the involved object's
namespace (``default`` for cluster-scoped objects), and aggregates repeats of
the same (object, reason, message) by bumping ``count`` and ``lastTimestamp``
instead of writing a new Event. Events are the most frequent write of an
install (five or more per pod), so they are committed straight to the store
(no admission, no managedFields), which keeps the controllers on time. Like
the API server's ``--event-ttl`` (default 1 h), Events not seen again for an
hour are removed, so a long-running sim does not grow without bound.
"""

from __future__ import annotations

import itertools
import logging
from typing import TYPE_CHECKING, Any

from kfctl.sim.clock import format_time, parse_time
from kfctl.sim.store import StaleWrite

if TYPE_CHECKING:
    from kfctl.sim.behaviour.runtime import Runtime

log = logging.getLogger(__name__)

NORMAL, WARNING = "Normal", "Warning"
EVENT_TTL, SWEEP_EVERY = 3600.0, 600.0


class EventRecorder:
    """``record(obj, type, reason, message, component)`` -> an Event in the store."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        # (uid, reason, message, field) -> (namespace, name) of the Event that aggregates it
        self._seen: dict[tuple[str, str, str, str], tuple[str, str]] = {}
        self._seq = itertools.count()

    def record(self, obj: dict[str, Any], type_: str, reason: str, message: str, component: str,
               *, field_path: str = "", host: str = "") -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        key = (meta.get("uid", ""), reason, message, field_path)
        now = self.runtime.clock.now()
        stamp = format_time(now)
        store = self.runtime.store
        seen = self._seen.get(key)
        if seen is not None:
            name = seen[1]
            for _ in range(5):
                live = store.get("", "events", namespace, name)
                if live is None:
                    break
                bumped = {**live, "metadata": dict(live["metadata"]), "count": int(live.get("count", 1)) + 1,
                          "lastTimestamp": stamp}
                try:
                    store.update("", "events", bumped, live["metadata"]["resourceVersion"])
                    return
                except StaleWrite:
                    continue
            self._seen.pop(key, None)  # deleted meanwhile: write a fresh one
        involved: dict[str, Any] = {"kind": obj.get("kind"), "namespace": meta.get("namespace"),
                                    "name": meta["name"], "uid": meta.get("uid"),
                                    "apiVersion": obj.get("apiVersion"),
                                    "resourceVersion": meta.get("resourceVersion")}
        if field_path:
            involved["fieldPath"] = field_path
        involved = {k: v for k, v in involved.items() if v}
        name = f"{meta['name']}.{int(now * 1e9) + next(self._seq):x}"
        source: dict[str, str] = {"component": component}
        if host:
            source["host"] = host
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"name": name, "namespace": namespace},
                 "involvedObject": involved, "reason": reason, "message": message, "type": type_,
                 "source": source, "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
                 "reportingComponent": component, "reportingInstance": host or component}
        ns = store.get("", "namespaces", "", namespace)
        if ns is None or ns["metadata"].get("deletionTimestamp"):
            return  # a real API server refuses events in a missing or terminating namespace too
        try:
            self.runtime.commit("", "events", event)
            self._seen[key] = (namespace, name)
        except StaleWrite:
            log.debug("sim event %s exists already", name)

    def start_ttl(self) -> None:
        """Sweep expired Events every ten sim minutes."""
        self.runtime.after(SWEEP_EVERY, self._sweep)

    def _sweep(self) -> None:
        store = self.runtime.store
        cutoff = self.runtime.clock.now() - EVENT_TTL
        items, _ = store.list("", "events")
        for event in items:
            try:
                if parse_time(event.get("lastTimestamp") or event["metadata"]["creationTimestamp"]) >= cutoff:
                    continue
            except ValueError:
                continue
            meta = event["metadata"]
            try:
                store.delete("", "events", meta["namespace"], meta["name"], meta["resourceVersion"])
            except StaleWrite:
                continue
        self._seen = {k: v for k, v in self._seen.items() if store.get("", "events", *v) is not None}
        self.runtime.after(SWEEP_EVERY, self._sweep)

    def forget(self, uid: str) -> None:
        """Drop aggregation keys of a deleted object."""
        for key in [k for k in self._seen if k[0] == uid]:
            del self._seen[key]
