"""Errors of the patch algorithms, shaped like the kube-apiserver Status they become.

::

    PatchError            422 Invalid / 400 BadRequest: the patch cannot be applied
    ApplyConflictError    409 Conflict: server-side apply met fields other managers own
    SchemaError           internal: an object does not fit its type (the caller maps it)

The sim's HTTP layer turns :class:`PatchError` and :class:`ApplyConflictError`
into ``metav1.Status`` bodies with :meth:`status` and answers with ``code``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class PatchError(Exception):
    """A patch the server rejects; ``code`` 422 (reason ``Invalid``) or 400 (``BadRequest``)."""

    def __init__(self, message: str, *, code: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.reason = "Invalid" if code == 422 else "BadRequest"
        self.message = message

    def status(self) -> dict[str, Any]:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}


class SchemaError(Exception):
    """An object that does not fit its type: a duplicate or missing list key, a malformed fieldsV1."""


@dataclass(frozen=True)
class Conflict:
    """One field another manager owns: ``manager`` is its name, ``field`` the path as the
    apiserver prints it (``.spec.template.spec.containers[name="app"].image``)."""

    manager: str
    field: str
    operation: str = "Apply"
    api_version: str = ""
    subresource: str = ""

    @property
    def who(self) -> str:
        """The manager as conflict messages name it: ``"kubectl"`` for an applier,
        ``"kubectl-client-side-apply" using apps/v1`` for an updater."""
        text = _go_quote(self.manager)
        if self.subresource:
            text += f" with subresource {_go_quote(self.subresource)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ApplyConflictError(Exception):
    """Server-side apply conflicts, with the apiserver's message (``Apply failed with 1 conflict: ...``)."""

    code = 409
    reason = "Conflict"

    def __init__(self, conflicts: list[Conflict], *, api_version: str) -> None:
        self.conflicts = list(conflicts)
        self.api_version = api_version
        self.message = _message(self.conflicts)
        super().__init__(self.message)

    def status(self) -> dict[str, Any]:
        causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {c.who}", "field": c.field}
                  for c in self.conflicts]
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "details": {"causes": causes}, "code": self.code}


def _message(conflicts: list[Conflict]) -> str:
    if len(conflicts) == 1:
        c = conflicts[0]
        return f"Apply failed with 1 conflict: conflict with {c.who}: {c.field}"
    by_manager: dict[str, list[str]] = {}
    for c in conflicts:
        by_manager.setdefault(c.who, []).append(c.field)
    lines = []
    for manager in sorted(by_manager):
        lines.append(f"conflicts with {manager}:")
        lines.extend(f"- {field}" for field in by_manager[manager])
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
