"""Fixtures for kfctl.repos: a private cache per test, a loopback server, and upstream trees fetched once."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from repos_support import QUICK, SHA, Server, make_app, make_repo, start_server, tarball

from kfctl.repos import Kustomize, build_application, fetch_repo, find_kustomize


@pytest.fixture
def server() -> Iterator[Server]:
    srv = start_server({f"{v}.tar.gz": tarball(v) for v in SHA})
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own XDG_CACHE_HOME, so nothing reaches the user's cache."""
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


@pytest.fixture(scope="session")
def kustomize() -> Kustomize:
    return find_kustomize()


@dataclass(frozen=True)
class Fetched:
    """The upstream trees, fetched over loopback HTTP (sha256 checked) into a session cache, server stopped."""

    cache: Path
    urls: dict[str, str]
    trees: dict[str, Path]
    server_hits: dict[str, int]


@pytest.fixture(scope="session")
def fetched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fetched]:
    cache = tmp_path_factory.mktemp("session-cache")
    srv = start_server({f"{v}.tar.gz": tarball(v) for v in SHA})
    urls = {v: srv.url(f"files/{v}.tar.gz") for v in SHA}
    try:
        trees = {v: fetch_repo(make_repo(urls[v], SHA[v]), cache_dir=cache, settings=QUICK) for v in SHA}
    finally:
        srv.stop()
    yield Fetched(cache, urls, trees, dict(srv.hits))
    shutil.rmtree(cache, ignore_errors=True)


@pytest.fixture(scope="session")
def example_builds(fetched: Fetched, kustomize: Kustomize) -> dict[str, list[dict]]:
    """``kustomize build example`` of each fetched upstream tree, built once for the session."""
    return {v: build_application(make_app(make_repo(fetched.urls[v], SHA[v]), "example", name="kubeflow"),
                                 fetched.trees[v], kustomize=kustomize) for v in SHA}

