"""Unpack a tar (plain, gz, bz2, xz) or zip archive into an empty folder, refusing anything unsafe.

A repo archive comes from the network, so every member is checked before a
byte is written: no absolute paths, no ``..``, no symlink or hardlink that
resolves outside the folder, no device files or FIFOs, no member written
through a symlinked folder, and no more than ``max_files`` members or
``max_expanded_bytes`` of content (checked from each header before its data
is decompressed, so a gzip bomb is refused without being inflated). Modes are
reduced to rw-r--r-- / rwxr-xr-x; owners and times are not restored.

Python's own ``tarfile`` extraction filters cover part of this but not the
limits or zip, and their messages do not say which member was refused and why;
hence this module. The caller extracts into a temporary folder and renames it
into place, so a refused or interrupted extraction never leaves a usable tree.
"""

from __future__ import annotations

import errno
import lzma
import os
import posixpath
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from kfctl.repos.errors import ArchiveError, HostileArchive
from kfctl.repos.source import Settings

_HOSTILE_HINT = "the archive is unsafe to unpack; check where spec.repos[].uri points"
_CORRUPT_HINT = "fetch it again; if it keeps failing, the file at spec.repos[].uri is damaged"
#: gzip, bzip2 and xz headers: a file starting so is a damaged archive, not some other file
_COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")
_CORRUPT = (tarfile.TarError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError)


@dataclass(frozen=True)
class Member:
    """One archive entry as the checks see it; ``kind`` is file, dir, symlink or hardlink."""

    name: str
    kind: str
    size: int = 0
    #: the symlink's target (relative to its folder) or the hardlink's archive path
    target: str = ""
    executable: bool = False


def _absolute(name: str) -> bool:
    """``/x``, ``\\x`` or a Windows drive path ``C:/x``: never a member of a portable archive."""
    return name.startswith(("/", "\\")) or (len(name) > 2 and name[0].isalpha() and name[1] == ":"
                                             and name[2] in "/\\")


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


class _Extraction:
    def __init__(self, archive: Path, dest: Path, label: str, settings: Settings) -> None:
        self.archive = archive
        self.dest = os.path.realpath(dest)
        self.label = label
        self.settings = settings
        self.count = 0
        self.expanded = 0

    def hostile(self, name: str | None, why: str) -> HostileArchive:
        what = f"member {name!r} {why}" if name is not None else why
        return HostileArchive(f"{self.label}: refusing hostile archive {self.archive}: {what}",
                              member=name, hint=_HOSTILE_HINT)

    # -- checks ---------------------------------------------------------------------------------------

    def clean_name(self, raw: str) -> str | None:
        """The member's normalised relative path, or None for the archive root itself."""
        if _absolute(raw):
            raise self.hostile(raw, "has an absolute path")
        parts = [p for p in raw.replace("\\", "/").split("/") if p not in ("", ".")]
        if ".." in parts:
            raise self.hostile(raw, "has '..' in its path")
        return "/".join(parts) or None

    def admit(self, member: Member) -> None:
        """Count the member against the limits before any of it is written."""
        self.count += 1
        if self.count > self.settings.max_files:
            raise self.hostile(member.name, f"is past the limit of {self.settings.max_files} members")
        self.expanded += member.size
        if self.expanded > self.settings.max_expanded_bytes:
            raise self.hostile(member.name, f"takes the expanded size past the limit of "
                                            f"{_mib(self.settings.max_expanded_bytes)}")

    def inside(self, path: str) -> bool:
        return path == self.dest or path.startswith(self.dest + os.sep)

    def parent_of(self, name: str) -> str:
        """The real folder ``name`` goes in, created if missing; refused if reached through a symlink."""
        parent = os.path.join(self.dest, *name.split("/")[:-1])
        current = self.dest
        for part in name.split("/")[:-1]:
            current = os.path.join(current, part)
            if os.path.islink(current):
                raise self.hostile(name, f"is inside symlinked folder {os.path.relpath(current, self.dest)!r}")
            if not os.path.isdir(current):
                if os.path.lexists(current):
                    os.unlink(current)
                os.mkdir(current, 0o755)
        return parent

    # -- writing --------------------------------------------------------------------------------------

    def clear(self, path: str) -> None:
        if os.path.islink(path) or os.path.isfile(path):
            os.unlink(path)

    def write_file(self, member: Member, data: IO[bytes]) -> None:
        path = os.path.join(self.parent_of(member.name), member.name.rsplit("/", 1)[-1])
        if os.path.isdir(path) and not os.path.islink(path):
            raise ArchiveError(f"{self.label}: corrupt archive {self.archive}: member {member.name!r} is both "
                               "a folder and a file")
        self.clear(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o755 if member.executable else 0o644)
        written = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := data.read(1024 * 1024):
                written += len(chunk)
                if written > member.size:  # the header lied about the size: do not trust the rest
                    raise self.hostile(member.name, "holds more data than its header declares")
                out.write(chunk)

    def make_dir(self, member: Member) -> None:
        path = os.path.join(self.parent_of(member.name), member.name.rsplit("/", 1)[-1])
        if os.path.islink(path):
            raise self.hostile(member.name, "is a folder replacing a symlink")
        if not os.path.isdir(path):
            self.clear(path)
            os.mkdir(path, 0o755)

    def make_symlink(self, member: Member) -> None:
        target = member.target
        if not target or _absolute(target):
            raise self.hostile(member.name, f"is a symlink to an absolute path ({target or 'empty'})")
        parent = self.parent_of(member.name)
        resolved = os.path.realpath(os.path.join(parent, target))
        if not self.inside(resolved):
            raise self.hostile(member.name, f"is a symlink pointing outside the archive ({target})")
        path = os.path.join(parent, member.name.rsplit("/", 1)[-1])
        if os.path.isdir(path) and not os.path.islink(path):
            raise self.hostile(member.name, "is a symlink replacing a folder")
        self.clear(path)
        os.symlink(target, path)

    def make_hardlink(self, member: Member) -> None:
        if member.target.startswith("/"):
            raise self.hostile(member.name, f"is a hardlink to an absolute path ({member.target})")
        parts = [p for p in member.target.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise self.hostile(member.name, f"is a hardlink pointing outside the archive ({member.target})")
        source = os.path.join(self.dest, *parts)
        if not self.inside(os.path.realpath(source)):
            raise self.hostile(member.name, f"is a hardlink pointing outside the archive ({member.target})")
        if os.path.islink(source) or not os.path.isfile(source):
            raise ArchiveError(f"{self.label}: corrupt archive {self.archive}: hardlink {member.name!r} points "
                               f"at {member.target!r}, which is not a file earlier in the archive")
        path = os.path.join(self.parent_of(member.name), member.name.rsplit("/", 1)[-1])
        self.clear(path)
        os.link(source, path)


def _tar_members(ex: _Extraction, tar: tarfile.TarFile) -> Iterator[tuple[Member, tarfile.TarInfo]]:
    for info in tar:
        name = ex.clean_name(info.name)
        if name is None:
            continue
        if info.isreg():
            kind = "file"
        elif info.isdir():
            kind = "dir"
        elif info.issym():
            kind = "symlink"
        elif info.islnk():
            kind = "hardlink"
        elif info.ischr():
            raise ex.hostile(info.name, "is a character device file")
        elif info.isblk():
            raise ex.hostile(info.name, "is a block device file")
        elif info.isfifo():
            raise ex.hostile(info.name, "is a FIFO")
        else:
            raise ex.hostile(info.name, f"has unsupported type {info.type!r}")
        yield Member(name, kind, info.size if kind == "file" else 0, info.linkname,
                     bool(info.mode & 0o100)), info


def _extract_tar(ex: _Extraction) -> int:
    written = 0
    with tarfile.open(ex.archive, "r:*") as tar:
        for member, info in _tar_members(ex, tar):
            ex.admit(member)
            if member.kind == "file":
                data = tar.extractfile(info)
                assert data is not None  # a regular member always has a data stream
                ex.write_file(member, data)
            elif member.kind == "dir":
                ex.make_dir(member)
            elif member.kind == "symlink":
                ex.make_symlink(member)
            else:
                ex.make_hardlink(member)
            written += 1
    return written


def _extract_zip(ex: _Extraction) -> int:
    written = 0
    with zipfile.ZipFile(ex.archive) as archive:
        for info in archive.infolist():
            name = ex.clean_name(info.filename)
            if name is None:
                continue
            mode = info.external_attr >> 16
            if info.is_dir():
                member = Member(name, "dir")
            elif stat.S_ISLNK(mode):
                if info.file_size > 4096:
                    raise ex.hostile(info.filename, "is a symlink with an oversized target")
                member = Member(name, "symlink", target=archive.read(info).decode("utf-8", "replace"))
            elif stat.S_ISCHR(mode):
                raise ex.hostile(info.filename, "is a character device file")
            elif stat.S_ISBLK(mode):
                raise ex.hostile(info.filename, "is a block device file")
            elif stat.S_ISFIFO(mode):
                raise ex.hostile(info.filename, "is a FIFO")
            else:
                member = Member(name, "file", info.file_size, executable=bool(mode & 0o100))
            ex.admit(member)
            if member.kind == "file":
                with archive.open(info) as data:
                    ex.write_file(member, data)
            elif member.kind == "dir":
                ex.make_dir(member)
            else:
                ex.make_symlink(member)
            written += 1
    return written


def _head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(16)


def extract(archive: Path, dest: Path, *, label: str, settings: Settings) -> None:
    """Unpack ``archive`` into the empty folder ``dest``; raise ArchiveError/HostileArchive if it is unfit."""
    ex = _Extraction(archive, dest, label, settings)
    try:
        if zipfile.is_zipfile(archive):
            count = _extract_zip(ex)
        elif tarfile.is_tarfile(archive):
            count = _extract_tar(ex)
        elif _head(archive).startswith(_COMPRESSED_MAGIC):
            raise ArchiveError(f"{label}: corrupt archive {archive}: compressed, but no tar archive could be read "
                               "from it (truncated or damaged)", hint=_CORRUPT_HINT)
        else:
            raise ArchiveError(f"{label}: {archive} is not a tar or zip archive (it starts with {_head(archive)!r})",
                               hint="spec.repos[].uri must name a .tar.gz, .tgz, .tar.bz2, .tar.xz or .zip "
                                    "archive (or a folder)")
    except ArchiveError:
        raise
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS):
            raise ArchiveError(f"{label}: cannot unpack {archive} into {dest}: {exc.strerror}") from exc
        raise ArchiveError(f"{label}: corrupt archive {archive}: {exc}", hint=_CORRUPT_HINT) from exc
    except _CORRUPT as exc:
        raise ArchiveError(f"{label}: corrupt archive {archive}: {exc or type(exc).__name__}",
                           hint=_CORRUPT_HINT) from exc
    if count == 0:
        raise ArchiveError(f"{label}: archive {archive} is empty")


def check_links(root: Path, *, label: str, archive: Path) -> None:
    """Every symlink under ``root`` must resolve inside it (checked again once the top folder is stripped)."""
    real_root = os.path.realpath(root)
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                resolved = os.path.realpath(path)
                if resolved != real_root and not resolved.startswith(real_root + os.sep):
                    rel = posixpath.join(*Path(os.path.relpath(path, root)).parts)
                    raise HostileArchive(
                        f"{label}: refusing hostile archive {archive}: member {rel!r} is a symlink pointing "
                        f"outside the archive's top folder ({os.readlink(path)})", member=rel, hint=_HOSTILE_HINT)
