"""Fault injection (seeded, switchable at run time) and request accounting."""

from __future__ import annotations

import json

import httpx
import pytest

from kfctl.sim import Faults

CM = "/api/v1/namespaces/default/configmaps"


def codes(url: str, n: int) -> list[int]:
    out = []
    with httpx.Client(base_url=url, timeout=5) as http:
        for _ in range(n):
            try:
                out.append(http.get(CM).status_code)
            except httpx.TransportError:
                out.append(0)
    return out


def test_same_seed_same_faults(sim_factory) -> None:
    faults = Faults(seed=7, error_500=0.2, error_503=0.2, error_429=0.2, drop=0.1)
    first = codes(sim_factory(faults=faults).url, 40)
    second = codes(sim_factory(faults=faults).url, 40)
    assert first == second
    assert {500, 503, 429, 200, 0} <= set(first)
    third = codes(sim_factory(faults=Faults(seed=8, error_500=0.2, error_503=0.2, error_429=0.2, drop=0.1)).url, 40)
    assert third != first


def test_429_carries_retry_after_and_errors_are_statuses(sim_factory) -> None:
    sim = sim_factory(faults=Faults(error_429=1.0, retry_after=3))
    r = httpx.get(sim.url + CM)
    assert r.status_code == 429 and r.headers["Retry-After"] == "3"
    assert r.json()["reason"] == "TooManyRequests" and r.json()["details"]["retryAfterSeconds"] == 3
    sim.set_faults(error_500=1.0)
    assert httpx.get(sim.url + CM).json()["reason"] == "InternalError"
    sim.set_faults(error_503=1.0)
    assert httpx.get(sim.url + CM).json()["reason"] == "ServiceUnavailable"
    assert httpx.get(sim.url + "/api/v1").status_code == 200, "discovery must not be faulted"


def test_conflicts_only_on_writes(sim_factory) -> None:
    sim = sim_factory(faults=Faults(conflict_409=1.0))
    with httpx.Client(base_url=sim.url) as http:
        assert http.get(CM).status_code == 200
        r = http.post(CM, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
        assert r.status_code == 409 and r.json()["reason"] == "Conflict"


def test_faults_switch_at_run_time_over_http(sim_cluster) -> None:
    with httpx.Client(base_url=sim_cluster.url) as http:
        assert http.get(CM).status_code == 200
        assert http.put("/_sim/faults", json={"error_503": 1}).json()["error_503"] == 1.0
        assert http.get(CM).status_code == 503
        bad = http.put("/_sim/faults", json={"error_9000": 1})
        assert bad.status_code == 400 and "unknown fault setting" in bad.json()["message"]
        http.put("/_sim/faults", json={})
        assert http.get(CM).status_code == 200


def test_latency_is_added(sim_factory) -> None:
    sim = sim_factory(time_scale=1.0, faults=Faults(latency=0.15))
    r = httpx.get(sim.url + CM)
    assert r.elapsed.total_seconds() >= 0.15


def test_watch_cut_mid_stream(sim_factory) -> None:
    sim = sim_factory(faults=Faults(watch_cut=1.0, seed=1))
    with httpx.Client(base_url=sim.url) as http:
        for i in range(5):
            sim.set_faults()
            http.post(CM, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}})
        sim.set_faults(watch_cut=1.0, seed=1)
        with pytest.raises(httpx.RemoteProtocolError):
            with http.stream("GET", CM, params={"watch": "true", "timeoutSeconds": "2"}) as r:
                for _ in r.iter_lines():
                    pass


def test_metrics_and_timeline(sim_cluster) -> None:
    with httpx.Client(base_url=sim_cluster.url) as http:
        http.post(CM, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"}})
        http.get(f"{CM}/m")
        http.get(f"{CM}/missing")
        http.post(f"{CM}?dryRun=All", json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}})
        served = http.get("/_sim/metrics").json()
    local = sim_cluster.metrics()
    for data in (served, local):
        assert {"verb": "get", "resource": "configmaps", "code": 404, "dryRun": False, "count": 1} in data["requests"]
        assert data["byVerb"]["create"] == 1 and data["dryRunByVerb"] == {"create": 1}
    timeline = sim_cluster.timeline()
    writes = [(t["verb"], t["name"], t["code"], t["dry_run"]) for t in timeline if t["resource"] == "configmaps"]
    assert writes == [("create", "m", 201, False), ("get", "m", 200, False), ("get", "missing", 404, False),
                      ("create", "d", 201, True)]
    assert all(t["namespace"] == "default" for t in timeline if t["resource"] == "configmaps")
    assert json.dumps(served)  # JSON-serialisable as served


def test_a_request_is_in_the_timeline_by_the_time_its_client_has_the_answer(sim_cluster, monkeypatch) -> None:
    """A test reads the timeline right after a command exits: the command's last request must be there."""
    import time

    metrics = sim_cluster.api.metrics
    record = metrics.record
    monkeypatch.setattr(metrics, "record", lambda r: (time.sleep(0.05), record(r)))  # a busy server thread
    with httpx.Client(base_url=sim_cluster.url) as http:
        for i in range(3):
            assert http.post(CM, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}}
                             ).status_code == 201
            assert [t["name"] for t in sim_cluster.timeline() if t["verb"] == "create"] == [f"c{j}" for j in range(i + 1)]
