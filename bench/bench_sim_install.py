"""Benchmark: does the simulated cluster keep up with a full Kubeflow-sized install?

Starts a simulated cluster in this process (``realistic`` profile, time scale
0.01 by default), renders and applies the real bundles with the project's
engine (``kfctl apply`` in its own process, as users run it) and, at the same
time, a synthetic load (``--extra`` Deployments with Services and ConfigMaps
via ``kubectl apply --server-side``) so the total is about 600 objects, 50
workloads and 100 pods. Prints how long the install took in real and sim
seconds and how far the simulated controllers fell behind their own clock:
timer lag (a due delay handled late) and event lag (a committed change handled
late), both in sim seconds. At scale 0.01 one sim second is 10 ms real.

    .venv/bin/python bench/bench_sim_install.py [--platform generic] [--scale 0.01] [--extra 32] [--seed 1]
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from kfctl.sim import SimCluster
from kfctl.sim.behaviour import ClusterShape, expected_ready_delay

BIN = Path(sys.executable).parent


def extra_load(count: int) -> str:
    docs: list[dict] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench-load"}}]
    for i in range(count):
        name = f"load-{i:02d}"
        labels = {"app": name}
        docs += [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "bench-load"},
             "data": {"index": str(i)}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "bench-load"},
             "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]}},
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "bench-load"},
             "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                      "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
                          "name": "app", "image": f"registry.example.com/load/app-{i % 7}:1.0",
                          "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
                          "envFrom": [{"configMapRef": {"name": name}}]}]}}}},
        ]
    return yaml.safe_dump_all(docs, sort_keys=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--platform", default="generic")
    parser.add_argument("--scale", type=float, default=0.01, help="real seconds per sim second")
    parser.add_argument("--extra", type=int, default=32, help="synthetic Deployments (2 replicas each) added")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--nodes", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kfctl-bench-") as tmp:
        work = Path(tmp)
        subprocess.run([str(BIN / "kfctl"), "init", str(work / "app"), "--platform", args.platform], check=True,
                       capture_output=True)
        (work / "extra.yaml").write_text(extra_load(args.extra))
        shape = ClusterShape.uniform(args.nodes, cpu="16", memory="64Gi")
        with SimCluster(time_scale=args.scale, profile="realistic", seed=args.seed, shape=shape,
                        kubeconfig_path=work / "kubeconfig") as sim:
            kc = sim.kubeconfig_path
            sim_start, real_start = sim.clock.now(), time.monotonic()
            engine = subprocess.Popen([str(BIN / "kfctl"), "--kubeconfig", kc, "apply", "-f",
                                       str(work / "app" / "kfdef.yaml"), "-o", "plain", "--timeout", "30m"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            load = subprocess.run([str(BIN / "kubectl"), "--kubeconfig", kc, "apply", "--server-side", "-f",
                                   str(work / "extra.yaml")], capture_output=True, text=True)
            if load.returncode:
                print(f"synthetic load failed: {load.stderr}", file=sys.stderr)
            wait = subprocess.run([str(BIN / "kubectl"), "--kubeconfig", kc, "wait", "-n", "bench-load",
                                   "--for=condition=Available", "deployment", "--all", "--timeout=300s"],
                                  capture_output=True, text=True)
            out, err = engine.communicate()
            real = time.monotonic() - real_start
            simulated = sim.clock.now() - sim_start
            sim.sync()
            lag = sim.behaviours.lag() if sim.behaviours else {}
            counts: collections.Counter[str] = collections.Counter()
            for rtype in sim.cluster.types.all():
                if rtype.custom and rtype.version != rtype.storage_version:
                    continue
                items, _ = sim.store.list(rtype.group, rtype.plural)
                counts[rtype.kind] += len(items)
            pods, _ = sim.store.list("", "pods")
            deployments, _ = sim.store.list("apps", "deployments")
            slowest = max((expected_ready_delay(d["spec"]["template"], sim.profile) for d in deployments), default=0)
            ready = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Running")

    summary = out.strip().splitlines()[-1] if out.strip() else err.strip()[-300:]
    workloads = sum(counts[k] for k in ("Deployment", "StatefulSet", "DaemonSet", "Job"))
    print(f"platform {args.platform}, profile realistic, time scale {args.scale}, seed {args.seed}, "
          f"{args.nodes} nodes")
    print(f"engine: exit {engine.returncode}: {summary}")
    print(f"synthetic load: {args.extra} Deployments x 2 replicas: "
          f"{'all Available' if wait.returncode == 0 else 'NOT all Available: ' + wait.stderr.strip()[:200]}")
    print(f"objects in the store: {sum(counts.values())} (events {counts['Event']}), workloads {workloads}, "
          f"pods {len(pods)} ({ready} running), ReplicaSets {counts['ReplicaSet']}, "
          f"EndpointSlices {counts['EndpointSlice']}")
    print(f"install took {real:.1f} s real = {simulated:.0f} sim s "
          f"(slowest single pod readiness per profile: {slowest:.0f} sim s)")
    for name in ("timers", "events"):
        figures = lag.get(name, {})
        print(f"{name:6} lag over {figures.get('count', 0):6d} items: mean {figures.get('mean', 0):6.2f} "
              f"p99 {figures.get('p99', 0):6.2f} max {figures.get('max', 0):6.2f} sim s "
              f"(= {figures.get('max', 0) * args.scale * 1000:.0f} ms real at worst)")
    return 0 if engine.returncode == 0 and wait.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
