"""Image references: Docker Hub's implicit names, public registries, registry prefixes and the most specific rewrite."""

from __future__ import annotations

import pytest

from kfctl.imageref import ImagePolicy, Rewrite, is_public, normalize, prefix_problem, registry, repository_path


@pytest.mark.parametrize("image, full", [
    ("mysql:8.0", "docker.io/library/mysql:8.0"),
    ("mysql", "docker.io/library/mysql"),
    ("kserve/agent:v0.16.0", "docker.io/kserve/agent:v0.16.0"),
    ("index.docker.io/kserve/agent:v1", "docker.io/kserve/agent:v1"),
    ("docker.io/alpine/k8s:1.32.3", "docker.io/alpine/k8s:1.32.3"),
    ("ghcr.io/kubeflow/kfp-api-server:2.16.0", "ghcr.io/kubeflow/kfp-api-server:2.16.0"),
    ("localhost:5000/x/y:1", "localhost:5000/x/y:1"),
    ("busybox@sha256:" + "a" * 64, "docker.io/library/busybox@sha256:" + "a" * 64),
])
def test_normalize_spells_out_docker_hub(image, full):
    assert normalize(image) == full


def test_registry_and_repository_path():
    assert registry("mysql:8.0") == "docker.io"
    assert registry("registry.internal:5000/a/b:1") == "registry.internal:5000"
    assert repository_path("ghcr.io/kubeflow/kfp-api-server:2.16.0") == "kubeflow/kfp-api-server"
    assert repository_path("gcr.io/k/serving/cmd/queue@sha256:00") == "k/serving/cmd/queue"


@pytest.mark.parametrize("image, public", [
    ("mysql:8.0", True), ("quay.io/jetstack/cert-manager-webhook:v1", True),
    ("us-docker.pkg.dev/p/r/i:1", True), ("eu.gcr.io/p/i:1", True), ("public.ecr.aws/x/y:1", True),
    ("nvcr.io/nvidia/tritonserver:23.05-py3", True), ("registry.k8s.io/jobset/jobset:v0.10.1", True),
    ("registry.internal/kubeflow/x:1", False), ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1", False),
])
def test_public_registries(image, public):
    assert is_public(image) is public


def test_the_most_specific_rule_wins_whatever_the_order():
    policy = ImagePolicy(rewrites=(Rewrite("ghcr.io", "mirror.example/ghcr"),
                                   Rewrite("ghcr.io/kubeflow", "registry.internal/kubeflow"),
                                   Rewrite("docker.io", "registry.internal/hub")))
    assert policy.rewrite("ghcr.io/kubeflow/kfp-api-server:2.16.0") == "registry.internal/kubeflow/kfp-api-server:2.16.0"
    assert policy.rewrite("ghcr.io/dexidp/dex:v2.45.0") == "mirror.example/ghcr/dexidp/dex:v2.45.0"
    assert policy.rewrite("mysql:8.0") == "registry.internal/hub/library/mysql:8.0"
    assert policy.rewrite("kserve/agent:v0.16.0") == "registry.internal/hub/kserve/agent:v0.16.0"
    assert policy.rewrite("quay.io/jetstack/cert-manager-webhook:v1") == "quay.io/jetstack/cert-manager-webhook:v1"


def test_a_prefix_matches_at_a_boundary_only():
    policy = ImagePolicy(rewrites=(Rewrite("ghcr.io/kubeflow", "r.internal/kf"),
                                   Rewrite("docker.io/library/mysql", "r.internal/db/mysql")))
    assert policy.rewrite("ghcr.io/kubeflowx/a:1") == "ghcr.io/kubeflowx/a:1"
    assert policy.rewrite("mysql:8.4") == "r.internal/db/mysql:8.4"
    assert policy.rewrite("mysql@sha256:" + "0" * 64) == "r.internal/db/mysql@sha256:" + "0" * 64
    assert policy.rewrite("mysqlx:1") == "mysqlx:1"


@pytest.mark.parametrize("prefix", ["registry.internal/kubeflow", "docker.io", "localhost:5000", "r.internal:443/a/b_c"])
def test_valid_prefixes(prefix):
    assert prefix_problem(prefix) is None


@pytest.mark.parametrize("prefix, says", [
    ("kubeflow", "registry host"), ("registry.internal/", "ends with"), ("", "empty"),
    ("https://registry.internal/kf", "scheme"), ("registry.internal/Kubeflow", "lower-case"),
    ("registry.internal/kf:v1", "tag"), ("registry.internal/kf@sha256:00", "digest"),
])
def test_invalid_prefixes_say_why(prefix, says):
    assert says in prefix_problem(prefix)
