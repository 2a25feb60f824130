"""The cluster client: the only part of kfctl that imports ``kubernetes``.

Everything above it (engine, CLI) speaks in plain manifests (dicts) and in
kfctl's own errors (:mod:`kfctl.errors`); everything about HTTP, discovery and
the official client lives here. See :class:`kfctl.cluster.client.Cluster`.
The client module (and so ``kubernetes``) is imported on first use of
``connect`` or ``Cluster``: the errors need neither.
"""

from __future__ import annotations

from typing import Any

from kfctl.errors import ApiError, ApplyConflict, KindNotServed, NotFound
from kfctl.cluster.errors import ClusterUnreachable

__all__ = ["ApiError", "ApplyConflict", "Cluster", "ClusterUnreachable", "KindNotServed", "NotFound", "connect"]


def __getattr__(name: str) -> Any:
    if name in ("Cluster", "connect"):
        from kfctl.cluster import client

        return getattr(client, name)
    raise AttributeError(f"module 'kfctl.cluster' has no attribute {name!r}")
