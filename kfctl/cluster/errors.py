"""API errors, translated from the official client in exactly one place (:func:`translate`).

::

    ClusterError (kfctl.errors, exit 1)
    └── ApiError                 status code, reason, message, object, retry_after
        ├── NotFound             404 for an object
        ├── KindNotServed        the API does not serve the kind (yet): transient while a CRD establishes
        ├── ApplyConflict        409 from server-side apply: another field manager owns fields
        └── (transient ones are ApiError with .transient True: 429, 5xx, webhook unreachable, connection)
    ClusterUnreachable (InputError, exit 2): no answer from the API server before anything was sent
"""

from __future__ import annotations

import json
from typing import Any

from kfctl.errors import ClusterConfigError, ClusterError

_TRANSIENT_STATUS = {429, 500, 502, 503, 504}


class ApiError(ClusterError):
    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        reason: str = "",
        obj: str = "",
        retry_after: float | None = None,
        transient: bool | None = None,
        hint: str | None = None,
    ) -> None:
        text = f"{obj}: {message}" if obj else message
        super().__init__(text, hint=hint)
        self.status = status
        self.reason = reason
        self.obj = obj
        self.api_message = message
        self.retry_after = retry_after
        self.transient = transient if transient is not None else status in _TRANSIENT_STATUS

    def __reduce__(self):  # keep exceptions picklable across threads/processes
        return (type(self), (self.api_message,), self.__dict__)


class NotFound(ApiError):
    pass


class KindNotServed(ApiError):
    """The server does not (yet) serve this kind: retry after its CRD is established."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("transient", True)
        kwargs.setdefault("status", 404)
        kwargs.setdefault("reason", "NotFound")
        super().__init__(message, **kwargs)


class ApplyConflict(ApiError):
    """Server-side apply found fields owned by another manager."""


class ClusterUnreachable(ClusterConfigError):
    """The API server did not answer at all before kfctl changed anything."""


def _hint_for(status: int, reason: str, message: str) -> str | None:
    if status == 403:
        return "the credentials in your kubeconfig lack this permission; ask a cluster admin or use another context"
    if status == 422:
        return "the object is invalid for this cluster: fix the bundle parameter or overlay that produced it"
    if status == 409 and "conflict" in message.lower():
        return "another tool owns these fields; rerun with --force-conflicts to take them over"
    return None


def translate(exc: Exception, *, obj: str = "", headers: dict[str, str] | None = None) -> ApiError:
    """Turn an ``ApiException`` (or urllib3/socket error) from the official client into an ApiError."""
    status = int(getattr(exc, "status", 0) or 0)
    body = getattr(exc, "body", None)
    headers = headers or dict(getattr(exc, "headers", None) or {})
    if status == 0:
        return ApiError(f"cannot reach the API server: {exc}", obj=obj, transient=True, reason="ConnectionError")
    reason, message, retry_after = getattr(exc, "reason", "") or "", str(exc), None
    try:
        data = json.loads(body) if body else {}
    except (TypeError, ValueError):
        data = {}
    if isinstance(data, dict) and data.get("kind") == "Status":
        reason = data.get("reason") or reason
        message = data.get("message") or message
        details = data.get("details") or {}
        if details.get("retryAfterSeconds"):
            retry_after = float(details["retryAfterSeconds"])
    header_retry = {k.lower(): v for k, v in headers.items()}.get("retry-after")
    if header_retry:
        try:
            retry_after = float(header_retry)
        except ValueError:
            pass
    lowered = message.lower()
    transient = None
    if "failed calling webhook" in lowered or "connection refused" in lowered or "no endpoints available" in lowered:
        transient = True  # a webhook whose server is not up yet
    if status == 409 and reason == "Conflict" and lowered.startswith("apply failed"):
        return ApplyConflict(message, status=status, reason=reason, obj=obj, transient=False,
                             hint=_hint_for(status, reason, message))
    if status == 409 and "the object has been modified" in lowered:
        transient = True  # optimistic concurrency: read again and retry
    if status == 404 and obj:
        if "the server could not find the requested resource" in lowered:
            return KindNotServed(message, obj=obj)
        return NotFound(message, status=status, reason=reason, obj=obj, transient=False)
    if status == 403 and "because it is being terminated" in lowered:
        transient = True  # the namespace is going away; after it is gone the apply can recreate it
    return ApiError(message, status=status, reason=reason, obj=obj, retry_after=retry_after, transient=transient,
                    hint=_hint_for(status, reason, message))
