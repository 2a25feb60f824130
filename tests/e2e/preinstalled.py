"""A cert-manager and an Istio installed before kfctl, as Helm leaves them (labels, annotations, running pods).

Until the sim can be shaped with them (issue #15 item 5), tests build them here:
kfctl's own 26.03 cert-manager and istio bundles, cut to what Helm's charts
install (no Kubeflow Gateway, ClusterIssuer, AuthorizationPolicies, Sidecars or
NetworkPolicies), relabelled as Helm labels its releases (``managed-by: Helm``,
``helm.sh/chart``, ``meta.helm.sh/release-*``; no kfctl label), and created
through the API with field manager ``helm``, as ``helm install`` does. The
mesh config keeps the oauth2-proxy ext-authz provider an admin adds for
Kubeflow's login (``mesh_provider=False`` leaves it out).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from kfctl.cluster import connect
from kfctl.deploy import load_deployment
from kfctl.engine.provided import Provided, verify
from kfctl.plan import build_plan

from e2e_support import write_kfdef

#: kinds of kfctl's istio/cert-manager bundles that are Kubeflow's policy, not what Helm's charts install
NOT_HELM = {"Gateway", "AuthorizationPolicy", "Sidecar", "NetworkPolicy", "ClusterIssuer"}
RELEASES = {"cert-manager": ("cert-manager", "cert-manager-v1.19.4"), "istio": ("istiod", "istiod-1.29.0")}
KFCTL_LABELS = ("app.kubernetes.io/part-of", "app.kubernetes.io/managed-by", "app.kubernetes.io/version")


def helm_objects(tmp: Path, *, mesh_provider: bool = True) -> list[dict[str, Any]]:
    """The objects a Helm install of cert-manager and Istio leaves, in creation order."""
    kfdef = write_kfdef(tmp, version="26.03", components="kubeflow-core,cert-manager,istio,oauth2-proxy")
    deployment = load_deployment(kfdef)
    out = []
    for res in deployment.rendering.resources:
        if res.component not in RELEASES or res.kind in NOT_HELM:
            continue
        body = copy.deepcopy(res.to_dict())
        release, chart = RELEASES[res.component]
        meta = body["metadata"]
        labels = {k: v for k, v in (meta.get("labels") or {}).items() if k not in KFCTL_LABELS}
        meta["labels"] = {**labels, "app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": chart}
        meta["annotations"] = {**(meta.get("annotations") or {}), "meta.helm.sh/release-name": release,
                               "meta.helm.sh/release-namespace": "istio-system" if release == "istiod" else release}
        for key in [k for k in meta["annotations"] if k.startswith("kfctl.dev/")]:
            del meta["annotations"][key]
        if res.kind == "ConfigMap" and meta["name"] == "istio" and not mesh_provider:
            mesh = json.loads(body["data"]["mesh"])
            mesh["extensionProviders"] = []
            body["data"]["mesh"] = json.dumps(mesh)
        out.append(body)
    first = {"Namespace": 0, "CustomResourceDefinition": 1}
    return sorted(out, key=lambda o: first.get(o["kind"], 2))


def preinstall(sim, tmp: Path, *, mesh_provider: bool = True, wait: float = 120) -> dict[tuple[str, ...], str]:
    """Create cert-manager and Istio as Helm does and wait until they run; their (apiVersion, kind, namespace,
    name) -> resourceVersion, once healthy."""
    objects = helm_objects(tmp, mesh_provider=mesh_provider)
    cluster = connect(sim.kubeconfig_path, None)
    try:
        for body in objects:
            info = cluster.resource(body["apiVersion"], body["kind"])
            namespace = body["metadata"].get("namespace")
            # a plain create with Helm's field manager (the public client only applies as kfctl)
            cluster._request("post", cluster._path(info, namespace), body["metadata"]["name"], body=body,
                             field_manager="helm")
        plan = build_plan([("x", o) for o in objects])
        checks = (Provided("cert-manager", workloads=_spec("cert-manager", "workloads"),
                           webhooks=_spec("cert-manager", "webhooks")),
                  Provided("istio", workloads=_spec("istio", "workloads"), webhooks=()))
        problems = verify(cluster, plan, checks, wait=wait, poll=0.2)
        assert problems == [], problems
        return snapshot(sim, objects)
    finally:
        cluster.close()


def _spec(component: str, key: str) -> tuple[Any, ...]:
    from kfctl.catalog import load_catalog

    return tuple((load_catalog().component(component).provided or {}).get(key, ()))


def snapshot(sim, objects: list[dict[str, Any]]) -> dict[tuple[str, ...], str]:
    """(apiVersion, kind, namespace, name) -> resourceVersion of each object (\"gone\" if absent)."""
    cluster = connect(sim.kubeconfig_path, None)
    try:
        out = {}
        for o in objects:
            meta = o["metadata"]
            live = cluster.get(o["apiVersion"], o["kind"], meta.get("namespace"), meta["name"])
            key = (o["apiVersion"], o["kind"], meta.get("namespace") or "", meta["name"])
            out[key] = "gone" if live is None else live["metadata"]["resourceVersion"]
        return out
    finally:
        cluster.close()
