"""Upstream 26.03's ``example``, unchanged, through a KfDef repo: its remote resources served on loopback.

The manifests archive and the remote resources behind upstream's URLs
(``shared/upstream/remote``: argo-workflows and lws as git repositories made
here, the JobSet release file) are served on 127.0.0.1 as github.com serves
them, and ``KFCTL_MIRRORS`` maps ``https://github.com/`` there: the KfDef names
the real URLs, and kfctl runs the code a real URL runs:
the first rendering fetches and pins, the second works with the server
stopped and with ``--offline``, and ``kfctl show --offline`` without a
cache names every URL, exit 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from remote_support import EXAMPLE_URLS, start_upstream_server

from kfctl.cli.main import cli
from kfctl.errors import EXIT_INPUT
from kfctl.pipeline import render_kfdef
from kfctl.repos.lock import read_lock
from shared_data import upstream_tarball

SHA = "63102b4c117d5cde5d1bd1318ce8c68e3a411c571efe5c259cb51244723e2e9e"
ARCHIVE = "https://github.com/kubeflow/manifests/archive/refs/tags/26.03.tar.gz"
#: upstream/README.md: `kustomize build example` of 26.03 with its remote resources
EXAMPLE_OBJECTS = 675


def kfdef(folder: Path, uri: str, path: str = "example") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / "kfdef.yaml"
    file.write_text(f"""apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata: {{name: upstream, namespace: kubeflow}}
spec:
  repos:
  - name: manifests
    uri: {uri}
    sha256: {SHA}
  applications:
  - name: kubeflow
    kustomizeConfig:
      repoRef: {{name: manifests, path: {path}}}
""")
    return file


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    """The remote resources and the 26.03 archive on loopback, as github.com serves them."""
    tarball = upstream_tarball("26.03")
    server = start_upstream_server(tmp_path_factory.mktemp("github"))
    server.files["kubeflow/manifests/archive/refs/tags/26.03.tar.gz"] = tarball
    yield server
    server.stop()


def show(runner, file: Path, *extra: str):
    return runner.invoke(cli, ["show", "-f", str(file), *extra])


def rendered(file: Path, **kw) -> list[dict]:
    _, rendering = render_kfdef(file, **kw)
    return [r.to_dict() for r in rendering.resources]


def test_example_unchanged_fetches_pins_and_then_builds_from_the_cache(upstream, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("KFCTL_MIRRORS", upstream.mirror)
    file = kfdef(tmp_path / "site", ARCHIVE)
    original = file.read_bytes()

    built = rendered(file)
    assert len(built) == EXAMPLE_OBJECTS
    kinds = {(o["kind"], o["metadata"]["name"]) for o in built}
    assert ("CustomResourceDefinition", "workflows.argoproj.io") in kinds  # argo, over git
    assert ("Deployment", "workflow-controller") in kinds
    assert ("CustomResourceDefinition", "jobsets.jobset.x-k8s.io") in kinds  # the JobSet release file
    assert file.read_bytes() == original  # the KfDef is never written
    pins = read_lock(tmp_path / "site" / "kfdef.lock.yaml")
    assert sorted(pins) == sorted(u for u in EXAMPLE_URLS if "lws" not in u)  # lws: only trainer's data-cache
    argo = [p for u, p in pins.items() if "argo-workflows" in u]
    assert {p.commit for p in argo} == {upstream.commits["argoproj/argo-workflows"]}
    assert pins[EXAMPLE_URLS[3]].sha256 == "41ad53ab43555e4adc92b3e59c01d1cb1c77bf7ce12737375db134ed4d7c219e"
    lock_text = (tmp_path / "site" / "kfdef.lock.yaml").read_text()
    hits = dict(upstream.hits)
    assert hits["git"] > 0 and hits["kubeflow/manifests/archive/refs/tags/26.03.tar.gz"] == 1

    # as on a machine without network: no mirror, so github.com itself would be asked, and is not
    monkeypatch.delenv("KFCTL_MIRRORS")
    again = rendered(file)
    assert again == built
    assert upstream.hits == hits
    assert (tmp_path / "site" / "kfdef.lock.yaml").read_text() == lock_text  # not rewritten
    assert rendered(file, offline=True) == built


def test_offline_without_a_cache_names_every_url(upstream, runner, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("KFCTL_MIRRORS", raising=False)
    local = kfdef(tmp_path / "local", str(upstream_tarball("26.03")))  # the archive is local: its remotes show
    result = show(runner, local, "--offline")
    assert result.exit_code == EXIT_INPUT
    named = [u for u in EXAMPLE_URLS if u in result.stderr]
    assert named == [u for u in EXAMPLE_URLS if "lws" not in u], result.stderr
    assert "--offline, and 4 URLs are not in kfctl's cache" in result.stderr
    assert "without --offline" in result.stderr
    assert not (tmp_path / "local" / "kfdef.lock.yaml").exists()

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-empty-cache"))
    remote = kfdef(tmp_path / "remote", ARCHIVE)  # nor is the archive: it is named (what it holds is unknown)
    result = show(runner, remote, "--offline")
    assert result.exit_code == EXIT_INPUT
    assert ARCHIVE in result.stderr and "1 URL is not" in result.stderr
    assert upstream.hits.get("kubeflow/manifests/archive/refs/tags/26.03.tar.gz", 0) <= 1


def test_a_git_url_with_a_double_slash_folder(upstream, tmp_path, monkeypatch):
    """Trainer's data-cache overlay names LeaderWorkerSet as ``https://github.com/kubernetes-sigs/lws//config/default``."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("KFCTL_MIRRORS", upstream.mirror)
    file = kfdef(tmp_path / "lws", str(upstream_tarball("26.03")), "applications/trainer/upstream/overlays/data-cache")
    built = rendered(file)
    assert ("CustomResourceDefinition", "leaderworkersets.leaderworkerset.x-k8s.io") in {
        (o["kind"], o["metadata"]["name"]) for o in built}
    pins = read_lock(tmp_path / "lws" / "kfdef.lock.yaml")
    lws = pins["https://github.com/kubernetes-sigs/lws//config/default?ref=v0.7.0"]
    assert (lws.git, lws.ref, lws.path) == ("https://github.com/kubernetes-sigs/lws", "v0.7.0", "config/default")
    assert lws.commit == upstream.commits["kubernetes-sigs/lws"]
