"""Deterministic bcrypt for template-stored passwords (kfctl/render/passwords.py)."""

from __future__ import annotations

import re

import bcrypt
import pytest

from kfctl.render.passwords import COST, _bcrypt_base64, bcrypt_hash, derived_salt


def test_the_hash_verifies_and_is_dex_compatible():
    hashed = bcrypt_hash("12341234", "kf/user@example.com")
    assert re.fullmatch(r"\$2b\$10\$[./A-Za-z0-9]{53}", hashed)
    assert COST >= 10  # Dex refuses weaker hashes
    assert bcrypt.checkpw(b"12341234", hashed.encode())
    assert not bcrypt.checkpw(b"12341235", hashed.encode())


def test_same_input_same_hash_any_change_a_new_salt():
    base = bcrypt_hash.__wrapped__("s3cret-pass", "kf/a@example.com")
    assert base == bcrypt_hash.__wrapped__("s3cret-pass", "kf/a@example.com")  # not only the cache
    others = {bcrypt_hash("s3cret-pasS", "kf/a@example.com"), bcrypt_hash("s3cret-pass", "kf2/a@example.com"),
              bcrypt_hash("s3cret-pass", "kf/b@example.com")}
    assert base not in others and len(others) == 3
    salts = {derived_salt("kf/a@example.com", "s3cret-pass"), derived_salt("kf2/a@example.com", "s3cret-pass")}
    assert len(salts) == 2


def test_bcrypt_base64_is_bcrypts_alphabet():
    assert _bcrypt_base64(bytes(16)) == "." * 22
    assert _bcrypt_base64(b"\xff" * 16) == "9" * 21 + "u"  # the last digit carries 2 bits: ...0000
    assert len(_bcrypt_base64(bytes(range(16)))) == 22


def test_a_password_bcrypt_would_cut_is_refused():
    with pytest.raises(ValueError, match="at most 72 bytes"):
        bcrypt_hash("é" * 40, "kf/u@example.com")  # 80 bytes in UTF-8


def test_the_derived_salt_is_canonical():
    """bcrypt re-encodes the salt it read; a canonical one comes back unchanged."""
    for i in range(10):
        assert bcrypt_hash.__wrapped__(f"pw{i}", "s")[:29] == derived_salt("s", f"pw{i}").decode()
