"""Upstream Kubeflow manifests, unchanged, through KfDef repos: one pass, an upgrade, a delete.

Both run on the sim and on the real control plane (``kube`` fixture). The tarballs in ``shared/upstream`` are served over loopback HTTP (so the real
download path runs, with sha256 checked). ``common/user-namespace`` is left out
of the per-part KfDefs: kustomize 5.8 leaves its Profile named
``$(profile-name)``, which a real API server refuses too; the single-application
KfDef keeps it and shows that refusal is the only failure. 26.03 fixed that
defect; its example names remote resources (argo over git, JobSet's release
file), served here on loopback from ``shared/upstream/remote`` through a
``mirrors.yaml`` beside the KfDef, and installs as one application.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path

import pytest
import yaml

from kfctl.cluster import connect
from kfctl.deploy import load_deployment
from kfctl.errors import InputError
from kfctl.plan.index import WORKLOAD_KINDS

from e2e_support import apply, delete, owned, refused_writes
from shared_data import shared_path, upstream_tarball

REPO_ROOT = Path(__file__).resolve().parents[2]
SHA = {
    "v1.9.1": "2d4e0549536eb4922acdeeb1cf9028e1fadd56f8f5cf5f93a8064b8a8b9c6778",
    "v1.10.2": "71df684b51666b0615766efc3f3a88193290d0e50f7479a6cd92c762c77c47ee",
}
LEFT_OUT = "common/user-namespace/base"


@pytest.fixture(scope="module")
def served():
    """``shared/upstream`` over HTTP on 127.0.0.1, and a shared download cache for the module."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(shared_path("upstream")))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


def parts(version: str) -> list[str]:
    """The folders upstream's example/kustomization.yaml lists, read from the tarball."""
    import tarfile

    with tarfile.open(upstream_tarball(version)) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/example/kustomization.yaml"))
        data = yaml.safe_load(tar.extractfile(member).read())
    return [r.removeprefix("../") for r in data["resources"] if r.startswith("../")]


def app_name(path: str) -> str:
    words = [w for w in re.split(r"[/]", path) if w not in
             ("common", "apps", "applications", "contrib", "base", "upstream", "overlays", "installs", "env")]
    return "-".join(w.replace("istio-1-22", "istio") for w in words)[:63].strip("-")


def kfdef(folder: Path, url: str, version: str, *, split: bool) -> Path:
    head = f"""apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata: {{name: upstream, namespace: kubeflow}}
spec:
  repos:
  - {{name: manifests, uri: "{url}/kubeflow-manifests-{version}.tar.gz", sha256: {SHA[version]}}}
  applications:
"""
    if split:
        paths = [p for p in parts(version) if p != LEFT_OUT]
        names = [app_name(p) for p in paths]
        assert len(set(names)) == len(names)
        apps = "".join(f"  - {{name: {n}, kustomizeConfig: {{repoRef: {{name: manifests, path: {p}}}}}}}\n"
                       for n, p in zip(names, paths, strict=True))
    else:
        apps = "  - {name: kubeflow, kustomizeConfig: {repoRef: {name: manifests, path: example}}}\n"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kfdef.yaml"
    path.write_text(head + apps)
    return path


def workloads_healthy(result) -> bool:
    return all(o.state == "healthy" for o in result.outcomes if (o.ref.group, o.ref.kind) in WORKLOAD_KINDS)


def test_the_whole_example_as_one_application_installs_in_one_pass(served, tmp_path, kube):
    sim = kube()
    one = kfdef(tmp_path / "one", served, "v1.10.2", split=False)
    # upstream 1.10.2 leaves its Profile named $(profile-name), which any API server refuses: kfctl says
    # so before the first write (exit 2), and --skip-invalid installs the rest
    with pytest.raises(InputError, match=r"Profile/\$\(profile-name\).*unresolved kustomize variable"):
        load_deployment(one)
    deployment, result = apply(sim, one, skip_invalid=True)
    assert len(deployment.plan) == 610
    assert [s for s in deployment.rendering.skipped if "Profile/$(profile-name)" in s]
    assert result.ok, [(str(o.ref), o.state, o.message) for o in result.problems]
    assert (refused := refused_writes(sim)) == [], [(e["code"], e["name"], e.get("message", "")[:300]) for e in refused]  # no kind raced its CRD, no object met an unready webhook


def test_upgrade_from_1_9_1_to_1_10_2_by_parts_then_delete(served, tmp_path, kube):
    sim = kube()
    old_file = kfdef(tmp_path / "old", served, "v1.9.1", split=True)
    old, result = apply(sim, old_file)
    assert result.ok, [(str(o.ref), o.message) for o in result.problems][:5]
    assert refused_writes(sim) == []

    new_file = kfdef(tmp_path / "new", served, "v1.10.2", split=True)
    new = load_deployment(new_file)
    old_manifests = {ref: node.manifest for ref, node in old.plan.nodes.items()}
    changed = {ref for ref, node in new.plan.nodes.items() if old_manifests.get(ref) != node.manifest}
    removed = set(old.plan.nodes) - set(new.plan.nodes)
    mark = len(sim.timeline())
    _, result = apply(sim, new_file)
    assert result.ok, [(str(o.ref), o.message) for o in result.problems][:5]
    assert refused_writes(sim) == []
    written = {(e["resource"], e.get("namespace") or "", e["name"]) for e in sim.timeline()[mark:]
               if e["verb"] == "apply" and not e.get("dry_run") and e["name"] != "kfctl-upstream"}
    from kfctl.kinds import BUILTIN, guess_plural
    expected = {((BUILTIN.get((r.group, r.kind)).plural if (r.group, r.kind) in BUILTIN else guess_plural(r.kind)),
                 r.namespace, r.name) for r in changed}
    assert written - expected == set(), sorted(written - expected)[:10]  # only what changed is written
    crd = "CustomResourceDefinition/mxjobs.kubeflow.org"
    assert crd in {str(r) for r in removed}
    assert crd in result.kept and crd not in result.pruned  # CRDs are kept on prune: user MXJobs survive
    assert set(result.pruned) == {str(r) for r in removed} - set(result.kept)
    cluster = connect(sim.kubeconfig_path, None)
    assert cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "mxjobs.kubeflow.org") is not None
    assert set(owned(sim, new)) == set(new.plan.nodes)

    _, again = apply(sim, new_file)
    assert again.ok and again.writes == 0

    deleted = delete(sim, "upstream")
    assert deleted.ok, deleted.stuck
    assert owned(sim, new) == {}


def kfdef_2603(folder: Path, base: str) -> Path:
    """Upstream 26.03's example as one application; the KfDef names github.com, a mirror serves it on loopback."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kfdef.yaml"
    path.write_text(f"""apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata: {{name: upstream, namespace: kubeflow}}
spec:
  repos:
  - name: manifests
    uri: https://github.com/kubeflow/manifests/archive/refs/tags/26.03.tar.gz
    sha256: {SHA_2603}
  applications:
  - {{name: kubeflow, kustomizeConfig: {{repoRef: {{name: manifests, path: example}}}}}}
""")
    (folder / "mirrors.yaml").write_text(f"mirrors:\n  https://github.com/: {base}/github/\n")
    return path


SHA_2603 = "63102b4c117d5cde5d1bd1318ce8c68e3a411c571efe5c259cb51244723e2e9e"


def test_26_03_example_with_remote_resources_converges_and_reapplies_with_no_writes(tmp_path, kube_sim):
    """26.03's example, unchanged: its remote resources (argo over git, JobSet's release file) served locally."""
    from remote_support import start_upstream_server

    server = start_upstream_server(tmp_path / "github")
    server.files["kubeflow/manifests/archive/refs/tags/26.03.tar.gz"] = upstream_tarball("26.03")
    try:
        file = kfdef_2603(tmp_path / "site", server.base)
        deployment = load_deployment(file)  # fetches, pins (kfdef.lock.yaml) and builds
    finally:
        server.stop()
    assert len(deployment.plan) == 675
    assert (tmp_path / "site" / "kfdef.lock.yaml").is_file()
    sim = kube_sim()
    deployment, result = apply(sim, file)  # the server is stopped: from the cache
    assert workloads_healthy(result), [(str(o.ref), o.state, o.message[:200]) for o in result.problems][:10]
    assert result.ok, [(str(o.ref), o.message[:200]) for o in result.problems][:10]
    assert (refused := refused_writes(sim)) == [], [(e["code"], e["name"], e.get("message", "")[:300]) for e in refused]
    _, again = apply(sim, file)
    assert again.ok and again.writes == 0
