"""Hostile archives, generated here, are refused with a message naming the member and why; nothing is cached."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest
from repos_support import make_repo

from kfctl.errors import EXIT_INPUT
from kfctl.repos import ArchiveError, HostileArchive, Settings, fetch_repo

PREFIX = "repo 'manifests' (kfdef.yaml:7): refusing hostile archive"


def member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"",
           link: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data


def make_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def refuse(archive: Path, cache: Path, settings: Settings | None = None) -> HostileArchive:
    with pytest.raises(HostileArchive) as err:
        fetch_repo(make_repo(str(archive)), cache_dir=cache, **({"settings": settings} if settings else {}))
    assert err.value.exit_code == EXIT_INPUT
    assert list((cache / "trees").iterdir()) == []  # nothing half-made is left to trust
    assert list((cache / "tmp").iterdir()) == []
    return err.value


GOOD = member("top/ok.yaml", data=b"a: 1\n")


@pytest.mark.parametrize("name, members, why", [
    ("traversal", [GOOD, member("top/../../evil.sh", data=b"x")], "member 'top/../../evil.sh' has '..' in its path"),
    ("absolute", [GOOD, member("/etc/cron.d/evil", data=b"x")], "member '/etc/cron.d/evil' has an absolute path"),
    ("symlink-escape", [GOOD, member("top/link", tarfile.SYMTYPE, link="../../../etc/passwd")],
     "member 'top/link' is a symlink pointing outside the archive (../../../etc/passwd)"),
    ("symlink-absolute", [GOOD, member("top/link", tarfile.SYMTYPE, link="/etc/passwd")],
     "member 'top/link' is a symlink to an absolute path (/etc/passwd)"),
    ("hardlink-escape", [GOOD, member("top/hard", tarfile.LNKTYPE, link="../etc/passwd")],
     "member 'top/hard' is a hardlink pointing outside the archive (../etc/passwd)"),
    ("hardlink-absolute", [GOOD, member("top/hard", tarfile.LNKTYPE, link="/etc/passwd")],
     "member 'top/hard' is a hardlink to an absolute path (/etc/passwd)"),
    ("char-device", [GOOD, member("top/null", tarfile.CHRTYPE)], "member 'top/null' is a character device file"),
    ("block-device", [GOOD, member("top/sda", tarfile.BLKTYPE)], "member 'top/sda' is a block device file"),
    ("fifo", [GOOD, member("top/pipe", tarfile.FIFOTYPE)], "member 'top/pipe' is a FIFO"),
    ("through-symlink", [member("top/dir", tarfile.SYMTYPE, link="."), member("top/dir/x.yaml", data=b"x")],
     "member 'top/dir/x.yaml' is inside symlinked folder 'top/dir'"),
])
def test_hostile_tar_members(tmp_path, name, members, why):
    archive = make_tar(tmp_path / f"{name}.tar.gz", members)
    err = refuse(archive, tmp_path / "cache")
    assert err.message == f"{PREFIX} {archive}: {why}"
    assert err.hint == "the archive is unsafe to unpack; check where spec.repos[].uri points"
    assert not (tmp_path / "evil.sh").exists()


def test_symlink_escaping_the_stripped_top_folder(tmp_path):
    """A link to a sibling of the top folder is inside the archive but outside the tree kfctl keeps."""
    archive = make_tar(tmp_path / "sib.tar.gz", [GOOD, member("top/up", tarfile.SYMTYPE, link="../other")])
    err = refuse(archive, tmp_path / "cache")
    assert err.message == (f"{PREFIX} {archive}: member 'up' is a symlink pointing outside the archive's top folder "
                           "(../other)")


def test_symlinks_and_hardlinks_inside_are_kept(tmp_path):
    archive = make_tar(tmp_path / "links.tar.gz", [
        GOOD, member("top/sub", tarfile.DIRTYPE), member("top/sub/soft", tarfile.SYMTYPE, link="../ok.yaml"),
        member("top/hard", tarfile.LNKTYPE, link="top/ok.yaml")])
    tree = fetch_repo(make_repo(str(archive)), cache_dir=tmp_path / "cache")
    assert (tree / "sub" / "soft").read_text() == "a: 1\n"
    assert os.path.islink(tree / "sub" / "soft")
    assert (tree / "hard").stat().st_ino == (tree / "ok.yaml").stat().st_ino


def test_too_many_files(tmp_path):
    archive = make_tar(tmp_path / "many.tar.gz", [member(f"top/f{i}.yaml", data=b"x") for i in range(30)])
    err = refuse(archive, tmp_path / "cache", Settings(max_files=25))
    assert err.message == f"{PREFIX} {archive}: member 'top/f25.yaml' is past the limit of 25 members"
    assert err.member == "top/f25.yaml"


def test_gzip_bomb_is_refused_before_it_is_inflated(tmp_path):
    """64 MiB of zeros in a ~64 KiB gzip, against a 16 MiB limit: refused from the header alone."""
    archive = tmp_path / "bomb.tar.gz"
    size = 64 * 1024 * 1024
    info = tarfile.TarInfo("top/zeros.bin")
    info.size = size

    class Zeros(io.RawIOBase):
        def __init__(self) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            n = min(len(buffer), self.left)
            buffer[:n] = bytes(n)
            self.left -= n
            return n

    with gzip.open(archive, "wb", compresslevel=1) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        tar.addfile(GOOD[0], io.BytesIO(GOOD[1]))
        tar.addfile(info, io.BufferedReader(Zeros()))
    assert archive.stat().st_size < size // 100
    err = refuse(archive, tmp_path / "cache", Settings(max_expanded_bytes=16 * 1024 * 1024))
    assert err.message == (f"{PREFIX} {archive}: member 'top/zeros.bin' takes the expanded size past the limit "
                           "of 16.0 MiB")


def test_many_small_files_past_the_size_limit(tmp_path):
    archive = make_tar(tmp_path / "wide.tar.gz", [member(f"top/f{i}", data=bytes(400_000)) for i in range(4)])
    err = refuse(archive, tmp_path / "cache", Settings(max_expanded_bytes=1_000_000))
    assert err.member == "top/f2"


def make_zip(path: Path, entries: list[tuple[str, bytes, int]]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            z.writestr(info, data)
    return path


@pytest.mark.parametrize("name, entries, why", [
    ("zip-traversal", [("top/ok", b"x", 0o100644), ("../../evil", b"x", 0o100644)],
     "member '../../evil' has '..' in its path"),
    ("zip-absolute", [("/tmp/evil", b"x", 0o100644)], "member '/tmp/evil' has an absolute path"),
    ("zip-symlink", [("top/ok", b"x", 0o100644), ("top/l", b"../../../etc", stat.S_IFLNK | 0o777)],
     "member 'top/l' is a symlink pointing outside the archive (../../../etc)"),
    ("zip-device", [("top/null", b"", stat.S_IFCHR | 0o666)], "member 'top/null' is a character device file"),
])
def test_hostile_zip_members(tmp_path, name, entries, why):
    archive = make_zip(tmp_path / f"{name}.zip", entries)
    err = refuse(archive, tmp_path / "cache")
    assert err.message == f"{PREFIX} {archive}: {why}"


def test_zip_bomb(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("top/ok", b"x")
        z.writestr("top/zeros", bytes(8 * 1024 * 1024))
    assert archive.stat().st_size < 100_000
    err = refuse(archive, tmp_path / "cache", Settings(max_expanded_bytes=1024 * 1024))
    assert err.message == f"{PREFIX} {archive}: member 'top/zeros' takes the expanded size past the limit of 1.0 MiB"


def test_zip_symlink_inside_is_kept(tmp_path):
    archive = make_zip(tmp_path / "ok.zip", [("top/a.yaml", b"a\n", 0o100644),
                                             ("top/b.yaml", b"a.yaml", stat.S_IFLNK | 0o777)])
    tree = fetch_repo(make_repo(str(archive)), cache_dir=tmp_path / "cache")
    assert os.readlink(tree / "b.yaml") == "a.yaml"


def test_empty_archive(tmp_path):
    archive = make_tar(tmp_path / "empty.tar.gz", [])
    with pytest.raises(ArchiveError, match="is empty$"):
        fetch_repo(make_repo(str(archive)), cache_dir=tmp_path / "cache")
