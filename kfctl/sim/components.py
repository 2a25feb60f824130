"""cert-manager and Istio as their Helm charts leave a cluster, for shapes with ``components:``.

Many clusters already run cert-manager or Istio, installed with Helm, before
Kubeflow arrives; kfctl must notice them (Helm's labels, annotations and
release Secrets name the owner) and may use them instead of its own. This
module builds those objects itself, from the small tables below, at the
versions Kubeflow 26.03 uses (cert-manager v1.19.4, Istio 1.29.0; CRD names
and versions as kfctl's own 26.03 bundles serve them). It reads no manifest
and imports nothing of kfctl outside the sim.

Every object carries ``app.kubernetes.io/managed-by: Helm``,
``meta.helm.sh/release-name`` and ``meta.helm.sh/release-namespace``; each
release has its ``sh.helm.release.v1.<release>.v1`` Secret of type
``helm.sh/release.v1`` (base64 of gzipped JSON, as Helm 3 stores it, with the
release's manifest). The workloads use the images the sim's behaviour knows
(``quay.io/jetstack/cert-manager-*``, ``*/pilot``), so with behaviour on they
run, become Available, get their webhooks' caBundles, issue certificates and
publish Istio's root certificate like any other install.

Simplified on purpose (see kfctl/sim/README.md): CRD schemas are open
(``x-kubernetes-preserve-unknown-fields``); of the charts' RBAC only the
ClusterRoles and bindings kfctl's bundles also name are written (enough to
conflict with them); no PodDisruptionBudgets, HPAs or NetworkPolicies.
"""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass
from typing import Any

import yaml

from kfctl.sim.shape import ComponentSpec

CERT_MANAGER_VERSION = "v1.19.4"
ISTIO_VERSION = "1.29.0"
CREATED = "2026-01-01T00:00:00Z"  # what the release Secrets say about when Helm installed them


@dataclass(frozen=True)
class CRD:
    plural: str
    group: str
    kind: str
    versions: tuple[str, ...]  # served versions, the storage version first
    scope: str = "Namespaced"
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


_CM_CATS = ("cert-manager",)
_ACME_CATS = ("cert-manager", "cert-manager-acme")
CERT_MANAGER_CRDS = (
    CRD("certificaterequests", "cert-manager.io", "CertificateRequest", ("v1",), short_names=("cr", "crs"),
        categories=_CM_CATS),
    CRD("certificates", "cert-manager.io", "Certificate", ("v1",), short_names=("cert", "certs"), categories=_CM_CATS),
    CRD("issuers", "cert-manager.io", "Issuer", ("v1",), categories=_CM_CATS),
    CRD("clusterissuers", "cert-manager.io", "ClusterIssuer", ("v1",), scope="Cluster", categories=_CM_CATS),
    CRD("orders", "acme.cert-manager.io", "Order", ("v1",), categories=_ACME_CATS),
    CRD("challenges", "acme.cert-manager.io", "Challenge", ("v1",), categories=_ACME_CATS),
)


def _istio(plural: str, group: str, kind: str, versions: tuple[str, ...], short: tuple[str, ...] = ()) -> CRD:
    return CRD(plural, f"{group}.istio.io", kind, versions, short_names=short,
               categories=("istio-io", f"{group}-istio-io"))


_V1_BETA = ("v1", "v1alpha3", "v1beta1")
ISTIO_CRDS = (
    _istio("authorizationpolicies", "security", "AuthorizationPolicy", ("v1", "v1beta1"), ("ap",)),
    _istio("destinationrules", "networking", "DestinationRule", _V1_BETA, ("dr",)),
    _istio("envoyfilters", "networking", "EnvoyFilter", ("v1alpha3",)),
    _istio("gateways", "networking", "Gateway", _V1_BETA, ("gw",)),
    _istio("peerauthentications", "security", "PeerAuthentication", ("v1", "v1beta1"), ("pa",)),
    _istio("proxyconfigs", "networking", "ProxyConfig", ("v1beta1",)),
    _istio("requestauthentications", "security", "RequestAuthentication", ("v1", "v1beta1"), ("ra",)),
    _istio("serviceentries", "networking", "ServiceEntry", _V1_BETA, ("se",)),
    _istio("sidecars", "networking", "Sidecar", _V1_BETA),
    _istio("telemetries", "telemetry", "Telemetry", ("v1alpha1", "v1"), ("telemetry",)),
    _istio("virtualservices", "networking", "VirtualService", _V1_BETA, ("vs",)),
    _istio("wasmplugins", "extensions", "WasmPlugin", ("v1alpha1",)),
    _istio("workloadentries", "networking", "WorkloadEntry", _V1_BETA, ("we",)),
    _istio("workloadgroups", "networking", "WorkloadGroup", _V1_BETA, ("wg",)),
)


# -- Helm's marks -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    chart: str
    version: str  # chart version
    app_version: str

    def labels(self, **extra: str) -> dict[str, str]:
        return {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": self.name,
                "app.kubernetes.io/version": self.app_version, "helm.sh/chart": f"{self.chart}-{self.version}",
                **extra}

    def annotations(self, **extra: str) -> dict[str, str]:
        return {"meta.helm.sh/release-name": self.name, "meta.helm.sh/release-namespace": self.namespace, **extra}

    def meta(self, name: str, *, namespaced: bool = True, labels: dict[str, str] | None = None,
             annotations: dict[str, str] | None = None) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name, "labels": self.labels(**(labels or {})),
                                "annotations": self.annotations(**(annotations or {}))}
        if namespaced:
            meta["namespace"] = self.namespace
        return meta

    def secret(self, objects: list[dict[str, Any]]) -> dict[str, Any]:
        """The release record Helm 3 keeps: ``sh.helm.release.v1.<name>.v1``."""
        manifest = "".join(f"---\n# Source: {self.chart}/templates/{o['kind'].lower()}.yaml\n"
                           + yaml.safe_dump(o, sort_keys=False) for o in objects)
        record = {"name": self.name, "namespace": self.namespace, "version": 1, "manifest": manifest,
                  "info": {"first_deployed": CREATED, "last_deployed": CREATED, "deleted": "",
                           "description": "Install complete", "status": "deployed"},
                  "chart": {"metadata": {"apiVersion": "v2", "name": self.chart, "version": self.version,
                                         "appVersion": self.app_version}, "templates": [], "values": {}},
                  "config": {}}
        payload = base64.b64encode(gzip.compress(json.dumps(record).encode(), mtime=0)).decode()
        return {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
                "metadata": {"name": f"sh.helm.release.v1.{self.name}.v1", "namespace": self.namespace,
                             "labels": {"name": self.name, "owner": "helm", "status": "deployed", "version": "1",
                                        "modifiedAt": "1767225600"}},
                "data": {"release": base64.b64encode(payload.encode()).decode()}}


def decode_release(secret: dict[str, Any]) -> dict[str, Any]:
    """A release Secret's record (what ``helm get all`` reads)."""
    payload = base64.b64decode(base64.b64decode(secret["data"]["release"]))
    return dict(json.loads(gzip.decompress(payload)))


def _crd(release: Release, crd: CRD, **annotations: str) -> dict[str, Any]:
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    names: dict[str, Any] = {"plural": crd.plural, "singular": crd.kind.lower(), "kind": crd.kind,
                             "listKind": f"{crd.kind}List"}
    if crd.short_names:
        names["shortNames"] = list(crd.short_names)
    if crd.categories:
        names["categories"] = list(crd.categories)
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": release.meta(f"{crd.plural}.{crd.group}", namespaced=False,
                                     annotations={"helm.sh/resource-policy": "keep", **annotations}),
            "spec": {"group": crd.group, "scope": crd.scope, "names": names,
                     "versions": [{"name": v, "served": True, "storage": i == 0, "schema": schema,
                                   "subresources": {"status": {}}} for i, v in enumerate(crd.versions)]}}


def _deployment(release: Release, name: str, selector: dict[str, str], image: str, *,
                ports: list[dict[str, Any]], args: list[str] | None = None, probe: dict[str, Any] | None = None,
                sa: str = "", labels: dict[str, str] | None = None, cpu: str = "10m", memory: str = "32Mi",
                env: list[dict[str, Any]] | None = None, container_name: str = "") -> dict[str, Any]:
    container: dict[str, Any] = {"name": container_name or name, "image": image, "imagePullPolicy": "IfNotPresent", "ports": ports,
                                 "resources": {"requests": {"cpu": cpu, "memory": memory}}}
    if args:
        container["args"] = args
    if env:
        container["env"] = env
    if probe:
        container["readinessProbe"] = probe
    pod_labels = {**selector, **(labels or {})}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": release.meta(name, labels=pod_labels),
            "spec": {"replicas": 1, "selector": {"matchLabels": selector},
                     "template": {"metadata": {"labels": pod_labels},
                                  "spec": {"serviceAccountName": sa or name, "containers": [container]}}}}


def _service(release: Release, name: str, selector: dict[str, str], ports: list[dict[str, Any]],
             labels: dict[str, str] | None = None, type_: str = "ClusterIP") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": release.meta(name, labels=labels),
            "spec": {"type": type_, "selector": selector, "ports": ports}}


def _sa(release: Release, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": release.meta(name)}


def _cluster_role(release: Release, name: str, sa: str, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
             "metadata": release.meta(name, namespaced=False), "rules": rules},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": release.meta(name, namespaced=False),
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
             "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": release.namespace}]}]


def _port(name: str, port: int, target: int | str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "port": port, "protocol": "TCP"}
    if target is not None:
        out["targetPort"] = target
    return out


def _cport(name: str, port: int) -> dict[str, Any]:
    return {"name": name, "containerPort": port, "protocol": "TCP"}


# -- cert-manager ---------------------------------------------------------------------------------------------

def cert_manager(spec: ComponentSpec) -> list[dict[str, Any]]:
    """Namespace, CRDs, controller/cainjector/webhook with Services, webhook configurations, release Secret."""
    version = spec.version or CERT_MANAGER_VERSION
    version = version if version.startswith("v") else "v" + version
    rel = Release(spec.release or "cert-manager", spec.namespace or "cert-manager", "cert-manager", version, version)
    ns = rel.namespace

    def sel(part: str, component: str) -> dict[str, str]:
        return {"app.kubernetes.io/name": part, "app.kubernetes.io/instance": rel.name,
                "app.kubernetes.io/component": component}

    pod_ns = [{"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}]
    objects: list[dict[str, Any]] = [_crd(rel, crd) for crd in CERT_MANAGER_CRDS]
    objects += [_sa(rel, "cert-manager"), _sa(rel, "cert-manager-cainjector"), _sa(rel, "cert-manager-webhook")]
    everything = ["get", "list", "watch", "create", "update", "patch", "delete"]
    objects += _cluster_role(rel, "cert-manager-controller-issuers", "cert-manager", [
        {"apiGroups": ["cert-manager.io"], "resources": ["issuers", "issuers/status"], "verbs": everything}])
    objects += _cluster_role(rel, "cert-manager-controller-certificates", "cert-manager", [
        {"apiGroups": ["cert-manager.io"], "resources": ["certificates", "certificates/status", "certificaterequests"],
         "verbs": everything}])
    objects += _cluster_role(rel, "cert-manager-cainjector", "cert-manager-cainjector", [
        {"apiGroups": ["admissionregistration.k8s.io"],
         "resources": ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"],
         "verbs": ["get", "list", "watch", "update", "patch"]}])
    objects += _cluster_role(rel, "cert-manager-webhook:subjectaccessreviews", "cert-manager-webhook", [
        {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]}])
    objects += [
        _service(rel, "cert-manager", sel("cert-manager", "controller"), [_port("tcp-prometheus-servicemonitor", 9402,
                                                                              "http-metrics")],
                 labels=sel("cert-manager", "controller")),
        _service(rel, "cert-manager-cainjector", sel("cainjector", "cainjector"), [_port("http-metrics", 9402)],
                 labels=sel("cainjector", "cainjector")),
        _service(rel, "cert-manager-webhook", sel("webhook", "webhook"),
                 [_port("https", 443, "https"), _port("metrics", 9402, "http-metrics")],
                 labels=sel("webhook", "webhook")),
        _deployment(rel, "cert-manager-cainjector", sel("cainjector", "cainjector"),
                    f"quay.io/jetstack/cert-manager-cainjector:{version}", ports=[_cport("http-metrics", 9402)],
                    args=["--v=2", "--leader-election-namespace=kube-system"], env=pod_ns),
        _deployment(rel, "cert-manager", sel("cert-manager", "controller"),
                    f"quay.io/jetstack/cert-manager-controller:{version}",
                    ports=[_cport("http-metrics", 9402), _cport("http-healthz", 9403)],
                    args=["--v=2", "--cluster-resource-namespace=$(POD_NAMESPACE)",
                          "--leader-election-namespace=kube-system"], env=pod_ns,
                    container_name="cert-manager-controller"),
        _deployment(rel, "cert-manager-webhook", sel("webhook", "webhook"),
                    f"quay.io/jetstack/cert-manager-webhook:{version}",
                    ports=[_cport("https", 10250), _cport("healthcheck", 6080), _cport("http-metrics", 9402)],
                    args=["--v=2", "--secure-port=10250", "--dynamic-serving-ca-secret-namespace=$(POD_NAMESPACE)",
                          "--dynamic-serving-ca-secret-name=cert-manager-webhook-ca",
                          "--dynamic-serving-dns-names=cert-manager-webhook",
                          "--dynamic-serving-dns-names=cert-manager-webhook.$(POD_NAMESPACE)",
                          "--dynamic-serving-dns-names=cert-manager-webhook.$(POD_NAMESPACE).svc"],
                    probe={"httpGet": {"path": "/healthz", "port": 6080, "scheme": "HTTP"},
                           "initialDelaySeconds": 5, "periodSeconds": 5},
                    env=pod_ns),
    ]
    client = {"service": {"name": "cert-manager-webhook", "namespace": ns}}
    inject = {"cert-manager.io/inject-ca-from-secret": f"{ns}/cert-manager-webhook-ca"}
    common = {"admissionReviewVersions": ["v1"], "matchPolicy": "Equivalent", "timeoutSeconds": 30,
              "failurePolicy": "Fail", "sideEffects": "None"}
    objects.append({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                    "metadata": rel.meta("cert-manager-webhook", namespaced=False, labels=sel("webhook", "webhook"),
                                         annotations=inject),
                    "webhooks": [{"name": "webhook.cert-manager.io", **common,
                                  "rules": [{"apiGroups": ["cert-manager.io"], "apiVersions": ["v1"],
                                             "operations": ["CREATE"], "resources": ["certificaterequests"]}],
                                  "clientConfig": {"service": {**client["service"], "path": "/mutate"}}}]})
    objects.append({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                    "metadata": rel.meta("cert-manager-webhook", namespaced=False, labels=sel("webhook", "webhook"),
                                         annotations=inject),
                    "webhooks": [{"name": "webhook.cert-manager.io", **common,
                                  "namespaceSelector": {"matchExpressions": [{
                                      "key": "cert-manager.io/disable-validation", "operator": "NotIn",
                                      "values": ["true"]}]},
                                  "rules": [{"apiGroups": ["cert-manager.io", "acme.cert-manager.io"],
                                             "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                                             "resources": ["*/*"]}],
                                  "clientConfig": {"service": {**client["service"], "path": "/validate"}}}]})
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, *objects, rel.secret(objects)]


# -- Istio ------------------------------------------------------------------------------------------------------

def istio(spec: ComponentSpec) -> list[dict[str, Any]]:
    """istio-base (CRDs), istiod and istio-ingressgateway, as three Helm releases in one namespace.

    A ``revision`` names istiod's objects ``istiod-<rev>`` (Deployment, Service), ``istio-<rev>`` (mesh
    ConfigMap) and its webhooks ``istio-sidecar-injector-<rev>``/``istio-validator-<rev>-<ns>``, and labels them
    ``istio.io/rev: <rev>``; without one they are the chart defaults and the label says ``default``.
    """
    version = (spec.version or ISTIO_VERSION).lstrip("v")
    ns = spec.namespace or "istio-system"
    rev = spec.revision
    suffix = f"-{rev}" if rev else ""
    rev_label = {"istio.io/rev": rev or "default"}
    base = Release("istio-base", ns, "base", version, version)
    istiod = Release(spec.release or "istiod", ns, "istiod", version, version)
    gateway = Release("istio-ingressgateway", ns, "gateway", version, version)
    hub = "gcr.io/istio-release"

    base_objects: list[dict[str, Any]] = [_crd(base, crd) for crd in ISTIO_CRDS]
    for crd in base_objects:
        crd["metadata"]["labels"].update({"app.kubernetes.io/part-of": "istio", **rev_label})

    pilot_sel = {"app": "istiod", "istio.io/rev": rev or "default"}
    pilot_labels = {"istio": "pilot", "app.kubernetes.io/name": "istiod", "app.kubernetes.io/part-of": "istio",
                    **rev_label}
    mesh = {"defaultConfig": {"discoveryAddress": f"istiod{suffix}.{ns}.svc:15012"}, "rootNamespace": ns,
            "trustDomain": "cluster.local"}
    istiod_objects: list[dict[str, Any]] = [
        _sa(istiod, f"istiod{suffix}"),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": istiod.meta(f"istio{suffix}", labels=rev_label),
         "data": {"mesh": yaml.safe_dump(mesh, sort_keys=False), "meshNetworks": "networks: {}"}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": istiod.meta(f"istio-sidecar-injector{suffix}", labels=rev_label),
         "data": {"config": "policy: enabled\n", "values": json.dumps({"revision": rev, "global": {"hub": hub,
                                                                                                 "tag": version}})}},
        *_cluster_role(istiod, f"istiod-clusterrole{suffix}-{ns}", f"istiod{suffix}", [
            {"apiGroups": ["admissionregistration.k8s.io"],
             "resources": ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
             "verbs": ["get", "list", "watch", "update", "patch"]},
            {"apiGroups": ["networking.istio.io", "security.istio.io", "telemetry.istio.io",
                           "extensions.istio.io"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]),
        _service(istiod, f"istiod{suffix}", pilot_sel,
                 [_port("grpc-xds", 15010), _port("https-dns", 15012), _port("https-webhook", 443, 15017),
                  _port("http-monitoring", 15014)], labels={"app": "istiod", "istio": "pilot", **rev_label}),
        _deployment(istiod, f"istiod{suffix}", pilot_sel, f"{hub}/pilot:{version}",
                    ports=[_cport("http-debug", 8080), _cport("grpc-xds", 15010), _cport("tls-xds", 15012),
                           _cport("https-webhooks", 15017), _cport("http-monitoring", 15014)],
                    args=["discovery", "--monitoringAddr=:15014", "--log_output_level=default:info",
                          "--domain", "cluster.local", "--keepaliveMaxServerConnectionAge", "30m"],
                    probe={"httpGet": {"path": "/ready", "port": 8080}, "initialDelaySeconds": 1,
                           "periodSeconds": 3},
                    sa=f"istiod{suffix}", labels=pilot_labels, cpu="500m", memory="2Gi", container_name="discovery",
                    env=[{"name": "REVISION", "value": rev or "default"},
                         {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}]),
    ]
    inject_client = {"service": {"name": f"istiod{suffix}", "namespace": ns, "path": "/inject", "port": 443}}
    common = {"admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Fail",
              "reinvocationPolicy": "Never", "timeoutSeconds": 10}
    pod_rule = [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}]
    if rev:
        ns_selectors = [("rev.namespace.sidecar-injector.istio.io",
                         [{"key": "istio.io/rev", "operator": "In", "values": [rev]},
                          {"key": "istio-injection", "operator": "DoesNotExist"}])]
    else:
        ns_selectors = [("namespace.sidecar-injector.istio.io",
                         [{"key": "istio-injection", "operator": "In", "values": ["enabled"]}])]
    istiod_objects.append({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": istiod.meta(f"istio-sidecar-injector{suffix}", namespaced=False,
                                labels={"app": "sidecar-injector", **rev_label}),
        "webhooks": [{"name": name, **common, "clientConfig": inject_client, "rules": pod_rule,
                      "namespaceSelector": {"matchExpressions": exprs},
                      "objectSelector": {"matchExpressions": [
                          {"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}]}}
                     for name, exprs in ns_selectors]})
    istiod_objects.append({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": istiod.meta(f"istio-validator{suffix}-{ns}", namespaced=False,
                                labels={"app": "istiod", "istio": "istiod", **rev_label}),
        "webhooks": [{"name": "rev.validation.istio.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                      "failurePolicy": "Ignore", "timeoutSeconds": 10,
                      "clientConfig": {"service": {"name": f"istiod{suffix}", "namespace": ns, "path": "/validate",
                                                   "port": 443}},
                      "objectSelector": {"matchExpressions": [
                          {"key": "istio.io/rev", "operator": "In", "values": [rev or "default"]}]},
                      "rules": [{"apiGroups": ["security.istio.io", "networking.istio.io", "telemetry.istio.io",
                                               "extensions.istio.io"], "apiVersions": ["*"],
                                 "operations": ["CREATE", "UPDATE"], "resources": ["*"]}]}]})

    gw_sel = {"app": "istio-ingressgateway", "istio": "ingressgateway"}
    gateway_objects: list[dict[str, Any]] = [
        _sa(gateway, "istio-ingressgateway"),
        _service(gateway, "istio-ingressgateway", gw_sel,
                 [_port("status-port", 15021, 15021), _port("http2", 80, 80), _port("https", 443, 443)],
                 labels=gw_sel, type_="LoadBalancer"),
        _deployment(gateway, "istio-ingressgateway", gw_sel, f"{hub}/proxyv2:{version}",
                    ports=[_cport("http-envoy-prom", 15090), _cport("status-port", 15021)],
                    args=["proxy", "router", "--domain", "$(POD_NAMESPACE).svc.cluster.local"],
                    probe={"httpGet": {"path": "/healthz/ready", "port": 15021}, "periodSeconds": 2},
                    sa="istio-ingressgateway", labels={"sidecar.istio.io/inject": "false", **rev_label},
                    cpu="100m", memory="128Mi", container_name="istio-proxy",
                    env=[{"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}]),
    ]
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            *base_objects, base.secret(base_objects),
            *istiod_objects, istiod.secret(istiod_objects),
            *gateway_objects, gateway.secret(gateway_objects)]


BUILDERS = {"cert-manager": cert_manager, "istio": istio}


def objects(spec: ComponentSpec) -> list[dict[str, Any]]:
    """Every object of one pre-installed component, in the order Helm creates them (namespace, CRDs first)."""
    return BUILDERS[spec.name](spec)


def images(specs: tuple[ComponentSpec, ...]) -> list[str]:
    """Every container image of these components (a node that ran them has them: no pull at start)."""
    out: list[str] = []
    for spec in specs:
        for obj in objects(spec):
            if obj["kind"] == "Deployment":
                for container in obj["spec"]["template"]["spec"]["containers"]:
                    if container["image"] not in out:
                        out.append(container["image"])
    return out
