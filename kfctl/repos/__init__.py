"""KfDef repos: fetch a ``spec.repos[]`` archive safely, and build repo applications with real kustomize.

The public face of the subpackage; the modules behind it each do one step::

    source     what a uri names (URL, local archive, local folder) and the fetch Settings
    download   streamed, hashed, size-capped, retried HTTP download
    extract    safe tar/zip unpacking (traversal, links, devices, bombs refused)
    fetch      the cache and fetch_repo()
    remote     remote kustomize references: git or file, where a tree names them, rewriting them
    git        one commit of a git repository, with the git program
    remotes    remote resources fetched into the cache, checked against the lock, made local
    lock       the lock file beside the KfDef (commits and sha256s of remote resources)
    mirrors    URL prefixes rewritten for air-gapped installs
    kustomize  which kustomize binary, and running it offline
    params     kfctl 1.x parameters written into a package's params.env
    build      build_application(): repoRef.path + overlays + parameters -> objects

Names are imported on first use (PEP 562). Every error is a
:class:`~kfctl.errors.InputError` (exit 2), see :mod:`kfctl.repos.errors`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kfctl.repos.build import build_application
    from kfctl.repos.errors import (
        ArchiveError,
        ChecksumMismatch,
        FetchError,
        HostileArchive,
        KustomizeError,
        KustomizeNotFound,
        RepoError,
        RepoPathError,
    )
    from kfctl.repos.fetch import default_cache_dir, fetch_repo
    from kfctl.repos.kustomize import Kustomize, find_kustomize
    from kfctl.repos.source import DEFAULT_SETTINGS, Settings

#: public name -> module, imported on first use so `kfctl version` (which asks only which
#: kustomize there is) does not pay for the config, httpx and extraction modules
_WHERE = {
    "build_application": "build",
    **dict.fromkeys(["ArchiveError", "ChecksumMismatch", "FetchError", "HostileArchive", "KustomizeError",
                     "KustomizeNotFound", "RepoError", "RepoPathError"], "errors"),
    "default_cache_dir": "fetch",
    "fetch_repo": "fetch",
    "Kustomize": "kustomize",
    "find_kustomize": "kustomize",
    "DEFAULT_SETTINGS": "source",
    "Settings": "source",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'kfctl.repos' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"kfctl.repos.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_SETTINGS",
    "ArchiveError",
    "ChecksumMismatch",
    "FetchError",
    "HostileArchive",
    "Kustomize",
    "KustomizeError",
    "KustomizeNotFound",
    "RepoError",
    "RepoPathError",
    "Settings",
    "build_application",
    "default_cache_dir",
    "fetch_repo",
    "find_kustomize",
]
