"""Remote kustomize references: what a URL in a kustomization names, where a tree uses one, and rewriting it.

Since Kubeflow 26.03, upstream's kustomizations list resources from other
repositories, which ``kustomize build`` fetches itself::

    resources:
    - https://github.com/argoproj/argo-workflows/manifests/base/workflow-controller?ref=v3.7.3   # git
    - https://github.com/kubernetes-sigs/lws//config/default?ref=v0.7.0                           # git
    - https://github.com/kubernetes-sigs/jobset/releases/download/v0.10.1/manifests.yaml          # a file

kfctl builds offline, so it finds these first (:func:`scan`), fetches them
into its cache (:mod:`kfctl.repos.remotes`) and rewrites the references to
local paths in its private build copy (:func:`rewrite`); kustomize then
never reaches the network. Which URL is git and which is a plain file follows
kustomize's own repo-spec syntax (``api/internal/git/repospec.go``), decided
from the text instead of kustomize's "GET it, and if that fails try git":

* git: a ``ref=``/``version=`` (or ``submodules=``/``timeout=``) query, a
  ``//`` separating repo and folder, a ``.git`` path segment, an ssh/git URL
  (``git@host:org/repo``, ``ssh://``, ``git::``), or a ``github.com`` URL whose
  last segment is not a ``.yaml``/``.yml``/``.json`` file (kustomize reads
  ``github.com/ORG/REPO/PATH`` as a repo and a folder in it);
* anything else over http(s) is a file, fetched as is.

Without ``//`` or ``.git`` a github.com repo is its first two path segments,
as in kustomize. Git submodules are not fetched (kustomize fetches them;
upstream Kubeflow's remote resources have none).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from kfctl.repos import params as kust
from kfctl.repos.errors import RepoPathError

#: the kustomization fields whose entries may be folders or remote references
FIELDS = ("resources", "bases", "components", "generators", "transformers", "validators")
_GIT_QUERY = ("ref", "version", "submodules", "timeout")
_FILE_SUFFIXES = (".yaml", ".yml", ".json")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class RemoteRef:
    """One remote reference: ``kind`` "git" (``repo`` at ``ref``, folder ``path``) or "file" (``url`` itself)."""

    url: str
    kind: str
    repo: str = ""
    ref: str = ""
    path: str = ""

    def describe(self) -> str:
        if self.kind == "file":
            return self.url
        return f"{self.repo} at {self.ref or 'its default branch'}, folder {self.path or '/'}"


@dataclass(frozen=True)
class Use:
    """Where a kustomization names a remote reference: its file, line, field and entry text."""

    file: Path
    line: int
    field: str
    remote: RemoteRef

    def where(self, root: Path) -> str:
        try:
            shown = self.file.relative_to(root)
        except ValueError:
            shown = self.file
        return f"{shown}:{self.line}" if self.line else str(shown)


def is_remote(text: str) -> bool:
    """True for an entry kustomize would fetch rather than read from the tree."""
    return "://" in text or text.startswith(("github.com/", "gitlab.com/", "git@", "gh:", "git::"))


def _split_query(url: str) -> tuple[str, dict[str, str]]:
    if "?" not in url:
        return url, {}
    base, _, query = url.partition("?")
    return base, {k: v for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)}


def parse_remote(text: str) -> RemoteRef:
    """The :class:`RemoteRef` an entry names (``is_remote(text)`` must hold); RepoPathError if unreadable."""
    url = text.strip()
    raw = url.removeprefix("git::")
    base, query = _split_query(raw)
    ref = query.get("ref") or query.get("version") or ""
    if base.startswith("gh:"):
        base = "https://github.com/" + base[3:]
    elif base.startswith(("github.com/", "gitlab.com/")):
        base = "https://" + base
    scp = re.match(r"^([\w.-]+@[\w.-]+):(?!//)(.*)$", base)  # git@github.com:org/repo
    if scp:
        host_part, path = scp.group(1) + ":", scp.group(2)
    else:
        parts = urllib.parse.urlsplit(base)
        if not parts.scheme or not parts.netloc:
            raise RepoPathError(f"cannot read the remote reference {url!r}",
                                hint="kustomize remote references are https/ssh URLs or ORG/REPO git specs")
        host_part, path = f"{parts.scheme}://{parts.netloc}/", parts.path.lstrip("/")
    scheme = urllib.parse.urlsplit(base).scheme.lower() if not scp else "ssh"
    git_marked = (bool(set(query) & set(_GIT_QUERY)) or "//" in path or text.strip().startswith("git::")
                  or scheme in ("ssh", "git") or bool(scp) or re.search(r"\.git(/|$)", path) is not None)
    host = urllib.parse.urlsplit(base).hostname if not scp else ""
    last = PurePosixPath(path).name.lower()
    if not git_marked and not (host == "github.com" and not last.endswith(_FILE_SUFFIXES)):
        if scheme not in ("http", "https"):
            raise RepoPathError(f"kfctl cannot fetch the remote reference {url!r} ({scheme}:// URL)",
                                hint="vendor it into the repo, or use an https URL")
        return RemoteRef(url=url, kind="file")
    if "//" in path:
        repo_path, _, sub = path.partition("//")
    elif (m := re.search(r"\.git(/|$)", path)) is not None:
        repo_path, sub = path[: m.start() + 4], path[m.end():]
    else:
        segments = [s for s in path.split("/") if s]
        if len(segments) < 2:
            raise RepoPathError(f"cannot tell the repository in the remote reference {url!r}",
                                hint="write it as https://HOST/ORG/REPO//FOLDER?ref=TAG")
        repo_path, sub = "/".join(segments[:2]), "/".join(segments[2:])
    sub = sub.strip("/")
    if ".." in PurePosixPath(sub).parts:
        raise RepoPathError(f"the remote reference {url!r} names a folder outside its repository")
    return RemoteRef(url=url, kind="git", repo=host_part + repo_path.strip("/"), ref=ref, path=sub)


def _entries(data: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for field in FIELDS:
        value = data.get(field)
        for entry in value if isinstance(value, list) else []:
            if isinstance(entry, str) and "\n" not in entry:
                out.append((field, entry))
    return out


def _line_of(text: str, entry: str) -> int:
    pattern = re.compile(r"^\s*-\s*['\"]?" + re.escape(entry) + r"['\"]?\s*(#.*)?$")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return 0


def scan(targets: list[Path], root: Path) -> list[Use]:
    """Every remote reference that building ``targets`` (folders in the tree ``root``) reaches, in walk order."""
    uses: list[Use] = []
    for folder in kust.reachable(targets, root):
        file = kust.kustomization_file(folder)
        assert file is not None
        data = kust.read_kustomization(folder)
        remote = [(f, e) for f, e in _entries(data) if is_remote(e)]
        if not remote:
            continue
        text = file.read_text(encoding="utf-8")
        for field, entry in remote:
            try:
                ref = parse_remote(entry)
            except RepoPathError as exc:
                raise RepoPathError(f"{file}: {exc}", hint=exc.hint) from exc
            uses.append(Use(file, _line_of(text, entry), field, ref))
    return uses


def rewrite(file: Path, replacements: dict[str, str]) -> None:
    """Replace remote entries of the kustomization ``file`` by local paths (a new file: hard links stay intact).

    List items are replaced line by line, so comments and formatting stay as
    they were; a kustomization that writes its lists inline is dumped again.
    """
    text = file.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    for number, line in enumerate(lines):
        for entry, local in replacements.items():
            pattern = r"^(\s*-\s*)(['\"]?)" + re.escape(entry) + r"\2(\s*(#.*)?)$"
            match = re.match(pattern, line.rstrip("\r\n"))
            if match:
                ending = line[len(line.rstrip("\r\n")):]
                lines[number] = f"{match.group(1)}{local}{match.group(3)}{ending}"
                break
    new = "".join(lines)
    data = yaml.load(new, Loader=_Loader)
    if isinstance(data, dict) and any(e in replacements for _, e in _entries(data)):
        for field in FIELDS:
            value = data.get(field)
            if isinstance(value, list):
                data[field] = [replacements.get(v, v) if isinstance(v, str) else v for v in value]
        new = yaml.safe_dump(data, sort_keys=False)
    tmp = file.with_name(f".kfctl-{os.getpid()}-{file.name}")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, file)
