"""kfctl's 26.03 Pipelines (KFP 2.16 on SeaweedFS) and its dependencies on the realistic sim.

The sim reads which Services each KFP application dials from its env
(``OBJECTSTORECONFIG_HOST=seaweedfs.kubeflow``, ``DBCONFIG_MYSQLCONFIG_HOST``
from pipeline-install-config), so this install only converges if the bundle
and the sim agree on SeaweedFS: an API server still told to use MinIO would
crash-loop on its startup probe for ever.
"""

from __future__ import annotations

from e2e_support import WRITE_VERBS, apply, refused_writes, write_kfdef


def _writes(sim) -> int:
    return len([e for e in sim.timeline() if e["verb"] in WRITE_VERBS and not e.get("dry_run")])


def test_pipelines_26_03_converge_with_no_refused_write_and_reapply_writes_nothing(tmp_path, kube_sim):
    sim = kube_sim()
    kfdef = write_kfdef(tmp_path / "kf", components="kubeflow-core,cert-manager,istio,pipelines")
    assert 'version: "26.03"' in kfdef.read_text()
    start = sim.clock.now()
    deployment, result = apply(sim, kfdef)
    took = sim.clock.now() - start
    assert result.ok, [(str(o.ref), o.state, o.message) for o in result.problems][:10]
    assert (refused := refused_writes(sim)) == [], [(e["code"], e["name"]) for e in refused]
    names = {(r.kind, r.name) for r in deployment.plan.nodes}
    assert ("Deployment", "seaweedfs") in names and not {n for n in names if n[1].startswith("minio")}
    api = sim.cluster.store.list("", "pods", "kubeflow")[0]
    pods = {p["metadata"]["name"].rsplit("-", 2)[0]: p for p in api if p["metadata"]["name"].startswith("ml-pipeline-")}
    assert pods and all(any(c.get("type") == "Ready" and c.get("status") == "True"
                            for c in (p.get("status") or {}).get("conditions") or []) for p in pods.values())
    print(f"\n26.03 pipelines install: {took:.0f} sim s, {result.writes} writes, "
          f"{len(deployment.plan)} objects")  # reported with -s

    before = _writes(sim)
    _, again = apply(sim, kfdef)
    assert again.ok and again.writes == 0 and _writes(sim) == before
