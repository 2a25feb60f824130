"""The object store: one lock, one resourceVersion counter, an event history.

It plays etcd plus the watch cache: every committed write gets the next global
resourceVersion and is appended to a bounded history that watches replay from;
a watch asking for a version older than the history answers 410 Expired.
Writes are compare-and-swap on resourceVersion (:class:`StaleWrite`), so the
pipeline above can offer optimistic concurrency exactly like the API server.

Stored dicts are never mutated after commit; readers may encode them without
copying. In-process subscribers receive every event, in commit order, on one
dispatcher thread. With ``path`` set, the store is written through to SQLite
and reloaded on the next start.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

log = logging.getLogger(__name__)

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"


@dataclass(frozen=True)
class Event:
    """A committed change. ``obj`` is the new state (the last state for DELETED)."""

    type: str
    rv: int
    group: str
    plural: str
    obj: dict[str, Any]
    old: dict[str, Any] | None = None

    @property
    def namespace(self) -> str:
        return self.obj["metadata"].get("namespace", "")

    @property
    def name(self) -> str:
        return self.obj["metadata"]["name"]


class StaleWrite(Exception):
    """The object changed (or appeared/disappeared) since the caller read it."""


class HistoryExpired(Exception):
    """A watch asked for a resourceVersion older than the retained history."""

    def __init__(self, requested: int, oldest: int) -> None:
        # the real watch cache prints the newest version it can no longer replay from
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


Subscriber = Callable[[Event], None]


class Store:
    """Objects by (group, plural, namespace, name) with CAS writes and a watch history."""

    def __init__(self, *, history: int = 20000, path: str | None = None) -> None:
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._data: dict[tuple[str, str], dict[tuple[str, str], dict[str, Any]]] = {}
        self._rv = 0
        self._events: deque[Event] = deque(maxlen=history)
        self._compacted = 0  # every event with rv <= this may be gone from history
        self._subscribers: list[Subscriber] = []
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._db: sqlite3.Connection | None = None
        if path:
            self._open_db(path)
        self._dispatcher = threading.Thread(target=self._dispatch, name="sim-store-events", daemon=True)
        self._dispatcher.start()

    # -- reads ------------------------------------------------------------
    @property
    def compacted(self) -> int:
        """The newest resourceVersion the history can no longer replay from (0: none)."""
        return self._compacted

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def resource_version(self) -> int:
        return self._rv

    def get(self, group: str, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The stored object (do not mutate it) or None."""
        bucket = self._data.get((group, plural))
        return bucket.get((namespace, name)) if bucket else None

    def list(self, group: str, plural: str, namespace: str | None = None) -> tuple[list[dict[str, Any]], int]:
        """Objects sorted by (namespace, name) and the resourceVersion of the snapshot."""
        with self._lock:
            bucket = self._data.get((group, plural)) or {}
            if namespace is None:
                keys = sorted(bucket)
            else:
                keys = sorted(k for k in bucket if k[0] == namespace)
            return [bucket[k] for k in keys], self._rv

    def scan(self, predicate: Callable[[str, str, dict[str, Any]], bool]) -> list[tuple[str, str, dict[str, Any]]]:
        """Every (group, plural, obj) for which ``predicate`` holds (garbage collector, namespaces)."""
        with self._lock:
            return [(g, p, obj) for (g, p), bucket in self._data.items() for obj in bucket.values()
                    if predicate(g, p, obj)]

    # -- writes -----------------------------------------------------------
    def create(self, group: str, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Insert ``obj`` (assigning its resourceVersion); StaleWrite if it exists."""
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        with self._lock:
            bucket = self._data.setdefault((group, plural), {})
            if key in bucket:
                raise StaleWrite("exists")
            return self._commit(ADDED, group, plural, key, obj, None)

    def update(self, group: str, plural: str, obj: dict[str, Any], expect_rv: str) -> dict[str, Any]:
        """Replace the object if its stored resourceVersion is still ``expect_rv``."""
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        with self._lock:
            bucket = self._data.get((group, plural)) or {}
            old = bucket.get(key)
            if old is None or old["metadata"]["resourceVersion"] != expect_rv:
                raise StaleWrite("modified")
            return self._commit(MODIFIED, group, plural, key, obj, old)

    def delete(self, group: str, plural: str, namespace: str, name: str, expect_rv: str) -> dict[str, Any]:
        """Remove the object if unchanged since read; returns its last state with a new resourceVersion."""
        key = (namespace, name)
        with self._lock:
            bucket = self._data.get((group, plural)) or {}
            old = bucket.get(key)
            if old is None or old["metadata"]["resourceVersion"] != expect_rv:
                raise StaleWrite("modified")
            last = {**old, "metadata": dict(old["metadata"])}
            return self._commit(DELETED, group, plural, key, last, old)

    def _commit(self, kind: str, group: str, plural: str, key: tuple[str, str], obj: dict[str, Any],
                old: dict[str, Any] | None) -> dict[str, Any]:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        bucket = self._data.setdefault((group, plural), {})
        if kind == DELETED:
            del bucket[key]
        else:
            bucket[key] = obj
        if self._db is not None:
            self._persist(kind, group, plural, key, obj)
        if len(self._events) == self._events.maxlen:
            self._compacted = self._events[0].rv
        event = Event(kind, self._rv, group, plural, obj, old)
        self._events.append(event)
        self._cond.notify_all()
        if self._subscribers:
            self._queue.put(event)
        return obj

    # -- watching ---------------------------------------------------------
    def events_after(self, rv: int, timeout: float | None) -> list[Event]:
        """Events newer than ``rv``, waiting up to ``timeout`` seconds for the first one.

        Raises :class:`HistoryExpired` when ``rv`` is older than the history kept.
        """
        with self._cond:
            if rv < self._compacted:
                raise HistoryExpired(rv, self._compacted)
            if self._rv <= rv and timeout:
                self._cond.wait_for(lambda: self._rv > rv or self._closed, timeout)
            if self._rv <= rv:
                return []
            if rv < self._compacted:
                raise HistoryExpired(rv, self._compacted)
            out = []
            for event in reversed(self._events):
                if event.rv <= rv:
                    break
                out.append(event)
            out.reverse()
            return out

    def wake_watchers(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # -- subscribers ------------------------------------------------------
    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Call ``fn(event)`` for every later commit, in order, on the dispatcher thread."""
        with self._lock:
            self._subscribers.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._subscribers:
                    self._subscribers.remove(fn)
        return unsubscribe

    def redeliver(self, event: Event) -> None:
        """Hand ``event`` to subscribers again (resuming work after a restart from disk)."""
        self._queue.put(event)

    def _dispatch(self) -> None:
        while True:
            event = self._queue.get()
            if event is None:
                return
            if isinstance(event, _Marker):
                event.done.set()
                continue
            for fn in list(self._subscribers):
                try:
                    fn(event)
                except Exception:
                    log.exception("store subscriber %r failed on %s", fn, event.type)

    def drain(self, timeout: float = 5.0) -> None:
        """Wait until every event committed so far has been delivered to subscribers."""
        done = threading.Event()
        self._queue.put(_Marker(done))  # type: ignore[arg-type]
        done.wait(timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._queue.put(None)
        self._dispatcher.join(timeout=5)
        if self._db is not None:
            with self._lock:
                self._db.close()
                self._db = None

    # -- persistence ------------------------------------------------------
    def _open_db(self, path: str) -> None:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS objects (grp TEXT, plural TEXT, ns TEXT, name TEXT, body TEXT, "
                   "PRIMARY KEY (grp, plural, ns, name))")
        db.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT)")
        for grp, plural, ns, name, body in db.execute("SELECT grp, plural, ns, name, body FROM objects"):
            self._data.setdefault((grp, plural), {})[(ns, name)] = json.loads(body)
        row = db.execute("SELECT v FROM meta WHERE k='rv'").fetchone()
        self._rv = int(row[0]) if row else 0
        self._compacted = self._rv
        self._db = db

    def _persist(self, kind: str, group: str, plural: str, key: tuple[str, str], obj: dict[str, Any]) -> None:
        assert self._db is not None
        if kind == DELETED:
            self._db.execute("DELETE FROM objects WHERE grp=? AND plural=? AND ns=? AND name=?",
                             (group, plural, *key))
        else:
            self._db.execute("INSERT OR REPLACE INTO objects VALUES (?,?,?,?,?)",
                             (group, plural, *key, json.dumps(obj, separators=(",", ":"))))
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('rv', ?)", (str(self._rv),))

    @property
    def loaded_from_disk(self) -> bool:
        return self._db is not None and self._rv > 0


class _Marker:
    def __init__(self, done: threading.Event) -> None:
        self.done = done

