"""The nodes a simulated cluster starts with, as a kubelet would register them.

Scheduling only means something against real capacity: each node from the
:class:`~kfctl.sim.behaviour.profiles.ClusterShape` is registered with its
cpu, memory, pods, ``nvidia.com/gpu`` and ``amd.com/gpu`` capacity, labels,
taints, addresses and a Ready condition, so ``kubectl get nodes`` and
``kubectl describe node`` read as on a small real cluster. A cordoned node
has ``spec.unschedulable`` and the ``node.kubernetes.io/unschedulable``
taint; a NotReady one has ``Ready=False`` and the ``node.kubernetes.io/not-ready``
taints, as the node lifecycle controller leaves them (so the scheduler's
taint filter keeps pods off both, with the real message).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kfctl.sim.behaviour.profiles import NodeSpec
from kfctl.sim.status import APIError

if TYPE_CHECKING:
    from kfctl.sim.behaviour.runtime import Runtime

KUBELET_VERSION = "v1.37.0"


def node_object(spec: NodeSpec, index: int) -> dict[str, Any]:
    labels = {"kubernetes.io/hostname": spec.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
              "node.kubernetes.io/instance-type": "kfctl-sim"}
    if spec.gpus:
        labels["nvidia.com/gpu.present"] = "true"
    if spec.amd_gpus:
        labels["amd.com/gpu.present"] = "true"  # what AMD's node labeller sets, besides its product labels
    labels.update(dict(spec.labels))
    node: dict[str, Any] = {"apiVersion": "v1", "kind": "Node",
                            "metadata": {"name": spec.name, "labels": labels},
                            "spec": {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"]}}
    taints = [{"key": k, "value": v, "effect": e} if v else {"key": k, "effect": e} for k, v, e in spec.taints]
    if spec.unschedulable:
        node["spec"]["unschedulable"] = True
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
    if not spec.ready:
        taints += [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
                   {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}]
    if taints:
        node["spec"]["taints"] = taints
    return node


def node_status(spec: NodeSpec, index: int, now: str, kubelet_version: str = "") -> dict[str, Any]:
    capacity = {"cpu": spec.cpu, "memory": spec.memory, "pods": str(spec.pods), "ephemeral-storage": "100Gi",
                "hugepages-2Mi": "0"}
    if spec.gpus:
        capacity["nvidia.com/gpu"] = str(spec.gpus)
    if spec.amd_gpus:
        capacity["amd.com/gpu"] = str(spec.amd_gpus)
    version = kubelet_version or KUBELET_VERSION

    def cond(type_: str, status: str, reason: str, message: str) -> dict[str, Any]:
        return {"type": type_, "status": status, "reason": reason, "message": message,
                "lastHeartbeatTime": now, "lastTransitionTime": now}
    ready = cond("Ready", "True", "KubeletReady", "kubelet is posting ready status") if spec.ready else \
        cond("Ready", "False", "KubeletNotReady",
             "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
             "message:Network plugin returns error: cni plugin not initialized")
    return {
        "capacity": capacity, "allocatable": dict(capacity),
        "conditions": [
            cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ready,
        ],
        "addresses": [{"type": "InternalIP", "address": f"172.18.0.{index + 2}"},
                      {"type": "Hostname", "address": spec.name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {"machineID": f"{index:032x}", "systemUUID": f"{index:032x}", "bootID": f"{index:032x}",
                     "kernelVersion": "6.8.0-kfctl-sim", "osImage": "kfctl sim (Debian GNU/Linux 12)",
                     "containerRuntimeVersion": "containerd://2.1.0", "kubeletVersion": version,
                     "kubeProxyVersion": version, "operatingSystem": "linux", "architecture": "amd64"},
    }


def register_nodes(runtime: Runtime, nodes: tuple[NodeSpec, ...], kubelet_version: str = "") -> None:
    """Create each node that does not exist yet (a persisted sim keeps its nodes) and publish its status."""
    for index, spec in enumerate(nodes):
        if runtime.get("", "nodes", "", spec.name) is not None:
            continue
        try:
            runtime.create("v1", "Node", "", node_object(spec, index))
        except APIError as exc:
            if exc.code != 409:
                raise
        runtime.write_status("v1", "Node", "", spec.name, node_status(spec, index, runtime.clock.now_rfc3339(),
                                                                               kubelet_version))


def node_ip(node: dict[str, Any]) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return str(address.get("address"))
    return ""
