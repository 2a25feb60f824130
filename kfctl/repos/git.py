"""Fetching one commit of a git repository with the ``git`` command line, as a tar of its tree.

kfctl uses the ``git`` program (``apt install git``; ``$KFCTL_GIT`` names
another binary) rather than a Python git library: it speaks every transport
and credential helper a user's git is set up for (https, ssh, an internal
mirror), and kustomize itself runs ``git`` for the same references. Only three
commands run, in a private bare repository that is thrown away::

    git init --bare
    git fetch --depth 1 --no-tags URL REF     # one commit, no history
    git archive COMMIT                        # its tree, unpacked by kfctl's safe extractor

``REF`` is a tag, a branch or a full commit id (the server must allow
fetching a commit by id, as GitHub does); no ref means the remote's HEAD.
Prompts are disabled (``GIT_TERMINAL_PROMPT=0``, ssh in batch mode unless
``GIT_SSH_COMMAND`` is set), so a URL that asks for a password fails instead of
hanging; the user's git configuration (proxies, CA bundles, credential helpers,
``url.<base>.insteadOf``) applies; hooks and templates are not used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from kfctl.repos.errors import FetchError

ENV_OVERRIDE = "KFCTL_GIT"
TIMEOUT = 600.0


def find_git() -> str:
    override = os.environ.get(ENV_OVERRIDE)
    if override:
        return override
    found = shutil.which("git")
    if found is None:
        raise FetchError("kfctl needs git to fetch the remote git resources of a repo, and no `git` is on PATH",
                         hint="install git (`apt-get install git`), or set KFCTL_GIT to the git binary")
    return found


def _environ() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    if "GIT_SSH_COMMAND" not in env and "GIT_SSH" not in env:
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"  # no password or host-key prompt to hang on
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        env.pop(name, None)
    return env


def _verb(args: list[str]) -> str:
    return next((a for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or args[i - 1] != "-c")), "")


def _run(git: str, args: list[str], *, what: str, cwd: Path, stdout: int | None = None) -> str:
    try:
        done = subprocess.run([git, *args], cwd=cwd, env=_environ(), stdin=subprocess.DEVNULL,
                              stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise FetchError(f"{what}: git {_verb(args)} did not finish within {TIMEOUT:g}s") from exc
    except OSError as exc:
        raise FetchError(f"{what}: cannot run {git}: {exc.strerror or exc}",
                         hint="install git, or set KFCTL_GIT to the git binary") from exc
    if done.returncode != 0:
        text = done.stderr.decode("utf-8", "replace").strip()
        raise FetchError(f"{what}: git {_verb(args)} failed: {text or f'exit code {done.returncode}'}")
    return (done.stdout or b"").decode("utf-8", "replace").strip() if stdout is None else ""


def fetch_tree(url: str, ref: str, work: Path, *, what: str) -> tuple[str, Path]:
    """Fetch ``ref`` of the repository at ``url``; return its commit id and a tar of its tree (inside ``work``)."""
    git = find_git()
    bare = work / "git"
    _run(git, ["init", "--bare", "--quiet", "--template=", str(bare)], what=what, cwd=work)
    _run(git, ["-c", "core.hooksPath=/dev/null", "fetch", "--quiet", "--depth", "1", "--no-tags", url,
               ref or "HEAD"], what=what, cwd=bare)
    commit = _run(git, ["rev-parse", "--verify", "FETCH_HEAD^{commit}"], what=what, cwd=bare)
    tar = work / "tree.tar"
    with tar.open("wb") as out:
        _run(git, ["archive", "--format=tar", commit], what=what, cwd=bare, stdout=out.fileno())
    return commit, tar
