"""pytest fixtures of the real-cluster tier: a fresh real control plane per test.

Expose them from a ``conftest.py`` with
``from kfctl.realcluster.testing import real_factory, pytest_runtest_makereport``.
``real_factory(**settings)`` starts a :class:`~kfctl.realcluster.RealCluster`
and stops it after the test. When the binaries are not built the test is
skipped with how to build them, unless ``KFCTL_REQUIRE_REALCLUSTER=1`` (CI),
which makes it fail. A failed test keeps the control plane's logs and audit
log under its ``tmp_path``, or under ``$KFCTL_REALCLUSTER_LOGS/<test>`` when that is set
(pytest keeps only its last three temporary folders; CI sets it to keep them as artifacts);
the folder is named in the test's report.

Tests of this tier carry the ``realcluster`` marker: ``pytest -m realcluster``
runs only them, ``-m "not realcluster"`` everything else.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kfctl.realcluster.binaries import MissingBinaries, bin_dir
from kfctl.realcluster.cluster import RealCluster

REQUIRE = "KFCTL_REQUIRE_REALCLUSTER"
#: where a failed test's control-plane logs go (default: the test's tmp_path, which pytest rotates)
KEEP = "KFCTL_REALCLUSTER_LOGS"
#: settings a RealCluster takes (the sim's time scales, profiles and faults have no meaning here)
SETTINGS = {"nodes", "node_cpu", "node_memory", "node_gpus", "node_pods", "pod_ready_ms", "token",
            "storage_classes"}


def binaries_or_skip() -> Any:
    """The bin folder, or skip the test (fail under ``KFCTL_REQUIRE_REALCLUSTER=1``) saying how to build it."""
    try:
        return bin_dir()
    except MissingBinaries as exc:
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{exc} ({REQUIRE}=1: the real tier must run)", pytrace=False)
        pytest.skip(str(exc))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    """Remember each phase's report on the item, so a fixture's teardown knows whether the test failed."""
    outcome: Any = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def real_factory(tmp_path: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., RealCluster]]:
    """``real_factory(**settings)`` -> a started RealCluster; all are stopped after the test, logs kept on failure."""
    started: list[RealCluster] = []

    def make(**settings: Any) -> RealCluster:
        unknown = set(settings) - SETTINGS
        if unknown:
            raise TypeError(f"a real cluster has no setting {sorted(unknown)}; it takes {sorted(SETTINGS)}")
        folder = binaries_or_skip()
        cluster = RealCluster(kubeconfig_path=tmp_path / f"real-kubeconfig-{len(started)}", bin_folder=folder,
                              **settings)
        started.append(cluster)
        cluster.start()
        return cluster

    yield make
    failed = any(getattr(getattr(request.node, f"rep_{when}", None), "failed", False) for when in ("setup", "call"))
    keep_root = os.environ.get(KEEP)
    for i, cluster in enumerate(reversed(started)):
        cluster.stop(keep=failed)
        if failed:
            name = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.name)
            kept = (Path(keep_root) / name if keep_root else tmp_path) / f"realcluster-{i}"
            shutil.copytree(cluster.logs, kept / "logs", dirs_exist_ok=True)
            if (cluster.workdir / "audit.log").exists():
                shutil.copy2(cluster.workdir / "audit.log", kept / "audit.log")
            shutil.rmtree(cluster.workdir, ignore_errors=True)
            request.node.add_report_section("teardown", "realcluster",
                                            f"control plane logs and audit log kept in {kept}")
