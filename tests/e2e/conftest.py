"""End-to-end fixtures: a simulated cluster with its controllers (helpers live in e2e_support.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def kube_sim(sim_factory):
    """A simulated cluster with its controllers on the realistic profile, 100x faster than real time."""
    return lambda **settings: sim_factory(**{"profile": "realistic", "behaviour": True, "time_scale": 0.01, **settings})
