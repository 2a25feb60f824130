"""cert-manager: issuers, certificates and the webhook's own CA, only while cert-manager runs.

Every Kubeflow webhook needs a CA bundle before the API server can call it.
This module plays cert-manager's three parts, each only while its own
Deployment is available (any namespace, recognised by image
``quay.io/jetstack/cert-manager-{controller,cainjector,webhook}``, from any registry: see
:mod:`.imagenames`):

- controller: Issuers and ClusterIssuers get ``Ready=True`` (selfSigned at
  once; CA issuers once their key pair Secret exists); a Certificate whose
  issuer is Ready gets its Secret (``tls.crt``, ``tls.key``, ``ca.crt``:
  fake PEM-looking base64) after the profile's issue delay, then
  ``Ready=True``. A deleted Secret is issued again.
- cainjector: see :mod:`.cainjector`.
- webhook: writes its own serving CA Secret (``--dynamic-serving-ca-secret-name``,
  default ``cert-manager-webhook-ca``) once available.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from kfctl.sim.behaviour.events import NORMAL
from kfctl.sim.behaviour.imagenames import same_repository
from kfctl.sim.behaviour.pods import condition
from kfctl.sim.clock import format_time
from kfctl.sim.store import DELETED, Event

if TYPE_CHECKING:
    from kfctl.sim.behaviour import Behaviours

CM = "cert-manager.io"
IMAGES = {"controller": "quay.io/jetstack/cert-manager-controller",
          "cainjector": "quay.io/jetstack/cert-manager-cainjector",
          "webhook": "quay.io/jetstack/cert-manager-webhook"}
COMPONENT = "cert-manager-certificates-issuing"


def fake_pem(kind: str, seed: str) -> str:
    """PEM-looking text: real armour, base64 body derived from ``seed`` (not a usable key)."""
    body = b"".join(hashlib.sha512(f"{seed}:{i}".encode()).digest() for i in range(12))
    text = base64.b64encode(body).decode()
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    return f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----\n"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def component_of(deployment: dict[str, Any]) -> str:
    containers = ((((deployment.get("spec") or {}).get("template") or {}).get("spec") or {})
                  .get("containers") or [])
    for c in containers:
        image = str(c.get("image") or "")
        for part, repository in IMAGES.items():
            if same_repository(image, repository):  # also mirrored: registry.internal/quay/jetstack/...
                return part
    return ""


class CertManager:
    """Issuers, Certificates, CA injection and self-managed webhook CAs."""

    def __init__(self, behaviours: Behaviours) -> None:
        self.b = behaviours
        rt = behaviours.runtime
        self._ready: dict[tuple[str, str], str] = {}   # available cert-manager deployments -> part
        self._deployments: dict[tuple[str, str], str] = {}
        self._issuing: set[tuple[str, str, int]] = set()
        rt.reconciler("issuer", self._reconcile_issuer)
        rt.reconciler("clusterissuer", self._reconcile_clusterissuer)
        rt.reconciler("certificate", self._reconcile_certificate)
        rt.watch("apps", "deployments", self._on_deployment)
        rt.watch(CM, "issuers", lambda e: self._on_cr(e, "issuer"))
        rt.watch(CM, "clusterissuers", lambda e: self._on_cr(e, "clusterissuer"))
        rt.watch(CM, "certificates", self._on_certificate)
        rt.watch("", "secrets", self._on_secret)

    def ready(self, part: str) -> bool:
        return part in self._ready.values()

    # -- triggers ---------------------------------------------------------------
    def _on_deployment(self, event: Event) -> None:
        key = (event.namespace, event.name)
        part = component_of(event.obj) if event.type != DELETED else ""
        if part:
            self._deployments[key] = part
        else:
            self._deployments.pop(key, None)
        available = bool(part) and int((event.obj.get("status") or {}).get("availableReplicas") or 0) > 0
        before = set(self._ready.values())
        if available:
            self._ready[key] = part
        else:
            self._ready.pop(key, None)
        if available and part == "webhook":
            self._webhook_serving_ca(event.obj)
        if set(self._ready.values()) != before:
            self._everything()

    def _everything(self) -> None:
        rt = self.b.runtime
        for plural, controller in (("issuers", "issuer"), ("clusterissuers", "clusterissuer"),
                                   ("certificates", "certificate")):
            items, _ = rt.store.list(CM, plural)
            for item in items:
                rt.mark(controller, item["metadata"].get("namespace", ""), item["metadata"]["name"])
        self.b.cainjector.everything()

    def _on_cr(self, event: Event, controller: str) -> None:
        if event.type == DELETED:
            return
        self.b.runtime.mark(controller, event.namespace, event.name)
        if controller in ("issuer", "clusterissuer"):  # certificates waiting for this issuer
            items, _ = self.b.runtime.store.list(CM, "certificates")
            for item in items:
                ref = (item.get("spec") or {}).get("issuerRef") or {}
                if ref.get("name") == event.name:
                    self.b.runtime.mark("certificate", item["metadata"]["namespace"], item["metadata"]["name"])

    def _on_certificate(self, event: Event) -> None:
        if event.type != DELETED:
            self.b.runtime.mark("certificate", event.namespace, event.name)

    def _on_secret(self, event: Event) -> None:
        rt = self.b.runtime
        items, _ = rt.store.list(CM, "certificates", event.namespace)
        for item in items:
            if (item.get("spec") or {}).get("secretName") == event.name:
                rt.mark("certificate", event.namespace, item["metadata"]["name"])
        items, _ = rt.store.list(CM, "issuers", event.namespace)
        for item in items:
            if ((item.get("spec") or {}).get("ca") or {}).get("secretName") == event.name:
                rt.mark("issuer", event.namespace, item["metadata"]["name"])
        self.b.cainjector.everything()

    # -- issuers ----------------------------------------------------------------
    def _reconcile_issuer(self, namespace: str, name: str) -> None:
        self._issuer(namespace, name, "issuers", "Issuer", namespace)

    def _reconcile_clusterissuer(self, namespace: str, name: str) -> None:
        self._issuer("", name, "clusterissuers", "ClusterIssuer", self._cluster_resource_namespace())

    def _cluster_resource_namespace(self) -> str:
        for (ns, _), part in self._ready.items():
            if part == "controller":
                return ns
        return "cert-manager"

    def _issuer(self, namespace: str, name: str, plural: str, kind: str, secret_ns: str) -> None:
        rt = self.b.runtime
        issuer = rt.get(CM, plural, namespace, name)
        if issuer is None or not self.ready("controller"):
            return
        spec = issuer.get("spec") or {}
        ok, reason, message = True, "IsReady", ""
        if "ca" in spec:
            secret = (spec.get("ca") or {}).get("secretName", "")
            if rt.get("", "secrets", secret_ns, secret) is None:
                ok, reason = False, "ErrGetKeyPair"
                message = f'Error getting keypair for CA issuer: secrets "{secret}" not found'
            else:
                reason, message = "KeyPairVerified", "Signing CA verified"
        elif "acme" in spec:
            reason, message = "ACMEAccountRegistered", "The ACME account was registered with the ACME server"
        self._set_ready(issuer, ok, reason, message)

    def _set_ready(self, obj: dict[str, Any], ok: bool, reason: str, message: str,
                   extra: dict[str, Any] | None = None) -> None:
        value = "True" if ok else "False"
        prior = condition(obj, "Ready")
        if prior is not None and prior.get("status") == value and prior.get("reason") == reason and \
                prior.get("message") == message and not extra:
            return
        status = dict(obj.get("status") or {})
        cond = {"type": "Ready", "status": value, "reason": reason, "message": message,
                "lastTransitionTime": self.b.runtime.clock.now_rfc3339(),
                "observedGeneration": obj["metadata"].get("generation", 1)}
        status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") not in ("Ready", "Issuing")]
        status["conditions"].insert(0, cond)
        status.update(extra or {})
        if ok:
            status["conditions"] = [c for c in status["conditions"] if c.get("type") != "Issuing"]
        meta = obj["metadata"]
        self.b.runtime.write_status(obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"], status)

    # -- certificates -------------------------------------------------------------
    def _reconcile_certificate(self, namespace: str, name: str) -> None:
        rt = self.b.runtime
        cert = rt.get(CM, "certificates", namespace, name)
        if cert is None or not self.ready("controller"):
            return
        spec = cert.get("spec") or {}
        secret_name = spec.get("secretName", "")
        secret = rt.get("", "secrets", namespace, secret_name) if secret_name else None
        generation = int(cert["metadata"].get("generation", 1))
        issued = secret is not None and (secret["metadata"].get("annotations") or {}).get(
            f"{CM}/certificate-name") == name
        ready = condition(cert, "Ready")
        if issued and ready is not None and ready.get("status") == "True" and \
                ready.get("observedGeneration") == generation:
            return
        if issued and (cert.get("status") or {}).get("revision"):
            self._finish(cert)
            return
        if not self._issuer_ready(cert):
            self._set_ready(cert, False, "DoesNotExist", "Issuing certificate as Secret does not exist")
            return
        key = (namespace, name, generation)
        if key in self._issuing:
            return
        self._issuing.add(key)
        rt.after(self.b.profile.cert_issue, self._issue, namespace, name, cert["metadata"]["uid"], generation)

    def _issuer_ready(self, cert: dict[str, Any]) -> bool:
        ref = (cert.get("spec") or {}).get("issuerRef") or {}
        if ref.get("group", CM) not in (CM, ""):
            return True  # external issuers: assumed to work
        if ref.get("kind", "Issuer") == "ClusterIssuer":
            issuer = self.b.runtime.get(CM, "clusterissuers", "", ref.get("name", ""))
        else:
            issuer = self.b.runtime.get(CM, "issuers", cert["metadata"]["namespace"], ref.get("name", ""))
        ready = condition(issuer, "Ready") if issuer is not None else None
        return ready is not None and ready.get("status") == "True"

    def _issue(self, namespace: str, name: str, uid: str, generation: int) -> None:
        rt = self.b.runtime
        self._issuing.discard((namespace, name, generation))
        cert = rt.get(CM, "certificates", namespace, name)
        if cert is None or cert["metadata"]["uid"] != uid or not self.ready("controller") or \
                not self._issuer_ready(cert):
            rt.mark("certificate", namespace, name)
            return
        spec = cert.get("spec") or {}
        ref = spec.get("issuerRef") or {}
        seed = f"{uid}:{generation}"
        ca = self._issuer_ca(cert) or fake_pem("CERTIFICATE", seed)
        data = {"tls.crt": b64(fake_pem("CERTIFICATE", seed)), "tls.key": b64(fake_pem("PRIVATE KEY", seed)),
                "ca.crt": b64(ca)}
        names = spec.get("dnsNames") or []
        annotations = {f"{CM}/certificate-name": name, f"{CM}/issuer-name": ref.get("name", ""),
                       f"{CM}/issuer-kind": ref.get("kind", "Issuer"), f"{CM}/issuer-group": ref.get("group", CM),
                       f"{CM}/common-name": spec.get("commonName", ""), f"{CM}/alt-names": ",".join(names),
                       f"{CM}/ip-sans": "", f"{CM}/uri-sans": ""}
        secret_name = spec.get("secretName", "")
        live = rt.get("", "secrets", namespace, secret_name)
        if live is None:
            rt.create("v1", "Secret", namespace, {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                                                  "metadata": {"name": secret_name, "namespace": namespace,
                                                               "annotations": annotations},
                                                  "data": data})
        else:
            def put(obj: dict[str, Any]) -> dict[str, Any]:
                obj.setdefault("metadata", {}).setdefault("annotations", {}).update(annotations)
                obj["data"] = {**(obj.get("data") or {}), **data}
                return obj
            rt.update("v1", "Secret", namespace, secret_name, put)
        self.b.events.record(cert, NORMAL, "Issuing", "The certificate has been successfully issued", COMPONENT)
        self._finish(rt.get(CM, "certificates", namespace, name) or cert)

    def _finish(self, cert: dict[str, Any]) -> None:
        now = self.b.runtime.clock.now()
        revision = int((cert.get("status") or {}).get("revision") or 0) or 1
        self._set_ready(cert, True, "Ready", "Certificate is up to date and has not expired", {
            "notBefore": format_time(now), "notAfter": format_time(now + 90 * 86400),
            "renewalTime": format_time(now + 60 * 86400), "revision": revision})

    def _issuer_ca(self, cert: dict[str, Any]) -> str:
        ref = (cert.get("spec") or {}).get("issuerRef") or {}
        if ref.get("kind", "Issuer") == "ClusterIssuer":
            issuer = self.b.runtime.get(CM, "clusterissuers", "", ref.get("name", ""))
            ns = self._cluster_resource_namespace()
        else:
            issuer = self.b.runtime.get(CM, "issuers", cert["metadata"]["namespace"], ref.get("name", ""))
            ns = cert["metadata"]["namespace"]
        secret_name = (((issuer or {}).get("spec") or {}).get("ca") or {}).get("secretName")
        secret = self.b.runtime.get("", "secrets", ns, secret_name) if secret_name else None
        data = (secret or {}).get("data") or {}
        encoded = data.get("tls.crt") or data.get("ca.crt")
        return base64.b64decode(encoded).decode(errors="replace") if encoded else ""

    # -- the webhook's own CA -----------------------------------------------------------
    def _webhook_serving_ca(self, deployment: dict[str, Any]) -> None:
        rt = self.b.runtime
        ns = deployment["metadata"]["namespace"]
        name, secret_ns = "cert-manager-webhook-ca", ns
        for c in (((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []:
            for arg in c.get("args") or []:
                if str(arg).startswith("--dynamic-serving-ca-secret-name="):
                    name = str(arg).split("=", 1)[1]
                if str(arg).startswith("--dynamic-serving-ca-secret-namespace="):
                    value = str(arg).split("=", 1)[1]
                    secret_ns = ns if value in ("$(POD_NAMESPACE)", "") else value
        if rt.get("", "secrets", secret_ns, name) is not None:
            return
        ca = fake_pem("CERTIFICATE", f"{secret_ns}/{name}")
        rt.create("v1", "Secret", secret_ns, {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                              "metadata": {"name": name, "namespace": secret_ns,
                                                           "annotations": {f"{CM}/allow-direct-injection": "true"}},
                                              "data": {"ca.crt": b64(ca), "tls.crt": b64(ca),
                                                       "tls.key": b64(fake_pem("PRIVATE KEY", name))}})
