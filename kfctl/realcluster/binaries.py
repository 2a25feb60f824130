"""Where the control plane's binaries are: the cache ``scripts/build-controlplane`` fills.

The build script keys its cache by a hash of the wrapper modules' go.mod/go.sum
(and the etcd entry point); this module computes the same key from the
repository's ``controlplane/`` folder, so the harness finds exactly the
binaries of the checked-out pins. ``KFCTL_CONTROLPLANE_BIN`` names a folder
directly (an installed kfctl has no ``controlplane/`` folder).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

NEEDED = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
#: the files the build script hashes, in its order (keep in step with scripts/build-controlplane)
KEY_FILES = ("k8s/go.mod", "k8s/go.sum", "k8s/cmd/etcd/main.go", "kwok/go.mod", "kwok/go.sum")
REPO = Path(__file__).resolve().parents[2]
HOW_TO_BUILD = "build them with `bash scripts/build-controlplane` (needs Go >= 1.26 and the Go module proxy)"


class MissingBinaries(RuntimeError):
    """The control plane is not built (or not where it is looked for)."""


def _default_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kfctl" / "controlplane"


#: read when kfctl.realcluster is imported: tests that point XDG_CACHE_HOME elsewhere (for kfctl's own
#: download cache) must still find the control plane the build script cached
DEFAULT_ROOT = _default_root()


def cache_root() -> Path:
    root = os.environ.get("KFCTL_CONTROLPLANE_CACHE")
    return Path(root) if root else DEFAULT_ROOT


def build_key(source: Path = REPO / "controlplane") -> str:
    digest = hashlib.sha256()
    for name in KEY_FILES:
        digest.update((source / name).read_bytes())
    return digest.hexdigest()[:16]


def bin_dir() -> Path:
    """The folder holding every binary in :data:`NEEDED`, or :class:`MissingBinaries` saying how to build them."""
    named = os.environ.get("KFCTL_CONTROLPLANE_BIN")
    if named:
        folder = Path(named)
        where = f"KFCTL_CONTROLPLANE_BIN={named}"
    else:
        if not (REPO / "controlplane" / "k8s" / "go.mod").exists():
            raise MissingBinaries("no controlplane/ folder beside kfctl (an installed kfctl): set "
                                  "KFCTL_CONTROLPLANE_BIN to a folder holding " + ", ".join(NEEDED))
        folder = cache_root() / build_key() / "bin"
        where = str(folder)
    missing = [b for b in NEEDED if not os.access(folder / b, os.X_OK)]
    if missing:
        raise MissingBinaries(f"the real control plane is not built ({', '.join(missing)} missing in {where}): "
                              + HOW_TO_BUILD)
    return folder
