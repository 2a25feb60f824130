"""Timing profiles, cluster shape and the CLI options that choose them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kfctl.sim.behaviour import FLAKY, INSTANT, PROFILES, REALISTIC, ClusterShape, expected_ready_delay, profile_named
from kfctl.sim.clock import parse_time
from simb_helpers import deployment, pod, service

PROBE = {"tcpSocket": {"port": 8080}}
SPEC = {"initContainers": [{"name": "init", "image": "busybox:1"}],
        "containers": [{"name": "app", "image": "ghcr.io/kubeflow/kubeflow/notebook-controller:v1.10.0",
                        "readinessProbe": PROBE},
                       {"name": "db", "image": "mysql:8.0.29", "readinessProbe": PROBE}]}


def test_delays_are_deterministic_per_seed_and_follow_the_profile() -> None:
    one, again, other = (expected_ready_delay(SPEC, profile_named("realistic", seed=s)) for s in (1, 1, 2))
    assert one == again and one != other
    # init container (pull 4 s + run 3 s), then the app containers in order: the controller's pull (4 s),
    # then MySQL's pull (10 s) and start (20 s), each +/- 30 %
    assert 3 + 0.7 * (4 + 4 + 30) <= one <= 3 + 1.3 * (4 + 4 + 30)
    assert one > expected_ready_delay({**SPEC, "containers": SPEC["containers"][::-1]}, profile_named("realistic", seed=1))
    assert expected_ready_delay(SPEC, INSTANT) == 0
    template = deployment("x", **{k: v for k, v in SPEC.items() if k != "containers"},
                          container={"image": "mysql:8.0.29"})
    assert expected_ready_delay(template, REALISTIC) == expected_ready_delay(template["spec"]["template"], REALISTIC)
    assert REALISTIC.crd_establish_delay() == 1.0 and REALISTIC.pvc_bind_delay() == 5.0
    assert set(PROFILES) == {"instant", "realistic", "flaky"} and FLAKY.faults and not REALISTIC.faults
    with pytest.raises(ValueError, match="unknown profile 'slowish'"):
        profile_named("slowish")


def test_observed_readiness_matches_the_expected_delay(behaving) -> None:
    kube = behaving(profile="realistic", seed=7)
    kube.create(pod("timed", **{k: v for k, v in SPEC.items()}))
    p = kube.wait(lambda: (lambda p: p if p.status and p.status.phase == "Running" and any(
        c.type == "Ready" and c.status == "True" for c in p.status.conditions) else None)(
        kube.core.read_namespaced_pod("timed", "default")), timeout=15)
    ready_at = next(c.last_transition_time for c in p.status.conditions if c.type == "Ready")
    scheduled_at = next(c.last_transition_time for c in p.status.conditions if c.type == "PodScheduled")
    observed = ready_at.timestamp() - scheduled_at.timestamp()
    expected = expected_ready_delay(SPEC, kube.sim.profile)
    slack = kube.slack()  # how late the controllers ran: a busy machine delays the timers that stamp
    assert abs(observed - expected) <= 2.5 + slack, (observed, expected, slack)  # timestamps have second precision


def test_crd_established_after_the_profile_delay(behaving) -> None:
    kube = behaving(profile="realistic", crd_establish_delay=None)
    start = kube.sim.clock.now()
    kube.create({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                 "metadata": {"name": "things.example.com"},
                 "spec": {"group": "example.com", "scope": "Namespaced",
                          "names": {"plural": "things", "singular": "thing", "kind": "Thing"},
                          "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                              "openAPIV3Schema": {"type": "object"}}}]}})
    kube.kubectl("wait", "--for=condition=Established", "crd/things.example.com", "--timeout=10s")
    crd = kube.dynamic.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition").get(
        name="things.example.com")
    established = parse_time(next(c.lastTransitionTime for c in crd.status.conditions if c.type == "Established"))
    created = parse_time(crd.metadata.creationTimestamp)
    assert start - 1 <= created  # timestamps have second precision; the clock thread may run a little late
    assert created <= established <= created + REALISTIC.crd_establish_delay() + 3 + kube.slack()


def test_nodes_follow_the_shape(behaving) -> None:
    kube = behaving(shape=ClusterShape.uniform(3, cpu="4", memory="16Gi", gpus=1, default_storage_class=False))
    nodes = kube.core.list_node().items
    assert [n.metadata.name for n in nodes] == ["sim-node-1", "sim-node-2", "sim-node-3"]
    assert {(n.status.allocatable["cpu"], n.status.allocatable["memory"], n.status.allocatable["nvidia.com/gpu"])
            for n in nodes} == {("4", "16Gi", "1")}
    assert kube.storage.list_storage_class().items == []
    table = kube.kubectl("get", "nodes", "--no-headers").stdout.split("\n")
    assert [line.split()[1] for line in table if line] == ["Ready"] * 3


def test_cli_serve_with_profile_and_cluster_shape(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    proc = subprocess.Popen([sys.executable, "-m", "kfctl", "sim", "serve", "--kubeconfig", str(kubeconfig),
                             "--time-scale", "0.01", "--profile", "flaky", "--seed", "3", "--nodes", "2",
                             "--node-cpu", "2", "--node-memory", "8Gi", "--node-gpus", "1",
                             "--no-default-storage-class", "--storage-class", "gp3", "--parallel-image-pulls"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        assert info["profile"] == "flaky" and info["serializeImagePulls"] is False
        with httpx.Client(base_url=info["url"]) as http:
            faults = http.get("/_sim/faults").json()
            assert faults["error_503"] == FLAKY.faults["error_503"] and faults["seed"] == 3
            deadline = time.monotonic() + 10
            while True:  # flaky: requests may fail, so retry like a client
                nodes = http.get("/api/v1/nodes")
                if nodes.status_code == 200 or time.monotonic() > deadline:
                    break
            assert [n["status"]["capacity"]["nvidia.com/gpu"] for n in nodes.json()["items"]] == ["1", "1"]
            classes = http.get("/apis/storage.k8s.io/v1/storageclasses")
            if classes.status_code == 200:  # flaky: a fault may answer instead
                assert [c["metadata"] for c in classes.json()["items"]] == [{**classes.json()["items"][0]["metadata"],
                                                                             "name": "gp3"}]
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err


def test_cli_rejects_a_bad_node_size(runner) -> None:
    from kfctl.cli.main import cli

    result = runner.invoke(cli, ["sim", "serve", "--kubeconfig", "x", "--node-cpu", "lots"])
    assert result.exit_code == 2 and "--node-cpu 'lots' is not a positive Kubernetes quantity" in result.output


def test_a_persisted_cluster_resumes_with_its_nodes_volumes_and_endpoints(behaving, tmp_path: Path) -> None:
    db = tmp_path / "cluster.db"
    kube = behaving(persist_path=db)
    kube.create(deployment("web", replicas=2), service("web", selector={"app": "web"}, port=80),
                {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
                 "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    kube.kubectl("rollout", "status", "deploy/web", "--timeout=20s")
    kube.sim.stop()
    again = behaving(persist_path=db)
    again.kubectl("rollout", "status", "deploy/web", "--timeout=20s")
    again.sim.sync()
    assert [n.metadata.name for n in again.core.list_node().items] == ["sim-node-1"]
    assert len(again.storage.list_storage_class().items) == 1
    assert again.core.read_namespaced_persistent_volume_claim("data", "default").status.phase == "Bound"
    assert len(again.discovery.list_namespaced_endpoint_slice("default").items) == 1
    assert len(again.core.list_namespaced_pod("default").items) == 2
