"""Admission webhooks and cert-manager as a client sees them: rejections with the real text, CA injection."""

from __future__ import annotations

import base64
import json

import pytest
from kubernetes.client.rest import ApiException

from kfctl.sim.behaviour import ImageRule, Profile
from simb_helpers import condition, deployment, pod, service

SLOW = Profile(images=(ImageRule("slow/*", start=60),))
#: webhook servers answer their readiness probe once they serve (as the Kubeflow ones do)
PROBED = {"readinessProbe": {"httpGet": {"path": "/readyz", "port": 80}}}
CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").decode()


def webhook_config(kind: str, name: str, *, resources: list[str], service_name: str = "hook", ca: str = CA,
                   policy: str = "Fail", operations: tuple[str, ...] = ("CREATE",), **extra) -> dict:
    hook = {"name": name, "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": policy,
            "clientConfig": {"service": {"name": service_name, "namespace": "default", "path": "/validate"}},
            "rules": [{"apiGroups": ["", "apps"], "apiVersions": ["v1"], "operations": list(operations),
                       "resources": resources}], **extra}
    if ca:
        hook["clientConfig"]["caBundle"] = ca
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "webhooks": [hook]}


def configmap(name: str, namespace: str = "default", labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}}, "data": {"a": "1"}}


def _reject(kube, obj: dict) -> dict:
    with pytest.raises(ApiException) as info:
        kube.create(obj)
    assert info.value.status == 500
    return json.loads(info.value.body)


def test_webhook_before_its_pods_are_ready_rejects_then_admits(behaving) -> None:
    kube = behaving(profile=SLOW)
    kube.create(deployment("hook", image="slow/webhook:1", container=PROBED), service("hook", selector={"app": "hook"}),
                webhook_config("ValidatingWebhookConfiguration", "validate.example.com", resources=["configmaps"]))
    ip = kube.core.read_namespaced_service("hook", "default").spec.cluster_ip
    status = _reject(kube, configmap("early"))
    assert status["reason"] == "InternalError"
    assert status["message"] == (
        'Internal error occurred: failed calling webhook "validate.example.com": failed to call webhook: Post '
        f'"https://hook.default.svc:443/validate?timeout=10s": dial tcp {ip}:443: connect: connection refused')
    proc = kube.kubectl("create", "configmap", "early2", check=False)
    assert proc.returncode == 1 and "failed to create configmap: Internal error occurred: failed calling webhook " \
        '"validate.example.com"' in proc.stderr and "connect: connection refused" in proc.stderr
    kube.kubectl("rollout", "status", "deploy/hook", "--timeout=20s")
    kube.wait(lambda: kube.core.read_namespaced_endpoints("hook", "default").subsets)
    kube.create(configmap("early"))  # the same object now passes
    assert kube.core.read_namespaced_config_map("early", "default").data == {"a": "1"}


def test_a_webhook_server_without_readiness_probe_refuses_calls_while_its_endpoint_is_ready(behaving) -> None:
    kube = behaving(profile=SLOW, time_scale=0.02)
    kube.create(deployment("hook", image="slow/webhook:1"), service("hook", selector={"app": "hook"}),
                webhook_config("ValidatingWebhookConfiguration", "validate.example.com", resources=["configmaps"]))
    kube.kubectl("rollout", "status", "deploy/hook", "--timeout=20s")  # ready as soon as it runs
    kube.wait(lambda: kube.core.read_namespaced_endpoints("hook", "default").subsets)
    ready_at = kube.sim.clock.now()
    assert "connect: connection refused" in _reject(kube, configmap("early"))["message"]
    kube.wait(lambda: kube.sim.clock.now() >= ready_at + 61, timeout=10)  # the server listens after its 60 s start
    kube.create(configmap("early"))
    assert kube.core.read_namespaced_config_map("early", "default").data == {"a": "1"}


def test_a_webhook_answers_once_the_container_on_its_port_serves_whatever_its_sidecar_does(behaving) -> None:
    kube = behaving(profile=SLOW, time_scale=0.02)
    server = {"name": "server", "image": "fast/webhook:1", "ports": [{"containerPort": 80, "name": "http"}], **PROBED}
    sidecar = {"name": "proxy", "image": "slow/kube-rbac-proxy:1"}  # no probe: Ready while its 60 s start runs
    kube.create(deployment("hook", containers=[server, sidecar]),
                service("hook", selector={"app": "hook"}, target="http"),
                webhook_config("ValidatingWebhookConfiguration", "validate.example.com", resources=["configmaps"]))
    kube.kubectl("rollout", "status", "deploy/hook", "--timeout=20s")
    kube.wait(lambda: kube.core.read_namespaced_endpoints("hook", "default").subsets)
    started = kube.sim.clock.now()
    kube.create(configmap("early"))  # the proxy's application is not up yet; the webhook server is
    assert kube.sim.clock.now() < started + 30


def test_failure_policy_missing_service_and_empty_ca_bundle(kube) -> None:
    kube.create(deployment("hook"), service("hook", selector={"app": "hook"}))
    kube.kubectl("rollout", "status", "deploy/hook", "--timeout=20s")
    kube.wait(lambda: kube.core.read_namespaced_endpoints("hook", "default").subsets)
    kube.create(webhook_config("ValidatingWebhookConfiguration", "ignored.example.com", resources=["configmaps"],
                               service_name="gone", policy="Ignore"))
    kube.create(configmap("passes"))  # Ignore: an unreachable webhook does not block
    kube.create(webhook_config("ValidatingWebhookConfiguration", "gone.example.com", resources=["configmaps"],
                               service_name="gone"))
    assert 'service "gone" not found' in _reject(kube, configmap("blocked"))["message"]
    kube.admission.delete_validating_webhook_configuration("gone.example.com")
    noca = webhook_config("MutatingWebhookConfiguration", "noca.example.com", resources=["configmaps"], ca="")
    noca["metadata"]["annotations"] = {"cert-manager.io/inject-ca-from": "default/never-issued"}
    kube.create(noca)  # pods ready, but the CA cert-manager should inject never comes
    message = _reject(kube, configmap("blocked"))["message"]
    assert message.endswith("tls: failed to verify certificate: x509: certificate signed by unknown authority")
    assert 'failed calling webhook "noca.example.com"' in message


def test_selectors_rules_and_scope_decide_what_is_intercepted(kube) -> None:
    kube.core.create_namespace({"metadata": {"name": "meshed", "labels": {"istio-injection": "enabled"}}})
    kube.core.create_namespace({"metadata": {"name": "plain"}})
    kube.create(webhook_config("MutatingWebhookConfiguration", "sidecar-injector.istio.io", resources=["pods"],
                               service_name="istiod",
                               namespaceSelector={"matchLabels": {"istio-injection": "enabled"}}))
    kube.create(webhook_config("ValidatingWebhookConfiguration", "labelled.example.com", resources=["configmaps"],
                               service_name="absent", objectSelector={"matchLabels": {"checked": "yes"}}))
    assert 'failed calling webhook "sidecar-injector.istio.io"' in _reject(kube, pod("p", namespace="meshed"))[
        "message"]
    kube.create(pod("p", namespace="plain"))
    _reject(kube, configmap("c1", labels={"checked": "yes"}))
    kube.create(configmap("c2", labels={"checked": "no"}))
    kube.core.patch_namespaced_config_map("c2", "default", {"data": {"b": "2"}})  # UPDATE is not in the rules
    kube.wait(lambda: kube.core.read_namespaced_pod("p", "plain").status.phase == "Running")  # status writes pass


def test_replicaset_stalls_on_an_unready_pod_webhook_and_recovers(behaving) -> None:
    kube = behaving(profile=SLOW)
    kube.core.create_namespace({"metadata": {"name": "kubeflow", "labels": {"istio-injection": "enabled"}}})
    kube.create(deployment("istiod", image="slow/pilot:1"), service("istiod", selector={"app": "istiod"}),
                webhook_config("MutatingWebhookConfiguration", "sidecar-injector.istio.io", resources=["pods"],
                               service_name="istiod",
                               namespaceSelector={"matchLabels": {"istio-injection": "enabled"}}))
    kube.create(deployment("app", namespace="kubeflow"))
    events = kube.wait(lambda: kube.events("kubeflow", reason="FailedCreate"))
    assert events[0].message.startswith('Error creating: Internal error occurred: failed calling webhook '
                                        '"sidecar-injector.istio.io"')
    [rs] = kube.apps.list_namespaced_replica_set("kubeflow").items
    failure = kube.wait(lambda: condition(kube.apps.read_namespaced_replica_set(rs.metadata.name, "kubeflow"),
                                          "ReplicaFailure"))
    assert failure.reason == "FailedCreate"
    assert kube.core.list_namespaced_pod("kubeflow").items == []
    kube.kubectl("rollout", "status", "-n", "kubeflow", "deploy/app", "--timeout=30s")
    assert len(kube.core.list_namespaced_pod("kubeflow").items) == 1


CRDS = [("issuers", "Issuer", "Namespaced"), ("clusterissuers", "ClusterIssuer", "Cluster"),
        ("certificates", "Certificate", "Namespaced")]


def _cert_manager_crds() -> list[dict]:
    return [{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
             "metadata": {"name": f"{plural}.cert-manager.io"},
             "spec": {"group": "cert-manager.io", "scope": scope,
                      "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"},
                      "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                                    "schema": {"openAPIV3Schema": {"type": "object",
                                                                   "x-kubernetes-preserve-unknown-fields": True}}}]}}
            for plural, kind, scope in CRDS]


def _cm(kube, plural: str, name: str, namespace: str = "default") -> dict:
    if plural == "clusterissuers":
        return kube.custom.get_cluster_custom_object("cert-manager.io", "v1", plural, name)
    return kube.custom.get_namespaced_custom_object("cert-manager.io", "v1", namespace, plural, name)


def _ready(obj: dict) -> str:
    return next((c["status"] for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), "")


def test_cert_manager_issues_and_injects_only_while_its_pods_are_ready(kube) -> None:
    kube.create(*_cert_manager_crds())
    kube.wait(lambda: kube.kubectl("get", "certificates", check=False).returncode == 0)
    kube.core.create_namespace({"metadata": {"name": "cert-manager"}})
    issuer = {"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "self"},
              "spec": {"selfSigned": {}}}
    cluster_issuer = {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer",
                      "metadata": {"name": "kubeflow-self-signing-issuer"}, "spec": {"selfSigned": {}}}
    cert = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "hook-cert"},
            "spec": {"secretName": "hook-tls", "dnsNames": ["hook.default.svc"],
                     "issuerRef": {"name": "self", "kind": "Issuer"}}}
    injected = webhook_config("ValidatingWebhookConfiguration", "injected.example.com", resources=["secrets"],
                              ca="", policy="Ignore")
    injected["metadata"]["annotations"] = {"cert-manager.io/inject-ca-from": "default/hook-cert"}
    own = webhook_config("MutatingWebhookConfiguration", "cm-webhook.example.com", resources=["secrets"], ca="",
                         policy="Ignore")
    own["metadata"]["annotations"] = {"cert-manager.io/inject-ca-from-secret": "cert-manager/cert-manager-webhook-ca"}
    converted = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                 "metadata": {"name": "widgets.example.com",
                              "annotations": {"cert-manager.io/inject-ca-from": "default/hook-cert"}},
                 "spec": {"group": "example.com", "scope": "Namespaced",
                          "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                          "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                              "openAPIV3Schema": {"type": "object"}}}],
                          "conversion": {"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"],
                                         "clientConfig": {"service": {"name": "hook", "namespace": "default"}}}}}}
    kube.create(issuer, cluster_issuer, cert, injected, own, converted)
    kube.sim.clock.sleep(30)
    kube.sim.sync()
    assert _ready(_cm(kube, "issuers", "self")) == "" and _ready(_cm(kube, "certificates", "hook-cert")) == ""
    assert not kube.core.list_namespaced_secret("default").items  # nothing issued without cert-manager
    for part in ("controller", "cainjector", "webhook"):
        name = "cert-manager" if part == "controller" else f"cert-manager-{part}"
        kube.create(deployment(name, namespace="cert-manager", image=f"quay.io/jetstack/cert-manager-{part}:v1.16.1"))
    kube.wait(lambda: _ready(_cm(kube, "certificates", "hook-cert")) == "True", what="certificate ready")
    assert _ready(_cm(kube, "issuers", "self")) == "True"
    assert _ready(_cm(kube, "clusterissuers", "kubeflow-self-signing-issuer")) == "True"
    secret = kube.core.read_namespaced_secret("hook-tls", "default")
    assert secret.type == "kubernetes.io/tls" and set(secret.data) == {"tls.crt", "tls.key", "ca.crt"}
    assert base64.b64decode(secret.data["tls.crt"]).startswith(b"-----BEGIN CERTIFICATE-----\n")
    bundle = lambda kind, name: (kube.admission.read_validating_webhook_configuration(name) if kind == "v" else  # noqa
                                 kube.admission.read_mutating_webhook_configuration(name)).webhooks[0].client_config.ca_bundle
    assert kube.wait(lambda: bundle("v", "injected.example.com")) == secret.data["ca.crt"]
    crds = kube.dynamic.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    assert kube.wait(lambda: crds.get(name="widgets.example.com").spec.conversion.webhook.clientConfig.caBundle) == \
        secret.data["ca.crt"]
    webhook_ca = kube.wait(lambda: next((s for s in kube.core.list_namespaced_secret("cert-manager").items
                                         if s.metadata.name == "cert-manager-webhook-ca"), None),
                           what="the webhook's own CA secret")  # written once its (probe-less) pod runs
    assert kube.wait(lambda: bundle("m", "cm-webhook.example.com")) == webhook_ca.data["ca.crt"]
    kube.core.delete_namespaced_secret("hook-tls", "default")  # a lost secret is issued again
    kube.wait(lambda: any(s.metadata.name == "hook-tls" for s in kube.core.list_namespaced_secret("default").items))
    assert "hook-cert" in kube.kubectl("get", "certificates").stdout


def test_self_managed_webhook_gets_its_ca_once_its_pods_are_ready(behaving) -> None:
    kube = behaving(profile=SLOW)
    kube.create(deployment("trainer", image="slow/training-operator:1", container=PROBED),
                service("trainer", selector={"app": "trainer"}),
                webhook_config("ValidatingWebhookConfiguration", "validator.example.com", resources=["configmaps"],
                               service_name="trainer", ca=""))
    kube.kubectl("rollout", "status", "deploy/trainer", "--timeout=20s")
    config = kube.wait(lambda: (lambda c: c if c.webhooks[0].client_config.ca_bundle else None)(
        kube.admission.read_validating_webhook_configuration("validator.example.com")), what="self-managed CA")
    assert base64.b64decode(config.webhooks[0].client_config.ca_bundle).startswith(b"-----BEGIN CERTIFICATE-----")
    kube.create(configmap("now-admitted"))
