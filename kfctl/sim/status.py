"""API errors as the real API server reports them: ``Status`` objects.

Every failure the sim answers with is an :class:`APIError` carrying the HTTP
code, the machine ``reason`` and the message text a real kube-apiserver would
write, so clients (kubectl, the Python client, kfctl's engine) see exactly what
they would see against a real cluster.
"""

from __future__ import annotations

from typing import Any


class APIError(Exception):
    """A failed API request; :meth:`status` is the body the server sends."""

    def __init__(self, code: int, reason: str, message: str, *, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:  # an unclassified server error has no reason, as on a real server
            body["reason"] = self.reason
        body["code"] = self.code
        if self.details is not None:
            body["details"] = self.details
        return body


def qualified(plural: str, group: str) -> str:
    """``deployments.apps`` / ``configmaps``: how messages name a resource."""
    return f"{plural}.{group}" if group else plural


def _details(name: str, group: str, kind: str, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name} if name else {}
    if group:
        details["group"] = group
    details["kind"] = kind
    details.update(extra)
    return details


def not_found(plural: str, group: str, name: str) -> APIError:
    return APIError(404, "NotFound", f'{qualified(plural, group)} "{name}" not found',
                    details=_details(name, group, plural))


def path_not_found() -> APIError:
    """The body a real server sends for a path it does not serve (unknown group/resource)."""
    return APIError(404, "NotFound", "the server could not find the requested resource", details={})


def already_exists(plural: str, group: str, name: str) -> APIError:
    return APIError(409, "AlreadyExists", f'{qualified(plural, group)} "{name}" already exists',
                    details=_details(name, group, plural))


def conflict(plural: str, group: str, name: str, why: str) -> APIError:
    return APIError(409, "Conflict", f'Operation cannot be fulfilled on {qualified(plural, group)} "{name}": {why}',
                    details=_details(name, group, plural))


STALE = "the object has been modified; please apply your changes to the latest version and try again"


def apply_conflict(message: str, causes: list[dict[str, Any]]) -> APIError:
    """409 of server-side apply: its details hold only the causes (no name or kind), as a real server's."""
    return APIError(409, "Conflict", message, details={"causes": causes})


def invalid_options(kind: str, field: str, reason: str, message: str) -> APIError:
    """422 of bad request options (``CreateOptions``, ``PatchOptions``, ``DeleteOptions``... of meta.k8s.io)."""
    return APIError(422, "Invalid", f'{kind}.meta.k8s.io "" is invalid: {field}: {message}',
                    details={"group": "meta.k8s.io", "kind": kind, "causes": [cause(field, reason, message)]})


def precondition_failed(kind: str, name: str, what: str, wanted: str, actual: str) -> APIError:
    """409 of a DELETE whose uid or resourceVersion precondition does not hold (the kind, not the plural, is named)."""
    tail = "deleted and then recreated" if what == "UID" else "modified"
    return APIError(409, "Conflict", f'Operation cannot be fulfilled on {kind} "{name}": the {what} in the '
                    f"precondition ({wanted}) does not match the {what} in record ({actual}). The object might "
                    f"have been {tail}", details={"name": name, "kind": kind})


def invalid(kind: str, group: str, name: str, causes: list[dict[str, Any]]) -> APIError:
    """422 Invalid; ``causes`` are ``{"reason", "message", "field"}`` dicts."""
    what = f"{kind}.{group}" if group else kind
    texts = [f'{c["field"]}: {c["message"]}' if c.get("field") else c["message"] for c in causes]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return APIError(422, "Invalid", f'{what} "{name}" is invalid: {joined}',
                    details=_details(name, group, kind, causes=causes))


def cause(field: str, reason: str, message: str) -> dict[str, Any]:
    return {"reason": reason, "message": message, "field": field}


def bad_request(message: str) -> APIError:
    return APIError(400, "BadRequest", message)


def forbidden(plural: str, group: str, name: str, why: str, causes: list[dict[str, Any]] | None = None) -> APIError:
    who = f'{qualified(plural, group)} "{name}"' if name else qualified(plural, group)
    extra = {"causes": causes} if causes else {}
    return APIError(403, "Forbidden", f"{who} is forbidden: {why}", details=_details(name, group, plural, **extra))


def method_not_allowed(verb: str) -> APIError:
    return APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource",
                    details={"kind": verb} if verb else {})


def unsupported_media_type(content_type: str, accepted: list[str]) -> APIError:
    return APIError(415, "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - accepted media types include: "
                    f"{', '.join(accepted)}", details={})


def too_many_requests(retry_after: int) -> APIError:
    return APIError(429, "TooManyRequests", "Too many requests, please try again later.",
                    details={"retryAfterSeconds": retry_after}, headers={"Retry-After": str(retry_after)})


def internal_error(message: str) -> APIError:
    return APIError(500, "InternalError", f"Internal error occurred: {message}",
                    details={"causes": [{"message": message}]})


def service_unavailable(message: str = "the server is currently unable to handle the request") -> APIError:
    return APIError(503, "ServiceUnavailable", message, details={})


def expired(message: str) -> APIError:
    """410 for a resourceVersion or continue token older than the server keeps (reason Expired)."""
    return APIError(410, "Expired", message)


def gone(message: str) -> APIError:
    return APIError(410, "Gone", message)


def unauthorized() -> APIError:
    return APIError(401, "Unauthorized", "Unauthorized")


def success(name: str, group: str, plural: str, uid: str) -> dict[str, Any]:
    """The ``Status`` a DELETE answers with once an object is gone."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": _details(name, group, plural, uid=uid)}
