"""cert-manager's cainjector and self-managed webhook CAs: where every caBundle comes from.

- cainjector (only while a ``quay.io/jetstack/cert-manager-cainjector``
  Deployment is available): ``cert-manager.io/inject-ca-from: <ns>/<certificate>``
  and ``cert-manager.io/inject-ca-from-secret: <ns>/<secret>`` fill the
  caBundle of Mutating/ValidatingWebhookConfigurations, CRD conversion
  webhooks and APIServices from the Secret's ``ca.crt``, after the profile's
  ``ca_inject`` delay.
- Self-managed certificates (training operator, istiod, Knative write their
  own CA): a webhook configuration WITHOUT cert-manager annotations gets a
  caBundle in each webhook entry whose caBundle is empty and whose
  clientConfig names a Service, once that Service has a ready endpoint (its
  pods are running and wrote the CA), after the profile's ``webhook_self_ca``
  delay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kfctl.sim.behaviour.certmanager import CM, b64, fake_pem
from kfctl.sim.behaviour.pods import condition
from kfctl.sim.store import DELETED, Event

if TYPE_CHECKING:
    from kfctl.sim.behaviour import Behaviours

INJECT_FROM, INJECT_FROM_SECRET = f"{CM}/inject-ca-from", f"{CM}/inject-ca-from-secret"
INJECTABLES = {("admissionregistration.k8s.io", "mutatingwebhookconfigurations"):
               ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
               ("admissionregistration.k8s.io", "validatingwebhookconfigurations"):
               ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
               ("apiextensions.k8s.io", "customresourcedefinitions"):
               ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
               ("apiregistration.k8s.io", "apiservices"): ("apiregistration.k8s.io/v1", "APIService")}


class CAInjector:
    """Fills caBundles from cert-manager sources, or for self-managed webhooks once they run."""

    def __init__(self, behaviours: Behaviours) -> None:
        self.b = behaviours
        rt = behaviours.runtime
        self._injecting: set[tuple[str, str]] = set()
        self._injectables: dict[tuple[str, str], tuple[str, str]] = {}  # (plural, name) -> (group, plural)
        rt.reconciler("inject", self._reconcile_injectable)
        for group, plural in INJECTABLES:
            rt.watch(group, plural, self._on_injectable)
        for group, plural in (("", "secrets"), ("", "endpoints"), (CM, "certificates")):
            rt.watch(group, plural, lambda event: self.everything())

    def everything(self) -> None:
        """Look at every injectable again (a CA source or the cainjector's availability changed)."""
        for plural, name in list(self._injectables):
            self.b.runtime.mark("inject", plural, name)

    def _on_injectable(self, event: Event) -> None:
        key = (event.plural, event.name)
        if event.type == DELETED:
            self._injectables.pop(key, None)
            return
        annotations = event.obj["metadata"].get("annotations") or {}
        webhook_config = event.group == "admissionregistration.k8s.io"
        if annotations.get(INJECT_FROM) or annotations.get(INJECT_FROM_SECRET) or webhook_config:
            self._injectables[key] = (event.group, event.plural)
            self.b.runtime.mark("inject", *key)
        else:
            self._injectables.pop(key, None)

    def _ca_for(self, annotations: dict[str, str]) -> str | None:
        """The base64 PEM to inject, '' when the source is not there yet, None when cert-manager does not manage."""
        rt = self.b.runtime
        source = annotations.get(INJECT_FROM_SECRET)
        if source:
            ns, _, name = source.partition("/")
            secret = rt.get("", "secrets", ns, name)
        elif annotations.get(INJECT_FROM):
            ns, _, name = annotations[INJECT_FROM].partition("/")
            cert = rt.get(CM, "certificates", ns, name)
            ready = condition(cert, "Ready") if cert is not None else None
            if ready is None or ready.get("status") != "True":
                return ""
            secret = rt.get("", "secrets", ns, (cert.get("spec") or {}).get("secretName", ""))
        else:
            return None
        return str(((secret or {}).get("data") or {}).get("ca.crt") or "")

    def _reconcile_injectable(self, plural: str, name: str) -> None:
        rt = self.b.runtime
        found = self._injectables.get((plural, name))
        if found is None:
            return
        group = found[0]
        obj = rt.get(group, plural, "", name)
        if obj is None:
            return
        annotations = obj["metadata"].get("annotations") or {}
        ca = self._ca_for(annotations)
        if ca is None:
            if group == "admissionregistration.k8s.io":
                self._self_managed(obj, plural)
            return
        if not ca or not self.b.certmanager.ready("cainjector") or _bundles(obj) in ({ca}, set()):
            return
        self._inject_later(group, plural, name, ca, only_empty=False)

    def _self_managed(self, obj: dict[str, Any], plural: str) -> None:
        hooks = obj.get("webhooks") or []
        for hook in hooks:
            client = hook.get("clientConfig") or {}
            service = client.get("service") or {}
            if client.get("caBundle") or not service:
                continue
            if self.b.endpoints.ready_addresses(service.get("namespace", ""), service.get("name", "")):
                ca = b64(fake_pem("CERTIFICATE", f"{service.get('namespace')}/{service.get('name')}"))
                self._inject_later("admissionregistration.k8s.io", plural, obj["metadata"]["name"], ca,
                                   only_empty=True, delay=self.b.profile.webhook_self_ca)
                return

    def _inject_later(self, group: str, plural: str, name: str, ca: str, *, only_empty: bool,
                      delay: float | None = None) -> None:
        if (plural, name) in self._injecting:
            return
        self._injecting.add((plural, name))
        self.b.runtime.after(self.b.profile.ca_inject if delay is None else delay, self._inject, group, plural, name,
                             ca, only_empty)

    def _inject(self, group: str, plural: str, name: str, ca: str, only_empty: bool) -> None:
        self._injecting.discard((plural, name))
        api_version, kind = INJECTABLES[(group, plural)]

        def fill(live: dict[str, Any]) -> dict[str, Any]:
            if kind == "CustomResourceDefinition":
                webhook = ((live.get("spec") or {}).get("conversion") or {}).get("webhook")
                if webhook is not None:
                    webhook.setdefault("clientConfig", {})["caBundle"] = ca
            elif kind == "APIService":
                live.setdefault("spec", {})["caBundle"] = ca
            else:
                for hook in live.get("webhooks") or []:
                    client = hook.setdefault("clientConfig", {})
                    if only_empty and client.get("caBundle"):
                        continue
                    if only_empty and not (client.get("service") and self.b.endpoints.ready_addresses(
                            client["service"].get("namespace", ""), client["service"].get("name", ""))):
                        continue
                    client["caBundle"] = ca
            return live
        self.b.runtime.update(api_version, kind, "", name, fill)


def _bundles(obj: dict[str, Any]) -> set[str]:
    if obj.get("kind") == "CustomResourceDefinition":
        webhook = ((obj.get("spec") or {}).get("conversion") or {}).get("webhook")
        if webhook is None:
            return set()  # nothing to inject into
        return {str((webhook.get("clientConfig") or {}).get("caBundle") or "")}
    if obj.get("kind") == "APIService":
        return {str((obj.get("spec") or {}).get("caBundle") or "")}
    return {str((h.get("clientConfig") or {}).get("caBundle") or "") for h in obj.get("webhooks") or []}
