"""Reading requests: the verb of a request, its body (JSON, YAML), DeleteOptions, injected errors.

Kept apart from routing so the server module reads as a table of endpoints.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from kfctl.sim import status
from kfctl.sim.options import DeleteOptions
from kfctl.sim.status import APIError
from kfctl.sim.types import ResourceType

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DroppedConnection(Exception):
    """The fault injector drops this connection without an answer."""


def read_chunked(stream: Any) -> bytes:
    """A request body sent with ``Transfer-Encoding: chunked``."""
    body = bytearray()
    while True:
        size_line = stream.readline(1024)
        try:
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
        except ValueError:
            raise status.bad_request("malformed chunked request body") from None
        if size == 0:
            while stream.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return bytes(body)
        body += stream.read(size)
        stream.readline(1024)


def verb_of(method: str, name: str, watch: bool) -> str:
    if method == "GET":
        return "watch" if watch else ("get" if name else "list")
    if method == "POST":
        if name:
            raise status.method_not_allowed("create")
        return "create"
    if method == "PUT":
        if not name:
            raise status.method_not_allowed("update")
        return "update"
    if method == "PATCH":
        if not name:
            raise status.method_not_allowed("patch")
        return "patch"
    if method == "DELETE":
        return "delete" if name else "deletecollection"
    raise status.method_not_allowed(method.lower())


def decode_any(raw: bytes, *, yaml_ok: bool) -> Any:
    if not raw:
        raise status.bad_request("the request body is empty")
    try:
        return json.loads(raw)
    except ValueError:
        if not yaml_ok:
            raise status.bad_request("error decoding request body: invalid JSON") from None
    try:
        return yaml.load(raw, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise status.bad_request(f"error decoding YAML: {exc}") from None


def decode_object(raw: bytes, rtype: ResourceType) -> dict[str, Any]:
    body = decode_any(raw, yaml_ok=True)
    if not isinstance(body, dict):
        raise status.bad_request(f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
                                 "the request body must be an object")
    return body


def delete_options(raw: bytes, query: dict[str, str]) -> DeleteOptions:
    body: dict[str, Any] = {}
    if raw:
        decoded = decode_any(raw, yaml_ok=False)
        body = decoded if isinstance(decoded, dict) else {}
    pre = body.get("preconditions") or {}
    policy = query.get("propagationPolicy") or body.get("propagationPolicy")
    if policy is None and (body.get("orphanDependents") or query.get("orphanDependents") == "true"):
        policy = "Orphan"
    grace = query.get("gracePeriodSeconds", body.get("gracePeriodSeconds"))
    dry = query.get("dryRun") == "All" or "All" in (body.get("dryRun") or [])
    return DeleteOptions(propagation_policy=policy, precondition_uid=pre.get("uid"),
                         precondition_rv=pre.get("resourceVersion"),
                         grace_period_seconds=int(grace) if grace not in (None, "") else None, dry_run=dry)


def injected_error(code: int, rtype: ResourceType, name: str, retry_after: int) -> APIError:
    if code == 500:
        return status.internal_error("injected fault (kfctl sim)")
    if code == 503:
        return status.service_unavailable()
    if code == 429:
        return status.too_many_requests(retry_after)
    return status.conflict(rtype.plural, rtype.group, name or rtype.plural, status.STALE)
