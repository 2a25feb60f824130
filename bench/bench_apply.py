"""Benchmark: install the full default set on the simulated cluster, against the lower bound and upstream's loop.

Prints, for the platform's full default set on the ``realistic`` profile:

* kfctl's converge time (sim seconds) against a lower bound from the sim's
  own delays: the longer of the critical path along the plan's edges and,
  with serialized image pulls (the kubelet default, the sim's too), the
  pulling every node must do: each distinct image is pulled on some node,
  one at a time, so some node pulls for at least their sum / nodes
  (target: within 1.15x);
* requests by verb for the install;
* the no-op re-apply: requests, writes and time, against one
  ``kubectl apply --server-side`` pass of the same objects (target: 0 writes
  and faster);
* upstream's method on a fresh sim with the same objects and time scale: the
  ``kubectl apply --server-side --force-conflicts`` loop with its 20 s sleep,
  healthy when the loop has exited and every workload is ready (target: kfctl
  at least 2x faster to healthy).

Usage: ``.venv/bin/python bench/bench_apply.py [--platform generic] [--time-scale 0.1]
[--source bundles|upstream] [--nodes 1] [--parallel-image-pulls]`` (``upstream``: Kubeflow 1.10.2's own example, unchanged, from
``shared/upstream``, through KfDef repos).

kfctl and kubectl each run in their own process, the simulated cluster in this one.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from kfctl.cluster import connect
from kfctl.deploy import Deployment, load_deployment
from kfctl.engine.readiness import assess
from kfctl.plan import ObjectRef, Plan
from kfctl.plan.index import WORKLOAD_KINDS, pod_template
from kfctl.sim import SimCluster
from kfctl.sim.behaviour.profiles import ClusterShape, Profile, expected_ready_delay, profile_named

WRITES = ("create", "update", "patch", "apply", "delete")


def own_delay(ref: ObjectRef, manifest: dict[str, Any], profile: Profile) -> float:
    """Sim seconds from this object's apply to its health, by the sim's own delay functions."""
    if ref.kind == "CustomResourceDefinition":
        return profile.crd_establish_delay()
    if (ref.group, ref.kind) in WORKLOAD_KINDS and ref.kind != "CronJob":
        return expected_ready_delay(manifest, profile) + (profile.job_run if ref.kind == "Job" else 0.0)
    if ref.kind == "PersistentVolumeClaim":
        return profile.pvc_bind_delay()
    if ref.kind == "Certificate":
        return profile.cert_issue
    if ref.kind.endswith("WebhookConfiguration"):
        annotations = (manifest.get("metadata") or {}).get("annotations") or {}
        if any(k.startswith("cert-manager.io/inject-ca-from") for k in annotations):
            return profile.ca_inject
    return 0.0


def lower_bound(plan: Plan, profile: Profile) -> tuple[float, list[str]]:
    """The critical path: the longest chain of own delays along the plan's edges, and its members."""
    start: dict[ObjectRef, float] = {}
    finish: dict[ObjectRef, float] = {}
    via: dict[ObjectRef, ObjectRef | None] = {}
    for wave in plan.waves():
        for ref in wave:
            best, cause = 0.0, None
            for edge in plan.requires[ref]:
                # An applied-only claim may be created before it is bound, but the workload's pod
                # cannot start before it is: count its finish. Another applied-only dependency (a
                # server its client retries) only needs to have been applied: count its start.
                dep = edge.dependency
                t = start[dep] if edge.applied_only and dep.kind != "PersistentVolumeClaim" else finish[dep]
                if t > best:
                    best, cause = t, edge.dependency
            start[ref] = best
            finish[ref] = best + own_delay(ref, dict(plan.nodes[ref].manifest), profile)
            via[ref] = cause
    end = max(finish, key=finish.get)
    chain, node = [], end
    while node is not None:
        chain.append(f"{node} (+{finish[node] - start[node]:.0f}s)")
        node = via[node]
    return finish[end], list(reversed(chain))


def pull_bound(plan: Plan, profile: Profile, nodes: int) -> tuple[float, int]:
    """Seconds of pulling some node must do when each pulls one image at a time, and how many images."""
    images: dict[str, float] = {}
    for ref, node in plan.nodes.items():
        if (ref.group, ref.kind) not in WORKLOAD_KINDS or ref.kind == "CronJob":
            continue  # a CronJob makes no pod at install time
        template = pod_template(node.manifest) or {}
        spec = template.get("spec") or {}
        for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            images[str(c.get("image") or "")] = profile.pull_delay(str(c.get("image") or ""))
    return sum(images.values()) / max(nodes, 1), len(images)


def verbs(sim: SimCluster, since: int = 0) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in sim.timeline()[since:]:
        key = entry["verb"] + (" (dry-run)" if entry.get("dry_run") else "")
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def kfctl_apply(sim: SimCluster, kfdef: Path) -> tuple[float, float, dict[str, Any]]:
    """Run ``kfctl apply`` in its own process, as an operator would (and as upstream's kubectl runs).

    Returns (engine seconds from its first event to its summary, wall seconds of the whole command
    including interpreter start-up and rendering, the summary event's data).
    """
    began = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "kfctl", "--kubeconfig", sim.kubeconfig_path, "apply",
                           "-f", str(kfdef), "-o", "json", "--timeout", "2h", "--object-timeout", "1h"],
                          capture_output=True, text=True)
    wall = time.monotonic() - began
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    summary = events[-1] if events else {}
    if proc.returncode != 0:
        raise SystemExit(f"kfctl apply failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return float(summary.get("elapsed", wall)), wall, summary.get("data", {})


def unready_workloads(cluster: Any, deployment: Deployment, among: set[ObjectRef] | None = None) -> set[ObjectRef]:
    """The workloads and CRDs (of ``among``, default all) that are not ready yet."""
    out = set()
    for ref, node in deployment.plan.nodes.items():
        if (ref.group, ref.kind) not in WORKLOAD_KINDS and ref.kind != "CustomResourceDefinition":
            continue
        if among is not None and ref not in among:
            continue
        live = cluster.get(str(node.manifest["apiVersion"]), ref.kind, ref.namespace or None, ref.name)
        if live is None or not assess(live).ready:
            out.add(ref)
    return out


def upstream_loop(kubectl: str, manifest: Path, deployment: Deployment, scale: float, **sim_settings: Any) -> dict:
    with SimCluster(**sim_settings) as sim:
        began = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            proc = subprocess.run([kubectl, "--kubeconfig", sim.kubeconfig_path, "apply", "--server-side",
                                   "--force-conflicts", "-f", str(manifest)], capture_output=True, text=True)
            if proc.returncode == 0:
                break
            time.sleep(20 * scale)  # "Retrying to apply resources"; sleep 20
            if attempts > 200:
                raise SystemExit("upstream loop did not finish in 200 attempts")
        loop_done = time.monotonic() - began
        cluster = connect(sim.kubeconfig_path, None)
        waiting = unready_workloads(cluster, deployment)
        ready_at: dict[ObjectRef, float] = {}
        while waiting:
            time.sleep(0.02)
            still = unready_workloads(cluster, deployment, waiting)
            ready_at.update({ref: time.monotonic() - began for ref in waiting - still})
            waiting = still
        healthy = time.monotonic() - began
        cluster.close()
        last = sorted(ready_at.items(), key=lambda kv: kv[1])[-4:]
        return {"attempts": attempts, "loop": loop_done, "healthy": healthy, "requests": verbs(sim), "last": last}


UPSTREAM = Path(__file__).resolve().parents[1].parent / "shared" / "upstream"


def upstream_kfdef(folder: Path, version: str) -> Path:
    """A KfDef installing upstream's own example, part by part, from ``shared/upstream``.

    ``common/user-namespace`` is left out: kustomize 5.8 leaves its Profile named
    ``$(profile-name)``, which any API server refuses (upstream's loop would retry forever).
    """
    import tarfile

    tarball = UPSTREAM / f"kubeflow-manifests-{version}.tar.gz"
    with tarfile.open(tarball) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/example/kustomization.yaml"))
        listed = yaml.safe_load(tar.extractfile(member).read())["resources"]
    paths = [p.removeprefix("../") for p in listed if p.startswith("../") and "user-namespace" not in p]
    apps = "".join(f"  - {{name: part-{i:02d}, kustomizeConfig: {{repoRef: {{name: manifests, path: {p}}}}}}}\n"
                   for i, p in enumerate(paths))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kfdef.yaml"
    path.write_text(f"""apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata: {{name: upstream, namespace: kubeflow}}
spec:
  repos:
  - {{name: manifests, uri: "{tarball}"}}
  applications:
{apps}""")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--platform", default="generic")
    parser.add_argument("--time-scale", type=float, default=0.1,
                        help="real seconds per sim second; CPU overhead is magnified by 1/scale in sim time")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--source", choices=["bundles", "upstream"], default="bundles",
                        help="kfctl's own bundles (the platform's default set) or upstream's example, unchanged")
    parser.add_argument("--upstream-version", default="v1.10.2")
    parser.add_argument("--skip-upstream", action="store_true")
    parser.add_argument("--nodes", type=int, default=1, help="nodes of the simulated cluster (default 1, like kind)")
    parser.add_argument("--parallel-image-pulls", action="store_true",
                        help="kubelets pull side by side (serializeImagePulls: false, as on EKS)")
    args = parser.parse_args()
    scale = args.time_scale
    kubectl = str(Path(sys.executable).parent / "kubectl")
    if not Path(kubectl).exists():
        kubectl = shutil.which("kubectl") or kubectl
    work = Path(tempfile.mkdtemp(prefix="kfctl-bench-"))
    if args.source == "bundles":
        subprocess.run([sys.executable, "-m", "kfctl", "init", str(work / "kf"), "--platform", args.platform],
                       check=True, capture_output=True)
    else:
        upstream_kfdef(work / "kf", args.upstream_version)
    deployment = load_deployment(work / "kf" / "kfdef.yaml")
    profile = profile_named("realistic", seed=args.seed)
    path, chain = lower_bound(deployment.plan, profile)
    pulling, images = pull_bound(deployment.plan, profile, args.nodes)
    serial = not args.parallel_image_pulls
    bound = max(path, pulling if serial else 0.0)
    shape = ClusterShape.uniform(args.nodes, serialize_image_pulls=serial)
    settings = {"profile": "realistic", "time_scale": scale, "seed": args.seed, "shape": shape}
    what = f"platform {args.platform}" if args.source == "bundles" else f"upstream {args.upstream_version} example"
    print(f"{what}: {len(deployment.plan)} objects, {len(deployment.plan.edges)} edges, "
          f"time scale {scale} (sim seconds = wall seconds / {scale}), {args.nodes} node(s) pulling "
          f"{'one image at a time' if serial else 'side by side'}")
    print(f"lower bound: {bound:.1f} sim s, the longer of")
    print(f"  the critical path, {path:.1f} sim s along {len(chain)} objects:")
    for step in chain:
        print(f"    {step}")
    print(f"  and pulling {images} distinct images: {pulling:.1f} sim s per node"
          + ("" if serial else " (not a bound: pulls run side by side)"))

    kfdef = work / "kf" / "kfdef.yaml"
    with SimCluster(**settings) as sim:
        took, wall, summary = kfctl_apply(sim, kfdef)
        install = verbs(sim)
        converge = took / scale
        print(f"\nkfctl apply: healthy in {converge:.1f} sim s ({took:.2f} wall s of engine, {wall:.2f} wall s with "
              f"start-up and rendering) = {converge / bound:.3f}x the lower bound (target <= 1.15x)")
        print(f"  requests by verb: {install}")
        mark = len(sim.timeline())
        took_noop, wall_noop, again = kfctl_apply(sim, kfdef)
        noop = verbs(sim, mark)
        print(f"\nno-op re-apply: {again.get('writes')} writes, {sum(noop.values())} requests in {took_noop:.2f} wall s "
              f"({wall_noop:.2f} s with start-up): {noop}")
        manifest = work / "all.yaml"
        manifest.write_text(yaml.safe_dump_all([r.to_dict() for r in deployment.rendering.resources], sort_keys=False))
        mark = len(sim.timeline())
        began = time.monotonic()
        subprocess.run([kubectl, "--kubeconfig", sim.kubeconfig_path, "apply", "--server-side", "--force-conflicts",
                        "-f", str(manifest)], check=True, capture_output=True)
        one_pass = time.monotonic() - began
        print(f"one `kubectl apply --server-side` pass of the same objects: {one_pass:.2f} wall s, "
              f"{sum(verbs(sim, mark).values())} requests -> kfctl's no-op is {one_pass / wall_noop:.1f}x faster "
              f"(whole command) / {one_pass / took_noop:.1f}x (engine)")

    if args.skip_upstream:
        return
    manifest = work / "all.yaml"
    up = upstream_loop(kubectl, manifest, deployment, scale, **settings)
    print(f"\nupstream loop (kubectl apply --server-side --force-conflicts; sleep 20): {up['attempts']} attempts, "
          f"loop exited at {up['loop'] / scale:.1f} sim s, every workload ready at {up['healthy'] / scale:.1f} sim s")
    print(f"  requests by verb: {up['requests']}")
    print("  last ready: " + ", ".join(f"{ref} at {t / scale:.1f} s" for ref, t in up["last"]))
    print(f"kfctl is {up['healthy'] / took:.2f}x faster to healthy (target >= 2x; "
          f"{up['healthy'] / wall:.2f}x counting its start-up and rendering)")


if __name__ == "__main__":
    main()
