"""Upstream 26.03's remote resources, served on loopback: git repositories over smart HTTP and plain files.

``shared/upstream/remote/`` holds the content behind the URLs upstream's
kustomizations name (see its README). The tests make real git repositories of
the argo-workflows and lws folders (tagged as upstream tags them), serve them
with ``git http-backend`` (git's own smart-HTTP server, run as a CGI program)
and the JobSet release file as a plain file, all on 127.0.0.1 under
``/github/``. A mirror (``KFCTL_MIRRORS``) maps ``https://github.com/`` there,
so kfctl runs exactly the code a real URL runs (``git fetch`` over HTTP,
httpx), with only the host changed.
"""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import tarfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from shared_data import shared_path

GITHUB = "https://github.com/"
#: git repositories: path under github.com -> (tarball in shared/upstream/remote, its top folder, tag)
GIT_REPOS = {
    "argoproj/argo-workflows": ("argo-workflows-v3.7.3-manifests.tar.gz", "argo-workflows-3.7.3", "v3.7.3"),
    "kubernetes-sigs/lws": ("lws-v0.7.0-config.tar.gz", "lws-0.7.0", "v0.7.0"),
}
#: plain files: path under github.com -> file in shared/upstream/remote
FILES = {
    "kubernetes-sigs/jobset/releases/download/v0.10.1/manifests.yaml": "jobset-v0.10.1-manifests.yaml",
}
#: the five remote references upstream 26.03's example reaches
EXAMPLE_URLS = (
    "https://github.com/argoproj/argo-workflows/manifests/base/crds/minimal?ref=v3.7.3",
    "https://github.com/argoproj/argo-workflows/manifests/base/workflow-controller?ref=v3.7.3",
    "https://github.com/argoproj/argo-workflows/manifests/cluster-install-no-crds/workflow-controller-rbac?ref=v3.7.3",
    "https://github.com/kubernetes-sigs/jobset/releases/download/v0.10.1/manifests.yaml",
    "https://github.com/kubernetes-sigs/lws//config/default?ref=v0.7.0",
)

_GIT_ENV = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
            "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
            "GIT_AUTHOR_DATE": "2026-03-21T00:00:00Z", "GIT_COMMITTER_DATE": "2026-03-21T00:00:00Z",
            "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


def _git(*args: str, cwd: Path) -> str:
    env = {**os.environ, **_GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def make_git_repo(work: Path, content: Path, tag: str) -> str:
    """A git repository at ``work`` holding the files of ``content`` in one commit tagged ``tag``; its commit id."""
    shutil.copytree(content, work, dirs_exist_ok=True)
    _git("init", "--quiet", "--initial-branch=main", cwd=work)
    _git("add", "--all", cwd=work)
    _git("commit", "--quiet", "-m", tag, cwd=work)
    _git("tag", "-a", tag, "-m", tag, cwd=work)
    return _git("rev-parse", "HEAD", cwd=work)


def commit_again(work: Path, tag: str, file: str, text: str) -> str:
    """Change ``file`` in the repository at ``work``, commit, and move ``tag`` onto the new commit."""
    (work / file).write_text(text)
    _git("add", "--all", cwd=work)
    _git("commit", "--quiet", "-m", f"moved {tag}", cwd=work)
    _git("tag", "-f", "-a", tag, "-m", tag, cwd=work)
    return _git("rev-parse", "HEAD", cwd=work)


def make_upstream_repos(dest: Path) -> dict[str, str]:
    """The git repositories of GIT_REPOS under ``dest/<org>/<repo>`` (one tagged commit each); their commit ids."""
    commits = {}
    for name, (tarball, top, tag) in GIT_REPOS.items():
        unpack = dest / ".unpack" / name
        with tarfile.open(shared_path("upstream", "remote", tarball)) as tar:
            tar.extractall(unpack, filter="data")
        commits[name] = make_git_repo(dest / name, unpack / top, tag)
    shutil.rmtree(dest / ".unpack")
    return commits


@dataclass
class RemoteServer:
    """``/github/<org>/<repo>`` git repositories (smart HTTP) and ``/github/<path>`` files, on 127.0.0.1."""

    git_root: Path
    files: dict[str, Path]
    commits: dict[str, str]
    base: str = ""
    hits: dict[str, int] = field(default_factory=dict)
    _httpd: http.server.ThreadingHTTPServer | None = None

    @property
    def mirror(self) -> str:
        """The ``KFCTL_MIRRORS`` value that sends github.com here."""
        return f"{GITHUB}={self.base}/github/"

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


def _handler(server: RemoteServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _count(self, key: str) -> None:
            server.hits[key] = server.hits.get(key, 0) + 1

        def _git(self, path: str, query: str) -> None:
            self._count("git")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            env = {"PATH": os.environ.get("PATH", ""), "GIT_PROJECT_ROOT": str(server.git_root),
                   "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path, "QUERY_STRING": query,
                   "REQUEST_METHOD": self.command, "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                   "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1",
                   "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                   "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", "")}
            done = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
            head, _, payload = done.stdout.partition(b"\r\n\r\n")
            if not _:
                head, _, payload = done.stdout.partition(b"\n\n")
            status, headers = 200, []
            for line in head.decode("latin-1").splitlines():
                key, _, value = line.partition(":")
                if key.lower() == "status":
                    status = int(value.strip().split()[0])
                elif key:
                    headers.append((key, value.strip()))
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _route(self) -> None:
            path, _, query = self.path.partition("?")
            if not path.startswith("/github/"):
                self.send_error(404)
                return
            rest = path.removeprefix("/github")
            if rest.endswith(("/info/refs", "/git-upload-pack", "/git-receive-pack")):
                if rest.endswith("/git-receive-pack") or "service=git-receive-pack" in query:
                    self.send_error(403)
                    return
                self._git(rest, query)
                return
            file = server.files.get(rest.lstrip("/"))
            if file is None or self.command != "GET":
                self.send_error(404)
                return
            self._count(rest.lstrip("/"))
            data = file.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _route  # noqa: N815 (http.server's names)
        do_POST = _route  # noqa: N815

    return Handler


def start_remote_server(git_root: Path, files: dict[str, Path], commits: dict[str, str] | None = None) -> RemoteServer:
    """Serve the git repositories under ``git_root`` and ``files`` (path under github.com -> file) on 127.0.0.1."""
    server = RemoteServer(git_root=git_root, files=dict(files), commits=dict(commits or {}))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    server._httpd = httpd
    server.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def start_upstream_server(root: Path) -> RemoteServer:
    """Upstream 26.03's remote resources (``shared/upstream/remote``) as github.com serves them, on 127.0.0.1."""
    commits = make_upstream_repos(root)
    files = {path: shared_path("upstream", "remote", name) for path, name in FILES.items()}
    return start_remote_server(root, files, commits)
