"""``fetch_repo``: a repo's tree on local disk, downloaded and unpacked once, then served from the cache.

The cache lives in ``$XDG_CACHE_HOME/kfctl/repos`` (``~/.cache/kfctl/repos``)::

    trees/<sha256>/        an unpacked archive, its single top folder stripped,
                           named by the archive's sha256 (so identical archives share it)
    urls/<sha256 of URL>   {"uri": ..., "sha256": ...}: which archive a URL gave last time
    tmp/                   downloads and extractions in progress

Entries appear only by ``rename``: a download goes to ``tmp/`` and is unpacked
into ``tmp/`` first, then the tree is renamed into ``trees/``, then the URL
index is replaced atomically. A killed run leaves at most litter in ``tmp/``
(swept after a day), never a half entry that a later run trusts.

A pinned ``sha256`` makes a cached tree usable with no network at all. Without
one, a URL is fetched once and its tree reused (kfctl 1.x downloaded the
archive on every run); delete the cache folder to fetch it again. A local
archive is hashed on every run (it may have changed) and unpacked once per
content; a local folder is used in place, unchanged, and never copied.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from kfctl.config.model import Repo
from kfctl.repos.download import download
from kfctl.repos.errors import ChecksumMismatch, FetchError, RepoError, describe_repo
from kfctl.repos.extract import check_links, extract
from kfctl.repos.mirrors import Mirrors
from kfctl.repos.remotes import NotCached
from kfctl.repos.source import DEFAULT_SETTINGS, Settings, Source, parse_source

log = logging.getLogger(__name__)

_STALE_SECONDS = 24 * 3600


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/kfctl/repos``, or ``~/.cache/kfctl/repos`` when it is unset or not absolute."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "kfctl" / "repos"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


class _Cache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.trees = root / "trees"
        self.urls = root / "urls"
        self.tmp = root / "tmp"
        for folder in (self.trees, self.urls, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)

    def tree(self, sha256: str) -> Path | None:
        path = self.trees / sha256
        return path if path.is_dir() else None

    def _url_file(self, uri: str) -> Path:
        return self.urls / (hashlib.sha256(uri.encode()).hexdigest() + ".json")

    def known_sha(self, uri: str) -> str | None:
        try:
            data = json.loads(self._url_file(uri).read_text())
        except (OSError, ValueError):
            return None
        return data.get("sha256") if isinstance(data, dict) and data.get("uri") == uri else None

    def remember(self, uri: str, sha256: str) -> None:
        target = self._url_file(uri)
        fd, tmp = tempfile.mkstemp(dir=self.tmp, prefix="url-")
        with os.fdopen(fd, "w") as f:
            json.dump({"uri": uri, "sha256": sha256}, f)
        os.replace(tmp, target)

    def workspace(self) -> Path:
        self.sweep()
        return Path(tempfile.mkdtemp(dir=self.tmp, prefix="fetch-"))

    def sweep(self) -> None:
        """Remove what killed runs left in tmp/ more than a day ago."""
        now = time.time()
        for entry in self.tmp.iterdir():
            try:
                if now - entry.lstat().st_mtime > _STALE_SECONDS:
                    shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
            except OSError:
                continue

    def install(self, archive: Path, sha256: str, work: Path, *, label: str, settings: Settings) -> Path:
        """Unpack ``archive`` inside ``work``, strip its single top folder, rename it to trees/<sha256>."""
        unpacked = work / "unpacked"
        unpacked.mkdir()
        extract(archive, unpacked, label=label, settings=settings)
        entries = list(unpacked.iterdir())
        top = entries[0] if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink() else unpacked
        check_links(top, label=label, archive=archive)
        final = self.trees / sha256
        try:
            os.rename(top, final)
        except OSError:
            if not final.is_dir():  # not a concurrent run that got there first: a real failure
                raise
        return final


def _check(repo: Repo, what: str, got: str) -> None:
    expected = repo.sha256
    if expected is not None and expected.lower() != got:
        raise ChecksumMismatch(
            f"{describe_repo(repo)}: checksum mismatch for {what}: expected sha256 {expected.lower()}, got {got}",
            expected=expected.lower(), got=got,
            hint="if the archive changed on purpose, put the new sha256 in spec.repos[].sha256; otherwise "
                 "do not use it: it is not the archive the KfDef pins")


def fetch_repo(repo: Repo, *, cache_dir: Path | None = None, progress: bool = False,
               settings: Settings = DEFAULT_SETTINGS, offline: bool = False, mirrors: Mirrors | None = None) -> Path:
    """A local folder holding ``repo``'s tree (its archive's single top folder stripped).

    ``progress`` shows a download bar when stderr is a terminal. ``offline``
    refuses to download (:class:`~kfctl.repos.remotes.NotCached`) a URL whose
    tree is not cached; ``mirrors`` changes where a URL is downloaded from (the
    cache still knows it by its own URL). Raises a
    :class:`~kfctl.repos.errors.RepoError` subclass (exit 2) when the repo
    cannot be fetched, does not match its ``sha256``, or is unsafe to unpack.
    """
    source = parse_source(repo)
    label = describe_repo(repo)
    if source.kind == "folder":
        if repo.sha256 is not None:
            raise RepoError(f"{label}: sha256 pins an archive, but {source.location} is a folder",
                            hint="remove sha256, or point uri at an archive of the folder")
        return source.path
    root = cache_dir or default_cache_dir()
    try:
        return _fetch_archive(repo, source, _Cache(root), label=label, progress=progress, settings=settings,
                              offline=offline, mirrors=mirrors or Mirrors())
    except OSError as exc:  # the cache folder, not the archive: extraction reports its own errors
        raise FetchError(f"{label}: cannot use the repo cache {root}: {exc.strerror or exc}",
                         hint="free some space, or set XDG_CACHE_HOME to a writable folder") from exc


def _fetch_archive(repo: Repo, source: Source, cache: _Cache, *, label: str, progress: bool,
                   settings: Settings, offline: bool, mirrors: Mirrors) -> Path:
    if source.kind == "archive":
        try:
            sha = _file_sha256(source.path)
        except OSError as exc:
            raise FetchError(f"{label}: cannot read {source.location}: {exc.strerror or exc}") from exc
        _check(repo, source.location, sha)
        cached = cache.tree(sha)
        if cached is not None:
            return cached
        work = cache.workspace()
        try:
            return cache.install(source.path, sha, work, label=label, settings=settings)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    uri = source.location
    known = repo.sha256.lower() if repo.sha256 else cache.known_sha(uri)
    if known is not None and (cached := cache.tree(known)) is not None:
        log.info("%s: using the cached %s", label, cached)
        return cached
    if offline:
        raise NotCached([f"{uri} ({label}, spec.repos[].uri)"])
    work = cache.workspace()
    try:
        started = time.monotonic()
        archive = work / "archive"
        got = download(mirrors.rewrite(uri), archive, label=label, settings=settings, progress=progress)
        _check(repo, uri, got.sha256)
        tree = cache.tree(got.sha256) or cache.install(archive, got.sha256, work, label=label, settings=settings)
        cache.remember(uri, got.sha256)
        log.info("%s: fetched %s (%d bytes) in %.1fs", label, uri, got.size, time.monotonic() - started)
        return tree
    finally:
        shutil.rmtree(work, ignore_errors=True)
