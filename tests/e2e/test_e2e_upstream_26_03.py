"""Upstream 26.03, unchanged but for where its remote resources come from, installs on the realistic sim.

The simulated cluster must not pin 1.10's names (issue #13 item 6): 26.03's
Pipelines stores artifacts in ``seaweedfs``, not ``minio-service``, and the sim
reads that from the API server's own env. kfctl cannot fetch 26.03's remote
kustomize resources yet (item 5), so the test copies the tarball and points
those URLs at the same content from ``shared/upstream/remote`` inside its temp
copy; every other file is upstream's own. No overlay, no patch of any object.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
from pathlib import Path

import pytest

from kfctl.plan.index import WORKLOAD_KINDS

from e2e_support import apply, refused_writes
from shared_data import shared_path, upstream_tarball

ARGO = re.compile(r"https://github\.com/argoproj/argo-workflows/manifests/(?P<path>[^?\s]+)\?ref=v3\.7\.3")
LWS = "https://github.com/kubernetes-sigs/lws//config/default?ref=v0.7.0"
JOBSET = "https://github.com/kubernetes-sigs/jobset/releases/download/v0.10.1/manifests.yaml"


def local_copy(dest: Path) -> Path:
    """26.03's tree under ``dest/manifests-26.03`` with the example's remote resources as local paths."""
    with tarfile.open(upstream_tarball("26.03")) as tar:
        tar.extractall(dest, filter="data")
    remote = shared_path("upstream", "remote")
    root = dest / "manifests-26.03"
    for name in ("argo-workflows-v3.7.3-manifests.tar.gz", "lws-v0.7.0-config.tar.gz"):
        with tarfile.open(remote / name) as tar:  # inside the repo: kustomize's load restrictor
            tar.extractall(root / "remote", filter="data")
    jobset_dir = root / "applications/trainer/upstream/third-party/jobset"
    shutil.copy(remote / "jobset-v0.10.1-manifests.yaml", jobset_dir / "jobset-manifests.yaml")
    argo = root / "remote/argo-workflows-3.7.3/manifests"
    lws = root / "remote/lws-0.7.0/config/default"
    for path in root.rglob("kustomization.yaml"):
        text = path.read_text()
        new = ARGO.sub(lambda m: os.path.relpath(argo / m.group("path"), path.parent), text)
        new = new.replace(LWS, os.path.relpath(lws, path.parent)).replace(JOBSET, "jobset-manifests.yaml")
        if new != text:
            path.write_text(new)
    leftover = [p for p in root.rglob("kustomization.yaml")
                if re.search(r"^\s*-\s*https?://", p.read_text(), re.MULTILINE)]
    assert leftover == [] or all("training-operator/upstream/v2" in str(p) for p in leftover), leftover
    return root


def kfdef(folder: Path, root: Path, apps: list[tuple[str, str]]) -> Path:
    lines = [f"  - {{name: {n}, kustomizeConfig: {{repoRef: {{name: manifests, path: {p}}}}}}}" for n, p in apps]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kfdef.yaml"
    path.write_text(f"""apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata: {{name: upstream, namespace: kubeflow}}
spec:
  repos:
  - {{name: manifests, uri: "{root}"}}
  applications:
""" + "\n".join(lines) + "\n")
    return path


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


def problems(result) -> list[tuple[str, str, str]]:
    return [(str(o.ref), o.state, o.message[:200]) for o in result.problems]


def test_upstream_pipelines_on_seaweedfs_installs_with_its_dependencies_and_no_refused_write(tmp_path, kube_sim):
    root = local_copy(tmp_path)
    apps = [("cert-manager", "common/cert-manager/overlays/kubeflow"),
            ("istio-crds", "common/istio/istio-crds/base"),
            ("istio-namespace", "common/istio/istio-namespace/base"),
            ("istio", "common/istio/istio-install/overlays/oauth2-proxy"),
            ("kubeflow-namespace", "common/kubeflow-namespace/base"),
            ("kubeflow-roles", "common/kubeflow-roles/base"),
            ("kubeflow-istio-resources", "common/istio/kubeflow-istio-resources/base"),
            ("pipelines", "applications/pipeline/overlays")]
    sim = kube_sim()
    deployment, result = apply(sim, kfdef(tmp_path / "kfdef", root, apps), timeout=300)
    assert result.ok, problems(result)
    assert (refused := refused_writes(sim)) == [], [(e["code"], e["name"]) for e in refused]
    manifests = [n.manifest for n in deployment.plan.nodes.values()]
    assert not [m["metadata"]["name"] for m in manifests if "minio" in m["metadata"]["name"]
                and m["kind"] in ("Service", "Deployment")]
    api = next(m for m in manifests if m["kind"] == "Deployment" and m["metadata"]["name"] == "ml-pipeline")
    env = {e["name"]: e.get("value") for e in api["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["OBJECTSTORECONFIG_HOST"] == "seaweedfs.kubeflow"  # what the sim read, not a table of names
    assert all(o.state == "healthy" for o in result.outcomes if (o.ref.group, o.ref.kind) in WORKLOAD_KINDS)
    _, again = apply(sim, kfdef(tmp_path / "kfdef", root, apps))
    assert again.ok and again.writes == 0
