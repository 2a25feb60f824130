"""Repo application builds are cached only for immutable, fetched trees, keyed by their remote resources' pins too."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from kfctl.pipeline import _cached_build


class FakeRemotes:
    """What _cached_build asks of kfctl.repos.remotes.Remotes: the pins of the remote resources a build reaches."""

    def __init__(self) -> None:
        self.key: list[tuple[str, str, str]] = []
        self.asked: list[list[Path]] = []

    def prepare(self, targets, root, *, label):
        self.asked.append(targets)
        return SimpleNamespace(key=list(self.key))


def test_builds_of_fetched_trees_are_cached_and_local_folders_are_not(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tree = tmp_path / "cache" / "kfctl" / "repos" / "trees" / ("a" * 64)
    for folder in (tree / "example", tree / "example" / "overlays" / "istio"):
        folder.mkdir(parents=True)
        (folder / "kustomization.yaml").write_text("resources: []\n")
    calls: list[Path] = []

    def build(app, root, *, kustomize, remotes):
        calls.append(root)
        return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{len(calls)}"}}]

    kustomize = SimpleNamespace(executable=tmp_path / "kustomize")
    remotes = FakeRemotes()
    repo = SimpleNamespace(name="manifests", location=SimpleNamespace(file="kfdef.yaml", line=3))
    app = SimpleNamespace(name="kubeflow", repo=repo, path="example", overlays=(), parameters={})
    first = _cached_build(app, tree, kustomize, build, remotes)
    again = _cached_build(app, tree, kustomize, build, remotes)
    assert first == again == [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm-1"}}]
    assert len(calls) == 1
    assert remotes.asked == [[tree / "example"]] * 2  # remote pins are checked even when the build is cached
    other = SimpleNamespace(name="kubeflow", repo=repo, path="example", overlays=("istio",), parameters={})
    assert _cached_build(other, tree, kustomize, build, remotes)[0]["metadata"]["name"] == "cm-2"
    remotes.key = [("https://github.com/org/a//x?ref=v1", "b" * 40, "c" * 64)]  # another commit: built again
    assert _cached_build(app, tree, kustomize, build, remotes)[0]["metadata"]["name"] == "cm-3"
    local = tmp_path / "my-manifests"
    local.mkdir()
    _cached_build(app, local, kustomize, build, remotes)
    _cached_build(app, local, kustomize, build, remotes)
    assert calls[-2:] == [local, local]
