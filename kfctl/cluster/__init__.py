"""The cluster client: the only part of kfctl that imports ``kubernetes``.

Everything above it (engine, CLI) speaks in plain manifests (dicts) and in
kfctl's own errors; everything about HTTP, discovery and the official client
lives here. See :class:`kfctl.cluster.client.Cluster`.
"""

from kfctl.cluster.client import Cluster, connect
from kfctl.cluster.errors import (
    ApiError,
    ApplyConflict,
    ClusterUnreachable,
    KindNotServed,
    NotFound,
)

__all__ = ["ApiError", "ApplyConflict", "Cluster", "ClusterUnreachable", "KindNotServed", "NotFound", "connect"]
