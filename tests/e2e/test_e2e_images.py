"""An air-gapped install on the sim: every image rewritten to a private registry, pull secrets in every workload.

cert-manager's parts are recognised by the sim under the mirrored names (without
that, no Certificate would be issued and Katib's webhook would never get its CA),
the install converges with nothing refused, the live pods run only rewritten
images with the pull secrets, and a re-apply writes nothing (the API server kept
``imagePullSecrets`` where kfctl put them).
"""

from __future__ import annotations

from kfctl.cluster import connect
from kfctl.imageref import is_public
from kfctl.render.images import images

from e2e_support import WRITE_VERBS, apply, refused_writes, write_kfdef

SPEC_IMAGES = """\
  images:
    rewrite:
    - {from: ghcr.io/kubeflow, to: registry.internal/kubeflow}
    - {from: docker.io, to: registry.internal/hub}
    - {from: quay.io, to: registry.internal/quay}
    - {from: gcr.io, to: registry.internal/gcr}
    - {from: ghcr.io, to: registry.internal/ghcr}
    - {from: registry.k8s.io, to: registry.internal/k8s}
    - {from: nvcr.io, to: registry.internal/nvcr}
    imagePullSecrets: [internal-registry]
"""


def _writes(sim):
    return len([e for e in sim.timeline() if e["verb"] in WRITE_VERBS and not e.get("dry_run")])


def _mirrored(kfdef):
    kfdef.write_text(kfdef.read_text().rstrip("\n") + "\n" + SPEC_IMAGES)
    return kfdef


def test_an_install_with_rewritten_images_and_pull_secrets_converges(tmp_path, kube_sim):
    sim = kube_sim()
    kfdef = _mirrored(write_kfdef(tmp_path / "kf", components="kubeflow-core,cert-manager,istio,katib",
                                  version="26.03"))
    deployment, result = apply(sim, kfdef)
    assert result.ok, [(str(o.ref), o.state, o.message) for o in result.problems][:10]
    assert refused_writes(sim) == []
    planned = images(deployment.rendering)
    assert planned and not any(is_public(i) for i in planned)
    assert "registry.internal/quay/jetstack/cert-manager-webhook:v1.19.4" in planned
    cluster = connect(sim.kubeconfig_path, None)
    try:
        pods = cluster.list("v1", "Pod")[0]
        namespaces = {"cert-manager", "istio-system", "kubeflow"}
        ours = [p for p in pods if p["metadata"]["namespace"] in namespaces]
        assert len(ours) >= 8
        for pod in ours:
            spec = pod["spec"]
            assert {"name": "internal-registry"} in spec.get("imagePullSecrets", []), pod["metadata"]["name"]
            for c in spec.get("initContainers", []) + spec["containers"]:
                assert c["image"].startswith("registry.internal/"), (pod["metadata"]["name"], c["image"])
        webhook = cluster.get("v1", "Secret", "kubeflow", "katib-webhook-cert")
        assert webhook is not None  # issued by the (mirrored) cert-manager the sim recognised
        account = cluster.get("v1", "ServiceAccount", "kubeflow", "katib-controller")
        assert account["imagePullSecrets"] == [{"name": "internal-registry"}]
    finally:
        cluster.close()
    before = _writes(sim)
    _, again = apply(sim, kfdef)
    assert again.ok and again.writes == 0
    assert _writes(sim) == before


def test_the_26_03_default_set_mirrored_converges(tmp_path, kube_sim):
    sim = kube_sim()
    kfdef = _mirrored(write_kfdef(tmp_path / "kf", version="26.03"))
    deployment, result = apply(sim, kfdef)
    assert result.ok, [(str(o.ref), o.state, o.message) for o in result.problems][:10]
    assert refused_writes(sim) == []
    assert len(images(deployment.rendering)) > 90 and not any(is_public(i) for i in images(deployment.rendering))
    cluster = connect(sim.kubeconfig_path, None)
    try:
        pods = cluster.list("v1", "Pod")[0]
    finally:
        cluster.close()
    assert len(pods) > 30
    assert not [(p["metadata"]["name"], c["image"]) for p in pods for c in p["spec"]["containers"]
                if not c["image"].startswith("registry.internal/")]
    before = _writes(sim)
    _, again = apply(sim, kfdef)
    assert again.ok and again.writes == 0
    assert _writes(sim) == before
