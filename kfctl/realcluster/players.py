"""What the harness plays in place of controllers whose pods KWOK only pretends to run.

Under KWOK a pod is Running and Ready but executes nothing, so the in-cluster
controllers kfctl's installs rely on do nothing either. The harness plays the
parts of them that the API server and kfctl observe, each only while the
Deployment that would do it is available (as the sim does, and as on a
cluster where a stopped cert-manager issues nothing):

- **cert-manager controller** (image ``quay.io/jetstack/cert-manager-controller``):
  Issuers and ClusterIssuers become Ready; a Certificate gets its Secret
  (``kubernetes.io/tls``: ``tls.crt``/``tls.key`` for its dnsNames and
  ``ca.crt``, all from the harness's CA, so the webhook responder's serving
  certificates verify against it) and then ``Ready=True``.
- **cert-manager cainjector** (``...-cainjector``): ``cert-manager.io/inject-ca-from``
  and ``inject-ca-from-secret`` fill the caBundle of webhook configurations,
  CRD conversion webhooks and APIServices from the Secret's ``ca.crt``.
- **cert-manager webhook** (``...-webhook``): writes its own serving CA Secret
  (``cert-manager-webhook-ca``), which its webhook configurations name with
  ``inject-ca-from-secret``.
- **self-managed webhook CAs** (istiod, the training operator write their
  own caBundle once they run): a webhook configuration without cert-manager
  annotations gets the harness CA in each entry whose caBundle is empty, once
  its Service has a ready endpoint.
- **a cloud load-balancer controller**: a ``LoadBalancer`` Service gets an
  ingress address (from 192.0.2.0/24, TEST-NET-1) as a cloud would.

Writes use the field managers of the parts they play, with JSON patches
that touch only the field they set, so kfctl's server-side apply never
conflicts with them (kfctl leaves injected caBundles to the injector).
"""

from __future__ import annotations

import base64
import logging
import threading
from typing import TYPE_CHECKING, Any

from kfctl.realcluster.api import APIError

if TYPE_CHECKING:
    from kfctl.realcluster.api import API
    from kfctl.realcluster.pki import PKI

log = logging.getLogger(__name__)

CM = "cert-manager.io"
CM_VERSION = "cert-manager.io/v1"
IMAGES = {"controller": "quay.io/jetstack/cert-manager-controller",
          "cainjector": "quay.io/jetstack/cert-manager-cainjector",
          "webhook": "quay.io/jetstack/cert-manager-webhook"}
INJECT_FROM, INJECT_FROM_SECRET = f"{CM}/inject-ca-from", f"{CM}/inject-ca-from-secret"
INJECTABLE = (("admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations"),
              ("admissionregistration.k8s.io/v1", "validatingwebhookconfigurations"),
              ("apiextensions.k8s.io/v1", "customresourcedefinitions"),
              ("apiregistration.k8s.io/v1", "apiservices"))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _part(deployment: dict[str, Any]) -> str:
    for c in ((((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []):
        image = str(c.get("image") or "")
        for part, prefix in IMAGES.items():
            if image == prefix or image.startswith((prefix + ":", prefix + "@")):
                return part
    return ""


def _ready(obj: dict[str, Any] | None) -> bool:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


class Players:
    """One thread reconciling every part above every ``interval`` seconds."""

    def __init__(self, api: API, pki: PKI, *, interval: float = 0.3) -> None:
        self.api = api
        self.pki = pki
        self.interval = interval
        self.ca_b64 = _b64(pki.ca.cert_pem())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    def start(self) -> Players:
        self._thread = threading.Thread(target=self._run, name="realcluster-players", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.reconcile()
            except (APIError, OSError) as exc:  # a conflict or a kind going away: next round
                log.debug("players: %s", exc)
            except Exception as exc:  # noqa: BLE001 (a harness bug must not kill the loop; it is kept for the logs)
                log.exception("players failed")
                self.errors.append(f"{type(exc).__name__}: {exc}")

    # -- one round -------------------------------------------------------------
    def reconcile(self) -> None:
        running = self._cert_manager_parts()
        if "controller" in running:
            self._issuers()
            self._certificates()
        if "webhook" in running:
            self._webhook_ca(running["webhook"])
        self._inject("cainjector" in running)
        self._load_balancers()

    def _cert_manager_parts(self) -> dict[str, dict[str, Any]]:
        parts: dict[str, dict[str, Any]] = {}
        for deployment in self.api.list("apps/v1", "deployments"):
            part = _part(deployment)
            if part and int((deployment.get("status") or {}).get("availableReplicas") or 0) > 0:
                parts[part] = deployment
        return parts

    def _issuers(self) -> None:
        for plural in ("issuers", "clusterissuers"):
            for issuer in self.api.list(CM_VERSION, plural):
                if _ready(issuer):
                    continue
                spec = issuer.get("spec") or {}
                meta = issuer["metadata"]
                if "ca" in spec:
                    secret_ns = meta.get("namespace") or "cert-manager"
                    if self.api.get("v1", "secrets", secret_ns, spec["ca"].get("secretName", "")) is None:
                        continue
                self._set_ready(plural, meta.get("namespace"), meta["name"], "KeyPairVerified"
                                if "ca" in spec else "IsReady", "cert-manager-issuers")

    def _set_ready(self, plural: str, namespace: str | None, name: str, reason: str, manager: str) -> None:
        from datetime import datetime, timezone

        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.api.merge_patch(CM_VERSION, plural, namespace, name, {"status": {"conditions": [
            {"type": "Ready", "status": "True", "reason": reason, "message": "played by kfctl-realcluster",
             "lastTransitionTime": now, "observedGeneration": 1}]}}, manager, sub="status")

    def _certificates(self) -> None:
        for cert in self.api.list(CM_VERSION, "certificates"):
            meta, spec = cert["metadata"], cert.get("spec") or {}
            ns, secret_name = meta["namespace"], spec.get("secretName") or ""
            ref = spec.get("issuerRef") or {}
            issuer_plural = "clusterissuers" if ref.get("kind") == "ClusterIssuer" else "issuers"
            issuer = self.api.get(CM_VERSION, issuer_plural, None if issuer_plural == "clusterissuers" else ns,
                                  ref.get("name") or "")
            if not secret_name or not _ready(issuer):
                continue
            if self.api.get("v1", "secrets", ns, secret_name) is None:
                dns = tuple(spec.get("dnsNames") or ()) or (f"{meta['name']}.{ns}.svc",)
                pair = self.pki.issue(f"certificate-{ns}-{meta['name']}", cn=spec.get("commonName") or dns[0], dns=dns,
                                      ips=tuple(spec.get("ipAddresses") or ()), server=True, client=True)
                self.api.create("v1", "secrets", ns, {
                    "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                    "metadata": {"name": secret_name, "namespace": ns,
                                 "annotations": {f"{CM}/certificate-name": meta["name"],
                                                 f"{CM}/issuer-name": ref.get("name") or ""}},
                    "data": {"tls.crt": _b64(pair.cert_pem()), "tls.key": _b64(pair.key_pem()),
                             "ca.crt": self.ca_b64}}, "cert-manager-certificates-issuing")
            if not _ready(cert):
                self._set_ready("certificates", ns, meta["name"], "Ready", "cert-manager-certificates-readiness")

    def _webhook_ca(self, deployment: dict[str, Any]) -> None:
        ns = deployment["metadata"]["namespace"]
        name = "cert-manager-webhook-ca"
        for c in deployment["spec"]["template"]["spec"].get("containers") or []:
            for arg in c.get("args") or []:
                if str(arg).startswith("--dynamic-serving-ca-secret-name="):
                    name = str(arg).split("=", 1)[1]
        if self.api.get("v1", "secrets", ns, name) is None:
            self.api.create("v1", "secrets", ns, {
                "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns},
                "data": {"ca.crt": self.ca_b64, "tls.crt": self.ca_b64,
                         "tls.key": _b64(self.pki.ca.key_pem())}}, "cert-manager-webhook")

    # -- caBundles ---------------------------------------------------------------
    def _ca_from(self, annotations: dict[str, str]) -> str | None:
        """The caBundle cert-manager would inject; '' while its source is missing; None when not annotated."""
        if annotations.get(INJECT_FROM_SECRET):
            ns, _, name = annotations[INJECT_FROM_SECRET].partition("/")
            secret = self.api.get("v1", "secrets", ns, name)
        elif annotations.get(INJECT_FROM):
            ns, _, name = annotations[INJECT_FROM].partition("/")
            cert = self.api.get(CM_VERSION, "certificates", ns, name)
            if not _ready(cert):
                return ""
            secret = self.api.get("v1", "secrets", ns, (cert or {}).get("spec", {}).get("secretName", ""))
        else:
            return None
        return str(((secret or {}).get("data") or {}).get("ca.crt") or "")

    def _inject(self, cainjector: bool) -> None:
        for api_version, plural in INJECTABLE:
            webhook_configs = plural.endswith("webhookconfigurations")
            # webhook configurations are small: read whole; CRDs and APIServices by metadata first
            for item in self.api.list(api_version, plural, metadata_only=not webhook_configs):
                meta = item["metadata"]
                annotations = meta.get("annotations") or {}
                managed = bool(annotations.get(INJECT_FROM) or annotations.get(INJECT_FROM_SECRET))
                if (managed and not cainjector) or not (managed or webhook_configs):
                    continue
                obj = item if webhook_configs else self.api.get(api_version, plural, None, meta["name"])
                if obj is None:
                    continue
                if managed:
                    ca = self._ca_from(annotations)
                    if ca:
                        self._fill(api_version, plural, obj, ca, only_empty=False)
                else:
                    self._fill(api_version, plural, obj, self.ca_b64, only_empty=True)

    def _fill(self, api_version: str, plural: str, obj: dict[str, Any], ca: str, *, only_empty: bool) -> None:
        ops: list[dict[str, Any]] = []
        if plural == "customresourcedefinitions":
            webhook = ((obj.get("spec") or {}).get("conversion") or {}).get("webhook")
            if webhook is not None and (webhook.get("clientConfig") or {}).get("caBundle") != ca:
                ops.append({"op": "add", "path": "/spec/conversion/webhook/clientConfig/caBundle", "value": ca})
            manager = "cert-manager-cainjector"
        elif plural == "apiservices":
            if (obj.get("spec") or {}).get("caBundle") != ca:
                ops.append({"op": "add", "path": "/spec/caBundle", "value": ca})
            manager = "cert-manager-cainjector"
        else:
            manager = "kfctl-realcluster-self-managed-ca" if only_empty else "cert-manager-cainjector"
            for i, hook in enumerate(obj.get("webhooks") or []):
                client = hook.get("clientConfig") or {}
                if client.get("caBundle") == ca or (only_empty and client.get("caBundle")):
                    continue
                service = client.get("service")
                if only_empty and not (service and self._has_ready_endpoint(service)):
                    continue
                ops += [{"op": "test", "path": f"/webhooks/{i}/name", "value": hook.get("name")},
                        {"op": "add", "path": f"/webhooks/{i}/clientConfig/caBundle", "value": ca}]
        if ops:
            ops.insert(0, {"op": "test", "path": "/metadata/resourceVersion",
                           "value": obj["metadata"]["resourceVersion"]})
            self.api.json_patch(api_version, plural, None, obj["metadata"]["name"], ops, manager)

    def _has_ready_endpoint(self, service: dict[str, Any]) -> bool:
        ns, name = service.get("namespace") or "", service.get("name") or ""
        for slice_ in self.api.list("discovery.k8s.io/v1", "endpointslices", ns):
            if (slice_["metadata"].get("labels") or {}).get("kubernetes.io/service-name") != name:
                continue
            for endpoint in slice_.get("endpoints") or []:
                if (endpoint.get("conditions") or {}).get("ready"):
                    return True
        return False

    # -- load balancers ------------------------------------------------------------
    def _load_balancers(self) -> None:
        for i, svc in enumerate(self.api.list("v1", "services")):
            if (svc.get("spec") or {}).get("type") != "LoadBalancer":
                continue
            if ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
                continue
            address = f"192.0.2.{10 + i % 240}"
            self.api.merge_patch("v1", "services", svc["metadata"]["namespace"], svc["metadata"]["name"],
                                 {"status": {"loadBalancer": {"ingress": [{"ip": address}]}}},
                                 "kfctl-realcluster-load-balancer", sub="status")
