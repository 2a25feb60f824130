"""kfctl.repos.remotes (and git): remote kustomize resources fetched over loopback, pinned, cached, refused offline.

Two small git repositories (one naming the other: remote resources nest) and a
plain file are served by ``remote_support``'s loopback server (``git
http-backend`` and static files under ``/github/``); a mirror maps
``https://github.com/`` there, so the code path is a real URL's.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from remote_support import commit_again, make_git_repo, start_remote_server
from repos_support import QUICK, make_app, make_repo

from kfctl.errors import EXIT_INPUT
from kfctl.repos import build_application
from kfctl.repos.errors import RepoError
from kfctl.repos.lock import Pin
from kfctl.repos.mirrors import Mirrors
from kfctl.repos.remotes import NotCached, Remotes, tree_sha256

WIDGETS = "https://github.com/example/widgets//deploy?ref=v1"
EXTRA = "https://github.com/example/widgets/releases/download/v1/extra.yaml"
GADGETS = "https://github.com/example/gadgets/base?ref=v2"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def cm(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: b\n"


@pytest.fixture
def world(tmp_path):
    """The user's repo (a folder), the remote repositories and file, and a server for them."""
    repo = tmp_path / "user-repo"
    write(repo / "app" / "kustomization.yaml", f"""namespace: apps
resources:
# - https://github.com/example/never?ref=v9
- {WIDGETS}   # the widgets
- {EXTRA}
- local.yaml
""")
    write(repo / "app" / "local.yaml", cm("local"))
    content = tmp_path / "content"
    write(content / "widgets" / "deploy" / "kustomization.yaml", "resources:\n- cm.yaml\n- ../shared\n")
    write(content / "widgets" / "deploy" / "cm.yaml", cm("widget"))
    write(content / "widgets" / "shared" / "kustomization.yaml", f"resources:\n- sa.yaml\n- {GADGETS}\n")
    write(content / "widgets" / "shared" / "sa.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: widget\n")
    write(content / "gadgets" / "base" / "kustomization.yaml", "resources:\n- cm.yaml\n")
    write(content / "gadgets" / "base" / "cm.yaml", cm("gadget"))
    write(content / "extra.yaml", cm("extra"))
    git_root = tmp_path / "served"
    commits = {"widgets": make_git_repo(git_root / "example" / "widgets", content / "widgets", "v1"),
               "gadgets": make_git_repo(git_root / "example" / "gadgets", content / "gadgets", "v2")}
    server = start_remote_server(git_root, {"example/widgets/releases/download/v1/extra.yaml": content / "extra.yaml"},
                                 commits)
    yield repo, server, content
    server.stop()


def remotes(server, cache: Path, **kw) -> Remotes:
    return Remotes(cache_dir=cache, mirrors=Mirrors({"https://github.com/": f"{server.base}/github/"}),
                   settings=QUICK, **kw)


def build(repo: Path, r: Remotes | None, kustomize):
    mini = make_repo(str(repo), name="user")
    return build_application(make_app(mini, "app"), repo, kustomize=kustomize, remotes=r)


def names(objects):
    return sorted((o["kind"], o["metadata"]["name"], o["metadata"].get("namespace")) for o in objects)


def digest(folder: Path) -> str:
    return tree_sha256(folder)


EXPECTED = [("ConfigMap", "extra", "apps"), ("ConfigMap", "gadget", "apps"), ("ConfigMap", "local", "apps"),
            ("ConfigMap", "widget", "apps"), ("ServiceAccount", "widget", "apps")]


def test_fetched_pinned_and_built_offline_from_the_cache(world, tmp_path, kustomize):
    repo, server, content = world
    before = digest(repo)
    first = remotes(server, tmp_path / "cache")
    assert names(build(repo, first, kustomize)) == EXPECTED  # nested: widgets names gadgets
    assert digest(repo) == before  # the user's files are untouched
    assert set(first.used) == {WIDGETS, EXTRA, GADGETS}
    pins = first.used
    assert pins[WIDGETS].commit == server.commits["widgets"] and pins[GADGETS].commit == server.commits["gadgets"]
    assert pins[WIDGETS].git == "https://github.com/example/widgets" and pins[WIDGETS].path == "deploy"
    assert pins[EXTRA].sha256 == hashlib.sha256((content / "extra.yaml").read_bytes()).hexdigest()
    assert (tmp_path / "cache" / "remote" / "git" / server.commits["widgets"] / "deploy" / "cm.yaml").is_file()
    hits = dict(server.hits)
    assert hits["git"] >= 2 and hits["example/widgets/releases/download/v1/extra.yaml"] == 1

    server.stop()
    again = remotes(server, tmp_path / "cache", locked=dict(pins), offline=True)
    assert names(build(repo, again, kustomize)) == EXPECTED
    assert again.used == pins
    online_but_down = remotes(server, tmp_path / "cache", locked=dict(pins))
    assert names(build(repo, online_but_down, kustomize)) == EXPECTED  # cached and pinned: no network needed


def test_offline_names_every_missing_url_at_once(world, tmp_path, kustomize):
    repo, server, _ = world
    with pytest.raises(NotCached) as err:
        build(repo, remotes(server, tmp_path / "empty", offline=True), kustomize)
    assert err.value.exit_code == EXIT_INPUT
    assert err.value.items == [f"{WIDGETS} (in app/kustomization.yaml:4): not in the lock file",
                               f"{EXTRA} (in app/kustomization.yaml:5): not in the lock file"]
    assert "--offline, and 2 URLs are not in kfctl's cache" in err.value.message
    assert "without --offline" in err.value.hint
    assert server.hits == {}

    # cached, but not pinned by a lock: a tag may have moved since, so it is not used offline
    first = remotes(server, tmp_path / "cache")
    build(repo, first, kustomize)
    with pytest.raises(NotCached) as err:
        build(repo, remotes(server, tmp_path / "cache", offline=True), kustomize)
    assert len(err.value.items) == 2


def test_without_a_resolver_every_remote_reference_is_named(world, kustomize):
    repo, server, _ = world
    with pytest.raises(NotCached) as err:
        build(repo, None, kustomize)
    assert [i.split(" ")[0] for i in err.value.items] == [WIDGETS, EXTRA]
    assert server.hits == {}


def test_a_moved_tag_is_refused_against_the_lock(world, tmp_path, kustomize):
    repo, server, _ = world
    first = remotes(server, tmp_path / "cache")
    build(repo, first, kustomize)
    moved = commit_again(server.git_root / "example" / "widgets", "v1", "deploy/cm.yaml", cm("moved"))
    with pytest.raises(RepoError) as err:
        build(repo, remotes(server, tmp_path / "other-cache", locked=dict(first.used)), kustomize)
    assert f"is now commit {moved}, not the {server.commits['widgets']}" in err.value.message
    assert "delete its entries from the lock file" in err.value.hint
    # without a lock (a first run), the moved tag is simply what is fetched
    fresh = remotes(server, tmp_path / "third-cache")
    build(repo, fresh, kustomize)
    assert fresh.used[WIDGETS].commit == moved


def test_a_changed_file_is_refused_against_the_lock(world, tmp_path, kustomize):
    repo, server, content = world
    first = remotes(server, tmp_path / "cache")
    build(repo, first, kustomize)
    (content / "extra.yaml").write_text(cm("changed"))
    with pytest.raises(RepoError) as err:
        build(repo, remotes(server, tmp_path / "other-cache", locked=dict(first.used)), kustomize)
    assert f"is not the {first.used[EXTRA].sha256}" in err.value.message


def test_a_damaged_cache_entry_is_not_used(world, tmp_path, kustomize):
    repo, server, _ = world
    first = remotes(server, tmp_path / "cache")
    build(repo, first, kustomize)
    tree = tmp_path / "cache" / "remote" / "git" / server.commits["widgets"]
    (tree / "deploy" / "cm.yaml").write_text(cm("tampered"))
    with pytest.raises(NotCached) as err:
        build(repo, remotes(server, tmp_path / "cache", locked=dict(first.used), offline=True), kustomize)
    assert err.value.items == [f"{WIDGETS} (in app/kustomization.yaml:4): pinned, not in the cache"]
    again = remotes(server, tmp_path / "cache", locked=dict(first.used))
    assert names(build(repo, again, kustomize)) == EXPECTED  # fetched again and checked
    assert (tree / "deploy" / "cm.yaml").read_text() == cm("widget")


def test_unreachable_urls_are_reported_together(world, tmp_path, kustomize):
    repo, server, _ = world
    server.stop()
    with pytest.raises(RepoError) as err:
        build(repo, remotes(server, tmp_path / "cache"), kustomize)
    message = err.value.message
    assert "2 remote resources could not be fetched" in message
    assert WIDGETS in message and EXTRA in message and "mirror" in err.value.hint


def test_a_git_folder_that_is_not_there_is_named(world, tmp_path, kustomize):
    repo, server, _ = world
    text = (repo / "app" / "kustomization.yaml").read_text().replace("//deploy?", "//nowhere?")
    (repo / "app" / "kustomization.yaml").write_text(text)
    with pytest.raises(RepoError) as err:
        build(repo, remotes(server, tmp_path / "cache"), kustomize)
    assert f"commit {server.commits['widgets']} of https://github.com/example/widgets has no folder 'nowhere'" \
        in err.value.message


def test_tree_digest_sees_content_modes_and_names(tmp_path):
    write(tmp_path / "t" / "a" / "f", "x")
    first = tree_sha256(tmp_path / "t")
    os.chmod(tmp_path / "t" / "a" / "f", 0o755)
    second = tree_sha256(tmp_path / "t")
    shutil.move(tmp_path / "t" / "a" / "f", tmp_path / "t" / "a" / "g")
    third = tree_sha256(tmp_path / "t")
    assert len({first, second, third}) == 3


def test_pins_are_what_the_lock_records(world, tmp_path, kustomize):
    repo, server, _ = world
    first = remotes(server, tmp_path / "cache")
    build(repo, first, kustomize)
    pin = first.used[WIDGETS]
    assert isinstance(pin, Pin) and pin.as_dict()["commit"] == server.commits["widgets"]
    assert pin.sha256 == tree_sha256(tmp_path / "cache" / "remote" / "git" / pin.commit)


def test_a_file_mirror_on_local_disk(world, tmp_path, kustomize):
    """An air-gapped copy: git repositories and files mirrored as file:// paths, no server at all."""
    repo, server, content = world
    server.stop()
    (server.git_root / "example" / "widgets" / "releases" / "download" / "v1").mkdir(parents=True)
    shutil.copy(content / "extra.yaml", server.git_root / "example" / "widgets" / "releases" / "download" / "v1")
    r = Remotes(cache_dir=tmp_path / "cache", mirrors=Mirrors({"https://github.com/": server.git_root.as_uri() + "/"}),
                settings=QUICK)
    assert names(build(repo, r, kustomize)) == EXPECTED
    assert r.used[WIDGETS].commit == server.commits["widgets"]
