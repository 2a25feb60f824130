"""KfDef repos: fetch a ``spec.repos[]`` archive safely, and build repo applications with real kustomize.

The public face of the subpackage; the modules behind it each do one step::

    source     what a uri names (URL, local archive, local folder) and the fetch Settings
    download   streamed, hashed, size-capped, retried HTTP download
    extract    safe tar/zip unpacking (traversal, links, devices, bombs refused)
    fetch      the cache and fetch_repo()
    kustomize  which kustomize binary, and running it offline
    params     kfctl 1.x parameters written into a package's params.env
    build      build_application(): repoRef.path + overlays + parameters -> objects

Every error is a :class:`~kfctl.errors.InputError` (exit 2), see :mod:`kfctl.repos.errors`.
"""

from __future__ import annotations

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
