"""Benchmark: ``kfctl diff`` of the full default set against an empty cluster (issue #16: under 2 s).

A simulated cluster on the ``instant`` profile runs in a process of its own
and holds nothing kfctl made, as before a first install. For each release's
default set (``kfctl init --version``) this prints: the objects, the requests
the engine's part makes (``kfctl.engine.diff.compute``, in this process, plan
already rendered, discovery cached) and its time, the requests of one whole
``kfctl diff -q`` (discovery included), then the wall and CPU seconds of the
whole command as users run it (a process of its own: imports, loading and
rendering the KfDef, the engine, the output), with ``-q`` and with every
create's YAML printed. Each time is the best of ``--runs``: the machine is
shared, and the least disturbed run says the most about kfctl.

Usage: ``.venv/bin/python bench/bench_diff.py [--releases 1.10,26.03] [--runs 3]``
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

import httpx
import yaml

from bench_scale import start_sim
from kfctl.cli.loading import load_planned
from kfctl.cluster import connect
from kfctl.engine.diff import compute
from kfctl.engine.retry import Retrying


def requests_made(url: str) -> int:
    return int(httpx.get(f"{url}/_sim/metrics", timeout=10).json()["total"])


def command(kubeconfig: str, kfdef: Path, *extra: str) -> tuple[float, float]:
    """Wall and CPU seconds of one ``kfctl diff`` process (exit 3: everything is to be created)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "kfctl", "--kubeconfig", kubeconfig, "diff", "-f", str(kfdef), *extra],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 3:
        raise SystemExit(f"kfctl diff exited {done.returncode}: {done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def one(release: str, kubeconfig: str, url: str, folder: Path, runs: int) -> dict[str, float]:
    app = folder / f"app-{release.replace('.', '-')}"
    subprocess.run([sys.executable, "-m", "kfctl", "init", str(app), "--version", release], check=True,
                   capture_output=True)
    kfdef = app / "kfdef.yaml"
    deployment = load_planned(kfdef, (), False)
    cluster = Retrying(connect(kubeconfig, None))
    engine: list[float] = []
    try:
        for _ in range(runs):
            asked = requests_made(url)
            start = time.monotonic()
            changes = compute(cluster, deployment.plan, deployment=deployment.name, namespace=deployment.namespace)
            engine.append(time.monotonic() - start)
            asked = requests_made(url) - asked - 1  # less the first look at the metrics, counted too
    finally:
        cluster.close()
    if any(c.action != "create" for c in changes):
        raise SystemExit(f"{release}: the cluster is not empty: {[str(c.ref) for c in changes if c.action != 'create'][:5]}")
    before = requests_made(url)
    quiet = [command(kubeconfig, kfdef, "-q") for _ in range(runs)]
    command_asked = (requests_made(url) - before - 1) // runs
    full = [command(kubeconfig, kfdef) for _ in range(runs)]
    return {"objects": len(changes), "requests": asked, "engine": min(engine), "command_requests": command_asked,
            "quiet_wall": min(w for w, _ in quiet), "quiet_cpu": min(c for _, c in quiet),
            "full_wall": min(w for w, _ in full), "full_cpu": min(c for _, c in full)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", default="1.10,26.03")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, kubeconfig = start_sim(Path(tmp))
        try:
            url = yaml.safe_load(Path(kubeconfig).read_text())["clusters"][0]["cluster"]["server"]
            print(f"kfctl diff against an empty cluster (instant sim in its own process, {os.cpu_count()} cores, "
                  f"best of {args.runs})")
            print(f"{'release':>8} {'objects':>8} {'requests':>9} {'engine s':>9} {'cmd req':>8} "
                  f"{'diff -q s':>10} {'cpu s':>6} {'diff s':>7} {'cpu s':>6}")
            for release in args.releases.split(","):
                row = one(release, kubeconfig, url, Path(tmp), args.runs)
                print(f"{release:>8} {row['objects']:>8} {row['requests']:>9} {row['engine']:>9.2f} "
                      f"{row['command_requests']:>8} "
                      f"{row['quiet_wall']:>10.2f} {row['quiet_cpu']:>6.2f} {row['full_wall']:>7.2f} "
                      f"{row['full_cpu']:>6.2f}", flush=True)
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
