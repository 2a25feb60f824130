"""Deterministic bcrypt hashes for passwords that templates store (Dex's first user).

Why deterministic: kfctl renders a KfDef again on every run and writes only
what changed, so the hash of an unchanged password must be byte-identical
from run to run (a fresh random salt would rewrite the Secret and restart
Dex on every no-op apply). The salt is therefore derived, not drawn: the
first 16 bytes of SHA-256 over ``seed`` (templates pass the deployment's
name and the user's e-mail) and the password. Changing the password, the
user or the deployment's name gives a new salt and a new hash.

What that costs: two deployments with the same name, user and password
store the same hash, so a leaked hash can be checked against both at once
(a random salt would prevent that); it is still a bcrypt hash at cost 10
(bcrypt's default and the lowest Dex accepts), so recovering a password from
it takes a dictionary attack per candidate, and Dex never shows it. Results
are cached per process: rendering every platform in the tests hashes once.

bcrypt itself comes from the ``bcrypt`` package (pyca, a C/Rust
implementation): hashing is not something to write by hand.
"""

from __future__ import annotations

import functools
import hashlib

import bcrypt

#: bcrypt's cost: 2**10 rounds. Dex refuses hashes below 10 ("too weak").
COST = 10
#: bcrypt reads at most 72 bytes of a password; a longer one would be cut silently.
MAX_PASSWORD_BYTES = 72

_BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _bcrypt_base64(data: bytes) -> str:
    """bcrypt's own base64 (its alphabet, no padding): 16 bytes -> 22 characters."""
    bits = int.from_bytes(data, "big") << 4  # 128 bits padded to 132 = 22 six-bit digits
    return "".join(_BCRYPT_ALPHABET[(bits >> shift) & 63] for shift in range(126, -1, -6))


def derived_salt(seed: str, password: str) -> bytes:
    """The bcrypt salt string (``$2b$10$`` + 22 characters) for ``seed`` and ``password``."""
    digest = hashlib.sha256(b"kfctl-bcrypt\0" + seed.encode() + b"\0" + password.encode()).digest()
    return f"$2b${COST:02d}${_bcrypt_base64(digest[:16])}".encode("ascii")


@functools.lru_cache(maxsize=64)
def bcrypt_hash(password: str, seed: str) -> str:
    """The bcrypt hash of ``password`` with a salt derived from ``seed`` and the password."""
    raw = str(password).encode("utf-8")
    if len(raw) > MAX_PASSWORD_BYTES:
        raise ValueError(f"a password bcrypt can hash has at most {MAX_PASSWORD_BYTES} bytes, this one has {len(raw)}")
    return bcrypt.hashpw(raw, derived_salt(str(seed), str(password))).decode("ascii")
