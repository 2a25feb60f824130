"""kfctl.repos.lock: the pins beside the KfDef, written by kfctl only when they change."""

from __future__ import annotations

import pytest

from kfctl.errors import InputError
from kfctl.repos.lock import Pin, lock_path, read_lock, write_lock

GIT = Pin("https://github.com/org/a//x?ref=v1", "a" * 64, git="https://github.com/org/a", ref="v1", path="x",
          commit="b" * 40)
FILE = Pin("https://files.example/e.yaml", "c" * 64)


def test_name_beside_the_kfdef(tmp_path):
    assert lock_path(tmp_path / "kfdef.yaml") == tmp_path / "kfdef.lock.yaml"
    assert lock_path(tmp_path / "app.yaml") == tmp_path / "app.lock.yaml"


def test_round_trip_and_no_rewrite_when_unchanged(tmp_path):
    path = tmp_path / "kfdef.lock.yaml"
    assert read_lock(path) == {}
    assert write_lock(path, {FILE.url: FILE, GIT.url: GIT}, "kfdef.yaml")
    assert read_lock(path) == {FILE.url: FILE, GIT.url: GIT}
    text = path.read_text()
    assert text.startswith("# Written by kfctl") and "commit: " + "b" * 40 in text
    mtime = path.stat().st_mtime_ns
    assert not write_lock(path, {GIT.url: GIT, FILE.url: FILE}, "kfdef.yaml")
    assert path.stat().st_mtime_ns == mtime
    assert write_lock(path, {GIT.url: GIT}, "kfdef.yaml")  # an entry no longer used is dropped
    assert list(read_lock(path)) == [GIT.url]


@pytest.mark.parametrize("text, says", [
    ("kind: Other\n", "not a kfctl lock file"),
    ("kind: KfDefLock\nremoteResources: {}\n", "must be a list"),
    ("kind: KfDefLock\nremoteResources:\n- {url: u, sha256: xyz}\n", "sha256 must be"),
    ("kind: KfDefLock\nremoteResources:\n- {url: u, sha256: " + "a" * 64 + ", git: g, commit: v1}\n", "full commit"),
    ("kind: KfDefLock\n  bad: [\n", "not YAML"),
])
def test_a_broken_lock_is_an_input_error_naming_the_file(tmp_path, text, says):
    path = tmp_path / "kfdef.lock.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_lock(path)
    assert str(path) in err.value.message and says in err.value.message
    assert "delete it" in err.value.hint
