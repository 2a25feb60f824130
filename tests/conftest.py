"""Shared pytest fixtures. Tests mirror the package layout under ``tests/``."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def runner() -> CliRunner:
    """A click CliRunner keeping stderr apart from stdout."""
    return CliRunner()


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


from kfctl.sim.testing import sim_cluster, sim_factory  # noqa: E402,F401  (simulated cluster fixtures)
from kfctl.realcluster.testing import pytest_runtest_makereport, real_factory  # noqa: E402,F401  (the real tier)


@pytest.fixture
def sim_shapes() -> Path:
    """The example cluster-shape files (gpu, no-default-sc, helm-cert-manager-istio, limited-token, quota,
    old-version): ``sim_factory(behaviour=True, shape=sim_shapes / "gpu.yaml")``."""
    return REPO_ROOT / "tests" / "data" / "shapes"
