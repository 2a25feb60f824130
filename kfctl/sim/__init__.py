"""A simulated Kubernetes API server for offline rehearsal and end-to-end tests.

``kfctl sim serve`` and :class:`SimCluster` serve the Kubernetes API over real
HTTP with the semantics of a v1.37 kube-apiserver (see ``README.md`` next to
this file for what it does and every deliberate difference). The package is
self-contained: it imports nothing from the rest of kfctl.
"""

from __future__ import annotations

from kfctl.sim.admission import AdmissionChain, AdmissionRequest
from kfctl.sim.clock import SimClock
from kfctl.sim.cluster import Cluster
from kfctl.sim.options import DeleteOptions, Result, WriteOptions
from kfctl.sim.faults import Faults
from kfctl.sim.shape import ClusterShape, ShapeError, load_shape
from kfctl.sim.simcluster import SimCluster
from kfctl.sim.status import APIError
from kfctl.sim.store import Event
from kfctl.sim.types import Behaviour, Column, ResourceType

__all__ = [
    "APIError", "AdmissionChain", "AdmissionRequest", "Behaviour", "Cluster", "ClusterShape", "Column", "DeleteOptions",
    "Event", "Faults", "ResourceType", "Result", "ShapeError", "SimClock", "SimCluster", "WriteOptions", "load_shape",
]
