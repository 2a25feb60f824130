"""istiod's namespace controller: the ``istio-ca-root-cert`` ConfigMap in every namespace.

Istio's gateways and sidecars mount ``istio-ca-root-cert``, which istiod
itself writes into every namespace once it runs (its self-managed CA). Until
then their pods stay in ContainerCreating with a FailedMount event, exactly
the ordering a real install must respect: istiod ready before the ingress
gateway. While a Deployment running an istiod image (``*/pilot:*``) is
available, every namespace that is not terminating gets the ConfigMap
(key ``root-cert.pem``), new namespaces included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kfctl.sim.behaviour.certmanager import fake_pem
from kfctl.sim.status import APIError
from kfctl.sim.store import DELETED, Event

if TYPE_CHECKING:
    from kfctl.sim.behaviour import Behaviours

ROOT_CERT = "istio-ca-root-cert"


def is_istiod(deployment: dict[str, Any]) -> bool:
    containers = ((((deployment.get("spec") or {}).get("template") or {}).get("spec") or {})
                  .get("containers") or [])
    return any("/pilot:" in str(c.get("image") or "") or str(c.get("image") or "").endswith("/pilot")
               for c in containers)


class IstioRootCert:
    """Publishes istiod's root certificate ConfigMap while istiod is available."""

    def __init__(self, behaviours: Behaviours) -> None:
        self.b = behaviours
        rt = behaviours.runtime
        self._available: set[tuple[str, str]] = set()
        rt.reconciler("istio-root-cert", self.reconcile)
        rt.watch("apps", "deployments", self._on_deployment)
        rt.watch("", "namespaces", self._on_namespace)
        rt.watch("", "configmaps", self._on_configmap)

    def _on_deployment(self, event: Event) -> None:
        key = (event.namespace, event.name)
        up = event.type != DELETED and is_istiod(event.obj) and \
            int((event.obj.get("status") or {}).get("availableReplicas") or 0) > 0
        was = bool(self._available)
        if up:
            self._available.add(key)
        else:
            self._available.discard(key)
        if self._available and not was:
            items, _ = self.b.runtime.store.list("", "namespaces")
            for ns in items:
                self.b.runtime.mark("istio-root-cert", "", ns["metadata"]["name"])

    def _on_namespace(self, event: Event) -> None:
        if event.type != DELETED and self._available:
            self.b.runtime.mark("istio-root-cert", "", event.name)

    def _on_configmap(self, event: Event) -> None:
        if event.type == DELETED and event.name == ROOT_CERT and self._available:
            self.b.runtime.mark("istio-root-cert", "", event.namespace)

    def reconcile(self, _: str, namespace: str) -> None:
        rt = self.b.runtime
        ns = rt.get("", "namespaces", "", namespace)
        if not self._available or ns is None or ns["metadata"].get("deletionTimestamp") or \
                rt.get("", "configmaps", namespace, ROOT_CERT) is not None:
            return
        try:
            rt.create("v1", "ConfigMap", namespace, {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": ROOT_CERT, "namespace": namespace,
                             "labels": {"istio.io/config": "true"}},
                "data": {"root-cert.pem": fake_pem("CERTIFICATE", "istio-root")}})
        except APIError as exc:
            if exc.code not in (403, 404, 409):
                raise
