"""Apply under an unreliable API server, and the order in which delete removes things."""

from __future__ import annotations

from kfctl.plan.index import WORKLOAD_KINDS

from e2e_support import apply, delete, write_kfdef

COMPONENTS = "kubeflow-core,cert-manager,katib,notebooks"


def test_apply_converges_under_the_flaky_profile(tmp_path, kube_sim):
    sim = kube_sim(profile="flaky", seed=7)
    kfdef = write_kfdef(tmp_path / "kf", components=COMPONENTS)
    deployment, result = apply(sim, kfdef)
    assert result.ok, [(str(o.ref), o.message) for o in result.problems][:5]
    codes = {e["code"] for e in sim.timeline()}
    assert codes & {429, 500, 503}, "the flaky profile injected faults"
    _, again = apply(sim, kfdef)
    assert again.ok and again.writes == 0


def test_delete_removes_webhooks_before_their_workloads_and_custom_resources_before_crds(tmp_path, kube):
    sim = kube()
    kfdef = write_kfdef(tmp_path / "kf", components=COMPONENTS)
    deployment, result = apply(sim, kfdef)
    assert result.ok
    mark = len(sim.timeline())
    deleted = delete(sim, deployment.name, purge_crds=True)
    assert deleted.ok, deleted.stuck
    deletes = [e for e in sim.timeline()[mark:] if e["verb"] == "delete" and e["code"] < 300]
    when = {(e["resource"], e.get("namespace") or "", e["name"]): i for i, e in enumerate(deletes)}

    def at(resource: str, namespace: str, name: str) -> int:
        return when[(resource, namespace, name)]

    nodes = deployment.plan.nodes
    hooks = [(r, n) for r, n in nodes.items() if r.kind.endswith("WebhookConfiguration")]
    assert hooks
    for ref, node in hooks:
        plural = "mutatingwebhookconfigurations" if ref.kind.startswith("Mutating") else "validatingwebhookconfigurations"
        for hook in node.manifest.get("webhooks") or ():
            service = (hook.get("clientConfig") or {}).get("service") or {}
            backing = [r for r in nodes if (r.group, r.kind) in WORKLOAD_KINDS and r.namespace == service.get("namespace")
                       and r.kind == "Deployment"]
            for workload in backing:
                assert at(plural, "", ref.name) < at("deployments", workload.namespace, workload.name)
    crds = {(n.manifest["spec"]["group"], n.manifest["spec"]["names"]["kind"]): r
            for r, n in nodes.items() if r.kind == "CustomResourceDefinition"}
    custom = [r for r in nodes if (r.group, r.kind) in crds]
    assert custom
    for ref in custom:
        crd = crds[(ref.group, ref.kind)]
        plural = nodes[crd].manifest["spec"]["names"]["plural"]
        assert at(plural, ref.namespace, ref.name) < at("customresourcedefinitions", "", crd.name)
