"""What a ``spec.repos[].uri`` names: a URL to download, a local archive, or a local folder.

kfctl 1.x accepted URLs of GitHub tarballs; this kfctl also reads ``file://``
URLs and plain paths, so a repo can be vendored beside the KfDef. A relative
path is relative to the KfDef's folder (so the KfDef can be moved with its
repo), and to the working directory when the KfDef was not read from a file.
Other schemes (git, ssh, s3, gs) are refused with the archive-URL alternative.
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from kfctl.config.model import Repo
from kfctl.repos.errors import FetchError, RepoError, describe_repo


@dataclass(frozen=True)
class Settings:
    """Limits and network behaviour of a fetch; the defaults suit a Kubeflow manifests archive."""

    #: the download (compressed) may not exceed this
    max_download_bytes: int = 512 * 1024 * 1024
    #: the archive may not hold more members than this
    max_files: int = 50_000
    #: the archive's files together may not expand past this
    max_expanded_bytes: int = 2 * 1024 * 1024 * 1024
    connect_timeout: float = 15.0
    #: seconds without a byte from the server before an attempt fails
    read_timeout: float = 60.0
    #: attempts for transient failures (connection refused/reset, timeouts, HTTP 429 and 5xx)
    attempts: int = 4
    #: seconds before the second attempt; doubled for each one after
    backoff: float = 1.0


DEFAULT_SETTINGS = Settings()


@dataclass(frozen=True)
class Source:
    """Where a repo's content comes from: ``kind`` is "url", "archive" or "folder"."""

    kind: str
    #: the URL (kind "url") or the absolute local path
    location: str

    @property
    def path(self) -> Path:
        return Path(self.location)


_UNSUPPORTED_HINT = ("use an archive URL (for GitHub: https://github.com/ORG/REPO/archive/TAG.tar.gz), "
                     "a file:// URL, or a local path")


def _base_dir(repo: Repo) -> Path:
    kfdef_file = repo.location.file
    if kfdef_file:
        candidate = Path(kfdef_file)
        if candidate.is_file():
            return candidate.resolve().parent
    return Path.cwd()


def _local(repo: Repo, path: Path) -> Source:
    if not path.is_absolute():
        path = _base_dir(repo) / path
    path = path.resolve()
    if path.is_dir():
        return Source("folder", str(path))
    if path.is_file():
        return Source("archive", str(path))
    if path.exists():
        raise FetchError(f"{describe_repo(repo)}: {path} is neither a file nor a folder")
    raise FetchError(f"{describe_repo(repo)}: no such file or folder: {path}",
                     hint="check spec.repos[].uri; a relative path is relative to the KfDef's folder")


def parse_source(repo: Repo) -> Source:
    """The :class:`Source` ``repo.uri`` names (a local path must exist)."""
    uri = repo.uri.strip()
    parsed = urllib.parse.urlsplit(uri)
    scheme = parsed.scheme.lower()
    if scheme in ("http", "https"):
        if not parsed.hostname:
            raise RepoError(f"{describe_repo(repo)}: {uri!r} is not a valid URL (no host)")
        return Source("url", uri)
    if scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise RepoError(f"{describe_repo(repo)}: file URL {uri!r} names host {parsed.netloc!r}; "
                            "only local files can be read", hint="write file:///absolute/path")
        return _local(repo, Path(urllib.request.url2pathname(parsed.path)))
    if len(scheme) > 1:  # one letter is a Windows drive, not a scheme
        raise RepoError(f"{describe_repo(repo)}: kfctl cannot fetch {scheme}:// URLs ({uri})",
                        hint=_UNSUPPORTED_HINT)
    return _local(repo, Path(uri).expanduser())
