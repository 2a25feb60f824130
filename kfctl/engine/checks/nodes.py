"""The nodes and GPUs check: which nodes can run Kubeflow's pods, and which have GPUs.

Per node: Ready, cordoned, allocatable cpu and memory, ``nvidia.com/gpu`` and
``amd.com/gpu``, its accelerator labels and the NoSchedule/NoExecute taints
that no pod of the plan tolerates. The table is what the seed talk's first
step prints (``kubectl get nodes -o custom-columns=NAME:...,GPU:...nvidia\\.com/gpu``),
with more columns. A KfDef that offers GPU choices (a notebook spawner's GPU
vendors, a Trainer runtime asking for GPUs) on a cluster without a GPU node
is a warning: users would see choices that never schedule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from kfctl.engine.checks.model import FAIL, PASS, WARN, Facts, Finding
from kfctl.engine.checks.planned import GPU_RESOURCES, offers_gpus, planned_pods, tolerates
from kfctl.engine.compare import quantity
from kfctl.plan import Plan

#: label keys (or key prefixes) that say which accelerator a node has
ACCELERATOR_LABELS = ("nvidia.com/gpu.product", "nvidia.com/gpu.present", "amd.com/gpu", "beta.amd.com/gpu",
                      "cloud.google.com/gke-accelerator", "k8s.amazonaws.com/accelerator", "accelerator",
                      "node.kubernetes.io/accelerator", "feature.node.kubernetes.io/pci-10de.present",
                      "feature.node.kubernetes.io/pci-1002.present")
HARD_EFFECTS = ("NoSchedule", "NoExecute")
#: taints that keep workloads off control-plane nodes by design: such a node is not counted, and not warned about
CONTROL_PLANE_TAINTS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")


def _ready(node: Mapping[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or ())


def _accelerators(labels: Mapping[str, str]) -> list[str]:
    return sorted(f"{k}={v}" for k, v in labels.items()
                  if any(k == a or k.startswith(a + ".") or k.startswith(a + "/") for a in ACCELERATOR_LABELS)
                  or "accelerator" in k.lower())


def _taint(taint: Mapping[str, Any]) -> str:
    value = taint.get("value")
    return f"{taint.get('key')}{'=' + str(value) if value else ''}:{taint.get('effect')}"


def node_rows(nodes: list[Mapping[str, Any]], plan: Plan) -> list[dict[str, Any]]:
    """One row per node (sorted by name): what the table shows and the JSON output carries."""
    pods = [p for p in planned_pods(plan) if not p.per_node]
    rows: list[dict[str, Any]] = []
    for node in sorted(nodes, key=lambda n: str((n.get("metadata") or {}).get("name"))):
        meta, status = node.get("metadata") or {}, node.get("status") or {}
        allocatable = status.get("allocatable") or {}
        taints = [t for t in (node.get("spec") or {}).get("taints") or () if t.get("effect") in HARD_EFFECTS]
        blocking = [t for t in taints if pods and not any(tolerates(p.tolerations, t) for p in pods)]
        rows.append({
            "name": str(meta.get("name")),
            "ready": _ready(node),
            "schedulable": not (node.get("spec") or {}).get("unschedulable"),
            "cpu": str(allocatable.get("cpu", "0")),
            "memory": str(allocatable.get("memory", "0")),
            **{key: str(allocatable.get(key, "0")) for key in GPU_RESOURCES},
            "accelerators": _accelerators(meta.get("labels") or {}),
            "taints": [_taint(t) for t in taints],
            "blockingTaints": [_taint(t) for t in blocking],
        })
    return rows


def gpus(row: Mapping[str, Any]) -> Decimal:
    return sum((quantity(row.get(key)) or Decimal(0) for key in GPU_RESOURCES), Decimal(0))


def usable(row: Mapping[str, Any]) -> bool:
    """A node Kubeflow's pods can land on: Ready, not cordoned, no taint they all refuse."""
    return bool(row["ready"] and row["schedulable"] and not row["blockingTaints"])


def table(rows: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """The GPU table: NAME, READY, CPU, MEMORY, one column per GPU resource, ACCELERATOR and TAINTS."""
    head = ["NAME", "READY", "CPU", "MEMORY", "NVIDIA.COM/GPU", "AMD.COM/GPU", "ACCELERATOR", "TAINTS"]
    body = [[r["name"], ("Ready" if r["ready"] else "NotReady") + ("" if r["schedulable"] else ",Cordoned"),
             r["cpu"], r["memory"], r["nvidia.com/gpu"], r["amd.com/gpu"],
             ",".join(r["accelerators"]) or "-", ",".join(r["taints"]) or "-"] for r in rows]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    return tuple("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in [head, *body])


def judge(rows: list[dict[str, Any]], plan: Plan) -> list[Finding]:
    """The findings for these node rows and this plan (pure)."""
    if not rows:
        return [Finding("nodes", FAIL, "the cluster has no nodes: no pod of Kubeflow can run",
                        fix="add nodes (or a node pool) to the cluster")]
    out: list[Finding] = []
    good = [r for r in rows if usable(r)]
    for row in rows:
        if not row["ready"]:
            out.append(Finding("nodes", WARN, f"node {row['name']} is not Ready",
                               fix=f"kubectl describe node {row['name']} says why (kubelet, network, disk pressure)"))
        elif not row["schedulable"]:
            out.append(Finding("nodes", WARN, f"node {row['name']} is cordoned (unschedulable)",
                               fix=f"kubectl uncordon {row['name']} when its maintenance is over"))
        elif row["blockingTaints"] and not all(t.split(":")[0].split("=")[0] in CONTROL_PLANE_TAINTS
                                                for t in row["blockingTaints"]):
            out.append(Finding("nodes", WARN, f"node {row['name']} has taints no Kubeflow pod tolerates: "
                               + ", ".join(row["blockingTaints"]) + " (none of the plan's pods will run there)",
                               fix="keep it for other work, or remove the taint (kubectl taint nodes "
                                   f"{row['name']} {row['blockingTaints'][0].split(':')[0].split('=')[0]}-)"))
    with_gpus = [r for r in rows if gpus(r) > 0]
    offers = offers_gpus(plan)
    if offers and not with_gpus:
        out.append(Finding("gpus", WARN, f"no node has a GPU (nvidia.com/gpu or amd.com/gpu), but the KfDef offers "
                           f"GPUs in {len(offers)} objects: users can choose GPUs that never schedule",
                           fix="add GPU nodes with their device plugin (NVIDIA or AMD GPU operator), or remove the "
                               "GPU choices (notebook spawner GPU vendors, Trainer GPU runtimes)",
                           details=tuple(offers[:8]) + ((f"... and {len(offers) - 8} more",) if len(offers) > 8 else ())))
    elif with_gpus:
        total = sum((gpus(r) for r in with_gpus), Decimal(0))
        out.append(Finding("gpus", PASS, f"{len(with_gpus)} of {len(rows)} nodes have GPUs ({total} in all): "
                           + ", ".join(f"{r['name']} ({gpus(r)})" for r in with_gpus)))
    else:
        out.append(Finding("gpus", PASS, "no node has a GPU, and the KfDef offers none"))
    if not good:
        out.append(Finding("nodes", FAIL, f"none of the {len(rows)} nodes can run Kubeflow's pods (not Ready, cordoned "
                           "or tainted)", fix="make a node Ready and untainted, or add one", details=table(rows)))
    else:
        out.insert(0, Finding("nodes", PASS, f"{len(good)} of {len(rows)} nodes can run Kubeflow's pods",
                              details=table(rows)))
    return out


def check_nodes(cluster: Any, plan: Plan, facts: Facts) -> tuple[list[Finding], list[dict[str, Any]]]:
    nodes, _ = cluster.list("v1", "Node")
    rows = node_rows(nodes, plan)
    return judge(rows, plan), rows
