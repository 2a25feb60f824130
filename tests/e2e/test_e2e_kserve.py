"""KServe in Serverless mode with Knative Serving on the simulated cluster: one pass, no refused write.

Knative's webhooks write their own CA (the sim models that for webhook
configurations without cert-manager annotations), KServe's get theirs from
cert-manager; kfctl must hold back every object those webhooks intercept
until they answer, and the ClusterServingRuntimes until KServe's validator runs.
"""

from __future__ import annotations

import yaml

from e2e_support import WRITE_VERBS, apply, owned, refused_writes, write_kfdef


def test_kserve_with_knative_converges_in_one_pass_and_reapplies_with_no_writes(tmp_path, kube_sim):
    sim = kube_sim()
    kfdef = write_kfdef(tmp_path / "kf", components="kserve,kserve-models-web-app")
    assert yaml.safe_load(kfdef.read_text())["spec"]["version"] == "26.03"  # the default release
    deployment, result = apply(sim, kfdef)
    assert result.ok, [(str(o.ref), o.state, o.message) for o in result.problems][:10]
    assert {n.component for n in deployment.plan.nodes.values()} >= {"knative-serving", "kserve", "kserve-models-web-app"}
    assert refused_writes(sim) == []
    live = owned(sim, deployment)
    assert set(live) == set(deployment.plan.nodes)
    # Knative's webhooks got their CA from their own pods, KServe's from cert-manager
    for name in ("webhook.serving.knative.dev", "webhook.istio.networking.internal.knative.dev",
                 "inferenceservice.serving.kserve.io"):
        hooks = next(obj for ref, obj in live.items() if ref.kind == "MutatingWebhookConfiguration" and ref.name == name)
        assert all(h["clientConfig"].get("caBundle") for h in hooks["webhooks"]), name

    writes_before = len([e for e in sim.timeline() if e["verb"] in WRITE_VERBS and not e.get("dry_run")])
    _, again = apply(sim, kfdef)
    assert again.ok and again.writes == 0
    assert len([e for e in sim.timeline() if e["verb"] in WRITE_VERBS and not e.get("dry_run")]) == writes_before


def test_knative_eventing_converges_in_one_pass(tmp_path, kube_sim):
    """Eventing's webhooks all ship without rules or CA: kfctl waits for eventing-webhook to certify them."""
    sim = kube_sim()
    kfdef = write_kfdef(tmp_path / "kf", components="knative-eventing")
    deployment, result = apply(sim, kfdef)
    assert result.ok, [(str(o.ref), o.state, o.message) for o in result.problems][:10]
    assert {n.component for n in deployment.plan.nodes.values()} == {"kubeflow-core", "knative-eventing"}
    assert refused_writes(sim) == []
    live = owned(sim, deployment)
    for ref, obj in live.items():
        if ref.kind.endswith("WebhookConfiguration") and ref.name != "config.webhook.eventing.knative.dev":
            assert all(h["clientConfig"].get("caBundle") for h in obj["webhooks"]), ref.name
    _, again = apply(sim, kfdef)
    assert again.ok and again.writes == 0


def test_kserve_raw_deployment_converges_without_knative(tmp_path, kube_sim):
    sim = kube_sim()
    kfdef = write_kfdef(tmp_path / "kf", components="kserve")
    text = kfdef.read_text()
    assert "- name: kserve\n" in text
    kfdef.write_text(text.replace("- name: kserve\n", "- name: kserve\n    parameters:\n"
                                  "    - {name: deploymentMode, value: RawDeployment}\n", 1))
    deployment, result = apply(sim, kfdef)
    assert result.ok, [(str(o.ref), o.state, o.message) for o in result.problems][:10]
    assert {n.component for n in deployment.plan.nodes.values()} == {"kubeflow-core", "cert-manager", "kserve"}
    assert refused_writes(sim) == []
