"""Remote kustomize resources: fetched into kfctl's cache, pinned by the lock file, and made local for a build.

For one build (an application's kustomization and the Components added to
it), :meth:`Remotes.prepare` walks every kustomization the build reaches,
collects the remote references (:mod:`kfctl.repos.remote`), fetches each one
that is not cached (plain files through httpx as repo archives are, git
repositories with the ``git`` program, :mod:`kfctl.repos.git`) and walks on
inside fetched git trees, whose kustomizations may name remote resources
too. Every problem is collected and reported at once: with ``--offline``, one
error names every URL that is not cached; online, one error names every URL
that could not be fetched. :meth:`Prepared.materialize` then rewrites the
references to relative paths *in kfctl's private copy* of the trees, so
kustomize builds offline. The user's files and the cache are never written.

The cache (beside the repo archives, ``$XDG_CACHE_HOME/kfctl/repos``)::

    remote/files/<sha256>    a remote file, named by its content
    remote/git/<commit>/     a git commit's whole tree, named by its commit id

A cached entry is used only when the lock pins it (a git URL names a tag or
branch, which can move; the lock says which commit it meant), and is checked
against the lock's sha256 each time (a tree by a digest of its paths, modes
and contents). Mirrors (:mod:`kfctl.repos.mirrors`) change where a URL is
fetched from, never what it is pinned as.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from kfctl.repos import git as gitcli
from kfctl.repos.download import Downloaded, download
from kfctl.repos.errors import FetchError, RepoError
from kfctl.repos.extract import check_links, extract
from kfctl.repos.lock import Pin
from kfctl.repos.mirrors import Mirrors
from kfctl.repos.remote import RemoteRef, Use, rewrite, scan
from kfctl.repos.source import DEFAULT_SETTINGS, Settings

log = logging.getLogger(__name__)

OFFLINE_HINT = ("run the command once without --offline, with network access or a mirror (KFCTL_MIRRORS or "
                "mirrors.yaml beside the KfDef): kfctl fetches them into its cache and pins them in the lock file "
                "beside the KfDef; later runs work offline")


_MIRROR_HINT = ("check the network and the URL, or map it to a reachable mirror (KFCTL_MIRRORS or mirrors.yaml "
                "beside the KfDef)")


class RemoteProblems(RepoError):
    """Several remote resources failed the same way; ``items`` names each one, so they can be merged."""

    def __init__(self, items: list[str], *, label: str = "", hint: str | None = None) -> None:
        self.items = list(items)
        self.label = label
        super().__init__((f"{label}: " if label else "") + self.headline(len(self.items)) + ":"
                         + "".join(f"\n  - {item}" for item in self.items), hint=hint)

    @staticmethod
    def headline(count: int) -> str:
        return f"{count} remote resource{'s' if count != 1 else ''} could not be fetched"

    def merged(self, others: Sequence[RemoteProblems]) -> RemoteProblems:
        """One error of this kind naming the items of all of ``others`` (each with its application)."""
        items = [item if not other.label else f"{item} [{other.label}]" for other in others for item in other.items]
        hints = "; ".join(dict.fromkeys(o.hint for o in others if o.hint))
        return type(self)(list(dict.fromkeys(items)), hint=hints or None)


class NotCached(RemoteProblems):
    """``--offline`` and something the build needs is not in the cache; ``items`` names each one."""

    def __init__(self, items: list[str], *, label: str = "", hint: str | None = None) -> None:
        super().__init__(items, label=label, hint=OFFLINE_HINT)

    @staticmethod
    def headline(count: int) -> str:
        return f"--offline, and {count} URL{'s are' if count != 1 else ' is'} not in kfctl's cache"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def tree_sha256(root: Path) -> str:
    """A digest of a tree: each entry's relative path, type/mode and content (or link target), sorted."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        here = Path(folder)
        rel_folder = here.relative_to(root).as_posix()
        for name in sorted(files + [d for d in dirs if (here / d).is_symlink()]):
            path = here / name
            rel = name if rel_folder == "." else f"{rel_folder}/{name}"
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                line = f"l {rel} {os.readlink(path)}"
            else:
                line = f"{'x' if mode & stat.S_IXUSR else 'f'} {rel} {file_sha256(path)}"
            digest.update(line.encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest()


@dataclass(frozen=True)
class Fetched:
    """A remote reference made local: ``local`` is the cached file, or the cached tree of the whole repo."""

    remote: RemoteRef
    pin: Pin
    local: Path


@dataclass
class Prepared:
    """Everything one build reaches: the trees that name remote resources, and what each resolved to."""

    root: Path
    #: tree root -> the remote references its kustomizations make (root first)
    uses: dict[Path, list[Use]]
    fetched: dict[str, Fetched]

    @property
    def needed(self) -> bool:
        return any(self.uses.values())

    @property
    def key(self) -> list[tuple[str, str, str]]:
        """What the build depends on beyond the repo tree: (url, commit, sha256) of each remote resource."""
        return sorted((u, f.pin.commit, f.pin.sha256) for u, f in self.fetched.items())

    def materialize(self, work: Path, copy_tree: Callable[[Path, Path], None], root_copy: Path | None = None) -> Path:
        """Copy each tree that names remote resources into ``work`` and point its references at local paths.

        ``root_copy`` is a copy of the repo tree already made (for parameters); the
        returned path is the repo tree's copy. Git trees that name no remote
        resource are used from the cache in place; files are linked beside the
        kustomization naming them (kustomize reads files only inside a
        kustomization's folder), folders are named by relative paths (kustomize
        refuses absolute ones).
        """
        location: dict[Path, Path] = {}
        for index, (tree, uses) in enumerate(self.uses.items()):
            if not uses:
                continue
            if tree == self.root and root_copy is not None:
                location[tree] = root_copy
                continue
            dest = work / ("repo" if tree == self.root else f"remote-{index}")
            copy_tree(tree, dest)
            location[tree] = dest
        for tree, uses in self.uses.items():
            by_file: dict[Path, list[Use]] = {}
            for use in uses:
                by_file.setdefault(use.file, []).append(use)
            for file, file_uses in by_file.items():
                copied = location[tree] / file.relative_to(tree)
                folder = copied.parent
                replacements: dict[str, str] = {}
                for use in file_uses:
                    got = self.fetched[use.remote.url]
                    if use.remote.kind == "git":
                        target = location.get(got.local, got.local) / use.remote.path
                        replacements[use.remote.url] = os.path.relpath(target, folder)
                    else:
                        base = PurePosixPath(use.remote.url.split("?", 1)[0]).name or "resource.yaml"
                        name = f"kfctl-remote-{got.pin.sha256[:12]}-{base}"
                        if not (folder / name).exists():
                            _link_or_copy(got.local, folder / name)
                        replacements[use.remote.url] = name
                rewrite(copied, replacements)
        return location.get(self.root, self.root)


def _via(url: str, source: str) -> str:
    return url if source == url else f"{url} (via {source})"


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


@dataclass
class Remotes:
    """Fetches remote resources for the builds of one command; ``used`` is what the lock file should hold after."""

    cache_dir: Path | None = None
    #: the lock file's pins by URL
    locked: dict[str, Pin] = field(default_factory=dict)
    mirrors: Mirrors = field(default_factory=Mirrors)
    offline: bool = False
    settings: Settings = DEFAULT_SETTINGS
    progress: bool = False
    #: where the lock file is (for messages)
    lock_file: Path | None = None
    #: the pins of every remote resource the builds so far reached
    used: dict[str, Pin] = field(default_factory=dict, init=False)
    _commits: dict[tuple[str, str], str] = field(default_factory=dict, init=False, repr=False)
    _digests: dict[Path, str] = field(default_factory=dict, init=False, repr=False)
    _prepared: dict[tuple[Path, tuple[Path, ...]], Prepared] = field(default_factory=dict, init=False, repr=False)

    # -- cache -----------------------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        if self.cache_dir is not None:
            return self.cache_dir
        from kfctl.repos.fetch import default_cache_dir

        return default_cache_dir()

    def _folder(self, *parts: str) -> Path:
        path = self.root.joinpath("remote", *parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _workspace(self) -> Path:
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=tmp, prefix="remote-"))

    def _tree_digest(self, tree: Path) -> str:
        if tree not in self._digests:
            self._digests[tree] = tree_sha256(tree)
        return self._digests[tree]

    # -- one reference ------------------------------------------------------------------------------------

    def _lock_name(self) -> str:
        return str(self.lock_file) if self.lock_file is not None else "the lock file"

    def _file(self, remote: RemoteRef, label: str) -> Fetched | None:
        pin = self.locked.get(remote.url)
        files = self._folder("files")
        if pin is not None:
            cached = files / pin.sha256
            if cached.is_file() and file_sha256(cached) == pin.sha256:
                return Fetched(remote, Pin(remote.url, pin.sha256), cached)
        if self.offline:
            return None
        source = self.mirrors.rewrite(remote.url)
        work = self._workspace()
        try:
            if source.startswith("file://"):  # a mirror on local disk (an air-gapped install's copy)
                local = Path(urllib.request.url2pathname(urllib.parse.urlsplit(source).path))
                try:
                    shutil.copyfile(local, work / "file")
                except OSError as exc:
                    raise FetchError(f"{_via(remote.url, source)}: cannot read {local}: {exc.strerror or exc}") from exc
                got = Downloaded(file_sha256(work / "file"), (work / "file").stat().st_size)
            else:
                got = download(source, work / "file", label=_via(remote.url, source),
                               settings=self.settings, progress=self.progress)
            if pin is not None and got.sha256 != pin.sha256:
                raise RepoError(f"{remote.url}: sha256 {got.sha256} of what {source} serves is not the "
                                f"{pin.sha256} that {self._lock_name()} pins",
                                hint="if the file changed on purpose, delete its entry from the lock file and "
                                     "run kfctl again; otherwise do not use it")
            final = files / got.sha256
            os.replace(work / "file", final)
            log.info("%s: fetched %s (%d bytes)", label, source, got.size)
            return Fetched(remote, Pin(remote.url, got.sha256), final)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _git(self, remote: RemoteRef, label: str) -> Fetched | None:
        pin = self.locked.get(remote.url)
        trees = self._folder("git")
        commit = pin.commit if pin is not None and pin.commit else self._commits.get((remote.repo, remote.ref))
        if commit is not None and (trees / commit).is_dir():
            digest = self._tree_digest(trees / commit)
            if pin is None or digest == pin.sha256:
                return self._git_result(remote, commit, digest, trees / commit)
            log.warning("%s: cached tree %s does not match %s; fetching it again", label, trees / commit,
                        self._lock_name())
        if self.offline:
            return None
        source = self.mirrors.rewrite(remote.repo)
        work = self._workspace()
        try:
            got_commit, tar = gitcli.fetch_tree(source, remote.ref, work,
                                                what=_via(remote.url, remote.url if source == remote.repo else source))
            if pin is not None and pin.commit and got_commit != pin.commit:
                raise RepoError(f"{remote.url}: {remote.ref or 'HEAD'} of {source} is now commit {got_commit}, "
                                f"not the {pin.commit} that {self._lock_name()} pins",
                                hint="if the tag moved on purpose, delete its entries from the lock file and run "
                                     "kfctl again; otherwise do not use it")
            final = trees / got_commit
            if not final.is_dir() or (pin is not None and self._tree_digest(final) != pin.sha256):
                unpacked = work / "unpacked"
                unpacked.mkdir()
                extract(tar, unpacked, label=f"{label}: {remote.repo}", settings=self.settings)
                check_links(unpacked, label=f"{label}: {remote.repo}", archive=tar)
                if final.is_dir():  # a damaged entry: moved aside (and removed with the workspace), then replaced
                    os.rename(final, work / "damaged")
                try:
                    os.rename(unpacked, final)
                except OSError:
                    if not final.is_dir():
                        raise
                self._digests.pop(final, None)
            digest = self._tree_digest(final)
            if pin is not None and digest != pin.sha256:
                raise RepoError(f"{remote.url}: commit {got_commit} of {source} has tree sha256 {digest}, not the "
                                f"{pin.sha256} that {self._lock_name()} pins",
                                hint="the mirror or the cache serves other content; check it")
            log.info("%s: fetched %s at %s (commit %s)", label, source, remote.ref or "HEAD", got_commit)
            return self._git_result(remote, got_commit, digest, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _git_result(self, remote: RemoteRef, commit: str, digest: str, tree: Path) -> Fetched:
        self._commits[(remote.repo, remote.ref)] = commit
        pin = Pin(remote.url, digest, git=remote.repo, ref=remote.ref, path=remote.path, commit=commit)
        return Fetched(remote, pin, tree)

    # -- a build ------------------------------------------------------------------------------------------

    def prepare(self, targets: list[Path], root: Path, *, label: str) -> Prepared:
        """Find and fetch every remote resource building ``targets`` in ``root`` reaches (memoized)."""
        key = (root, tuple(targets))
        if key in self._prepared:
            return self._prepared[key]
        uses: dict[Path, list[Use]] = {root: []}
        fetched: dict[str, Fetched] = {}
        missing: dict[str, str] = {}
        failures: dict[str, str] = {}
        hints: list[str | None] = []
        queue: list[tuple[Path, list[Path]]] = [(root, list(targets))]
        walked: set[tuple[Path, Path]] = set()
        while queue:
            tree, starts = queue.pop(0)
            for use in scan(starts, tree):
                known = uses.setdefault(tree, [])
                if use not in known:
                    known.append(use)
                url = use.remote.url
                where = f"{url} (in {use.where(root if tree == root else tree)})"
                if url in fetched or url in missing or url in failures:
                    got = fetched.get(url)
                else:
                    try:
                        got = (self._git if use.remote.kind == "git" else self._file)(use.remote, label)
                    except RepoError as exc:
                        failures[url] = f"{exc.message} (in {use.where(root if tree == root else tree)})"
                        hints.append(_MIRROR_HINT if isinstance(exc, FetchError) else exc.hint)
                        continue
                    if got is None:
                        reason = "pinned, not in the cache" if url in self.locked else f"not in {self._lock_name()}"
                        missing[url] = f"{where}: {reason}"
                        continue
                    fetched[url] = got
                if got is None or use.remote.kind != "git":
                    continue
                folder = got.local / use.remote.path
                if not folder.is_dir():
                    failures.setdefault(url, f"{where}: commit {got.pin.commit} of {use.remote.repo} has no folder "
                                             f"{use.remote.path!r}")
                    hints.append("check the folder after '//' (or after ORG/REPO) in the URL")
                    continue
                if (got.local, folder) not in walked:
                    walked.add((got.local, folder))
                    queue.append((got.local, [folder]))
        if missing:
            raise NotCached(list(missing.values()), label=label)
        if failures:
            raise RemoteProblems(list(failures.values()), label=label,
                                 hint="; ".join(dict.fromkeys(h for h in hints if h)) or None)
        for url, got in fetched.items():
            self.used[url] = got.pin
        prepared = Prepared(root, uses, fetched)
        self._prepared[key] = prepared
        return prepared


def refuse_remotes(targets: list[Path], root: Path, *, label: str) -> None:
    """For builds without a :class:`Remotes`: every remote reference is an error, all named at once."""
    uses = scan(targets, root)
    if uses:
        seen = dict.fromkeys(f"{u.remote.url} (in {u.where(root)})" for u in uses)
        raise NotCached(list(seen), label=label)
