"""The one worker thread every simulated controller runs on, fed by store events and timers.

Real controllers react to watch events and requeue themselves after delays.
Here every committed store event and every clock timer becomes an item on one
queue, handled in order on one thread, so controller state (indexes,
expectations, per-pod lifecycles) needs no locks. Reconciles are
level-triggered and de-duplicated: a burst of events marks a key dirty once
and the controller reads the latest state when it runs.

It also measures how far the behaviour falls behind its own clock: timer lag
(how late a due callback ran) and event lag (commit delivery to handling),
both reported in sim seconds by :meth:`Runtime.lag`.
"""

from __future__ import annotations

import logging
import queue
import random
import uuid
import threading
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Callable

from kfctl.sim.cluster import WriteOptions
from kfctl.sim.status import APIError
from kfctl.sim.store import DELETED, Event, StaleWrite

if TYPE_CHECKING:
    from kfctl.sim.cluster import Cluster
    from kfctl.sim.types import ResourceType

log = logging.getLogger(__name__)

#: how controllers identify themselves in managedFields
CONTROLLER_OPTS = WriteOptions(field_manager="kube-controller-manager", field_validation="Ignore")
Handler = Callable[[Event], None]
Reconciler = Callable[[str, str], None]


class _Lag:
    """Running figures of lateness in sim seconds."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.max = 0.0
        self.samples: list[float] = []

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.max = max(self.max, value)
        if len(self.samples) < 200000:
            self.samples.append(value)

    def figures(self) -> dict[str, float]:
        ordered = sorted(self.samples)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0
        return {"count": self.count, "mean": self.total / self.count if self.count else 0.0,
                "p99": p99, "max": self.max}


class Runtime:
    """Queue, thread, watchers and dirty keys shared by all simulated controllers."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.clock = cluster.clock
        self.store = cluster.store
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._watchers: dict[tuple[str, str], list[Handler]] = defaultdict(list)
        self._reconcilers: dict[str, Reconciler] = {}
        self._dirty: dict[tuple[str, str, str], None] = {}
        self._closed = False
        self.timer_lag = _Lag()
        self.event_lag = _Lag()
        self.handled = 0
        self._idle = threading.Event()
        self._unsubscribe = cluster.subscribe(self._on_event)
        self._thread = threading.Thread(target=self._run, name="sim-behaviour", daemon=True)

    def start(self) -> None:
        self._thread.start()

    # -- registration -----------------------------------------------------
    def watch(self, group: str, plural: str, handler: Handler) -> None:
        """Call ``handler(event)`` on the worker thread for every change of ``group``/``plural``."""
        self._watchers[(group, plural)].append(handler)

    def reconciler(self, name: str, fn: Reconciler) -> None:
        """Register ``fn(namespace, name)``, run for keys marked with :meth:`mark`."""
        self._reconcilers[name] = fn

    def mark(self, controller: str, namespace: str, name: str) -> None:
        """Ask ``controller`` to reconcile ``namespace/name`` once the current batch is handled."""
        self._dirty[(controller, namespace, name)] = None

    def after(self, sim_delay: float, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` on the worker thread after ``sim_delay`` sim seconds."""
        due = time.monotonic() + self.clock.real_seconds(sim_delay)
        return self.clock.call_later(sim_delay, self._queue.put, ("call", due, fn, args))

    def mark_after(self, sim_delay: float, controller: str, namespace: str, name: str) -> Any:
        return self.after(sim_delay, self.mark, controller, namespace, name)

    # -- the loop ---------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        self._queue.put(("event", time.monotonic(), event))

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=0.05 if self._dirty else None)
            except queue.Empty:
                item = None
            if item is not None:
                if item[0] == "stop":
                    return
                self._handle(item)
                # drain what is already queued before reconciling: bursts collapse into one reconcile
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item[0] == "stop":
                        return
                    self._handle(item)
            self._reconcile_dirty()

    def _handle(self, item: tuple[Any, ...]) -> None:
        self.handled += 1
        now = time.monotonic()
        scale = self.clock.time_scale
        try:
            if item[0] == "event":
                _, posted, event = item
                self.event_lag.add((now - posted) / scale)
                for handler in self._watchers.get((event.group, event.plural), ()):
                    handler(event)
            elif item[0] == "call":
                _, due, fn, args = item
                self.timer_lag.add(max(0.0, now - due) / scale)
                fn(*args)
            elif item[0] == "sync":
                item[1].set()
        except Exception:  # one failing reaction must not stop every controller
            log.exception("sim behaviour failed handling %s", item[0])

    def _reconcile_dirty(self) -> None:
        while self._dirty:
            key = next(iter(self._dirty))
            del self._dirty[key]
            controller, namespace, name = key
            try:
                self._reconcilers[controller](namespace, name)
            except APIError as exc:
                if exc.code == 409:  # raced another writer: read again and retry
                    self.mark_after(0.5, controller, namespace, name)
                elif exc.code != 404:
                    log.warning("sim %s %s/%s: %s", controller, namespace, name, exc.message)
            except Exception:
                log.exception("sim %s failed reconciling %s/%s", controller, namespace, name)

    def sync(self, timeout: float = 5.0) -> None:
        """Wait until every event committed so far and every reconcile it caused is handled (tests)."""
        for _ in range(3):
            self.store.drain(timeout)
            done = threading.Event()
            self._queue.put(("sync", done))
            done.wait(timeout)

    def close(self) -> None:
        self._unsubscribe()
        self._closed = True
        self._queue.put(("stop",))
        if threading.current_thread() is not self._thread and self._thread.is_alive():
            self._thread.join(timeout=5)

    def lag(self) -> dict[str, Any]:
        """How far the controllers ran behind their clock, in sim seconds."""
        return {"timers": self.timer_lag.figures(), "events": self.event_lag.figures(), "handled": self.handled,
                "timeScale": self.clock.time_scale}

    # -- reads and writes for controllers -----------------------------------
    def rtype(self, api_version: str, kind: str) -> ResourceType:
        return self.cluster.rtype(api_version, kind)

    def get(self, group: str, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.store.get(group, plural, namespace, name)

    def write_status(self, api_version: str, kind: str, namespace: str, name: str,
                     status: dict[str, Any]) -> dict[str, Any] | None:
        """Replace ``status``; None when the object is gone.

        Built-in kinds take a fast path: a compare-and-swap commit of the new
        status straight into the store, the way the status subresource stores
        it but without the pipeline's deep copies, schema check and
        managedFields bookkeeping (a controller's status write is never
        invalid, and status writes skip pod/deployment admission webhooks
        anyway). Custom resources go through the full pipeline.
        """
        rtype = self.rtype(api_version, kind)
        if not rtype.custom and rtype.has_status:
            return self._fast_status(rtype, namespace, name, status)

        def put(live: dict[str, Any]) -> dict[str, Any]:
            live["status"] = status
            return live
        sub = "status" if rtype.has_status else ""  # custom resources without the subresource keep status inline
        try:
            return self.cluster.update_with(rtype, namespace, name, put, CONTROLLER_OPTS, subresource=sub).body
        except APIError as exc:
            if exc.code == 404:
                return None
            raise

    def _fast_status(self, rtype: ResourceType, namespace: str, name: str,
                     status: dict[str, Any]) -> dict[str, Any] | None:
        store_ns = namespace if rtype.namespaced else ""
        for _ in range(20):
            live = self.store.get(rtype.group, rtype.plural, store_ns, name)
            if live is None:
                return None
            if live.get("status") == status:
                return live
            new = {**live, "metadata": dict(live["metadata"]), "status": status}
            try:
                return self.store.update(rtype.group, rtype.plural, new, live["metadata"]["resourceVersion"])
            except StaleWrite:
                continue
        raise APIError(409, "Conflict", f"{rtype.plural} {name}: status kept changing")

    def replace(self, group: str, plural: str, live: dict[str, Any], new: dict[str, Any]) -> None:
        """Commit ``new`` over the stored ``live`` (compare-and-swap); a race marks nothing, the caller's
        next reconcile (the racing write's own event) sees the latest state."""
        try:
            self.store.update(group, plural, {**new, "metadata": dict(live["metadata"])},
                              live["metadata"]["resourceVersion"])
        except StaleWrite:
            log.debug("sim: %s/%s changed under a controller; the next event reconciles it", plural,
                      live["metadata"]["name"])

    def commit(self, group: str, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Create ``obj`` straight in the store (uid, creation time; no admission): high-volume records (Events)."""
        meta = obj["metadata"]
        meta["uid"] = str(uuid.UUID(int=random.getrandbits(128), version=4))
        meta["creationTimestamp"] = self.clock.now_rfc3339()
        return self.store.create(group, plural, obj)

    def update(self, api_version: str, kind: str, namespace: str, name: str,
               mutate: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any] | None:
        """Read-modify-write of the main resource (through admission); None when gone."""
        try:
            return self.cluster.update_with(self.rtype(api_version, kind), namespace, name, mutate,
                                            CONTROLLER_OPTS).body
        except APIError as exc:
            if exc.code == 404:
                return None
            raise

    def create(self, api_version: str, kind: str, namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
        """POST through the full pipeline, admission webhooks included (raises APIError)."""
        return self.cluster.create(self.rtype(api_version, kind), namespace, obj, CONTROLLER_OPTS).body

    def delete(self, api_version: str, kind: str, namespace: str, name: str) -> None:
        try:
            self.cluster.delete(self.rtype(api_version, kind), namespace, name)
        except APIError as exc:
            if exc.code != 404:
                raise


def is_deleted(event: Event) -> bool:
    return event.type == DELETED
