"""kfctl.repos.remote: which URL is git and which a file, where a tree names one, and rewriting it locally."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kfctl.repos.errors import RepoPathError
from kfctl.repos.remote import RemoteRef, is_remote, parse_remote, rewrite, scan


@pytest.mark.parametrize("url, expected", [
    ("https://github.com/argoproj/argo-workflows/manifests/base/workflow-controller?ref=v3.7.3",
     RemoteRef("", "git", "https://github.com/argoproj/argo-workflows", "v3.7.3", "manifests/base/workflow-controller")),
    ("https://github.com/kubernetes-sigs/lws//config/default?ref=v0.7.0",
     RemoteRef("", "git", "https://github.com/kubernetes-sigs/lws", "v0.7.0", "config/default")),
    ("https://github.com/kubernetes-sigs/jobset/releases/download/v0.10.1/manifests.yaml", RemoteRef("", "file")),
    ("https://raw.githubusercontent.com/org/repo/v1/deploy/all.yaml", RemoteRef("", "file")),
    ("https://example.com/install", RemoteRef("", "file")),
    ("https://git.corp.example/team/repo.git/deploy/base?version=abc123",
     RemoteRef("", "git", "https://git.corp.example/team/repo.git", "abc123", "deploy/base")),
    ("git@github.com:org/repo.git//deploy?ref=main", RemoteRef("", "git", "git@github.com:org/repo.git", "main", "deploy")),
    ("ssh://git@host.example/org/repo//x?ref=v1", RemoteRef("", "git", "ssh://git@host.example/org/repo", "v1", "x")),
    ("github.com/kubeflow/manifests/common/x?ref=v1", RemoteRef("", "git", "https://github.com/kubeflow/manifests",
                                                                 "v1", "common/x")),
    ("https://github.com/org/repo", RemoteRef("", "git", "https://github.com/org/repo", "", "")),
])
def test_parse_follows_kustomize_repo_specs(url, expected):
    got = parse_remote(url)
    assert (got.kind, got.repo, got.ref, got.path) == (expected.kind, expected.repo, expected.ref, expected.path)
    assert got.url == url


@pytest.mark.parametrize("url", ["https://github.com/org/repo//../../etc?ref=v1", "https://example.com//x/../../y?ref=1",
                                 "https://host.example/only-one-part?ref=v1"])
def test_parse_refuses_what_it_cannot_place(url):
    with pytest.raises(RepoPathError):
        parse_remote(url)


def test_local_entries_are_not_remote():
    assert not is_remote("../base")
    assert not is_remote("deployment.yaml")
    assert is_remote("https://x.example/a.yaml") and is_remote("github.com/org/repo") and is_remote("git@h:o/r")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_scan_walks_local_folders_and_reports_file_and_line(tmp_path):
    root = tmp_path / "repo"
    write(root / "app" / "kustomization.yaml", """resources:
# - https://github.com/org/commented?ref=v9
- ../lib   # a local folder
- https://github.com/org/a//x?ref=v1
components:
- "https://github.com/org/b/comp?ref=v2"
""")
    write(root / "lib" / "kustomization.yaml", "resources:\n- cm.yaml\n- https://files.example/extra.yaml\n")
    write(root / "unused" / "kustomization.yaml", "resources:\n- https://github.com/org/unused?ref=v1\n")
    uses = scan([root / "app"], root)
    assert [(u.where(root), u.field, u.remote.url) for u in uses] == [
        ("app/kustomization.yaml:4", "resources", "https://github.com/org/a//x?ref=v1"),
        ("app/kustomization.yaml:6", "components", "https://github.com/org/b/comp?ref=v2"),
        ("lib/kustomization.yaml:3", "resources", "https://files.example/extra.yaml"),
    ]


def test_rewrite_keeps_comments_and_replaces_only_list_items(tmp_path):
    file = write(tmp_path / "kustomization.yaml", """# from https://github.com/org/a//x?ref=v1
resources:
- https://github.com/org/a//x?ref=v1  # argo
- 'https://files.example/extra.yaml'
- local.yaml
""")
    original_inode = file.stat().st_ino
    rewrite(file, {"https://github.com/org/a//x?ref=v1": "../../cache/x",
                   "https://files.example/extra.yaml": "kfctl-remote-extra.yaml"})
    text = file.read_text()
    assert text.splitlines()[0] == "# from https://github.com/org/a//x?ref=v1"
    assert "- ../../cache/x  # argo" in text
    assert yaml.safe_load(text)["resources"] == ["../../cache/x", "kfctl-remote-extra.yaml", "local.yaml"]
    assert file.stat().st_ino != original_inode  # a new file: a hard link into the cache is left alone


def test_rewrite_handles_inline_lists(tmp_path):
    file = write(tmp_path / "kustomization.yaml", "resources: [local.yaml, 'https://files.example/e.yaml']\n")
    rewrite(file, {"https://files.example/e.yaml": "kfctl-remote-e.yaml"})
    assert yaml.safe_load(file.read_text())["resources"] == ["local.yaml", "kfctl-remote-e.yaml"]
