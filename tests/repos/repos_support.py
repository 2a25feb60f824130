"""Helpers for the kfctl.repos tests: upstream test data, repo values, and a loopback HTTP server.

The upstream kubeflow/manifests tarballs are test data in ``<repo root>/../shared/upstream``;
they are served over HTTP on 127.0.0.1 so the real download path runs, and never copied.
"""

from __future__ import annotations

import http.server
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kfctl.config.model import Repo
from kfctl.config.selection import RepoApplication
from kfctl.config.yamlread import Location
from kfctl.repos import Settings
from shared_data import UPSTREAM, upstream_tarball  # noqa: F401  (UPSTREAM re-exported)

REPO_ROOT = Path(__file__).resolve().parents[2]
SHA = {
    "v1.9.1": "2d4e0549536eb4922acdeeb1cf9028e1fadd56f8f5cf5f93a8064b8a8b9c6778",
    "v1.10.2": "71df684b51666b0615766efc3f3a88193290d0e50f7479a6cd92c762c77c47ee",
}
#: fast retries so failure tests take milliseconds
QUICK = Settings(attempts=3, backoff=0.01, connect_timeout=2, read_timeout=5)


def tarball(version: str) -> Path:
    return upstream_tarball(version)


def make_repo(uri: str, sha256: str | None = None, *, name: str = "manifests", file: str = "kfdef.yaml",
              line: int = 7) -> Repo:
    return Repo(name, uri, sha256, Location(file, line, 5, "spec.repos[0].name"))


def make_app(repo: Repo, path: str, *, name: str = "app", overlays: tuple[str, ...] = (),
             parameters: dict | None = None) -> RepoApplication:
    return RepoApplication(name, repo, path, overlays, parameters or {})


@dataclass
class Server:
    """A loopback HTTP server: /files/<name> serves ``files``; /status/<code>; /flaky/<n>/<name> fails n times."""

    files: dict[str, Path] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    base: str = ""
    _httpd: http.server.ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


def _handler(server: Server) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send_file(self, name: str, *, cut: bool = False) -> None:
            path = server.files.get(name)
            if path is None:
                self.send_error(404, "Not Found")
                return
            data = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/gzip")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2] if cut else data)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            parts = self.path.strip("/").split("/")
            server.hits[self.path] = server.hits.get(self.path, 0) + 1
            if parts[0] == "files" and len(parts) == 2:
                self._send_file(parts[1])
            elif parts[0] == "redirect" and len(parts) == 2:
                self.send_response(302)
                self.send_header("Location", f"/files/{parts[1]}")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif parts[0] == "status" and len(parts) == 2:
                self.send_error(int(parts[1]))
            elif parts[0] == "flaky" and len(parts) == 3:
                if server.hits[self.path] <= int(parts[1]):
                    self.send_error(503, "Service Unavailable")
                else:
                    self._send_file(parts[2])
            elif parts[0] == "cut" and len(parts) == 2:
                self._send_file(parts[1], cut=True)
                self.close_connection = True
            else:
                self.send_error(404, "Not Found")

    return Handler


def start_server(files: dict[str, Path] | None = None) -> Server:
    server = Server(files=dict(files or {}))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    server._httpd = httpd
    server.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server
