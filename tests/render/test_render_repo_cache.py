"""Repo application builds are cached only for immutable, fetched trees."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from kfctl.render.fromkfdef import _cached_build


def test_builds_of_fetched_trees_are_cached_and_local_folders_are_not(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tree = tmp_path / "cache" / "kfctl" / "repos" / "trees" / ("a" * 64)
    tree.mkdir(parents=True)
    calls: list[Path] = []

    def build(app, root, *, kustomize):
        calls.append(root)
        return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{len(calls)}"}}]

    kustomize = SimpleNamespace(executable=tmp_path / "kustomize")
    app = SimpleNamespace(path="example", overlays=(), parameters={})
    first = _cached_build(app, tree, kustomize, build)
    again = _cached_build(app, tree, kustomize, build)
    assert first == again == [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm-1"}}]
    assert len(calls) == 1
    other = SimpleNamespace(path="example", overlays=("istio",), parameters={})
    assert _cached_build(other, tree, kustomize, build)[0]["metadata"]["name"] == "cm-2"
    local = tmp_path / "my-manifests"
    local.mkdir()
    _cached_build(app, local, kustomize, build)
    _cached_build(app, local, kustomize, build)
    assert calls[-2:] == [local, local]
