"""Kubeflow 26.03 on a cluster that already runs cert-manager and Istio, installed by Helm.

The sim is shaped with them (``tests/data/shapes/helm-cert-manager-istio.yaml``:
cert-manager v1.19.4, Istio 1.29.0 as three Helm releases with revision
``1-29``, as ``kfctl/sim/components.py`` builds them). The KfDef says the
cluster provides them (``provided: true``, ``provided: {revision: "1-29"}``);
kfctl renders none of their install, checks them before its first write,
installs the whole default 26.03 set around them, and never writes them:
every object Helm created keeps its resourceVersion through the apply and
through ``kfctl delete``, which leaves them running. A stock Helm install is
refused first, with exit 2, not one write, and the three settings Kubeflow
needs named (README, "Existing components"), which the admin then makes.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import yaml
from click.testing import CliRunner

from kfctl.cli.main import cli
from kfctl.cluster import connect
from kfctl.engine.observe import read_inventory
from kfctl.sim.components import objects as helm_install
from kfctl.sim.shape import ComponentSpec

from e2e_support import WRITE_VERBS, refused_writes, write_kfdef

SHAPE = Path(__file__).resolve().parent.parent / "data" / "shapes" / "helm-cert-manager-istio.yaml"
REVISION = "1-29"   # the shape's
ADMISSION = "admissionregistration.k8s.io/v1"
HELM_GATEWAY = f'{{revision: "{REVISION}", gatewayServiceAccount: istio-ingressgateway}}'   # as its chart runs it
HELM = [*helm_install(ComponentSpec("cert-manager")), *helm_install(ComponentSpec("istio", revision=REVISION))]


def kfctl(sim, *args: str):
    return CliRunner().invoke(cli, ["--kubeconfig", sim.kubeconfig_path, *args])


def provided_kfdef(folder: Path, *, istio: str = f'{{revision: "{REVISION}"}}') -> Path:
    kfdef = write_kfdef(folder, version="26.03")
    text = kfdef.read_text()
    edited = text.replace("  - name: cert-manager\n", "  - name: cert-manager\n    provided: true\n", 1) \
        .replace("  - name: istio\n", f"  - name: istio\n    provided: {istio}\n", 1)
    assert edited.count("\n    provided: ") == 2
    kfdef.write_text(edited)
    return kfdef


def writes(sim) -> list[dict]:
    return [e for e in sim.timeline() if e["verb"] in WRITE_VERBS and not e.get("dry_run")
            and not e["resource"].endswith("reviews")]  # access reviews ask, they change nothing


def snapshot(sim, objects=HELM) -> dict[tuple[str, ...], str]:
    """(apiVersion, kind, namespace, name) -> resourceVersion of each object ("gone" if absent)."""
    cluster = connect(sim.kubeconfig_path, None)
    try:
        out = {}
        for o in objects:
            meta = o["metadata"]
            live = cluster.get(o["apiVersion"], o["kind"], meta.get("namespace"), meta["name"])
            out[(o["apiVersion"], o["kind"], meta.get("namespace") or "", meta["name"])] = \
                "gone" if live is None else live["metadata"]["resourceVersion"]
        return out
    finally:
        cluster.close()


def settled(sim, objects=HELM, timeout: float = 60) -> dict[tuple[str, ...], str]:
    """The Helm objects' resourceVersions once they stop changing: workloads available, webhooks' CAs injected."""
    deadline = time.monotonic() + timeout
    before = snapshot(sim, objects)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = snapshot(sim, objects)
        cluster = connect(sim.kubeconfig_path, None)
        try:
            ready = all(d["status"].get("availableReplicas", 0) >= 1
                        for ns in ("cert-manager", "istio-system")
                        for d in cluster.list("apps/v1", "Deployment", namespace=ns)[0]) and \
                all((h.get("clientConfig") or {}).get("caBundle")
                    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
                    for c in cluster.list(ADMISSION, kind)[0] for h in c.get("webhooks") or ())
        finally:
            cluster.close()
        if ready and now == before:
            return now
        before = now
    raise AssertionError("the Helm installs did not settle")


def _create(cluster, body: dict) -> None:
    info = cluster.resource(body["apiVersion"], body["kind"])
    # a plain create with Helm's field manager, as helm/istioctl do (the public client only applies as kfctl)
    cluster._request("post", cluster._path(info, body["metadata"].get("namespace")), body["metadata"]["name"],
                     body=body, field_manager="helm")


def configure_for_kubeflow(sim) -> list[dict]:
    """What README, "Existing components", asks of the admin of a stock Helm Istio (the gateway's service
    account the KfDef names instead); the objects it adds."""
    cluster = connect(sim.kubeconfig_path, None)
    try:
        # istioctl tag set default --revision 1-29: istio-injection=enabled namespaces get istiod-1-29's sidecars
        revision = cluster.get(ADMISSION, "MutatingWebhookConfiguration", None, f"istio-sidecar-injector-{REVISION}")
        hook = copy.deepcopy(revision["webhooks"][0])
        hook["name"] = "namespace.sidecar-injector.istio.io"
        hook["namespaceSelector"] = {"matchExpressions": [
            {"key": "istio-injection", "operator": "In", "values": ["enabled"]}]}
        tag = {"apiVersion": ADMISSION, "kind": "MutatingWebhookConfiguration",
               "metadata": {"name": "istio-revision-tag-default",
                            "labels": {"istio.io/rev": REVISION, "istio.io/tag": "default"}},
               "webhooks": [hook]}
        _create(cluster, tag)
        # helm upgrade istiod istio/istiod --set-json meshConfig.extensionProviders=[oauth2-proxy's ext-authz]
        config = cluster.get("v1", "ConfigMap", "istio-system", f"istio-{REVISION}")
        mesh = yaml.safe_load(config["data"]["mesh"])
        mesh["extensionProviders"] = [{"name": "oauth2-proxy", "envoyExtAuthzHttp": {
            "service": "oauth2-proxy.oauth2-proxy.svc.cluster.local", "port": 80,
            "includeRequestHeadersInCheck": ["authorization", "cookie"],
            "headersToUpstreamOnAllow": ["authorization", "path", "x-auth-request-email"],
            "headersToDownstreamOnDeny": ["content-type", "set-cookie"]}}]
        cluster.merge_patch("v1", "ConfigMap", "istio-system", f"istio-{REVISION}",
                            {"data": {"mesh": yaml.safe_dump(mesh)}}, field_manager="helm")
        return [tag]
    finally:
        cluster.close()


def test_a_stock_helm_istio_is_refused_naming_what_kubeflow_needs_with_no_write(tmp_path, kube_sim):
    sim = kube_sim(shape=SHAPE)
    settled(sim)
    before = len(writes(sim))
    refused = kfctl(sim, "apply", "-f", str(provided_kfdef(tmp_path / "kf")), "-o", "plain")
    assert refused.exit_code == 2, refused.output
    out = " ".join(refused.output.split())
    assert "nothing was changed" in out
    assert "istio: the ingress gateway istio-system/istio-ingressgateway runs as service account " \
           "'istio-ingressgateway'" in out
    assert "no admission webhook *sidecar-injector.istio.io of revision 1-29 that selects namespaces labelled " \
           "istio-injection=enabled" in out
    assert "has no extension provider 'oauth2-proxy'" in out
    assert "cert-manager:" not in out        # the Helm cert-manager is fine as it is
    assert len(writes(sim)) == before


def test_a_provided_istio_that_is_not_there_is_refused_with_no_write(tmp_path, kube_sim):
    sim = kube_sim()
    refused = kfctl(sim, "apply", "-f", str(provided_kfdef(tmp_path / "kf", istio="true")), "-o", "plain")
    assert refused.exit_code == 2, refused.output
    assert "istio: istiod not found" in refused.output
    assert "cert-manager: the cert-manager controller not found" in refused.output
    assert "istio: the cluster serves none of the kinds Kubeflow uses from it (AuthorizationPolicy" in refused.output
    assert "nothing was changed" in refused.output
    assert writes(sim) == []


def test_the_default_install_converges_around_helm_installs_and_never_touches_them(tmp_path, kube_sim):
    sim = kube_sim(shape=SHAPE)
    settled(sim)
    helm = HELM + configure_for_kubeflow(sim)
    before = settled(sim, helm)
    assert len(before) == len(helm) > 50 and "gone" not in before.values()
    kfdef = provided_kfdef(tmp_path / "kf", istio=HELM_GATEWAY)

    applied = kfctl(sim, "apply", "-f", str(kfdef), "-o", "plain", "--timeout", "20m")
    assert applied.exit_code == 0, applied.output[-3000:]
    assert refused_writes(sim) == []
    assert snapshot(sim, helm) == before

    cluster = connect(sim.kubeconfig_path, None)
    try:
        inventory = read_inventory(cluster, "kf", "kubeflow")
        members = {(m.kind, m.namespace or "", m.name) for m in inventory.members}
        assert len(members) > 400
        assert not members & {(kind, ns, name) for (_, kind, ns, name) in before}
        # of cert-manager and istio, only Kubeflow's own objects are rendered and owned
        assert sorted(m.name for m in inventory.members if m.component in ("istio", "cert-manager")) == \
            ["kubeflow-gateway", "kubeflow-self-signing-issuer"]
        issuer = cluster.get("cert-manager.io/v1", "ClusterIssuer", None, "kubeflow-self-signing-issuer")
        assert issuer["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kfctl"
        # nothing of upstream's mesh-wide policy was added to the cluster's mesh
        assert cluster.get("security.istio.io/v1beta1", "AuthorizationPolicy", "istio-system", "global-deny-all") is None
        assert cluster.get("networking.istio.io/v1", "Sidecar", "istio-system", "default") is None
    finally:
        cluster.close()

    deleted = kfctl(sim, "delete", "--name", "kf", "--yes", "-o", "plain")
    assert deleted.exit_code == 0, deleted.output[-3000:]
    assert snapshot(sim, helm) == before
    cluster = connect(sim.kubeconfig_path, None)
    try:
        for namespace, name in [("cert-manager", "cert-manager"), ("cert-manager", "cert-manager-webhook"),
                                ("cert-manager", "cert-manager-cainjector"), ("istio-system", f"istiod-{REVISION}"),
                                ("istio-system", "istio-ingressgateway")]:
            live = cluster.get("apps/v1", "Deployment", namespace, name)
            assert live["status"].get("availableReplicas", 0) >= 1, name
    finally:
        cluster.close()


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
