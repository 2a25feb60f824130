"""pytest fixtures for tests that need a Kubernetes API: a fresh simulated cluster each.

Expose them from a ``conftest.py`` with
``from kfctl.sim.testing import sim_cluster, sim_factory``. ``sim_cluster``
runs at ``time_scale=0.01`` (a sim minute in 0.6 s) so tests wait for nothing
real; ``sim_factory(**settings)`` starts more, or ones with other settings
(token, faults, persistence), and stops them all after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kfctl.sim.simcluster import SimCluster

#: the API machinery alone by default (tests of it assert exact objects); ``sim_factory(behaviour=True,
#: profile=...)`` adds the simulated controllers of :mod:`kfctl.sim.behaviour`
DEFAULTS: dict[str, Any] = {"time_scale": 0.01, "crd_establish_delay": 1.0, "behaviour": False}


def start_sim(**settings: Any) -> SimCluster:
    """A started :class:`SimCluster` with the test defaults, overridden by ``settings``."""
    return SimCluster(**{**DEFAULTS, **settings}).start()


@pytest.fixture
def sim_factory(tmp_path: Any) -> Iterator[Callable[..., SimCluster]]:
    """``sim_factory(**settings)`` -> a started SimCluster; every one is stopped after the test."""
    started: list[SimCluster] = []

    def make(**settings: Any) -> SimCluster:
        settings.setdefault("kubeconfig_path", tmp_path / f"sim-kubeconfig-{len(started)}")
        sim = start_sim(**settings)
        started.append(sim)
        return sim

    yield make
    for sim in reversed(started):
        sim.stop()


@pytest.fixture
def sim_cluster(sim_factory: Callable[..., SimCluster]) -> SimCluster:
    """A running simulated cluster (defaults of :data:`DEFAULTS`), stopped after the test."""
    return sim_factory()
