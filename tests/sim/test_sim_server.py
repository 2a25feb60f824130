"""The server itself: auth, kubeconfig, discovery documents, tables, bookmarks, persistence, the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from kfctl.sim import SimCluster
from kfctl.sim.clock import SimClock

CM = "/api/v1/namespaces/default/configmaps"
AGGREGATED = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")


def test_bearer_token_is_required_when_set(sim_factory) -> None:
    sim = sim_factory(token="s3cret")
    r = httpx.get(sim.url + "/api/v1/namespaces")
    assert r.status_code == 401 and r.json()["reason"] == "Unauthorized"
    ok = httpx.get(sim.url + "/api/v1/namespaces", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200
    kubeconfig = yaml.safe_load(Path(sim.kubeconfig_path).read_text())
    assert kubeconfig["users"][0]["user"]["token"] == "s3cret"
    assert kubeconfig["clusters"][0]["cluster"]["server"] == sim.url


def test_kubeconfig_exists_only_once_serving(tmp_path: Path) -> None:
    target = tmp_path / "kc"
    sim = SimCluster(kubeconfig_path=target)
    try:
        assert not target.exists()
        with pytest.raises(RuntimeError):
            sim.url
        sim.start()
        assert target.exists() and oct(target.stat().st_mode)[-3:] == "600"
        assert httpx.get(sim.url + "/version").json()["gitVersion"].startswith("v1.37")
    finally:
        sim.stop()


def test_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        SimCluster(host="0.0.0.0").start()


def test_discovery_documents(sim_cluster) -> None:
    with httpx.Client(base_url=sim_cluster.url) as http:
        agg = http.get("/apis", headers={"Accept": AGGREGATED})
        assert agg.headers["Content-Type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        apps_group = next(i for i in agg.json()["items"] if i["metadata"]["name"] == "apps")
        deploy = next(r for r in apps_group["versions"][0]["resources"] if r["resource"] == "deployments")
        assert deploy["scope"] == "Namespaced" and deploy["shortNames"] == ["deploy"]
        assert {s["subresource"] for s in deploy["subresources"]} == {"status", "scale"}
        core_agg = http.get("/api", headers={"Accept": AGGREGATED}).json()
        assert [i["metadata"]["name"] for i in core_agg["items"]] == [""]
        beta_only = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
        api = http.get("/api", headers={"Accept": beta_only})
        assert api.headers["Content-Type"] == "application/json", "a v2beta1-only client must fall back"
        assert api.json()["kind"] == "APIVersions" and api.json()["versions"] == ["v1"]
        groups = {g["name"]: g for g in http.get("/apis").json()["groups"]}
        assert {"apps", "batch", "rbac.authorization.k8s.io", "apiextensions.k8s.io", "policy", "autoscaling",
                "admissionregistration.k8s.io", "networking.k8s.io", "storage.k8s.io", "scheduling.k8s.io",
                "discovery.k8s.io", "coordination.k8s.io", "apiregistration.k8s.io",
                "authorization.k8s.io"} <= set(groups)
        assert groups["autoscaling"]["preferredVersion"]["groupVersion"] == "autoscaling/v2"
        core = {r["name"]: r for r in http.get("/api/v1").json()["resources"]}
        assert core["pods"]["shortNames"] == ["po"] and core["pods"]["categories"] == ["all"]
        assert core["pods/status"]["verbs"] == ["get", "patch", "update"]
        assert core["namespaces"]["namespaced"] is False
        apps = {r["name"]: r for r in http.get("/apis/apps/v1").json()["resources"]}
        assert apps["deployments/scale"]["kind"] == "Scale"
        assert http.get("/apis/apps").json()["kind"] == "APIGroup"
        root = http.get("/openapi/v3").json()["paths"]
        apps_doc = http.get(root["apis/apps/v1"]["serverRelativeURL"]).json()
        patch = apps_doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
        assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
        v2 = http.get("/openapi/v2", headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
        assert v2.status_code == 200 and v2.content == b"", "an empty v2 document: kubectl skips client checks"


def test_table_output_for_builtins(sim_cluster) -> None:
    accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    with httpx.Client(base_url=sim_cluster.url) as http:
        table = http.get("/api/v1/namespaces", headers=accept).json()
        assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Status", "Age"]
        assert table["rows"][0]["cells"][:2] == ["default", "Active"]
        one = http.get("/api/v1/namespaces/default", headers=accept, params={"includeObject": "Object"}).json()
        assert one["rows"][0]["object"]["kind"] == "Namespace"


def test_watch_bookmarks_and_selector_transitions(sim_factory) -> None:
    sim = sim_factory(bookmark_interval=10.0)  # 0.1 real seconds at time_scale 0.01
    with httpx.Client(base_url=sim.url, timeout=10) as http:
        start = http.get(CM).json()["metadata"]["resourceVersion"]
        http.post(CM, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s", "labels": {"a": "1"}}})
        http.patch(f"{CM}/s", json={"metadata": {"labels": {"a": "2"}}},
                   headers={"Content-Type": "application/merge-patch+json"})
        events = []
        with http.stream("GET", CM, params={"watch": "1", "resourceVersion": start, "labelSelector": "a=1",
                                            "allowWatchBookmarks": "true", "timeoutSeconds": "1"}) as r:
            assert r.headers["Transfer-Encoding"] == "chunked"
            for line in r.iter_lines():
                events.append(json.loads(line))
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["ADDED", "DELETED"], "leaving the selection must look like a deletion"
    assert "BOOKMARK" in kinds
    bookmark = next(e for e in events if e["type"] == "BOOKMARK")
    assert int(bookmark["object"]["metadata"]["resourceVersion"]) >= int(start) + 2


def test_persistence_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "cluster.db"
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "things.example.com"},
           "spec": {"group": "example.com", "scope": "Cluster", "names": {"plural": "things", "kind": "Thing"},
                    "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                        "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}
    with SimCluster(persist_path=db, time_scale=0.01) as first:
        with httpx.Client(base_url=first.url) as http:
            http.post(CM, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kept"}})
            http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)
            deadline = time.monotonic() + 5
            while http.get("/apis/example.com/v1/things").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.02)
            http.post("/apis/example.com/v1/things", json={"apiVersion": "example.com/v1", "kind": "Thing",
                                                           "metadata": {"name": "t"}})
            rv = int(http.get(CM).json()["metadata"]["resourceVersion"])
    with SimCluster(persist_path=db) as second:
        with httpx.Client(base_url=second.url) as http:
            assert http.get(f"{CM}/kept").status_code == 200
            assert http.get("/apis/example.com/v1/things/t").status_code == 200
            made = http.post(CM, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new"}}).json()
            assert int(made["metadata"]["resourceVersion"]) > rv
            names = [n["metadata"]["name"] for n in http.get("/api/v1/namespaces").json()["items"]]
            assert names.count("default") == 1


def test_cli_serve_until_interrupted(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    proc = subprocess.Popen([sys.executable, "-m", "kfctl", "sim", "serve", "--kubeconfig", str(kubeconfig),
                             "--token", "t0k", "--time-scale", "0.5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not kubeconfig.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        info = json.loads(proc.stdout.readline())
        assert info["kubeconfig"] == str(kubeconfig)
        r = httpx.get(info["url"] + "/api/v1/namespaces/default", headers={"Authorization": "Bearer t0k"})
        assert r.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "Simulated cluster stopped." in err


def test_cli_serve_needs_a_kubeconfig_path(runner) -> None:
    from kfctl.cli.main import cli

    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    result = runner.invoke(cli, ["sim", "serve"], env={**env, "KUBECONFIG": ""})
    assert result.exit_code == 2
    assert "needs a kubeconfig path" in result.output
    bad = runner.invoke(cli, ["sim", "serve", "--kubeconfig", "x", "--fault", "nonsense"])
    assert bad.exit_code == 2 and "expected NAME=VALUE" in bad.output


def test_importing_the_cli_does_not_import_the_sim() -> None:
    code = "import sys, kfctl.cli.main, kfctl.cli.sim; print('kfctl.sim' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_sim_package_is_self_contained() -> None:
    root = Path(__file__).resolve().parents[2] / "kfctl" / "sim"
    offenders = []
    for path in root.rglob("*.py"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("from kfctl", "import kfctl")) and not stripped.startswith(
                    ("from kfctl.sim", "import kfctl.sim")):
                offenders.append(f"{path.relative_to(root)}: {stripped}")
    assert offenders == []


def test_clock_scales_time_and_schedules() -> None:
    clock = SimClock(time_scale=0.01)
    try:
        fired = []
        t0 = clock.now()
        real0 = time.monotonic()
        clock.call_later(30.0, fired.append, "late")
        clock.call_later(5.0, fired.append, "early")
        cancelled = clock.call_later(10.0, fired.append, "never")
        cancelled.cancel()
        while len(fired) < 2 and time.monotonic() - real0 < 5:
            time.sleep(0.01)
        assert fired == ["early", "late"]
        assert clock.now() - t0 >= 30.0
        assert time.monotonic() - real0 < 2.0
    finally:
        clock.close()


def test_stopping_cuts_open_watches(sim_factory) -> None:
    import threading

    sim = sim_factory()
    httpx.post(sim.url + CM, json={"metadata": {"name": "seen"}}).raise_for_status()
    opened, ended = threading.Event(), threading.Event()

    def watch() -> None:
        try:
            with httpx.stream("GET", sim.url + CM, params={"watch": "1", "timeoutSeconds": "60"}, timeout=30) as r:
                for line in r.iter_lines():
                    if line:
                        opened.set()  # the ADDED event of "seen": the server is streaming this watch
        except httpx.HTTPError:
            pass
        ended.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    assert opened.wait(10), "the watch never delivered the existing ConfigMap"
    sim.stop()
    assert ended.wait(5), "a watch outlived the server"


def test_public_names() -> None:
    import kfctl.sim as sim_pkg

    assert sorted(sim_pkg.__all__) == sim_pkg.__all__
    for name in sim_pkg.__all__:
        assert getattr(sim_pkg, name) is not None, name
