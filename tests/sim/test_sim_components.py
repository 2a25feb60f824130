"""cert-manager and Istio pre-installed as Helm leaves them (kfctl/sim/components.py), in a shaped sim."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from kfctl.sim.components import CERT_MANAGER_VERSION, ISTIO_VERSION, decode_release, objects
from kfctl.sim.shape import ComponentSpec
from polling import wait as _wait

wait = functools.partial(_wait, timeout=20.0, poll=0.05)  # Helm's components start in ~11 sim s

SHAPES = Path(__file__).resolve().parent.parent / "data" / "shapes"
HELM_LABEL = ("app.kubernetes.io/managed-by", "Helm")



@pytest.fixture
def http(sim_factory) -> httpx.Client:
    sim = sim_factory(behaviour=True, shape=SHAPES / "helm-cert-manager-istio.yaml")
    return httpx.Client(base_url=sim.url)


def available(http: httpx.Client, namespace: str) -> dict[str, bool]:
    items = http.get(f"/apis/apps/v1/namespaces/{namespace}/deployments").json()["items"]
    return {d["metadata"]["name"]: any(c["type"] == "Available" and c["status"] == "True"
                                       for c in (d.get("status") or {}).get("conditions") or []) for d in items}


def assert_helm_owned(obj: dict[str, Any], release: str, namespace: str) -> None:
    meta = obj["metadata"]
    assert meta["labels"][HELM_LABEL[0]] == HELM_LABEL[1], meta
    assert meta["annotations"]["meta.helm.sh/release-name"] == release
    assert meta["annotations"]["meta.helm.sh/release-namespace"] == namespace


def test_cert_manager_is_installed_as_helm_leaves_it_and_runs(http: httpx.Client) -> None:
    deployments = wait(lambda: (lambda a: a if a and all(a.values()) else None)(available(http, "cert-manager")),
                       "cert-manager's Deployments to be Available")
    assert sorted(deployments) == ["cert-manager", "cert-manager-cainjector", "cert-manager-webhook"]
    for name in deployments:
        dep = http.get(f"/apis/apps/v1/namespaces/cert-manager/deployments/{name}").json()
        assert_helm_owned(dep, "cert-manager", "cert-manager")
        assert dep["metadata"]["labels"]["app.kubernetes.io/version"] == CERT_MANAGER_VERSION
        assert dep["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f":{CERT_MANAGER_VERSION}")
    crds = {c["metadata"]["name"]: c for c in
            http.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions").json()["items"]}
    for name in ("certificates.cert-manager.io", "certificaterequests.cert-manager.io", "issuers.cert-manager.io",
                 "clusterissuers.cert-manager.io", "orders.acme.cert-manager.io", "challenges.acme.cert-manager.io"):
        assert_helm_owned(crds[name], "cert-manager", "cert-manager")
        assert [v["name"] for v in crds[name]["spec"]["versions"] if v["storage"]] == ["v1"]
    assert crds["clusterissuers.cert-manager.io"]["spec"]["scope"] == "Cluster"
    # the webhook's Service has a ready endpoint and both configurations got their caBundle from its CA Secret
    slices = "/apis/discovery.k8s.io/v1/namespaces/cert-manager/endpointslices?labelSelector=" \
             "kubernetes.io/service-name=cert-manager-webhook"
    wait(lambda: any((e.get("conditions") or {}).get("ready") for s in http.get(slices).json()["items"]
                     for e in s.get("endpoints") or []), "a ready webhook endpoint")
    for kind in ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"):
        path = f"/apis/admissionregistration.k8s.io/v1/{kind}/cert-manager-webhook"
        hook = wait(lambda path=path: (lambda h: h if h["webhooks"][0]["clientConfig"].get("caBundle") else None)(
            http.get(path).json()), f"the caBundle of {kind}")
        assert_helm_owned(hook, "cert-manager", "cert-manager")
        assert hook["metadata"]["annotations"]["cert-manager.io/inject-ca-from-secret"] == \
            "cert-manager/cert-manager-webhook-ca"
        assert hook["webhooks"][0]["clientConfig"]["service"]["name"] == "cert-manager-webhook"
    secret = http.get("/api/v1/namespaces/cert-manager/secrets/sh.helm.release.v1.cert-manager.v1").json()
    assert secret["type"] == "helm.sh/release.v1"
    assert secret["metadata"]["labels"] == {"name": "cert-manager", "owner": "helm", "status": "deployed",
                                            "version": "1", "modifiedAt": "1767225600"}
    record = decode_release(secret)
    assert (record["name"], record["namespace"], record["version"], record["info"]["status"]) == \
        ("cert-manager", "cert-manager", 1, "deployed")
    assert record["chart"]["metadata"]["version"] == CERT_MANAGER_VERSION
    assert "name: cert-manager-webhook\n" in record["manifest"]
    # the cluster ran them before: their images are on the nodes, nothing is pulled
    pulled = [e["message"] for e in http.get("/api/v1/namespaces/cert-manager/events").json()["items"]
              if e["reason"] == "Pulled"]
    assert len(pulled) == 3 and all(m.endswith("already present on machine") for m in pulled), pulled


def test_the_sims_cert_manager_behaviour_issues_with_the_preinstalled_one(http: httpx.Client) -> None:
    http.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": "team"}}).raise_for_status()
    issuer = {"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "selfsigned"},
              "spec": {"selfSigned": {}}}
    # the webhook (failurePolicy Fail) refuses until it serves; then the issuer is admitted
    wait(lambda: http.post("/apis/cert-manager.io/v1/namespaces/team/issuers", json=issuer).status_code == 201,
         "the cert-manager webhook to admit an Issuer")
    cert = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "serving"},
            "spec": {"secretName": "serving-tls", "dnsNames": ["svc.team.svc"],
                     "issuerRef": {"name": "selfsigned", "kind": "Issuer"}}}
    assert http.post("/apis/cert-manager.io/v1/namespaces/team/certificates", json=cert).status_code == 201
    wait(lambda: any(c["type"] == "Ready" and c["status"] == "True" for c in (http.get(
        "/apis/cert-manager.io/v1/namespaces/team/certificates/serving").json().get("status") or {}).get(
        "conditions") or []), "the Certificate to be Ready")
    tls = http.get("/api/v1/namespaces/team/secrets/serving-tls").json()
    assert tls["type"] == "kubernetes.io/tls" and tls["data"]["tls.crt"]


def test_istio_is_installed_as_three_helm_releases_with_its_revision(http: httpx.Client) -> None:
    deployments = wait(lambda: (lambda a: a if a and all(a.values()) else None)(available(http, "istio-system")),
                       "Istio's Deployments to be Available")
    assert sorted(deployments) == ["istio-ingressgateway", "istiod-1-29"]
    istiod = http.get("/apis/apps/v1/namespaces/istio-system/deployments/istiod-1-29").json()
    assert_helm_owned(istiod, "istiod", "istio-system")
    assert istiod["metadata"]["labels"]["istio.io/rev"] == "1-29"
    assert istiod["spec"]["template"]["spec"]["containers"][0]["image"] == f"gcr.io/istio-release/pilot:{ISTIO_VERSION}"
    gateway = http.get("/apis/apps/v1/namespaces/istio-system/deployments/istio-ingressgateway").json()
    assert_helm_owned(gateway, "istio-ingressgateway", "istio-system")
    svc = http.get("/api/v1/namespaces/istio-system/services/istio-ingressgateway").json()
    assert svc["spec"]["type"] == "LoadBalancer"
    assert [p["port"] for p in svc["spec"]["ports"]] == [15021, 80, 443]
    assert http.get("/api/v1/namespaces/istio-system/services/istiod-1-29").status_code == 200
    releases = {s["metadata"]["name"]: s for s in http.get(
        "/api/v1/namespaces/istio-system/secrets?labelSelector=owner%3Dhelm").json()["items"]}
    assert sorted(releases) == ["sh.helm.release.v1.istio-base.v1", "sh.helm.release.v1.istio-ingressgateway.v1",
                                "sh.helm.release.v1.istiod.v1"]
    assert {decode_release(s)["chart"]["metadata"]["name"] for s in releases.values()} == {"base", "istiod", "gateway"}
    # the CRDs, served at the versions kfctl's 26.03 bundle uses
    vs = http.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/virtualservices.networking.istio.io").json()
    assert_helm_owned(vs, "istio-base", "istio-system")
    assert [(v["name"], v["storage"]) for v in vs["spec"]["versions"]] == [("v1", True), ("v1alpha3", False),
                                                                          ("v1beta1", False)]
    wait(lambda: http.get("/apis/networking.istio.io/v1beta1/namespaces/default/virtualservices").status_code == 200,
         "Istio's CRDs to be served")
    assert http.get("/apis/security.istio.io/v1/namespaces/default/authorizationpolicies").status_code == 200
    # istiod runs: its root certificate reaches every namespace, its webhooks get caBundles
    wait(lambda: http.get("/api/v1/namespaces/default/configmaps/istio-ca-root-cert").status_code == 200,
         "istio-ca-root-cert in default")
    injector = wait(lambda: (lambda h: h if h["webhooks"][0]["clientConfig"].get("caBundle") else None)(http.get(
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio-sidecar-injector-1-29").json()),
        "the injector's caBundle")
    assert injector["metadata"]["labels"]["istio.io/rev"] == "1-29"
    assert injector["webhooks"][0]["namespaceSelector"]["matchExpressions"][0] == {
        "key": "istio.io/rev", "operator": "In", "values": ["1-29"]}


def test_without_a_revision_istio_has_the_chart_default_names() -> None:
    made = objects(ComponentSpec("istio"))
    names = {(o["kind"], o["metadata"]["name"]) for o in made}
    assert ("Deployment", "istiod") in names and ("Service", "istiod") in names
    assert ("MutatingWebhookConfiguration", "istio-sidecar-injector") in names
    assert ("ValidatingWebhookConfiguration", "istio-validator-istio-system") in names
    assert {o["metadata"]["labels"]["istio.io/rev"] for o in made if o["kind"] == "Deployment" and
            o["metadata"]["name"] == "istiod"} == {"default"}
    assert made[0] == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}
    other = objects(ComponentSpec("cert-manager", release="cm", namespace="security", version="v1.18.2"))
    dep = [o for o in other if o["kind"] == "Deployment" and o["metadata"]["name"] == "cert-manager-webhook"][0]
    assert dep["metadata"]["annotations"] == {"meta.helm.sh/release-name": "cm",
                                              "meta.helm.sh/release-namespace": "security"}
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "quay.io/jetstack/cert-manager-webhook:v1.18.2"
    assert other[-1]["metadata"]["name"] == "sh.helm.release.v1.cm.v1"


def test_a_restarted_persisted_sim_keeps_the_preinstalled_objects(sim_factory, tmp_path: Path) -> None:
    db = tmp_path / "cluster.db"
    first = sim_factory(shape=SHAPES / "helm-cert-manager-istio.yaml", persist_path=db)
    rv = httpx.get(first.url + "/apis/apps/v1/namespaces/cert-manager/deployments/cert-manager").json()[
        "metadata"]["uid"]
    first.stop()
    again = sim_factory(shape=SHAPES / "helm-cert-manager-istio.yaml", persist_path=db)
    assert httpx.get(again.url + "/apis/apps/v1/namespaces/cert-manager/deployments/cert-manager").json()[
        "metadata"]["uid"] == rv
