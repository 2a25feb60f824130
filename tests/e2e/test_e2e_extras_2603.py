"""Kubeflow 26.03's trainer, spark-operator, model-registry, pvcviewer-controller and user-profile on the sim.

They install in one pass beside what they need (nothing refused: no custom
resource before its CRD, no object sent to a webhook before it serves with a
CA), and a re-apply writes nothing, including with Trainer's data cache
(LeaderWorkerSet) on.
"""

from __future__ import annotations

import pytest

from kfctl.catalog import load_catalog
from kfctl.cluster import connect

from e2e_support import WRITE_VERBS, apply, refused_writes, write_kfdef

EXTRAS = "trainer,spark-operator,model-registry,pvcviewer-controller,user-profile"


def _writes(sim):
    return len([e for e in sim.timeline() if e["verb"] in WRITE_VERBS and not e.get("dry_run")])


@pytest.mark.parametrize("data_cache", [False, True], ids=["default", "dataCache"])
def test_extras_converge_with_nothing_refused_and_reapply_without_writes(data_cache, tmp_path, kube_sim):
    sim = kube_sim()
    kfdef = write_kfdef(tmp_path / "kf", components="kubeflow-core,cert-manager,istio,profiles," + EXTRAS)
    if data_cache:
        text = kfdef.read_text()
        kfdef.write_text(text.replace("  - name: trainer\n", "  - name: trainer\n    parameters:\n"
                                      "    - {name: dataCache, value: true}\n", 1))
        assert kfdef.read_text() != text
    deployment, result = apply(sim, kfdef)
    assert result.ok, [(str(o.ref), o.state, o.message) for o in result.problems][:10]
    assert refused_writes(sim) == []
    cluster = connect(sim.kubeconfig_path, None)
    # (the sim runs no Profile controller, so the Profile's namespace itself is not created there)
    assert cluster.get("kubeflow.org/v1", "Profile", None, "kubeflow-user-example-com") is not None
    assert len(cluster.list("trainer.kubeflow.org/v1alpha1", "ClusterTrainingRuntime")[0]) == 6 + data_cache
    lws = cluster.get("apps/v1", "Deployment", "kubeflow-system", "lws-controller-manager")
    assert (lws is not None) == data_cache
    before = _writes(sim)
    _, again = apply(sim, kfdef)
    assert again.ok and again.writes == 0
    assert _writes(sim) == before


@pytest.mark.parametrize("platform", ["generic", "aws"])
def test_extras_with_the_26_03_default_set_converge(platform, tmp_path, kube_sim):
    """Beside everything 26.03's default set installs (until the platforms list the extras themselves)."""
    sim = kube_sim()
    listed = list(load_catalog(release="26.03").platform(platform).components)
    kfdef = write_kfdef(tmp_path / "kf", platform=platform,
                        components=",".join(listed + [c for c in EXTRAS.split(",") if c not in listed]))
    deployment, result = apply(sim, kfdef)
    assert result.ok, [(str(o.ref), o.state, o.message) for o in result.problems][:10]
    assert {r.namespace for r in deployment.plan.nodes if r.kind == "Deployment"} >= {"kubeflow", "kubeflow-system"}
    assert refused_writes(sim) == []
    before = _writes(sim)
    _, again = apply(sim, kfdef)
    assert again.ok and again.writes == 0
    assert _writes(sim) == before
