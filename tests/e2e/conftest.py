"""End-to-end fixtures: a simulated cluster with its controllers, or the real control plane (helpers in e2e_support.py)."""

from __future__ import annotations

import pytest

#: real seconds per sim second. 50x faster than real time, not 100x: the suite runs on two workers, and a
#: process starved of CPU for a second let 100 sim seconds pass at 0.01 while the sim's controllers and kfctl
#: (in that same process) stood still. A 610-object install then saw a Deployment's 600 s progress deadline
#: expire before its pods' due readiness was handled (CI, once). These installs are bound by Python's CPU, not
#: by sim time: the 610-object one takes 19-20 s at either scale.
TIME_SCALE = 0.02


@pytest.fixture
def kube_sim(sim_factory):
    """A simulated cluster with its controllers on the realistic profile, 50x faster than real time."""
    return lambda **settings: sim_factory(**{"profile": "realistic", "behaviour": True, "time_scale": TIME_SCALE,
                                             **settings})


@pytest.fixture(params=["sim", pytest.param("real", marks=pytest.mark.realcluster)])
def kube(request, sim_factory, real_factory):
    """``kube()`` -> a fresh cluster of each tier in turn: the sim (as ``kube_sim``) and the real control plane.

    Scenarios written against it run with the same assertions on both; ``request.param`` says which.
    """
    if request.param == "sim":
        return lambda: sim_factory(profile="realistic", behaviour=True, time_scale=TIME_SCALE)
    return lambda: real_factory()
