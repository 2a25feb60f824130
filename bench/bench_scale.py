"""Benchmark: the engine's own cost as a deployment grows (1x, 4x, 16x the default object count).

A synthetic deployment of many tenant namespaces (each like a Kubeflow
profile's: a namespace, service accounts, roles and bindings, config, a
Service and a Deployment) is applied to a simulated cluster on the
``instant`` profile, which runs in a process of its own, so this process's
CPU time is kfctl's: planning, applying, watching and deciding. Printed per
size: objects, wall seconds, engine CPU seconds, CPU milliseconds per object,
and this process's peak memory. The target: at 16x, CPU per object within
1.5x of 1x (no scan of every object on every event).

Usage: ``.venv/bin/python bench/bench_scale.py [--base 600] [--sizes 1,4,16] [--concurrency 8]``
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kfctl.cluster import connect
from kfctl.engine.apply import ApplyEngine, ApplyOptions
from kfctl.plan import build_plan

PER_TENANT = 12


def tenant(i: int) -> list[tuple[str, dict]]:
    """One tenant namespace: 12 objects, as a Kubeflow profile's namespace has them."""
    ns = f"tenant-{i:04d}"
    comp = f"tenants-{i // 50:02d}"  # components of up to 50 tenants, as a large install has dozens
    labels = {"app.kubernetes.io/part-of": "kubeflow-profile"}
    objs: list[dict] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default-editor", "namespace": ns}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default-viewer", "namespace": ns}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "ns-reader", "namespace": ns},
         "rules": [{"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "editor", "namespace": ns},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
         "subjects": [{"kind": "ServiceAccount", "name": "default-editor", "namespace": ns}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "viewer", "namespace": ns},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "ns-reader"},
         "subjects": [{"kind": "ServiceAccount", "name": "default-viewer", "namespace": ns}]},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": ns}, "data": {"a": str(i)}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pipeline-config", "namespace": ns},
         "data": {"bucket": f"s3://tenant-{i}"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "artifact-creds", "namespace": ns},
         "stringData": {"key": "k", "secret": "s"}},
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "quota", "namespace": ns},
         "spec": {"hard": {"pods": "50"}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "artifacts", "namespace": ns},
         "spec": {"selector": {"app": "artifacts"}, "ports": [{"port": 80, "targetPort": 8080}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "artifacts", "namespace": ns},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "artifacts"}},
                  "template": {"metadata": {"labels": {"app": "artifacts"}},
                               "spec": {"serviceAccountName": "default-viewer",
                                        "containers": [{"name": "server", "image": "example.com/artifacts:1",
                                                        "resources": {"requests": {"cpu": "1m", "memory": "1Mi"}},
                                                        "envFrom": [{"configMapRef": {"name": "settings"}}]}]}}}},
    ]
    assert len(objs) == PER_TENANT
    return [(comp, o) for o in objs]


def start_sim(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    kubeconfig = folder / "sim.kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "kfctl", "sim", "serve", "--kubeconfig", str(kubeconfig),
                             "--profile", "instant", "--nodes", "50", "--node-cpu", "64", "--node-memory", "256Gi"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if kubeconfig.exists() and kubeconfig.stat().st_size:
            return proc, str(kubeconfig)
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the simulated cluster did not start")


def one(objects: int, concurrency: int) -> dict[str, float]:
    tenants = max(1, objects // PER_TENANT)
    plan = build_plan([pair for i in range(tenants) for pair in tenant(i)])
    with tempfile.TemporaryDirectory() as tmp:
        proc, kubeconfig = start_sim(Path(tmp))
        try:
            cluster = connect(kubeconfig, None)
            cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubeflow"}})
            engine = ApplyEngine(cluster, plan, deployment="scale", namespace="kubeflow",
                                 options=ApplyOptions(concurrency=concurrency, timeout=1800, object_timeout=900))
            cpu0, wall0 = time.process_time(), time.monotonic()
            result = engine.run()
            cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
            cluster.close()
        finally:
            proc.terminate()
            proc.wait(10)
    if not result.ok:
        raise SystemExit(f"{len(plan)} objects: not healthy: {[o.message for o in result.problems][:3]}")
    return {"objects": len(plan), "wall": wall, "cpu": cpu, "cpu_ms_per_object": 1000 * cpu / len(plan),
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=int, default=600, help="objects at 1x (the default set is about 600)")
    parser.add_argument("--sizes", default="1,4,16")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    print(f"engine cost by deployment size (instant profile, sim in its own process, {os.cpu_count()} cores)")
    print(f"{'size':>5} {'objects':>8} {'wall s':>8} {'cpu s':>8} {'cpu ms/obj':>11} {'peak MiB':>9}")
    first = None
    for size in (int(s) for s in args.sizes.split(",")):
        row = one(args.base * size, args.concurrency)
        first = first or row
        print(f"{size:>4}x {row['objects']:>8} {row['wall']:>8.1f} {row['cpu']:>8.1f} "
              f"{row['cpu_ms_per_object']:>11.2f} {row['peak_mib']:>9.0f}", flush=True)
    if first is not None and first is not row:
        ratio = row["cpu_ms_per_object"] / first["cpu_ms_per_object"]
        print(f"cpu per object at the largest size: {ratio:.2f}x the smallest (target <= 1.5x)")


if __name__ == "__main__":
    main()
