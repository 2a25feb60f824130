"""The errors of fetching a repo and building an application from it.

Each is an :class:`~kfctl.errors.InputError` (exit 2): a bad URL, a tampered or
hostile archive, a missing path or a package kustomize refuses are all things
the user fixes in the KfDef or the repo, and nothing was sent to a cluster.

::

    InputError
    └── RepoError                  a repo or a repo application cannot be used
        ├── FetchError             host unreachable, HTTP error status, too large, unreadable file
        ├── ChecksumMismatch       the archive's sha256 is not the KfDef's
        ├── ArchiveError           not an archive, truncated or corrupt
        │   └── HostileArchive     a member would escape the folder, is a device, or limits are exceeded
        ├── RepoPathError          repoRef.path, an overlay or a parameter is not in the repo
        ├── KustomizeError         kustomize failed; carries kustomize's own text
        └── KustomizeNotFound      no kustomize or kubectl to build with
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kfctl.errors import InputError

if TYPE_CHECKING:  # kept light: `kfctl version` imports this through kfctl.repos.kustomize
    from kfctl.config.model import Repo


def describe_repo(repo: Repo) -> str:
    """``repo 'manifests' (kfdef.yaml:12)``: which repo, and where the KfDef declares it."""
    loc = repo.location
    where = ""
    if loc.file and loc.line:
        where = f" ({loc.file}:{loc.line})"
    elif loc.file:
        where = f" ({loc.file})"
    return f"repo {repo.name!r}{where}"


class RepoError(InputError):
    """A repo cannot be fetched, or an application cannot be built from it."""


class FetchError(RepoError):
    """The archive could not be downloaded or read."""


class ChecksumMismatch(RepoError):
    """The archive's sha256 differs from the one the KfDef pins."""

    def __init__(self, message: str, *, expected: str, got: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.expected = expected
        self.got = got


class ArchiveError(RepoError):
    """The file is not a readable tar or zip archive."""


class HostileArchive(ArchiveError):
    """A member would be written outside the extraction folder, is not a plain file, or limits are exceeded."""

    def __init__(self, message: str, *, member: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.member = member


class RepoPathError(RepoError):
    """A repoRef path, an overlay or a parameter names something the repo does not have."""


class KustomizeError(RepoError):
    """``kustomize build`` failed; ``output`` is kustomize's own error text."""

    def __init__(self, message: str, *, output: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.output = output


class KustomizeNotFound(RepoError):
    """Neither kustomize nor a kubectl with ``kubectl kustomize`` could be found."""
