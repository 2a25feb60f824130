"""Follow the health of applied objects with watches, one LIST+WATCH per kind.

Each kind's thread lists this deployment's objects (label selector on the
ApplySet id), then watches from the list's resourceVersion, re-listing when
the server says the version is too old (410) or the stream ends. Every object
seen is handed to ``on_object``; the engine decides what it means. No
sleep-polling: a change reaches the engine as soon as the server sends it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kfctl.engine.clusterapi import ClusterAPI

log = logging.getLogger(__name__)

OnObject = Callable[[str, dict[str, Any]], None]  # (event type, object)


class KindWatcher(threading.Thread):
    def __init__(self, cluster: ClusterAPI, api_version: str, kind: str, selector: str, on_object: OnObject,
                 stop: threading.Event, on_error: Callable[[Exception], None] | None = None) -> None:
        super().__init__(name=f"watch-{kind}", daemon=True)
        self.cluster = cluster
        self.api_version = api_version
        self.kind = kind
        self.selector = selector
        self.on_object = on_object
        self.stop_event = stop
        self.on_error = on_error
        self.listed = threading.Event()      # the first list succeeded
        self.attempted = threading.Event()   # the first list was tried (a kind may not be served yet)

    def run(self) -> None:
        failures = 0
        version: str | None = None
        while not self.stop_event.is_set():
            try:
                if version is None:
                    items, version = self.cluster.list(self.api_version, self.kind, label_selector=self.selector)
                    for item in items:
                        self.on_object("LISTED", item)
                    self.listed.set()
                    self.attempted.set()
                for event_type, obj in self.cluster.watch(
                    self.api_version, self.kind, label_selector=self.selector, resource_version=version,
                    timeout_seconds=10, stopper=self.stop_event,
                ):
                    failures = 0
                    if event_type == "ERROR":
                        version = None  # 410 Gone: list again
                        break
                    version = ((obj.get("metadata") or {}).get("resourceVersion")) or version
                    if event_type != "BOOKMARK":
                        self.on_object(event_type, obj)
            except Exception as exc:  # a kind not served yet, a cut stream: back off, then list again
                failures += 1
                version = None
                self.attempted.set()
                log.debug("watch %s failed: %s", self.kind, exc)
                if self.on_error is not None and failures >= 5:
                    self.on_error(exc)
                self.stop_event.wait(min(0.05 * 2**failures, 2.0))


class Tracker:
    """Starts one watcher per (apiVersion, kind) on demand; stops them all at the end."""

    def __init__(self, cluster: ClusterAPI, selector: str, on_object: OnObject) -> None:
        self.cluster = cluster
        self.selector = selector
        self.on_object = on_object
        self.stop_event = threading.Event()
        self._watchers: dict[tuple[str, str], KindWatcher] = {}
        self._lock = threading.Lock()

    def ensure(self, api_version: str, kind: str) -> KindWatcher:
        with self._lock:
            key = (api_version, kind)
            watcher = self._watchers.get(key)
            if watcher is None:
                watcher = KindWatcher(self.cluster, api_version, kind, self.selector, self.on_object, self.stop_event)
                self._watchers[key] = watcher
                watcher.start()
            return watcher

    def close(self) -> None:
        self.stop_event.set()
