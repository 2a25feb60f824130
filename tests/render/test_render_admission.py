"""Objects the API server would refuse are refused before the first write: exit 2, named, 0 writes (#16 defect 5)."""

from __future__ import annotations

import time

import pytest

from kfctl.cli.main import cli
from kfctl.render.admission import refusals, value_problems
from kfctl.render.model import Resource

WRITES = ("create", "update", "patch", "apply", "delete")

HOSTILE = {
    "annotation key": "{apiVersion: v1, kind: ConfigMap, metadata: {name: x, annotations: {'bad key!!': v}}}",
    "quantity": ("{apiVersion: apps/v1, kind: Deployment, metadata: {name: x}, spec: {selector: {matchLabels: {a: b}}, "
                 "template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i, "
                 "resources: {requests: {cpu: lots}}}]}}}}"),
    "cidr": ("{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: x}, spec: {podSelector: {}, "
             "ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]}}"),
    "replicas": ("{apiVersion: apps/v1, kind: Deployment, metadata: {name: x}, spec: {replicas: 99999999999999999999, "
                 "selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, "
                 "spec: {containers: [{name: c, image: i}]}}}}"),
    "replicas 1e20": ("{apiVersion: apps/v1, kind: Deployment, metadata: {name: x}, spec: {replicas: 1e20, "
                      "selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, "
                      "spec: {containers: [{name: c, image: i}]}}}}"),
    "unresolved variable": "{apiVersion: v1, kind: ConfigMap, metadata: {name: $(profile-name)}}",
    "port": "{apiVersion: v1, kind: Service, metadata: {name: x}, spec: {ports: [{port: 99999}]}}",
}


def kfdef_with(tmp_path, runner, extra: str):
    app = tmp_path / "app"
    assert runner.invoke(cli, ["init", str(app), "--components", "kubeflow-core"]).exit_code == 0
    (app / "overlays").mkdir()
    (app / "overlays" / "50-mine.yaml").write_text(f"resources:\n  - {extra}\n")
    return app / "kfdef.yaml"


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_apply_refuses_before_the_first_write(case, runner, tmp_path, sim_cluster):
    kfdef = kfdef_with(tmp_path, runner, HOSTILE[case])
    started = time.monotonic()
    result = runner.invoke(cli, ["--kubeconfig", sim_cluster.kubeconfig_path, "apply", "-f", str(kfdef), "-o", "plain"])
    assert result.exit_code == 2, result.output
    assert "the API server would refuse" in result.output and "50-mine.yaml" in result.output
    assert "Traceback" not in result.output
    assert [e for e in sim_cluster.timeline() if e["verb"] in WRITES and not e.get("dry_run")] == []
    assert time.monotonic() - started < 30  # generous: the refusal itself is a fraction of a second
    validated = runner.invoke(cli, ["validate", "-f", str(kfdef)])
    assert validated.exit_code == 2 and "the API server would refuse" in validated.output


def test_skip_invalid_applies_the_rest_and_lists_what_it_left_out(runner, tmp_path, sim_cluster):
    kfdef = kfdef_with(tmp_path, runner, HOSTILE["cidr"])
    result = runner.invoke(cli, ["--kubeconfig", sim_cluster.kubeconfig_path, "apply", "-f", str(kfdef), "-o", "plain",
                                 "--skip-invalid"])
    assert result.exit_code == 0, result.output
    assert "skipped (--skip-invalid): user: " in result.output and "NetworkPolicy" in result.output


def res(body: dict) -> Resource:
    return Resource("c", "t.yaml.j2", body)


def test_value_checks():
    assert value_problems(res({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                               "spec": {"clusterIP": "10.0.0.300", "ports": [{"port": 0}]}})) == [
        "spec.ports[0].port: 0 is out of range (1 to 65535)", "spec.clusterIP: '10.0.0.300' is not an IP address"]
    assert value_problems(res({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                               "spec": {"clusterIP": "None", "loadBalancerSourceRanges": ["10.0.0.0/8"]}})) == []
    assert value_problems(res({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                               "spec": {"replicas": "3"}})) == ["spec.replicas: '3' is not an integer"]
    ok = res({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
              "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]}}}})
    assert value_problems(ok) == [] and refusals([ok]) == []
