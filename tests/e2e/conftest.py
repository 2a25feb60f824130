"""End-to-end fixtures: a simulated cluster with its controllers, or the real control plane (helpers in e2e_support.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def kube_sim(sim_factory):
    """A simulated cluster with its controllers on the realistic profile, 100x faster than real time."""
    return lambda **settings: sim_factory(**{"profile": "realistic", "behaviour": True, "time_scale": 0.01, **settings})


@pytest.fixture(params=["sim", pytest.param("real", marks=pytest.mark.realcluster)])
def kube(request, sim_factory, real_factory):
    """``kube()`` -> a fresh cluster of each tier in turn: the sim (as ``kube_sim``) and the real control plane.

    Scenarios written against it run with the same assertions on both; ``request.param`` says which.
    """
    if request.param == "sim":
        return lambda: sim_factory(profile="realistic", behaviour=True, time_scale=0.01)
    return lambda: real_factory()
