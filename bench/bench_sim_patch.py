"""Per-call timings of the sim's patch algorithms (kfctl.sim.patch).

Targets: server_side_apply on a typical ~3 KB Deployment well under 5 ms; a
no-op re-apply of a 600-object install must not make the sim the bottleneck.
Run: ``.venv/bin/python bench/bench_sim_patch.py``.
"""

from __future__ import annotations

import copy
import json
import tarfile
import time
from pathlib import Path

import yaml

from kfctl.sim.patch import json_patch, merge_patch, server_side_apply, strategic_merge_patch, update_managed_fields


def deployment(index: int = 0, image: str = "ghcr.io/kubeflow/app:v1") -> dict:
    env = [{"name": f"VAR_{i}", "value": f"value-{i}"} for i in range(12)]
    containers = [{
        "name": name, "image": image, "imagePullPolicy": "IfNotPresent", "args": ["--port=8080", "--v=2"],
        "ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 9090, "name": "metrics"}],
        "env": env, "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}, {"name": "certs", "mountPath": "/certs"}],
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 5},
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
    } for name in ("app", "proxy")]
    labels = {"app.kubernetes.io/name": f"app-{index}", "app.kubernetes.io/part-of": "kubeflow"}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": f"app-{index}", "namespace": "kubeflow", "labels": labels,
                         "annotations": {"kfctl.io/component": "pipelines"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"serviceAccountName": "app", "containers": containers,
                                           "volumes": [{"name": "config", "configMap": {"name": "app"}},
                                                       {"name": "certs", "secret": {"secretName": "certs"}}]}}}}


def per_call(label: str, fn, repeat: int = 300) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    ms = (time.perf_counter() - start) / repeat * 1000
    print(f"{label:<52} {ms:8.3f} ms/call")
    return ms


def main() -> None:
    config = deployment()
    print(f"Deployment config size: {len(json.dumps(config))} bytes")
    live = server_side_apply(None, config, manager="kfctl", force=False, api_version="apps/v1", now="T1")
    print(f"Deployment live size (with managedFields): {len(json.dumps(live))} bytes")
    changed = deployment(image="ghcr.io/kubeflow/app:v2")
    per_call("server_side_apply create", lambda: server_side_apply(
        None, config, manager="kfctl", force=False, api_version="apps/v1", now="T1"))
    per_call("server_side_apply no-op re-apply", lambda: server_side_apply(
        live, config, manager="kfctl", force=False, api_version="apps/v1", now="T2"))
    per_call("server_side_apply image change", lambda: server_side_apply(
        live, changed, manager="kfctl", force=False, api_version="apps/v1", now="T2"))
    edited = copy.deepcopy(live)
    edited["spec"]["replicas"] = 3
    per_call("update_managed_fields (PUT replicas)", lambda: update_managed_fields(
        live, edited, manager="kubectl-edit", api_version="apps/v1", now="T3"))
    per_call("strategic_merge_patch (image of one container)", lambda: strategic_merge_patch(
        live, {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "x"}]}}}},
        group="apps", version="v1", kind="Deployment"))
    per_call("merge_patch (labels)", lambda: merge_patch(live, {"metadata": {"labels": {"a": "b"}}}))
    per_call("json_patch (replace replicas)", lambda: json_patch(
        live, [{"op": "replace", "path": "/spec/replicas", "value": 2}]))

    objects = [deployment(i) for i in range(600)]
    lives = [server_side_apply(None, o, manager="kfctl", force=False, api_version="apps/v1", now="T1")
             for o in objects]
    start = time.perf_counter()
    unchanged = sum(server_side_apply(lv, o, manager="kfctl", force=False, api_version="apps/v1", now="T2") == lv
                    for lv, o in zip(lives, objects))
    total = time.perf_counter() - start
    print(f"no-op re-apply of 600 Deployments: {total * 1000:.1f} ms total, {unchanged}/600 detected unchanged")


UPSTREAM = Path(__file__).resolve().parents[2] / "shared" / "upstream" / "kubeflow-manifests-v1.10.2.tar.gz"
BIG_CRDS = (
    "manifests-1.10.2/applications/pipeline/upstream/third-party/argo/upstream/manifests/base/crds/full/"
    "argoproj.io_workflows.yaml",
    "manifests-1.10.2/applications/jupyter/notebook-controller/upstream/crd/bases/kubeflow.org_notebooks.yaml",
)


def big_crds() -> None:
    """Server-side apply of the largest CRDs Kubeflow installs (read from the upstream test tarball)."""
    if not UPSTREAM.exists():
        print(f"{UPSTREAM} not present: CRD timings not measured")
        return
    with tarfile.open(UPSTREAM) as tar:
        for path in BIG_CRDS:
            crd = next(d for d in yaml.safe_load_all(tar.extractfile(path).read()) if d)
            args = {"manager": "kfctl", "force": False, "api_version": "apiextensions.k8s.io/v1"}
            start = time.perf_counter()
            live = server_side_apply(None, crd, now="T1", **args)
            created = time.perf_counter() - start
            start = time.perf_counter()
            same = server_side_apply(live, crd, now="T2", **args) == live
            noop = time.perf_counter() - start
            print(f"CRD {crd['metadata']['name']} ({len(json.dumps(crd)) // 1024} KB): create {created * 1000:.1f} ms, "
                  f"no-op re-apply {noop * 1000:.1f} ms (unchanged: {same})")


if __name__ == "__main__":
    main()
    big_crds()
