"""Watch streams: chunked HTTP/1.1 event streams from the store's history.

Semantics follow the API server: initial ADDED events without a
resourceVersion (or with ``sendInitialEvents``, ended by the
``k8s.io/initial-events-end`` bookmark), replay from a resourceVersion, 410
``Expired`` as an ERROR event when the history no longer reaches back,
objects entering or leaving a selector seen as ADDED / DELETED, periodic
BOOKMARKs, Table-wrapped events for kubectl, ``timeoutSeconds``.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from kfctl.sim import status, tables
from kfctl.sim.decoding import DroppedConnection
from kfctl.sim.objects import external
from kfctl.sim.selectors import combine, parse_field_selector, parse_label_selector
from kfctl.sim.store import DELETED, MODIFIED, HistoryExpired
from kfctl.sim.types import ResourceType

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

    from kfctl.sim.server import APIServer


def _dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def serve_watch(api: APIServer, h: BaseHTTPRequestHandler, rtype: ResourceType, namespace: str, name: str,
                query: dict[str, str], table: bool, cut_after: int) -> int:
    """Stream the events of one watch request until its timeout, a cut, or the server stopping."""
    if "watch" not in rtype.verbs:
        raise status.method_not_allowed("watch")
    match = combine(parse_label_selector(query.get("labelSelector")),
                    parse_field_selector(query.get("fieldSelector")),
                    (lambda o: o["metadata"]["name"] == name) if name else None)
    try:
        timeout = float(query.get("timeoutSeconds") or 1800)
    except ValueError:
        raise status.bad_request("timeoutSeconds must be a number") from None
    bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
    include = query.get("includeObject", "Metadata")
    rv_text = query.get("resourceVersion") or ""
    store = api.cluster.store
    initial: list[dict[str, Any]] = []
    send_initial = query.get("sendInitialEvents") in ("true", "1")
    if send_initial and query.get("resourceVersionMatch") != "NotOlderThan":
        raise status.invalid("ListOptions", "meta.k8s.io", "", [status.cause(
            "resourceVersionMatch", "FieldValueForbidden",
            "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")])
    if send_initial or rv_text in ("", "0"):
        items, last_rv = store.list(rtype.group, rtype.plural, namespace or None)
        initial = [external(rtype, o) for o in items if match is None or match(o)]
    else:
        try:
            last_rv = int(rv_text)
        except ValueError:
            raise status.bad_request(f'resourceVersion: Invalid value: "{rv_text}"') from None
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Transfer-Encoding", "chunked")
    h.send_header("Cache-Control", "no-cache, private")
    h.end_headers()
    clock = api.cluster.clock
    sent = 0
    first = [True]

    def emit(kind: str, obj: dict[str, Any]) -> None:
        nonlocal sent
        if cut_after >= 0 and sent >= cut_after:
            raise DroppedConnection()
        if table and kind in ("ADDED", "MODIFIED", "DELETED"):
            obj = tables.table(rtype, [obj], clock.now(), include_object=include, with_columns=first[0])
            first[0] = False
        data = _dumps({"type": kind, "object": obj}) + b"\n"
        h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        h.wfile.flush()
        sent += 1

    deadline = time.monotonic() + timeout
    bookmark_every = max(0.05, clock.real_seconds(api.bookmark_interval))
    next_bookmark = time.monotonic() + bookmark_every
    for obj in initial:
        emit("ADDED", obj)
    if send_initial:  # the WatchList protocol: a bookmark marks the end of the initial state
        emit("BOOKMARK", {"kind": rtype.kind, "apiVersion": rtype.api_version,
                          "metadata": {"resourceVersion": str(last_rv),
                                       "annotations": {"k8s.io/initial-events-end": "true"}}})
    try:
        while not store.closed and api.cluster.types.lookup(rtype.group, rtype.version, rtype.plural) is not None:
            now = time.monotonic()
            if now >= deadline:
                break
            wait = min(deadline - now, next_bookmark - now if bookmarks else 1.0, 1.0)
            events = store.events_after(last_rv, max(wait, 0.001))
            for event in events:
                last_rv = event.rv
                if event.group != rtype.group or event.plural != rtype.plural:
                    continue
                if namespace and event.namespace != namespace:
                    continue
                kind = transition(event.type, event.obj, event.old, match)
                if kind:
                    emit(kind, external(rtype, shown(kind, event.type, event.obj, event.old)))
            if bookmarks and time.monotonic() >= next_bookmark:
                emit("BOOKMARK", {"kind": rtype.kind, "apiVersion": rtype.api_version,
                                  "metadata": {"resourceVersion": str(last_rv)}})  # all before it were sent
                next_bookmark = time.monotonic() + bookmark_every
    except HistoryExpired as exc:
        emit("ERROR", status.expired(str(exc)).status())
    h.wfile.write(b"0\r\n\r\n")
    h.wfile.flush()
    return 200


def shown(kind: str, happened: str, obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    """The object an event carries: one leaving a filtered watch is sent as it was (the watch cache's
    previous object) at the new resourceVersion, as a real server does."""
    if kind == DELETED and happened == MODIFIED and old is not None:
        meta = {**old["metadata"], "resourceVersion": obj["metadata"]["resourceVersion"]}
        return {**old, "metadata": meta}
    return obj


def transition(kind: str, obj: dict[str, Any], old: dict[str, Any] | None, match: Any) -> str:
    """The event a filtered watch sees: objects entering or leaving the selection are ADDED/DELETED."""
    if match is None:
        return kind
    if kind == MODIFIED and old is not None:
        now_in, was_in = match(obj), match(old)
        if now_in and was_in:
            return MODIFIED
        if now_in:
            return "ADDED"
        if was_in:
            return DELETED
        return ""
    return kind if match(obj) else ""
