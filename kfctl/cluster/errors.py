"""API errors, translated from the official client in exactly one place (:func:`translate`).

::

    ClusterError (kfctl.errors, exit 1)
    └── ApiError                 status code, reason, message, object, retry_after
        ├── NotFound             404 for an object
        ├── KindNotServed        the API does not serve the kind (yet): transient while a CRD establishes
        ├── ApplyConflict        409 from server-side apply: another field manager owns fields
        └── (transient ones are ApiError with .transient True: 429, 5xx, webhook unreachable, connection)
    ClusterConfigError (kfctl.errors, exit 2): the kubeconfig cannot be used; nothing was sent
    ├── CredentialsError     a credential file is missing or unreadable, an exec plugin failed or hung
    └── ClusterUnreachable   no usable answer from the API server before anything was sent
        ├── ClusterTLSError  the TLS handshake failed (unknown CA, expired or mismatched certificate)
        └── NotKubernetes    something answered, but not a Kubernetes API server (an HTML page, a proxy)
"""

from __future__ import annotations

import json
import re
from typing import Any

from kfctl.errors import (  # the API errors are re-exported: they were defined here
    ApiError as ApiError,
    ApplyConflict as ApplyConflict,
    ClusterConfigError as ClusterConfigError,
    ClusterError as ClusterError,
    KindNotServed as KindNotServed,
    NotFound as NotFound,
)

#: how the API server words an RBAC denial: `User "bob" cannot delete resource "deployments" ...`
_RBAC_DENIAL = re.compile(r'(User|ServiceAccount|Group) "[^"]*" cannot |system:serviceaccount:.* cannot ')


class ClusterUnreachable(ClusterConfigError):
    """The API server did not answer at all before kfctl changed anything."""


class ClusterTLSError(ClusterUnreachable):
    """The TLS handshake with the API server failed: retrying will not fix it."""


class NotKubernetes(ClusterUnreachable):
    """The URL answered, but not as a Kubernetes API server."""


class CredentialsError(ClusterConfigError):
    """The kubeconfig's credentials cannot be used: a missing file, a failing or hanging exec plugin."""


def _first_line(text: str) -> str:
    """The message of an exception without the client's "Reason:" framing and tracebacks."""
    lines = [ln.strip() for ln in text.replace("Original traceback:", "\x00").split("\x00")[0].splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(("(0)", "Reason:", "HTTP response"))]
    return lines[-1] if lines else text.strip()


def tls_detail(text: str) -> str:
    """The OpenSSL reason of a certificate failure (``certificate has expired``), without file/line noise."""
    match = re.search(r"certificate verify failed: ([^(]+)", text)
    if match:
        return match.group(1).strip()
    match = re.search(r"\[SSL: ([A-Z_]+)\]\s*([^(]*)", text)
    if match:
        return (match.group(2).strip() or match.group(1)).lower()
    return _first_line(text)


def body_gist(body: Any, limit: int = 120) -> str:
    """A short, single-line gist of a response body that is not JSON: an HTML page's title, else its text."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes | bytearray) else str(body)
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if title:
        text = title.group(1)
    else:
        text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.IGNORECASE | re.DOTALL)
        text = re.sub(r"<[^>]+>", " ", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _hint_for(status: int, reason: str, message: str) -> str | None:
    if status == 403:
        if _RBAC_DENIAL.search(message):
            return ("the credentials in your kubeconfig lack this permission; ask a cluster admin or use another "
                    "context")
        if "may not be deleted" in message:
            return "Kubernetes protects this object from every user: it was never kfctl's to delete"
        return ("the API server forbids this for every user (a protected object, or an admission policy): "
                "read the message above; other credentials will not help")
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
        detail = _first_line(str(getattr(exc, "reason", "") or exc))
        if "SSLError" in str(getattr(exc, "reason", "")) or "SSLError" in type(exc).__name__:
            # a certificate problem does not go away by retrying; connect() explains it before any write
            return ApiError(f"TLS failure talking to the API server: {tls_detail(str(exc))}", obj=obj,
                            transient=False, reason="TLSError",
                            hint="check the cluster's certificate-authority in the kubeconfig")
        return ApiError(f"cannot reach the API server: {detail}", obj=obj, transient=True, reason="ConnectionError")
    reason, message, retry_after = getattr(exc, "reason", "") or "", "", None
    try:
        data = json.loads(body) if body else {}
    except (TypeError, ValueError):
        data = {}
    if not (isinstance(data, dict) and data.get("kind") == "Status"):
        # not an API Status: never print a whole body (an HTML page from a proxy), only its gist
        gist = body_gist(body)
        message = f"HTTP {status} {reason}".strip() + (f": {gist}" if gist else "")
    if isinstance(data, dict) and data.get("kind") == "Status":
        reason = data.get("reason") or reason
        message = data.get("message") or message or f"HTTP {status} {reason}".strip()
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
