"""The endpoints and EndpointSlice controllers: which ready pods back each Service.

Webhooks, and kfctl's own readiness of a webhook's backing Service, depend on
ready endpoints. For every Service with a selector, the pods of its namespace
matching the selector that have an IP are listed: ready ones under
``addresses`` (Endpoints) / ``conditions.ready: true`` (EndpointSlice), the
others under ``notReadyAddresses`` / ``ready: false``. Named target ports are
resolved against each pod's container ports. One EndpointSlice per Service
(``<service>-<suffix>``, label ``kubernetes.io/service-name``, owned by the
Service); the Endpoints object is deleted with its Service. They change with
every pod readiness flip, so updates are committed straight to the store
(creates go through the API pipeline).
"""

from __future__ import annotations

import random
import string
from typing import TYPE_CHECKING, Any

from kfctl.sim.behaviour.pods import is_ready, owner_reference
from kfctl.sim.store import DELETED, Event

if TYPE_CHECKING:
    from kfctl.sim.behaviour import Behaviours

SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _target_port(port: dict[str, Any], pod: dict[str, Any]) -> int | None:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for c in (pod.get("spec") or {}).get("containers") or []:
        for cp in c.get("ports") or []:
            if cp.get("name") == target:
                return int(cp.get("containerPort"))
    return None


class EndpointsController:
    """Keeps Endpoints and EndpointSlices in step with Services and pods."""

    def __init__(self, behaviours: Behaviours) -> None:
        self.b = behaviours
        rt = behaviours.runtime
        self._slices: dict[tuple[str, str], str] = {}  # service -> slice name
        self._selectors: dict[tuple[str, str], dict[str, str]] = {}  # services with a selector
        rt.reconciler("endpoints", self.reconcile)
        rt.watch("", "services", self._on_service)
        rt.watch("", "pods", self._on_pod)

    def _on_service(self, event: Event) -> None:
        key = (event.namespace, event.name)
        if event.type == DELETED:
            self._selectors.pop(key, None)
            self._slices.pop(key, None)
            self.b.runtime.delete("v1", "Endpoints", *key)
            return
        selector = (event.obj.get("spec") or {}).get("selector") or {}
        if selector:
            self._selectors[key] = dict(selector)
        else:
            self._selectors.pop(key, None)
        self.b.runtime.mark("endpoints", *key)

    def _on_pod(self, event: Event) -> None:
        labels = [event.obj["metadata"].get("labels") or {}]
        if event.old is not None:
            labels.append(event.old["metadata"].get("labels") or {})
        ns = event.namespace
        for (sns, name), selector in self._selectors.items():
            if sns == ns and any(_selects(selector, lab) for lab in labels):
                self.b.runtime.mark("endpoints", sns, name)

    def ready_addresses(self, namespace: str, name: str) -> int:
        """How many ready addresses the Service's Endpoints object lists (what the apiserver would dial)."""
        ep = self.b.runtime.get("", "endpoints", namespace, name)
        if ep is None:
            return 0
        return sum(len(s.get("addresses") or []) for s in ep.get("subsets") or [])

    # -- reconcile ------------------------------------------------------------
    def reconcile(self, namespace: str, name: str) -> None:
        rt = self.b.runtime
        svc = rt.get("", "services", namespace, name)
        if svc is None or svc["metadata"].get("deletionTimestamp"):
            return
        selector = (svc.get("spec") or {}).get("selector") or {}
        if not selector:
            return
        pods = []
        for key in self.b.pods.in_namespace(namespace):
            pod = rt.get("", "pods", *key)
            if pod is None or pod["metadata"].get("deletionTimestamp") or not (pod.get("status") or {}).get("podIP"):
                continue
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            if _selects(selector, pod["metadata"].get("labels") or {}):
                pods.append(pod)
        self._write_endpoints(svc, pods)
        self._write_slice(svc, pods)

    def _address(self, pod: dict[str, Any]) -> dict[str, Any]:
        meta = pod["metadata"]
        out = {"ip": pod["status"]["podIP"],
               "targetRef": {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]}}
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            out["nodeName"] = node
        return out

    def _ports(self, svc: dict[str, Any], pod: dict[str, Any] | None) -> list[dict[str, Any]]:
        out = []
        for port in (svc.get("spec") or {}).get("ports") or []:
            number = _target_port(port, pod) if pod is not None else None
            if number is None:
                target = port.get("targetPort", port.get("port"))
                number = target if isinstance(target, int) else None
            if number is None:
                continue
            entry: dict[str, Any] = {"port": number, "protocol": port.get("protocol", "TCP")}
            if port.get("name"):
                entry["name"] = port["name"]
            if port.get("appProtocol"):
                entry["appProtocol"] = port["appProtocol"]
            out.append(entry)
        return out

    def _write_endpoints(self, svc: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        rt = self.b.runtime
        meta = svc["metadata"]
        ready = [self._address(p) for p in pods if is_ready(p)]
        not_ready = [self._address(p) for p in pods if not is_ready(p)]
        subset: dict[str, Any] = {}
        if ready:
            subset["addresses"] = ready
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "Endpoints",
                                "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                                             "labels": dict(meta.get("labels") or {})}}
        if subset:
            subset["ports"] = self._ports(svc, pods[0])
            body["subsets"] = [subset]
        live = rt.get("", "endpoints", meta["namespace"], meta["name"])
        if live is None:
            rt.create("v1", "Endpoints", meta["namespace"], body)
        elif live.get("subsets") != body.get("subsets"):
            new = {k: v for k, v in live.items() if k != "subsets"}
            if "subsets" in body:
                new["subsets"] = body["subsets"]
            rt.replace("", "endpoints", live, new)

    def _find_slice(self, namespace: str, service: str) -> str:
        """A slice written before a restart (persisted sims)."""
        items, _ = self.b.runtime.store.list("discovery.k8s.io", "endpointslices", namespace)
        for item in items:
            if (item["metadata"].get("labels") or {}).get(SERVICE_NAME) == service:
                self._slices[(namespace, service)] = item["metadata"]["name"]
                return str(item["metadata"]["name"])
        return ""

    def _write_slice(self, svc: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        rt = self.b.runtime
        meta = svc["metadata"]
        key = (meta["namespace"], meta["name"])
        endpoints = []
        for pod in pods:
            ready = is_ready(pod)
            entry: dict[str, Any] = {"addresses": [pod["status"]["podIP"]],
                                     "conditions": {"ready": ready, "serving": ready, "terminating": False},
                                     "targetRef": {"kind": "Pod", "namespace": pod["metadata"]["namespace"],
                                                   "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}}
            if (pod.get("spec") or {}).get("nodeName"):
                entry["nodeName"] = pod["spec"]["nodeName"]
            endpoints.append(entry)
        ports = self._ports(svc, pods[0] if pods else None)
        name = self._slices.get(key) or self._find_slice(meta["namespace"], meta["name"])
        live = rt.get("discovery.k8s.io", "endpointslices", meta["namespace"], name) if name else None
        if live is None:
            labels = {**(meta.get("labels") or {}), SERVICE_NAME: meta["name"],
                      MANAGED_BY: "endpointslice-controller.k8s.io"}
            name = f"{meta['name']}-" + "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
            body = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"name": name, "namespace": meta["namespace"], "labels": labels,
                                 "ownerReferences": [owner_reference(svc)]},
                    "addressType": "IPv4", "endpoints": endpoints, "ports": ports}
            rt.create("discovery.k8s.io/v1", "EndpointSlice", meta["namespace"], body)
            self._slices[key] = name
            return
        if live.get("endpoints") == endpoints and live.get("ports") == ports:
            return
        rt.replace("discovery.k8s.io", "endpointslices", live, {**live, "endpoints": endpoints, "ports": ports})
