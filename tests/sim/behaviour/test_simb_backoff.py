"""The back-off schedules themselves: client-go's controller rate limiter and the kubelet's restart back-off."""

from __future__ import annotations

import pytest

from kfctl.sim.behaviour import KUBEFLOW_NEEDS, REALISTIC, expected_ready_delay
from kfctl.sim.behaviour.backoff import ControllerRateLimiter, CrashBackoff, job_rate_limiter
from kfctl.sim.behaviour.needs import exit_after


def test_per_item_delay_doubles_from_5ms_to_the_1000s_cap_and_is_forgotten_on_success() -> None:
    limiter = ControllerRateLimiter(qps=None)
    delays = [limiter.when("rs", now=0.0) for _ in range(20)]
    assert delays[:4] == pytest.approx([0.005, 0.01, 0.02, 0.04])
    assert delays[11] == pytest.approx(10.24) and delays[17] == pytest.approx(655.36)
    assert delays[18:] == [1000.0, 1000.0]
    assert limiter.requeues("rs") == 20 and limiter.when("other", now=0.0) == pytest.approx(0.005)
    limiter.forget("rs")
    assert limiter.when("rs", now=0.0) == pytest.approx(0.005)


def test_the_overall_bucket_allows_a_burst_of_100_then_10_per_second() -> None:
    limiter = ControllerRateLimiter()
    burst = [limiter.when(i, now=0.0) for i in range(100)]
    assert max(burst) == pytest.approx(0.005)  # each item's own first delay
    assert limiter.when(100, now=0.0) == pytest.approx(0.1)
    assert limiter.when(101, now=0.0) == pytest.approx(0.2)
    assert limiter.when(102, now=10.0) == pytest.approx(0.005)  # refilled


def test_job_controller_limiter_is_1s_doubling_to_a_minute() -> None:
    limiter = job_rate_limiter()
    assert [limiter.when("job", now=0.0) for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_kubelet_restart_backoff_immediate_then_10s_doubling_to_300s_reset_after_ten_quiet_minutes() -> None:
    backoff, now, waits = CrashBackoff(), 0.0, []
    for _ in range(8):
        now += 5.0  # the container runs 5 s, then exits
        wait = backoff.restart_delay(now)
        waits.append(wait)
        now += wait
    assert waits == [0, 10, 20, 40, 80, 160, 300, 300]
    assert backoff.restart_delay(now + 601) == 0  # ran more than 10 minutes: starts over
    assert backoff.restart_delay(now + 700) == 10


def test_needs_cover_our_and_upstream_image_names_and_the_probe_that_kills_first() -> None:
    by_image = {image: next((n for n in KUBEFLOW_NEEDS if n.matches(image)), None) for image in (
        "ghcr.io/kubeflow/kfp-api-server:2.5.0", "gcr.io/ml-pipeline/api-server:2.0.5",
        "ghcr.io/kubeflow/kfp-api-server:2.16.0", "ghcr.io/kubeflow/kfp-cache-server:2.16.0",
        "gcr.io/tfx-oss-public/ml_metadata_store_server:1.14.0", "ghcr.io/kubeflow/kfp-metadata-writer:2.16.0",
        "ghcr.io/kubeflow/kfp-persistence-agent:2.5.0", "ghcr.io/kubeflow/katib/katib-db-manager:v0.19.0",
        "ghcr.io/kubeflow/kfp-frontend:2.5.0")}
    assert [n.patterns[0] if n else None for n in by_image.values()] == [
        "*/kfp-api-server:*", "*/kfp-api-server:*", "*/kfp-api-server:*", "*/kfp-cache-server:*",
        "*ml_metadata_store_server*", "*/kfp-metadata-writer:*", "*/kfp-persistence-agent:*", "*katib-db-manager*",
        None]
    api = by_image["ghcr.io/kubeflow/kfp-api-server:2.5.0"]
    assert exit_after(api, {"startupProbe": {"periodSeconds": 5, "failureThreshold": 12}}) == (60.0, "startup")
    assert exit_after(api, {"livenessProbe": {"initialDelaySeconds": 3, "periodSeconds": 5}}) == (18.0, "liveness")
    assert exit_after(api, {}) == (360.0, "")
    katib = by_image["ghcr.io/kubeflow/katib/katib-db-manager:v0.19.0"]
    assert exit_after(katib, {"livenessProbe": {"initialDelaySeconds": 10, "periodSeconds": 60,
                                                "failureThreshold": 5}}) == (60.0, "")


def test_needs_do_not_change_the_lower_bound_of_a_pod_started_after_its_services() -> None:
    image = "ghcr.io/kubeflow/kfp-api-server:2.5.0"
    spec = {"containers": [{"name": "api", "image": image, "readinessProbe": {"tcpSocket": {"port": 8888}}}]}
    assert REALISTIC.needs and expected_ready_delay(spec, REALISTIC) == pytest.approx(
        REALISTIC.pull_delay(image) + REALISTIC.start_delay(image))


def test_a_container_without_readiness_or_startup_probe_is_ready_once_pulled_and_started() -> None:
    image = "ghcr.io/kubeflow/kfp-metadata-writer:2.5.0"
    bare = {"containers": [{"name": "main", "image": image, "livenessProbe": {"tcpSocket": {"port": 1}}}]}
    assert expected_ready_delay(bare, REALISTIC) == pytest.approx(REALISTIC.pull_delay(image))
    startup = {"containers": [{"name": "main", "image": image, "startupProbe": {"tcpSocket": {"port": 1}}}]}
    assert expected_ready_delay(startup, REALISTIC) == pytest.approx(
        REALISTIC.pull_delay(image) + REALISTIC.start_delay(image))


def test_retry_schedules_follow_the_applications_own_back_off() -> None:
    by_name = {n.patterns[0]: n for n in KUBEFLOW_NEEDS}
    api = by_name["*/kfp-api-server:*"]
    assert [round(api.retry_after(n), 3) for n in range(4)] == [0.5, 0.75, 1.125, 1.688]
    assert api.retry_after(40) == 60.0  # cenkalti's MaxInterval
    assert {by_name["*/kfp-metadata-writer:*"].retry_after(n) for n in range(100)} == {1.0}
    assert by_name["*katib-db-manager*"].retry_after(3) == 5.0
