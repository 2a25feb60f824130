"""Certificates and keys of a test control plane, made with the ``openssl`` command.

The real API server wants TLS everywhere: its own serving certificate, client
certificates for kfctl, the controllers and the harness, a service-account
signing key pair, and serving certificates for the admission webhooks the
harness answers for (each signed by the CA it injects into their caBundle).
``openssl`` is on every machine that has Python's ``ssl``; the ``cryptography``
package is not a dependency of kfctl, so it is not used. EC P-256 keys: fast
to make, accepted by Go and by Python's ``ssl``.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path


class PKIError(RuntimeError):
    """openssl is missing or refused a request."""


def _openssl(*args: str, cwd: Path) -> None:
    exe = shutil.which("openssl")
    if exe is None:
        raise PKIError("the real-cluster harness needs the openssl command to make its certificates; install openssl")
    done = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise PKIError(f"openssl {args[0]} failed: {done.stderr.strip()}")


@dataclass(frozen=True)
class KeyPair:
    cert: Path
    key: Path

    def cert_pem(self) -> bytes:
        return self.cert.read_bytes()

    def key_pem(self) -> bytes:
        return self.key.read_bytes()


class PKI:
    """One CA in ``folder`` and what it signs (files named after their purpose)."""

    def __init__(self, folder: Path, *, name: str = "kfctl-realcluster-ca") -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.ca = KeyPair(folder / "ca.crt", folder / "ca.key")
        if not self.ca.cert.exists():
            _openssl("req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                     "-keyout", self.ca.key.name, "-out", self.ca.cert.name, "-days", "3650", "-subj", f"/CN={name}",
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature", cwd=folder)

    def issue(self, stem: str, *, cn: str, orgs: tuple[str, ...] = (), dns: tuple[str, ...] = (),
              ips: tuple[str, ...] = (), server: bool = False, client: bool = False) -> KeyPair:
        """A certificate signed by the CA (cached by ``stem``): ``server`` and/or ``client`` usage, SANs."""
        with self._lock:
            pair = KeyPair(self.folder / f"{stem}.crt", self.folder / f"{stem}.key")
            if pair.cert.exists():
                return pair
            subject = "".join(f"/O={o}" for o in orgs) + f"/CN={cn}"
            usages = [u for u, on in (("serverAuth", server), ("clientAuth", client)) if on]
            ext = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"]
            if usages:
                ext.append("extendedKeyUsage=" + ",".join(usages))
            sans = [f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips]
            if sans:
                ext.append("subjectAltName=" + ",".join(sans))
            (self.folder / f"{stem}.ext").write_text("\n".join(ext) + "\n")
            _openssl("req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                     "-keyout", pair.key.name, "-out", f"{stem}.csr", "-subj", subject, cwd=self.folder)
            _openssl("x509", "-req", "-in", f"{stem}.csr", "-CA", self.ca.cert.name, "-CAkey", self.ca.key.name,
                     "-CAcreateserial", "-out", pair.cert.name, "-days", "3650", "-extfile", f"{stem}.ext",
                     cwd=self.folder)
            return pair

    def signing_keys(self, stem: str = "service-account") -> KeyPair:
        """An EC key pair for service-account tokens: ``cert`` is the public key PEM, ``key`` the private key."""
        with self._lock:
            pair = KeyPair(self.folder / f"{stem}.pub", self.folder / f"{stem}.key")
            if not pair.key.exists():
                _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", pair.key.name, cwd=self.folder)
                _openssl("ec", "-in", pair.key.name, "-pubout", "-out", pair.cert.name, cwd=self.folder)
            return pair
