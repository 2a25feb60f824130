"""Kubeflow 26.03 on a cluster that already runs cert-manager and Istio (installed by Helm).

The KfDef says so (``provided: true``); kfctl renders none of their install,
checks them before its first write, installs the whole default 26.03 set
around them, and never writes them: every object Helm created keeps its
resourceVersion through the apply and through ``kfctl delete``, which leaves
them running. When what the KfDef claims is not there, or not compatible, the
apply is refused with exit 2 and not one write.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from kfctl.cli.main import cli
from kfctl.cluster import connect
from kfctl.engine.observe import read_inventory

from e2e_support import WRITE_VERBS, refused_writes, write_kfdef
from preinstalled import helm_objects, preinstall, snapshot


def kfctl(sim, *args: str):
    return CliRunner().invoke(cli, ["--kubeconfig", sim.kubeconfig_path, *args])


def provided_kfdef(folder: Path, *, istio: str = "true") -> Path:
    kfdef = write_kfdef(folder, version="26.03")
    text = kfdef.read_text()
    edited = text.replace("  - name: cert-manager\n", "  - name: cert-manager\n    provided: true\n", 1) \
        .replace("  - name: istio\n", f"  - name: istio\n    provided: {istio}\n", 1)
    assert edited.count("\n    provided: ") == 2
    kfdef.write_text(edited)
    return kfdef


def writes(sim) -> list[dict]:
    return [e for e in sim.timeline() if e["verb"] in WRITE_VERBS and not e.get("dry_run")]


def test_the_default_install_converges_around_helm_installs_and_never_touches_them(tmp_path, kube_sim):
    sim = kube_sim()
    before = preinstall(sim, tmp_path / "helm")
    assert len(before) > 60 and "gone" not in before.values()
    kfdef = provided_kfdef(tmp_path / "kf")

    applied = kfctl(sim, "apply", "-f", str(kfdef), "-o", "plain", "--timeout", "20m")
    assert applied.exit_code == 0, applied.output[-3000:]
    assert refused_writes(sim) == []
    assert snapshot(sim, helm_objects(tmp_path / "again")) == before

    cluster = connect(sim.kubeconfig_path, None)
    try:
        inventory = read_inventory(cluster, "kf", "kubeflow")
        members = {(m.kind, m.namespace or "", m.name) for m in inventory.members}
        assert len(members) > 400
        assert not members & {(kind, ns, name) for (_, kind, ns, name) in before}
        assert {m.component for m in inventory.members if m.component in ("istio", "cert-manager")} == \
            {"istio", "cert-manager"}  # their Kubeflow objects only:
        assert sorted(m.name for m in inventory.members if m.component in ("istio", "cert-manager")) == \
            ["kubeflow-gateway", "kubeflow-self-signing-issuer"]
        # Kubeflow's own objects of them are rendered and owned
        assert cluster.get("networking.istio.io/v1beta1", "Gateway", "kubeflow", "kubeflow-gateway") is not None
        issuer = cluster.get("cert-manager.io/v1", "ClusterIssuer", None, "kubeflow-self-signing-issuer")
        assert issuer["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kfctl"
        # nothing of Istio's mesh-wide policy was added to the cluster's mesh
        assert cluster.get("security.istio.io/v1beta1", "AuthorizationPolicy", "istio-system", "global-deny-all") is None
        assert cluster.get("networking.istio.io/v1", "Sidecar", "istio-system", "default") is None
    finally:
        cluster.close()

    deleted = kfctl(sim, "delete", "--name", "kf", "--yes", "-o", "plain")
    assert deleted.exit_code == 0, deleted.output[-3000:]
    assert snapshot(sim, helm_objects(tmp_path / "third")) == before
    cluster = connect(sim.kubeconfig_path, None)
    try:
        for namespace, name in [("cert-manager", "cert-manager"), ("cert-manager", "cert-manager-webhook"),
                                ("istio-system", "istiod"), ("istio-system", "istio-ingressgateway")]:
            live = cluster.get("apps/v1", "Deployment", namespace, name)
            assert live["status"].get("availableReplicas", 0) >= 1, name
    finally:
        cluster.close()


def test_a_provided_istio_that_is_not_there_is_refused_with_no_write(tmp_path, kube_sim):
    sim = kube_sim()
    kfdef = provided_kfdef(tmp_path / "kf")
    refused = kfctl(sim, "apply", "-f", str(kfdef), "-o", "plain")
    assert refused.exit_code == 2, refused.output
    assert "istio: istiod not found" in refused.output
    assert "cert-manager: the cert-manager controller not found" in refused.output
    assert "istio: the cluster serves none of the kinds Kubeflow uses from it (AuthorizationPolicy" in refused.output
    assert "nothing was changed" in refused.output
    assert writes(sim) == []


def test_a_mesh_without_the_login_provider_is_refused_with_no_kubeflow_write(tmp_path, kube_sim):
    sim = kube_sim()
    preinstall(sim, tmp_path / "helm", mesh_provider=False)
    before = len(writes(sim))
    refused = kfctl(sim, "apply", "-f", str(provided_kfdef(tmp_path / "kf")), "-o", "plain")
    assert refused.exit_code == 2, refused.output
    assert "no extension provider 'oauth2-proxy'" in refused.output
    assert len(writes(sim)) == before


def test_a_component_kfctl_installed_and_now_declared_provided_is_handed_over_not_pruned(tmp_path, kube_sim):
    sim = kube_sim()
    kfdef = write_kfdef(tmp_path / "kf", version="26.03", components="kubeflow-core,cert-manager,istio,katib")
    first = kfctl(sim, "apply", "-f", str(kfdef), "-o", "plain")
    assert first.exit_code == 0, first.output[-3000:]
    text = kfdef.read_text()
    kfdef.write_text(text.replace("  - name: cert-manager\n", "  - name: cert-manager\n    provided: true\n", 1))

    diffed = kfctl(sim, "diff", "-f", str(kfdef))
    assert "handed over: the KfDef says the cluster provides cert-manager" in diffed.output
    assert "prune" not in [line.split()[0] for line in diffed.output.splitlines() if line.strip()]

    second = kfctl(sim, "apply", "-f", str(kfdef), "-o", "plain")
    assert second.exit_code == 0, second.output[-3000:]
    assert " 0 pruned" in second.output and "kept Deployment/cert-manager/cert-manager-webhook" in second.output
    cluster = connect(sim.kubeconfig_path, None)
    try:
        webhook = cluster.get("apps/v1", "Deployment", "cert-manager", "cert-manager-webhook")
        assert webhook is not None and "applyset.kubernetes.io/part-of" not in webhook["metadata"]["labels"]
        inventory = read_inventory(cluster, "kf", "kubeflow")
        assert [m.name for m in inventory.members if m.component == "cert-manager"] == \
            ["kubeflow-self-signing-issuer"]
    finally:
        cluster.close()
    deleted = kfctl(sim, "delete", "--name", "kf", "--yes", "-o", "plain")
    assert deleted.exit_code == 0, deleted.output[-3000:]
    cluster = connect(sim.kubeconfig_path, None)
    try:
        for name in ("cert-manager", "cert-manager-webhook", "cert-manager-cainjector"):
            assert cluster.get("apps/v1", "Deployment", "cert-manager", name)["status"]["availableReplicas"] >= 1
        assert cluster.get("apps/v1", "Deployment", "istio-system", "istiod") is None   # kfctl's own: deleted
    finally:
        cluster.close()


def test_the_dry_run_names_what_the_cluster_provides(tmp_path):
    kfdef = provided_kfdef(tmp_path / "kf")
    kfdef.write_text(kfdef.read_text().replace("  applications:\n", "  storageClass: standard\n  applications:\n", 1))
    shown = CliRunner().invoke(cli, ["apply", "-f", str(kfdef), "--dry-run"])
    assert shown.exit_code == 0, shown.output
    assert "provided by the cluster (checked before the first write, never changed): istio, cert-manager, " \
           "StorageClass standard" in shown.output


def test_status_says_which_components_the_cluster_provides(tmp_path):
    from kfctl.deploy import load_deployment

    status = load_deployment(provided_kfdef(tmp_path / "kf")).status()
    assert status["components"]["istio"] == "provided" and status["components"]["cert-manager"] == "provided"
    assert status["components"]["katib"].startswith("v0.")
