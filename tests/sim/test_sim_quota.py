"""ResourceQuota and LimitRange in a shaped cluster (kfctl/sim/quota.py): created at start, enforced on
creation as kube-apiserver's LimitRanger and ResourceQuota admission do, and counted in ``status``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import httpx
from polling import wait

SHAPES = Path(__file__).resolve().parent.parent / "data" / "shapes"
PODS = "/api/v1/namespaces/kubeflow/pods"


def pod(name: str, cpu: str | None = "1", memory: str = "1Gi", limit_cpu: str | None = None) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if cpu:
        resources["requests"] = {"cpu": cpu, "memory": memory}
    if limit_cpu:
        resources["limits"] = {"cpu": limit_cpu}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "app", "image": "busybox:1.36", "resources": resources}]}}



def test_the_namespace_quota_and_limit_range_exist_at_start(sim_factory) -> None:
    sim = sim_factory(shape=SHAPES / "quota.yaml")
    http = httpx.Client(base_url=sim.url)
    ns = http.get("/api/v1/namespaces/kubeflow").json()
    assert ns["metadata"]["labels"]["team"] == "ml-platform"
    assert ns["status"]["phase"] == "Active"
    quota = http.get("/api/v1/namespaces/kubeflow/resourcequotas/compute").json()
    assert quota["spec"]["hard"] == {"requests.cpu": "4", "requests.memory": "8Gi", "limits.cpu": "8", "pods": "20"}
    assert quota["status"] == {"hard": quota["spec"]["hard"],
                               "used": {"requests.cpu": "0", "requests.memory": "0", "limits.cpu": "0", "pods": "0"}}
    limits = http.get("/api/v1/namespaces/kubeflow/limitranges/defaults").json()
    assert limits["spec"]["limits"][0]["max"] == {"cpu": "2", "memory": "4Gi"}


def test_pods_beyond_the_quota_are_refused_with_the_real_403(sim_factory) -> None:
    sim = sim_factory(shape=SHAPES / "quota.yaml")
    http = httpx.Client(base_url=sim.url)
    for i in range(3):
        assert http.post(PODS, json=pod(f"p{i}")).status_code == 201
    refused = http.post(PODS, json=pod("p3", cpu="1500m"))
    assert refused.status_code == 403
    assert refused.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'pods "p3" is forbidden: exceeded quota: compute, requested: requests.cpu=1500m, used: '
                   'requests.cpu=3, limited: requests.cpu=4',
        "reason": "Forbidden", "details": {"name": "p3", "kind": "pods"}, "code": 403}
    assert http.get(PODS + "/p3").status_code == 404
    assert http.post(PODS, json=pod("p3", cpu="1")).status_code == 201  # exactly at the limit is fine
    wait(lambda: http.get("/api/v1/namespaces/kubeflow/resourcequotas/compute").json()["status"]["used"] ==
         {"requests.cpu": "4", "requests.memory": "4Gi", "limits.cpu": "2", "pods": "4"},  # limits: 4 x 500m default
         "the quota's usage")
    assert http.delete(PODS + "/p0").status_code == 200
    wait(lambda: http.get("/api/v1/namespaces/kubeflow/resourcequotas/compute").json()["status"]["used"]
         ["requests.cpu"] == "3", "usage to drop after a deletion")
    assert http.post(PODS, json=pod("p4")).status_code == 201
    # the default namespace has no quota
    assert http.post("/api/v1/namespaces/default/pods", json=pod("free", cpu="64")).status_code == 201


def test_the_limit_range_defaults_and_caps_containers(sim_factory) -> None:
    sim = sim_factory(shape=SHAPES / "quota.yaml")
    http = httpx.Client(base_url=sim.url)
    made = http.post(PODS, json=pod("bare", cpu=None))
    assert made.status_code == 201, made.text
    assert made.json()["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "512Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}
    limited = http.post(PODS, json=pod("limited", cpu=None, limit_cpu="1")).json()
    assert limited["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "1"  # a limit is its request
    too_big = http.post(PODS, json=pod("big", cpu="1", limit_cpu="3"))
    assert too_big.status_code == 403
    assert too_big.json()["message"] == 'pods "big" is forbidden: maximum cpu usage per Container is 2, but limit is 3'


def test_a_quota_on_limits_refuses_pods_that_set_none_and_counts_objects(sim_factory) -> None:
    sim = sim_factory(shape={"namespaces": [{"name": "team", "resourceQuotas": [
        {"name": "mem", "spec": {"hard": {"limits.memory": "1Gi"}}},
        {"name": "objects", "spec": {"hard": {"count/configmaps": "1", "services": "0"}}}]}]})
    http = httpx.Client(base_url=sim.url)
    refused = http.post("/api/v1/namespaces/team/pods", json=pod("p"))
    assert refused.status_code == 403
    assert refused.json()["message"] == 'pods "p" is forbidden: failed quota: mem: must specify limits.memory for: app'
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}
    assert http.post("/api/v1/namespaces/team/configmaps", json=cm).status_code == 201
    second = http.post("/api/v1/namespaces/team/configmaps", json={**cm, "metadata": {"name": "b"}})
    assert second.status_code == 403
    assert second.json()["message"] == ('configmaps "b" is forbidden: exceeded quota: objects, requested: '
                                        'count/configmaps=1, used: count/configmaps=1, limited: count/configmaps=1')


def test_a_deployment_over_quota_reports_failed_create(sim_factory) -> None:
    from kubernetes import client, config

    sim = sim_factory(behaviour=True, shape=SHAPES / "quota.yaml")
    api = config.new_client_from_config(config_file=sim.kubeconfig_path)
    client.AppsV1Api(api).create_namespaced_deployment("kubeflow", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "mysql"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "mysql"}},
                 "template": {"metadata": {"labels": {"app": "mysql"}}, "spec": {"containers": [
                     {"name": "mysql", "image": "mysql:8.0.29",
                      "resources": {"requests": {"cpu": "2", "memory": "2Gi"}}}]}}}})
    core = client.CoreV1Api(api)

    def failed_create() -> list[Any]:
        return [e for e in core.list_namespaced_event("kubeflow").items if e.reason == "FailedCreate"]
    event = wait(failed_create, "a FailedCreate event")[0]
    assert "exceeded quota: compute, requested: requests.cpu=2, used: requests.cpu=4, limited: requests.cpu=4" in \
        event.message
    assert len(core.list_namespaced_pod("kubeflow").items) == 2
