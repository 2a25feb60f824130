"""The one exception tree of kfctl, and the exit codes it maps to.

Every error a user can cause or meet is a :class:`KfctlError`; the CLI entry
point (``kfctl.cli.main``) is the only place that turns one into an exit code.
Anything else that escapes is a bug: the CLI prints a one-line report and, with
``-v``, the traceback.

::

    KfctlError                     exit 1  the operation failed
    ├── InputError                 exit 2  bad usage, config or input; nothing was changed
    │   ├── ConfigError                    a KfDef (or other file) with located problems
    │   ├── CatalogError                   unknown component/platform, broken bundle
    │   ├── TemplateError                  a bundle template failed to render
    │   └── ClusterConfigError             no usable kubeconfig/context
    └── OperationFailed            exit 1  the cluster did not reach the wanted state
        └── ClusterError                   the API answered with an error we cannot retry
            └── ApiError                   status code, reason, message, object, retry_after, transient
                ├── NotFound               404 for an object
                ├── KindNotServed          the API does not serve the kind (yet): transient while a CRD establishes
                └── ApplyConflict          409 from server-side apply: another field manager owns fields

The API errors live here, not beside the client that raises them
(``kfctl.cluster``, the only module importing ``kubernetes``), so the engine and
the CLI tell them apart by class without importing the client.

Exit code 3 is not an error: ``kfctl diff`` returns it when changes are pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2
EXIT_CHANGES = 3


@dataclass(frozen=True)
class Problem:
    """One located problem in an input file.

    Rendered as ``FILE:LINE:COL: PATH: MESSAGE (hint: HINT)``; line and column
    are 1-based, ``path`` is a JSON-path-like location (``spec.applications[2].name``).
    """

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        text = f"{where}{self.path}: {self.message}" if self.path else f"{where}{self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class KfctlError(Exception):
    """Base of every expected kfctl error. ``exit_code`` is what the CLI exits with."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """The full text shown to the user."""
        if self.hint:
            return f"{self.message}\nhint: {self.hint}"
        return self.message


class InputError(KfctlError):
    """Bad usage, configuration or input. Nothing was sent to a cluster."""

    exit_code = EXIT_INPUT


class ConfigError(InputError):
    """A file with one or more located problems, all reported at once."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...], *, summary: str | None = None) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        self.summary = summary or f"{count} problem{'s' if count != 1 else ''} found"
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join([*(str(p) for p in self.problems), self.summary])


class CatalogError(InputError):
    """The component catalog cannot satisfy a request, or a bundle is broken."""


class TemplateError(InputError):
    """A bundle template failed to render; the message names ``template:line``."""


class ClusterConfigError(InputError):
    """No cluster to talk to: missing kubeconfig, unknown context."""


class OperationFailed(KfctlError):
    """The operation ran but the cluster did not reach the wanted state."""


class ClusterError(OperationFailed):
    """The Kubernetes API answered with an error that retrying will not fix."""


#: HTTP statuses worth retrying: throttling and server-side trouble
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

    def __reduce__(self) -> tuple[Any, ...]:  # keep exceptions picklable across threads/processes
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
