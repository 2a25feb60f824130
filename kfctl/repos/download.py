"""Download one URL to a file: streamed, hashed, size-capped, retried, with a progress bar on a TTY.

Transient failures (connection refused or reset, timeouts, a body cut short,
HTTP 429 and 5xx) are retried with exponential backoff; any other HTTP error
status fails at once, since asking again will not change a 404. The caller
owns the destination file's atomicity: this module only writes where it is
told and leaves cleaning up a failed attempt to the caller.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import httpx

from kfctl import __version__
from kfctl.repos.errors import FetchError
from kfctl.repos.source import Settings

if TYPE_CHECKING:
    from rich.progress import Progress

log = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class Downloaded:
    sha256: str
    size: int


class _Transient(Exception):
    """An attempt failed in a way that another attempt may not."""

    def __init__(self, reason: str, retry_after: float | None = None, *, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        #: no connection was made at all (as opposed to one that failed part-way)
        self.unreachable = unreachable


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


def _progress_bar(label: str, total: int | None) -> Progress | None:
    """A transient download bar on stderr, only when it is a terminal (CI logs get no bar)."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                   console=Console(stderr=True), transient=True)
    bar.start()
    bar.add_task(label, total=total)
    return bar


def _attempt(client: httpx.Client, url: str, out: IO[bytes], *, label: str, settings: Settings,
             progress: bool) -> Downloaded:
    digest = hashlib.sha256()
    size = 0
    out.seek(0)
    out.truncate()
    try:
        with client.stream("GET", url) as response:
            if response.status_code in _RETRY_STATUS:
                raise _Transient(f"HTTP {response.status_code} {response.reason_phrase}", _retry_after(response))
            if response.status_code >= 400:
                raise FetchError(
                    f"{label}: HTTP {response.status_code} {response.reason_phrase} from {url}",
                    hint="check spec.repos[].uri (the URL of a .tar.gz, .tgz or .zip archive)")
            declared = response.headers.get("content-length")
            total = int(declared) if declared and declared.isdigit() else None
            if total is not None and total > settings.max_download_bytes:
                raise FetchError(f"{label}: {url} is {_mib(total)}, over the download limit of "
                                 f"{_mib(settings.max_download_bytes)}")
            bar = _progress_bar(f"fetching {label}", total) if progress else None
            try:
                for chunk in response.iter_raw(_CHUNK):  # the bytes as published: what sha256 pins
                    size += len(chunk)
                    if size > settings.max_download_bytes:
                        raise FetchError(f"{label}: {url} is larger than the download limit of "
                                         f"{_mib(settings.max_download_bytes)}")
                    digest.update(chunk)
                    out.write(chunk)
                    if bar is not None:
                        bar.update(bar.task_ids[0], advance=len(chunk))
            finally:
                if bar is not None:
                    bar.stop()
    except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise _Transient(reason, unreachable=isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)) from exc
    except httpx.HTTPError as exc:  # too many redirects, a redirect to another scheme, ...: asking again won't help
        raise FetchError(f"{label}: cannot download {url}: {type(exc).__name__}: {exc}") from exc
    out.flush()
    return Downloaded(digest.hexdigest(), size)


def download(url: str, dest: Path, *, label: str, settings: Settings, progress: bool = False) -> Downloaded:
    """Fetch ``url`` into ``dest`` (created or truncated); return its sha256 and size."""
    host = urllib.parse.urlsplit(url).hostname or url
    timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
    # identity: a server compressing on the fly would change the bytes the sha256 is checked against
    headers = {"User-Agent": f"kfctl/{__version__}", "Accept-Encoding": "identity"}
    delay = settings.backoff
    last = _Transient("no attempt made")
    attempts = max(1, settings.attempts)
    with httpx.Client(timeout=timeout, follow_redirects=True, headers=headers) as client, dest.open("wb") as out:
        for attempt in range(1, attempts + 1):
            try:
                return _attempt(client, url, out, label=label, settings=settings, progress=progress)
            except _Transient as exc:
                last = exc
                if attempt == attempts:
                    break
                wait = min(exc.retry_after, 60.0) if exc.retry_after is not None else delay
                log.warning("%s: attempt %d of %d failed (%s); retrying in %.1fs", label, attempt, attempts,
                            exc.reason, wait)
                time.sleep(wait)
                delay *= 2
    tries = f"after {attempts} attempt{'s' if attempts > 1 else ''}"
    if last.unreachable:
        raise FetchError(f"{label}: cannot reach {host}: {last.reason} ({tries})",
                         hint="check the URL and the network; a repo fetched once is cached, so later runs "
                              "work offline")
    if last.reason.startswith("HTTP "):
        raise FetchError(f"{label}: {last.reason} from {url} ({tries})", hint="the server is failing; try again later")
    raise FetchError(f"{label}: download of {url} failed: {last.reason} ({tries})",
                     hint="the connection broke off; try again later")
