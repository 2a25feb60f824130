"""The lock file: the remote resources of a KfDef's repos, pinned by commit and sha256.

``kfctl`` writes it beside the KfDef (``kfdef.yaml`` -> ``kfdef.lock.yaml``)
the first time it fetches a remote kustomize resource, and rewrites it only
when the set of remote resources changes; the KfDef itself is never written.
Later builds check every cached or fetched resource against it: a tag that now
points at another commit, or content with another sha256, is refused (exit 2)
instead of silently deploying something else. Commit it with the KfDef::

    # Written by kfctl: ...
    apiVersion: kfctl.kubeflow.org/v1alpha1
    kind: KfDefLock
    remoteResources:
    - url: https://github.com/kubernetes-sigs/lws//config/default?ref=v0.7.0
      git: https://github.com/kubernetes-sigs/lws
      ref: v0.7.0
      path: config/default
      commit: 6e5f3c0d...        # what the ref named when it was first fetched
      sha256: 3f1a...            # of the commit's whole tree (paths, modes, contents)
    - url: https://github.com/kubernetes-sigs/jobset/releases/download/v0.10.1/manifests.yaml
      sha256: 41ad53ab...        # of the file's bytes

To accept a moved tag or a new file, delete its entry (or the file) and run
kfctl once with network access (or a mirror).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kfctl.errors import InputError

API_VERSION = "kfctl.kubeflow.org/v1alpha1"
KIND = "KfDefLock"
_HEX = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Pin:
    """One remote resource as fetched: ``commit`` is empty for a plain file."""

    url: str
    sha256: str
    git: str = ""
    ref: str = ""
    path: str = ""
    commit: str = ""

    def as_dict(self) -> dict[str, str]:
        if not self.git:
            return {"url": self.url, "sha256": self.sha256}
        return {"url": self.url, "git": self.git, "ref": self.ref, "path": self.path, "commit": self.commit,
                "sha256": self.sha256}


def lock_path(kfdef_path: Path) -> Path:
    """``kfdef.yaml`` -> ``kfdef.lock.yaml``, beside it."""
    path = Path(kfdef_path)
    return path.with_name(f"{path.stem}.lock.yaml")


def _bad(path: Path, what: str) -> InputError:
    return InputError(f"{path}: {what}",
                      hint="kfctl writes this file; delete it (or the broken entry) and run kfctl once with network "
                           "access to pin the remote resources again")


def read_lock(path: Path) -> dict[str, Pin]:
    """The pins in the lock file at ``path`` by URL ({} when it does not exist)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(path, f"cannot read the lock file: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _bad(path, f"the lock file is not YAML: {exc}") from exc
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise _bad(path, f"not a kfctl lock file (kind {KIND} expected)")
    entries = data.get("remoteResources")
    entries = [] if entries is None else entries
    if not isinstance(entries, list):
        raise _bad(path, "remoteResources must be a list")
    pins: dict[str, Pin] = {}
    for index, entry in enumerate(entries):
        where = f"remoteResources[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            raise _bad(path, f"{where}: an entry needs a url")
        sha = str(entry.get("sha256", ""))
        if not _SHA256.match(sha):
            raise _bad(path, f"{where} ({entry['url']}): sha256 must be 64 lowercase hex digits")
        git = entry.get("git") or ""
        commit = str(entry.get("commit") or "")
        if git and not _HEX.match(commit):
            raise _bad(path, f"{where} ({entry['url']}): commit must be a full commit id")
        pins[entry["url"]] = Pin(entry["url"], sha, str(git), str(entry.get("ref") or ""),
                                 str(entry.get("path") or ""), commit)
    return pins


def render(pins: dict[str, Pin], kfdef_name: str) -> str:
    doc: dict[str, Any] = {"apiVersion": API_VERSION, "kind": KIND,
                           "remoteResources": [pins[u].as_dict() for u in sorted(pins)]}
    head = (f"# Written by kfctl: the remote kustomize resources of {kfdef_name}'s repos, pinned by commit and\n"
            "# sha256. Later builds are checked against it and use kfctl's cache offline. Keep it beside the\n"
            "# KfDef; delete an entry to accept a moved tag or a changed file.\n")
    return head + yaml.safe_dump(doc, sort_keys=False, width=200)


def write_lock(path: Path, pins: dict[str, Pin], kfdef_name: str) -> bool:
    """Write the lock (atomically) unless it already holds exactly ``pins``; True if written."""
    if read_lock(path) == pins and path.exists():
        return False
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(render(pins, kfdef_name))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
