"""Fixtures of the check tests: a shaped, behaving sim and kfctl's own client to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kfctl.cluster import connect
from kfctl.sim.behaviour import ClusterShape


@pytest.fixture
def shaped(sim_factory) -> Iterator[Callable[..., Any]]:
    """``shaped(shape)`` -> kfctl's Cluster on a behaving sim with those nodes and classes (closed after)."""
    opened: list[Any] = []

    def make(shape: ClusterShape | None = None) -> Any:
        sim = sim_factory(behaviour=True, profile="instant", shape=shape or ClusterShape())
        sim.sync()
        cluster = connect(sim.kubeconfig_path, None)
        cluster.sim = sim
        opened.append(cluster)
        return cluster

    yield make
    for cluster in opened:
        cluster.close()
