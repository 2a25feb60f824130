"""The nodes and GPUs check on shaped sims: the table matches the nodes, taints and missing GPUs are named."""

from __future__ import annotations

from checks_helpers import GPU_NODE, deployment, gpu_offer, plan_of

from kfctl.engine.checks.model import Facts
from kfctl.engine.checks.nodes import check_nodes, table
from kfctl.engine.checks.planned import offers_gpus, tolerates
from kfctl.sim.behaviour import ClusterShape
from kfctl.sim.behaviour.profiles import NodeSpec

FACTS = Facts("app", "kubeflow")


def by(findings, check):
    return [f for f in findings if f.check == check]


def test_the_gpu_table_matches_the_nodes(shaped):
    cluster = shaped(ClusterShape(nodes=(NodeSpec("cpu-1", cpu="4", memory="16Gi"), GPU_NODE)))
    findings, rows = check_nodes(cluster, plan_of(deployment("web"), gpu_offer()), FACTS)
    live, _ = cluster.list("v1", "Node")
    assert [r["name"] for r in rows] == sorted(n["metadata"]["name"] for n in live) == ["cpu-1", "gpu-1"]
    for row, node in zip(rows, sorted(live, key=lambda n: n["metadata"]["name"])):
        assert row["nvidia.com/gpu"] == node["status"]["allocatable"].get("nvidia.com/gpu", "0")
        assert row["cpu"] == node["status"]["allocatable"]["cpu"]
    gpu = rows[1]
    assert gpu["accelerators"] == ["nvidia.com/gpu.present=true", "nvidia.com/gpu.product=A100"]
    assert gpu["taints"] == ["nvidia.com/gpu=present:NoSchedule"] == gpu["blockingTaints"]
    lines = table(rows)
    assert lines[0].split() == ["NAME", "READY", "CPU", "MEMORY", "NVIDIA.COM/GPU", "AMD.COM/GPU", "ACCELERATOR",
                                "TAINTS"]
    assert lines[1].split()[:6] == ["cpu-1", "Ready", "4", "16Gi", "0", "0"]
    assert lines[2].split()[:6] == ["gpu-1", "Ready", "16", "64Gi", "2", "0"]
    [nodes] = [f for f in by(findings, "nodes") if f.status == "pass"]
    assert "1 of 2 nodes can run Kubeflow's pods" in nodes.message and nodes.details == lines
    [tainted] = [f for f in by(findings, "nodes") if f.status == "warn"]
    assert "gpu-1" in tainted.message and "kubectl taint nodes gpu-1 nvidia.com/gpu-" in tainted.fix
    [gpus] = by(findings, "gpus")
    assert gpus.status == "pass" and "gpu-1 (2)" in gpus.message


def test_gpu_choices_without_gpu_nodes_warn_naming_what_offers_them(shaped):
    cluster = shaped(ClusterShape.uniform(2))
    findings, _ = check_nodes(cluster, plan_of(deployment("web"), gpu_offer()), FACTS)
    [gpus] = by(findings, "gpus")
    assert gpus.status == "warn" and "no node has a GPU" in gpus.message
    assert gpus.details == ("ConfigMap/kubeflow/spawner [app] (nvidia.com/gpu)",)
    findings, _ = check_nodes(cluster, plan_of(deployment("web")), FACTS)
    assert by(findings, "gpus")[0].status == "pass"  # no GPU choice, no GPU: nothing to say


def test_a_taint_some_pod_tolerates_does_not_keep_kubeflow_off(shaped):
    cluster = shaped(ClusterShape(nodes=(GPU_NODE,)))
    toleration = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    findings, rows = check_nodes(cluster, plan_of(deployment("web", tolerations=toleration)), FACTS)
    assert rows[0]["blockingTaints"] == [] and findings[0].status == "pass"
    findings, _ = check_nodes(cluster, plan_of(deployment("web")), FACTS)
    assert [f.status for f in by(findings, "nodes")] == ["warn", "fail"]  # the only node refuses every pod


def test_no_nodes_fails(shaped):
    findings, rows = check_nodes(shaped(ClusterShape(nodes=())), plan_of(deployment("web")), FACTS)
    assert rows == [] and [f.status for f in findings] == ["fail"]


def test_toleration_rules():
    taint = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    assert tolerates([{"operator": "Exists"}], taint)
    assert tolerates([{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present"}], taint)
    assert not tolerates([{"key": "nvidia.com/gpu", "operator": "Equal", "value": "absent"}], taint)
    assert not tolerates([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}], taint)
    assert not tolerates([], taint)


def test_gpu_offers_are_found_in_keys_and_text():
    runtime = {"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "ClusterTrainingRuntime",
               "metadata": {"name": "torchtune"},
               "spec": {"template": {"spec": {"resources": {"limits": {"amd.com/gpu": 2}}}}}}
    assert offers_gpus(plan_of(runtime, gpu_offer())) == [
        "ClusterTrainingRuntime.trainer.kubeflow.org/torchtune [app] (amd.com/gpu)",
        "ConfigMap/kubeflow/spawner [app] (nvidia.com/gpu)"]


def test_a_control_plane_node_is_not_counted_and_not_warned_about(shaped):
    control = NodeSpec("control-plane", taints=(("node-role.kubernetes.io/control-plane", "", "NoSchedule"),))
    cluster = shaped(ClusterShape(nodes=(control, NodeSpec("worker-1"))))
    findings, rows = check_nodes(cluster, plan_of(deployment("web")), FACTS)
    assert rows[0]["blockingTaints"] == ["node-role.kubernetes.io/control-plane:NoSchedule"]
    assert [(f.check, f.status) for f in findings] == [("nodes", "pass"), ("gpus", "pass")]
    assert "1 of 2 nodes can run Kubeflow's pods" in findings[0].message
