"""Recognising an application by its image wherever the image was mirrored.

The sim tabulates behaviour by image name (cert-manager's parts, timing rules,
the Services an application needs). An air-gapped install pulls the same
images from a private registry (``quay.io/jetstack/cert-manager-webhook`` as
``registry.internal/quay/jetstack/cert-manager-webhook``), so a pattern that
names a registry host matches the image's repository path from any ``/``
boundary on, ignoring the host. A real cluster runs the image whatever its
registry; only the sim needs this, and it is listed in ``kfctl/sim/README.md``.
"""

from __future__ import annotations

import fnmatch


def _has_host(name: str) -> bool:
    first, sep, _ = name.partition("/")
    return bool(sep) and ("." in first or ":" in first or first == "localhost")


def path_of(name: str) -> str:
    """``name`` without its registry host (unchanged when it names none)."""
    return name.partition("/")[2] if _has_host(name) else name


def image_matches(image: str, pattern: str) -> bool:
    """fnmatch ``pattern`` against ``image``; a pattern naming a registry host also matches the same repository path
    under any registry and prefix (``*/jetstack/cert-manager-webhook*`` in effect)."""
    if fnmatch.fnmatchcase(image, pattern):
        return True
    if not _has_host(pattern):
        return False
    wanted, parts = path_of(pattern), path_of(image).split("/")
    return any(fnmatch.fnmatchcase("/".join(parts[i:]), wanted) for i in range(len(parts)))


def same_repository(image: str, repository: str) -> bool:
    """True when ``image`` (any tag or digest) is ``repository`` (``host/path``), pulled from any registry and
    prefix."""
    return any(image_matches(image, repository + suffix) for suffix in ("", ":*", "@*"))
