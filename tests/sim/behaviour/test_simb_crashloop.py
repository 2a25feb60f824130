"""Why an all-at-once install is slow, as a client sees it: apps crash-looping without their database,
and a ReplicaSet refused by an unready webhook retrying on client-go's rate limiter."""

from __future__ import annotations

from kfctl.sim.behaviour import KUBEFLOW_NEEDS, Profile
from simb_helpers import condition, pod, service

#: instant timings, so only the back-off decides when things happen
NEEDY = Profile(name="needy", needs=KUBEFLOW_NEEDS)
API_SERVER = "ghcr.io/kubeflow/kfp-api-server:2.5.0"
#: our bundle's (and upstream's) startupProbe: 12 failures 5 s apart kill the container after 60 s
STARTUP = {"exec": {"command": ["wget", "-q", "-O", "-", "http://localhost:8888/apis/v1beta1/healthz"]},
           "periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 12}
#: KFP 2.5's API server as 1.10 configures it: the database host from pipeline-install-config, the object
#: store left to its built-in default (minio-service)
API_1_10 = {"startupProbe": STARTUP, "env": [
    {"name": "DBCONFIG_MYSQLCONFIG_HOST", "valueFrom": {"configMapKeyRef": {"name": "pipeline-install-config",
                                                                           "key": "mysqlHost"}}},
    {"name": "DBCONFIG_MYSQLCONFIG_PORT", "value": "3306"}]}
INSTALL_CONFIG = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pipeline-install-config",
                                                                        "namespace": "default"},
                  "data": {"mysqlHost": "mysql"}}


def _backend(kube, name: str) -> None:
    """A ready pod behind a Service of ``name`` (the instant profile makes it ready at once)."""
    kube.create(pod(f"{name}-0", labels={"app": name}), service(name, selector={"app": name}, port=3306))
    kube.wait(lambda: any(e.subsets and e.subsets[0].addresses for e in kube.core.list_namespaced_endpoints(
        "default", field_selector=f"metadata.name={name}").items))


def parse_time(value) -> float:
    """A timestamp the client decoded (datetime) as epoch seconds."""
    return value.timestamp()


def _close(seen: list[float], expected: list[float], slack: float = 0.0) -> bool:
    """Equal within the 1 s resolution of Kubernetes timestamps, plus ``slack``: how late the sim's controllers
    ran (``Client.slack``; a loaded machine delays the timers that stamp them)."""
    return len(seen) == len(expected) and all(abs(a - b) <= 1 + slack for a, b in zip(seen, expected))


def _main_status(kube, name: str):
    """The container status, once the kubelet has published one (waited for)."""
    return kube.wait(lambda: ((kube.core.read_namespaced_pod(name, "default").status or None) and
                              (kube.core.read_namespaced_pod(name, "default").status.container_statuses or [None])[0]))


def test_api_server_started_before_mysql_crash_loops_and_is_ready_at_the_first_restart_after(behaving) -> None:
    kube = behaving(profile=NEEDY)
    _backend(kube, "minio-service")
    kube.create(INSTALL_CONFIG, pod("ml-pipeline", image=API_SERVER, container=API_1_10))
    restarts: dict[int, tuple[float, float]] = {}  # restartCount -> (previous exit, this start) in sim seconds

    def observe() -> int:
        s = _main_status(kube, "ml-pipeline")
        if s.restart_count and s.state.running and s.restart_count not in restarts:
            restarts[s.restart_count] = (parse_time(s.last_state.terminated.finished_at),
                                         parse_time(s.state.running.started_at))
        return s.restart_count
    kube.wait(lambda: observe() and 4 in restarts, timeout=15)
    slack = kube.slack()
    gaps = [round(restarts[n][1] - restarts[n][0]) for n in (1, 2, 3, 4)]
    assert _close(gaps, [0, 10, 20, 40], slack), (gaps, slack)  # at once, then 10 s doubling
    runs = [round(restarts[n + 1][0] - restarts[n][1]) for n in (1, 2, 3)]
    assert _close(runs, [60, 60, 60], slack), (runs, slack)  # killed by the startup probe each time
    waiting = kube.wait(lambda: _main_status(kube, "ml-pipeline").state.waiting)
    assert waiting.reason == "CrashLoopBackOff" and waiting.message.startswith("back-off 80s restarting")
    assert not condition(kube.core.read_namespaced_pod("ml-pipeline", "default"), "Ready").status == "True"

    _backend(kube, "mysql")  # mysql becomes ready during the 80 s back-off
    mysql_ready = kube.sim.clock.now()
    ready = kube.wait(lambda: (c := condition(kube.core.read_namespaced_pod("ml-pipeline", "default"), "Ready"))
                      and c.status == "True" and c, timeout=5)
    s = _main_status(kube, "ml-pipeline")
    assert s.restart_count == 5 and s.ready
    exit_, start = parse_time(s.last_state.terminated.finished_at), parse_time(s.state.running.started_at)
    slack = kube.slack()
    assert _close([start - exit_], [80], slack) and start >= int(mysql_ready), (start - exit_, slack)
    # ready at that start (0 s delay, 1 s stamps)
    assert _close([parse_time(ready.last_transition_time)], [start], slack)
    row = kube.kubectl("get", "pod", "ml-pipeline", "--no-headers").stdout.split()
    assert row[1:4] == ["1/1", "Running", "5"]
    assert kube.events(name="ml-pipeline", reason="Killing")[0].message == \
        "Container main failed startup probe, will be restarted"
    assert any(e.reason == "BackOff" for e in kube.events(name="ml-pipeline"))


def test_api_server_started_after_its_services_are_ready_never_restarts(behaving) -> None:
    kube = behaving(profile=NEEDY)
    _backend(kube, "minio-service")
    _backend(kube, "mysql")
    kube.create(INSTALL_CONFIG, pod("ml-pipeline", image=API_SERVER, container=API_1_10))
    started = parse_time(kube.wait(lambda: (s := _main_status(kube, "ml-pipeline")).ready and s).state.running.started_at)
    # 100 sim s after the start, on the sim's clock: past the 60 s a startup-probe kill would have taken
    kube.wait(lambda: kube.sim.clock.now() >= started + 100, timeout=15)
    kube.sim.sync()  # and the controllers have handled whatever was due by then
    s = _main_status(kube, "ml-pipeline")
    assert s.ready and s.restart_count == 0 and not s.last_state.terminated


def test_a_service_ready_within_the_retry_window_means_no_crash(behaving) -> None:
    kube = behaving(profile=NEEDY)
    kube.create(pod("katib-db-manager", image="ghcr.io/kubeflow/katib/katib-db-manager:v0.18.0"))
    kube.wait(lambda: _main_status(kube, "katib-db-manager").state.running)
    _backend(kube, "katib-mysql")  # well within the db-manager's 60 s connect timeout
    kube.wait(lambda: _main_status(kube, "katib-db-manager").ready, timeout=5)
    assert _main_status(kube, "katib-db-manager").restart_count == 0


def test_replicaset_refused_by_an_unready_webhook_retries_on_the_controller_rate_limiter(behaving) -> None:
    from test_simb_webhooks import webhook_config  # noqa: PLC0415 (tests have no packages)

    kube = behaving(time_scale=0.02)
    kube.core.create_namespace({"metadata": {"name": "kubeflow", "labels": {"istio-injection": "enabled"}}})
    kube.create(webhook_config("MutatingWebhookConfiguration", "sidecar-injector.istio.io", resources=["pods"],
                               service_name="istiod",
                               namespaceSelector={"matchLabels": {"istio-injection": "enabled"}}))
    template = {"metadata": {"labels": {"app": "app"}}, "spec": {"containers": [{"name": "a", "image": "a:1"}]}}
    kube.create({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "app", "namespace": "kubeflow"},
                 "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "app"}}, "template": template}})
    [event] = kube.wait(lambda: kube.events("kubeflow", reason="FailedCreate"))
    first = parse_time(event.first_timestamp)
    clock = kube.sim.clock
    # failures n = 0, 1, ... retry 5 ms * 2**n later: attempts at 0.005 * (2**n - 1) s = ..., 10.2, 20.5, 41.0 s
    attempts = [0.005 * (2**n - 1) for n in range(20)]
    # the 13th attempt (at 20.5 s) counted: 1 s doubling would have made 5 by 30 s and the 13th at 4095 s
    [event] = kube.wait(lambda: [e for e in kube.events("kubeflow", reason="FailedCreate") if e.count >= 13],
                        timeout=5)
    # 1 s timestamps at both ends, and however late the sim's controllers ran (at 50x, 20 ms of a busy
    # machine is a sim second); 1 s doubling would be thousands of seconds off, so this still tells them apart
    slack = 2 + 3 * kube.slack()
    assert abs(parse_time(event.last_timestamp) - first - attempts[event.count - 1]) <= slack, (
        event.count, parse_time(event.last_timestamp) - first, attempts[event.count - 1], slack)
    assert kube.core.list_namespaced_pod("kubeflow").items == []
    # the webhook becomes ready now (~21 s, well before the next attempt at ~41 s on an idle machine) ...
    before = clock.now() - first
    _backend(kube, "istiod")
    after = clock.now() - first
    # ... and the controller does not look again at once, only at its next attempt: the first after `after`
    # (an attempt between `before` and `after` may have seen it ready or not)
    seen_ready = [t for t in attempts if before < t <= after] + [next(t for t in attempts if t > after)]
    if seen_ready[0] > after + 5 + slack:
        kube.wait(lambda: clock.now() - first >= after + 5, timeout=5)  # 5 sim s after it was ready
        assert kube.core.list_namespaced_pod("kubeflow").items == []
    [created] = kube.wait(lambda: kube.core.list_namespaced_pod("kubeflow").items, timeout=10)
    at = parse_time(created.metadata.creation_timestamp) - first
    assert any(abs(at - t) <= slack for t in seen_ready), (at, seen_ready, before, after, slack)
