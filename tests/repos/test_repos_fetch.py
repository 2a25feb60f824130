"""fetch_repo: HTTP, file:// and plain paths, the cache (offline second run), and every fetch error."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import sys
import tarfile
from pathlib import Path

import pytest
from repos_support import QUICK, SHA, make_repo, tarball

from kfctl.errors import EXIT_INPUT
from kfctl.repos import (
    ArchiveError,
    ChecksumMismatch,
    FetchError,
    RepoError,
    Settings,
    default_cache_dir,
    fetch_repo,
)


def small_tarball(path: Path, files: dict[str, bytes], top: str = "repo-1.0") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the upstream archives -----------------------------------------------------------------------------


def test_http_fetch_strips_top_folder_and_checks_sha(fetched):
    for version, tree in fetched.trees.items():
        assert tree.name == SHA[version]
        assert tree.parent == fetched.cache / "trees"
        assert (tree / "example" / "kustomization.yaml").is_file()
        assert (tree / "LICENSE").is_file()
    assert all(count == 1 for count in fetched.server_hits.values())


def test_second_fetch_works_with_the_server_stopped(fetched):
    for version in SHA:
        url = fetched.urls[version]
        with pytest.raises(OSError):  # the server really is gone
            socket.create_connection(("127.0.0.1", int(url.split(":")[2].split("/")[0])), timeout=1).close()
        pinned = fetch_repo(make_repo(url, SHA[version]), cache_dir=fetched.cache, settings=QUICK)
        unpinned = fetch_repo(make_repo(url), cache_dir=fetched.cache, settings=QUICK)
        assert pinned == unpinned == fetched.trees[version]


def test_file_url_and_plain_path_give_the_same_tree(fetched, tmp_path):
    archive = tarball("v1.9.1")
    by_url = fetch_repo(make_repo(archive.as_uri(), SHA["v1.9.1"]), cache_dir=tmp_path)
    by_path = fetch_repo(make_repo(str(archive)), cache_dir=tmp_path)  # same content: the same entry
    assert by_url == by_path == tmp_path / "trees" / SHA["v1.9.1"]
    listing = sorted(str(p.relative_to(by_url)) for p in by_url.rglob("*"))
    assert listing == sorted(str(p.relative_to(fetched.trees["v1.9.1"])) for p in fetched.trees["v1.9.1"].rglob("*"))
    assert len(listing) > 1000


def test_default_cache_follows_xdg_cache_home(tmp_path, _private_cache):
    assert default_cache_dir() == _private_cache / "kfctl" / "repos"
    archive = small_tarball(tmp_path / "r.tar.gz", {"k/kustomization.yaml": b"resources: []\n"})
    tree = fetch_repo(make_repo(str(archive)))
    assert tree.parent == _private_cache / "kfctl" / "repos" / "trees"
    assert (tree / "k" / "kustomization.yaml").read_text() == "resources: []\n"


def test_relative_path_is_relative_to_the_kfdef_folder(tmp_path, monkeypatch):
    (tmp_path / "deploy").mkdir()
    kfdef = tmp_path / "deploy" / "kfdef.yaml"
    kfdef.write_text("kind: KfDef\n")
    small_tarball(tmp_path / "deploy" / "vendored.tgz", {"a.yaml": b"x: 1\n"})
    monkeypatch.chdir(tmp_path)  # not the KfDef's folder
    tree = fetch_repo(make_repo("vendored.tgz", file=str(kfdef)))
    assert (tree / "a.yaml").read_text() == "x: 1\n"


def test_local_folder_is_used_in_place(tmp_path):
    (tmp_path / "mine" / "pkg").mkdir(parents=True)
    assert fetch_repo(make_repo(str(tmp_path / "mine"))) == tmp_path / "mine"
    assert fetch_repo(make_repo((tmp_path / "mine").as_uri())) == tmp_path / "mine"


def test_archive_without_single_top_folder_is_kept_whole(tmp_path):
    archive = small_tarball(tmp_path / "flat.tar.gz", {"a.yaml": b"a\n", "b/c.yaml": b"c\n"}, top="")
    tree = fetch_repo(make_repo(str(archive)))
    assert sorted(p.name for p in tree.iterdir()) == ["a.yaml", "b"]


def test_zip_archives_are_read(tmp_path):
    import zipfile

    path = tmp_path / "repo.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("manifests-main/pkg/kustomization.yaml", "resources: []\n")
        z.writestr("manifests-main/run.sh", "echo\n")
    tree = fetch_repo(make_repo(str(path)))
    assert (tree / "pkg" / "kustomization.yaml").read_text() == "resources: []\n"


@pytest.fixture
def small(server, tmp_path) -> tuple[str, str]:
    """A small archive the server offers as /files/small.tar.gz, and its sha256."""
    archive = small_tarball(tmp_path / "small.tar.gz", {"pkg/kustomization.yaml": b"resources: []\n"})
    server.files["small.tar.gz"] = archive
    return "small.tar.gz", sha(archive)


def test_redirects_are_followed_and_progress_is_quiet_off_a_tty(server, small, tmp_path, capfd):
    name, digest = small
    tree = fetch_repo(make_repo(server.url(f"redirect/{name}"), digest), cache_dir=tmp_path / "c",
                      progress=True, settings=QUICK)
    assert (tree / "pkg" / "kustomization.yaml").is_file()
    assert server.hits[f"/files/{name}"] == 1
    assert capfd.readouterr().err == ""


def test_progress_bar_on_a_tty(server, small, tmp_path, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    name, digest = small
    fetch_repo(make_repo(server.url(f"files/{name}"), digest), cache_dir=tmp_path / "c", progress=True, settings=QUICK)
    assert "fetching repo 'manifests' (kfdef.yaml:7)" in terminal.getvalue()


def test_transient_failures_are_retried(server, small, tmp_path):
    name, digest = small
    tree = fetch_repo(make_repo(server.url(f"flaky/2/{name}"), digest), cache_dir=tmp_path / "c", settings=QUICK)
    assert tree.name == digest
    assert server.hits[f"/flaky/2/{name}"] == 3


def test_the_cache_keeps_nothing_half_made_after_a_failure(server, tmp_path):
    with pytest.raises(ChecksumMismatch):
        fetch_repo(make_repo(server.url("files/v1.9.1.tar.gz"), "0" * 64), cache_dir=tmp_path, settings=QUICK)
    assert list((tmp_path / "trees").iterdir()) == []
    assert list((tmp_path / "urls").iterdir()) == []
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_leftover_from_a_killed_run_is_not_trusted(tmp_path):
    archive = small_tarball(tmp_path / "r.tar.gz", {"a.yaml": b"a\n"})
    cache = tmp_path / "cache"
    half = cache / "tmp" / "fetch-killed" / "unpacked" / "repo-1.0"
    half.mkdir(parents=True)  # what a run killed mid-extraction leaves
    tree = fetch_repo(make_repo(str(archive)), cache_dir=cache)
    assert tree == cache / "trees" / sha(archive)
    assert (tree / "a.yaml").read_text() == "a\n"


# -- errors --------------------------------------------------------------------------------------------


def test_checksum_mismatch_names_expected_and_got(server, tmp_path):
    wrong = "ab" * 32
    url = server.url("files/v1.10.2.tar.gz")
    with pytest.raises(ChecksumMismatch) as err:
        fetch_repo(make_repo(url, wrong), cache_dir=tmp_path, settings=QUICK)
    assert err.value.message == (f"repo 'manifests' (kfdef.yaml:7): checksum mismatch for {url}: "
                                 f"expected sha256 {wrong}, got {SHA['v1.10.2']}")
    assert "spec.repos[].sha256" in err.value.hint
    assert err.value.exit_code == EXIT_INPUT


def test_checksum_mismatch_of_a_local_archive(tmp_path):
    with pytest.raises(ChecksumMismatch) as err:
        fetch_repo(make_repo(str(tarball("v1.9.1")), SHA["v1.10.2"]), cache_dir=tmp_path)
    assert err.value.expected == SHA["v1.10.2"] and err.value.got == SHA["v1.9.1"]


def test_unreachable_host(tmp_path):
    port = closed_port()
    with pytest.raises(FetchError) as err:
        fetch_repo(make_repo(f"http://127.0.0.1:{port}/m.tar.gz"), cache_dir=tmp_path, settings=QUICK)
    assert err.value.message.startswith("repo 'manifests' (kfdef.yaml:7): cannot reach 127.0.0.1: ConnectError")
    assert err.value.message.endswith("(after 3 attempts)")
    assert "cached" in err.value.hint


@pytest.mark.parametrize("status, reason", [(404, "Not Found"), (403, "Forbidden")])
def test_http_error_status_fails_at_once(server, tmp_path, status, reason):
    url = server.url(f"status/{status}")
    with pytest.raises(FetchError) as err:
        fetch_repo(make_repo(url), cache_dir=tmp_path, settings=QUICK)
    assert err.value.message == f"repo 'manifests' (kfdef.yaml:7): HTTP {status} {reason} from {url}"
    assert server.hits[f"/status/{status}"] == 1


def test_server_errors_are_retried_then_reported(server, tmp_path):
    url = server.url("status/503")
    with pytest.raises(FetchError) as err:
        fetch_repo(make_repo(url), cache_dir=tmp_path, settings=QUICK)
    assert err.value.message == (f"repo 'manifests' (kfdef.yaml:7): HTTP 503 Service Unavailable from {url} "
                                 "(after 3 attempts)")
    assert server.hits["/status/503"] == 3


def test_body_cut_short_is_a_failed_download(server, tmp_path):
    url = server.url("cut/v1.9.1.tar.gz")
    with pytest.raises(FetchError) as err:
        fetch_repo(make_repo(url), cache_dir=tmp_path, settings=QUICK)
    assert err.value.message.startswith(f"repo 'manifests' (kfdef.yaml:7): download of {url} failed: "
                                        "RemoteProtocolError")


def test_download_size_limit(server, tmp_path):
    url = server.url("files/v1.9.1.tar.gz")
    with pytest.raises(FetchError) as err:
        fetch_repo(make_repo(url), cache_dir=tmp_path, settings=Settings(max_download_bytes=1024 * 1024))
    assert err.value.message == f"repo 'manifests' (kfdef.yaml:7): {url} is 2.7 MiB, over the download limit of 1.0 MiB"


def test_not_an_archive(tmp_path):
    page = tmp_path / "page.tar.gz"
    page.write_text("<!DOCTYPE html><html>Sign in</html>")
    with pytest.raises(ArchiveError) as err:
        fetch_repo(make_repo(str(page)), cache_dir=tmp_path / "c")
    assert err.value.message == (f"repo 'manifests' (kfdef.yaml:7): {page} is not a tar or zip archive "
                                 "(it starts with b'<!DOCTYPE html><')")


def test_truncated_archive_is_corrupt(tmp_path):
    whole = small_tarball(tmp_path / "whole.tar.gz", {f"f{i}.bin": os.urandom(50_000) for i in range(6)})
    data = whole.read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(ArchiveError) as err:
        fetch_repo(make_repo(str(cut)), cache_dir=tmp_path / "c")
    assert err.value.message.startswith(f"repo 'manifests' (kfdef.yaml:7): corrupt archive {cut}: ")
    assert list((tmp_path / "c" / "trees").iterdir()) == []


def test_damaged_gzip_header_is_corrupt(tmp_path):
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ArchiveError) as err:
        fetch_repo(make_repo(str(bad)), cache_dir=tmp_path / "c")
    assert err.value.message.startswith(f"repo 'manifests' (kfdef.yaml:7): corrupt archive {bad}: ")
    assert "fetch it again" in err.value.hint


def test_unusable_cache_folder(tmp_path):
    archive = small_tarball(tmp_path / "r.tar.gz", {"a.yaml": b"a\n"})
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(FetchError) as err:
        fetch_repo(make_repo(str(archive)), cache_dir=blocker / "repos")
    where = blocker / "repos"
    assert err.value.message.startswith(f"repo 'manifests' (kfdef.yaml:7): cannot use the repo cache {where}: ")
    assert "XDG_CACHE_HOME" in err.value.hint


def test_missing_local_path(tmp_path):
    with pytest.raises(FetchError) as err:
        fetch_repo(make_repo(str(tmp_path / "nope.tgz")))
    assert err.value.message == f"repo 'manifests' (kfdef.yaml:7): no such file or folder: {tmp_path / 'nope.tgz'}"


@pytest.mark.parametrize("uri", ["git://github.com/kubeflow/manifests", "s3://bucket/m.tgz",
                                 "ssh://git@github.com/kubeflow/manifests"])
def test_unsupported_schemes(uri):
    with pytest.raises(RepoError) as err:
        fetch_repo(make_repo(uri))
    scheme = uri.split(":")[0]
    assert err.value.message.startswith(f"repo 'manifests' (kfdef.yaml:7): kfctl cannot fetch {scheme}:// URLs")
    assert "archive/TAG.tar.gz" in err.value.hint


def test_sha256_on_a_folder_is_refused(tmp_path):
    with pytest.raises(RepoError) as err:
        fetch_repo(make_repo(str(tmp_path), "a" * 64))
    assert err.value.message == f"repo 'manifests' (kfdef.yaml:7): sha256 pins an archive, but {tmp_path} is a folder"


def test_remote_file_url_host_is_refused():
    with pytest.raises(RepoError, match="only local files can be read"):
        fetch_repo(make_repo("file://fileserver/share/m.tgz"))


def test_cache_entries_are_renamed_into_place(tmp_path, monkeypatch):
    """The tree appears by one rename from tmp/: a failure before it leaves no entry."""
    archive = small_tarball(tmp_path / "r.tar.gz", {"a.yaml": b"a\n"})
    renames: list[tuple[str, str]] = []
    real_rename = os.rename

    def spy(src, dst):
        renames.append((str(src), str(dst)))
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", spy)
    tree = fetch_repo(make_repo(str(archive)), cache_dir=tmp_path / "c")
    assert renames == [(str(tmp_path / "c" / "tmp" / Path(renames[0][0]).parent.parent.name / "unpacked" / "repo-1.0"),
                        str(tree))]
