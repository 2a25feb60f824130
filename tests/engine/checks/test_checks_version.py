"""The version check: below a component's min fails, above its max warns, within passes."""

from __future__ import annotations

from kfctl.engine.checks.model import Facts
from kfctl.engine.checks.version import check_version, judge, minor_of, server_minor

RANGES = {"istio": {"min": "1.31", "max": "1.35"}, "knative-serving": {"min": "1.32", "max": "1.35"},
          "dex": {"max": "1.34"}}


def test_versions_are_read_from_git_version_or_major_minor():
    assert minor_of("v1.33.2-eks-1") == (1, 33) and minor_of("1.31") == (1, 31) and minor_of("x") is None
    assert server_minor({"gitVersion": "v1.30.4+k3s1"}) == (1, 30)
    assert server_minor({"major": "1", "minor": "28+", "gitVersion": ""}) == (1, 28)  # GKE's minor
    assert server_minor({}) is None


def test_within_every_range_passes():
    [finding] = judge((1, 32), RANGES)
    assert finding.status == "pass" and "1.32" in finding.message and "1.32 to 1.34" in finding.message


def test_older_than_a_minimum_fails_naming_the_components():
    [finding] = judge((1, 31), RANGES)
    assert finding.status == "fail"
    assert "knative-serving" in finding.message and "istio" not in finding.message
    assert "upgrade the cluster to Kubernetes 1.32" in finding.fix


def test_newer_than_a_maximum_only_warns():
    [finding] = judge((1, 35), RANGES)
    assert finding.status == "warn" and "1.34 (dex)" in finding.message


def test_the_sims_server_version_is_read_over_http(sim_cluster):
    from kfctl.cluster import connect

    cluster = connect(sim_cluster.kubeconfig_path, None)
    try:
        [finding] = check_version(cluster, None, Facts("app", "kubeflow", kubernetes=RANGES))
    finally:
        cluster.close()
    assert finding.status == "warn" and "Kubernetes 1.37" in finding.message  # the sim serves 1.37
