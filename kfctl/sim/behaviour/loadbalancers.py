"""The cloud provider's service controller: LoadBalancer Services get an address.

Cloud platforms expose Kubeflow's ingress gateway as a ``type: LoadBalancer``
Service, and a health check waits until ``status.loadBalancer.ingress`` is
set (kstatus). A real cloud takes tens of seconds to provision the load
balancer; here each LoadBalancer Service gets an address from 203.0.113.0/24
(TEST-NET-3) after the profile's ``lb_provision`` delay and an
``EnsuredLoadBalancer`` event. A Service changed to another type loses it.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from kfctl.sim.behaviour.events import NORMAL
from kfctl.sim.store import DELETED, Event

if TYPE_CHECKING:
    from kfctl.sim.behaviour import Behaviours

COMPONENT = "service-controller"


class LoadBalancers:
    """Assigns ingress addresses to LoadBalancer Services."""

    def __init__(self, behaviours: Behaviours) -> None:
        self.b = behaviours
        self._addresses = itertools.count(10)
        self._pending: set[str] = set()
        behaviours.runtime.reconciler("loadbalancer", self.reconcile)
        behaviours.runtime.watch("", "services", self._on_service)

    def _on_service(self, event: Event) -> None:
        if event.type != DELETED:
            self.b.runtime.mark("loadbalancer", event.namespace, event.name)

    def reconcile(self, namespace: str, name: str) -> None:
        svc = self.b.runtime.get("", "services", namespace, name)
        if svc is None:
            return
        wants = (svc.get("spec") or {}).get("type") == "LoadBalancer"
        has = bool(((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress"))
        if not wants and has:
            self.b.runtime.write_status("v1", "Service", namespace, name, {"loadBalancer": {}})
        if not wants or has or svc["metadata"]["uid"] in self._pending:
            return
        self.b.events.record(svc, NORMAL, "EnsuringLoadBalancer", "Ensuring load balancer", COMPONENT)
        self._pending.add(svc["metadata"]["uid"])
        self.b.runtime.after(self.b.profile.lb_provision, self._provision, namespace, name, svc["metadata"]["uid"])

    def _provision(self, namespace: str, name: str, uid: str) -> None:
        self._pending.discard(uid)
        svc = self.b.runtime.get("", "services", namespace, name)
        if svc is None or svc["metadata"]["uid"] != uid or (svc.get("spec") or {}).get("type") != "LoadBalancer":
            return
        n = next(self._addresses)
        status: dict[str, Any] = {**(svc.get("status") or {}),
                                  "loadBalancer": {"ingress": [{"ip": f"203.0.113.{n % 250 + 1}", "ipMode": "VIP"}]}}
        self.b.runtime.write_status("v1", "Service", namespace, name, status)
        self.b.events.record(svc, NORMAL, "EnsuredLoadBalancer", "Ensured load balancer", COMPONENT)
