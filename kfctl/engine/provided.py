"""What the cluster provides, checked before kfctl writes: present, healthy and compatible.

A KfDef may say the cluster already runs cert-manager or Istio (``provided: true``) or a
StorageClass (``spec.storageClass``); kfctl then renders none of that install (README,
"Existing components") and never writes, prunes or deletes it. What Kubeflow's objects
would have waited for in kfctl's own copy (its CRDs established, its webhooks answering,
its controllers available) is checked here in the cluster's copy, before the first write:

* every kind the plan writes from the component's API groups is **served**, at the
  version the plan uses (``cert-manager.io/v1`` Certificate, ``networking.istio.io/v1``
  Gateway...);
* each **workload** the component's ``component.yaml`` lists (``provided.workloads``:
  pod-template labels, optionally a namespace, a service account, the Istio revision)
  exists and is available;
* each **admission webhook** it lists (``provided.webhooks``, by webhook-name suffix;
  ``selects``: it must select namespaces carrying these labels, as Kubeflow's do) exists,
  has its CA and a ready endpoint behind its Service;
* Istio's **mesh config** names every extension provider the plan's CUSTOM
  AuthorizationPolicies use (oauth2-proxy's ext-authz);
* the **StorageClass** exists.

Something absent or incompatible is refused at once; something present but not healthy
yet (pods starting) is waited for, up to a bound. Either way the caller refuses with exit 2
and nothing written. The edges Kubeflow's objects had to the component's objects all end
in "healthy", so one gate before the first write stands for all of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from kfctl.engine.clusterapi import ClusterAPI, Obj
from kfctl.engine.gates import WebhookGate
from kfctl.engine.readiness import assess
from kfctl.plan import Plan
from kfctl.plan.index import labels_match

WEBHOOK_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
ADMISSION = "admissionregistration.k8s.io/v1"


@dataclass(frozen=True)
class Provided:
    """A component the cluster provides, and what its copy must have."""

    component: str
    #: (group, kind) of the CRDs kfctl's own copy installs
    kinds: tuple[tuple[str, str], ...] = ()
    #: component.yaml ``provided.workloads`` and ``provided.webhooks``
    workloads: tuple[Mapping[str, Any], ...] = ()
    webhooks: tuple[Mapping[str, Any], ...] = ()
    #: Istio's revision (istio.io/rev), None for the default one
    revision: str | None = None
    #: the service account the KfDef says a workload with ``serviceAccount`` runs as instead (Istio's gateway)
    service_account: str | None = None


@dataclass
class Findings:
    """What one look found: ``refuse`` (absent or incompatible) and ``waiting`` (present, not healthy yet)."""

    refuse: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)


def _template_labels(obj: Obj) -> Mapping[str, str]:
    return ((((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {})


def _name(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}" if meta.get("namespace") else str(meta.get("name"))


def _served(cluster: ClusterAPI, plan: Plan, p: Provided, found: Findings) -> None:
    groups = {g for g, _ in p.kinds}
    used: dict[tuple[str, str], list[str]] = {}
    for ref, node in plan.nodes.items():
        if ref.group in groups:
            used.setdefault((str(node.manifest.get("apiVersion")), ref.kind), []).append(str(ref))
    missing = [(api_version, kind, refs[0]) for (api_version, kind), refs in sorted(used.items())
               if not cluster.serves(api_version, kind)]
    if missing and len(missing) == len(used):
        kinds = sorted({kind for _, kind, _ in missing})
        found.refuse.append(f"{p.component}: the cluster serves none of the kinds Kubeflow uses from it "
                            f"({', '.join(kinds)} of {', '.join(sorted(groups & {r.group for r in plan.nodes}))}): "
                            f"is {p.component} installed?")
        return
    for api_version, kind, example in missing:
        found.refuse.append(f"{p.component}: the cluster does not serve {kind} {api_version} (used by {example}); "
                            f"upgrade the cluster's {p.component} to a version serving it")


def _workloads(deployments: list[Obj], p: Provided, found: Findings) -> dict[str, Obj]:
    """Each listed workload among ``deployments``, by its ``what``; records what is missing, wrong or not available."""
    located: dict[str, Obj] = {}
    for want in p.workloads:
        labels = dict(want["labels"])
        if want.get("revisioned") and p.revision:
            labels["istio.io/rev"] = p.revision
        namespace = want.get("namespace")
        matches = [d for d in deployments if all(_template_labels(d).get(k) == v for k, v in labels.items())
                   and (namespace is None or (d.get("metadata") or {}).get("namespace") == namespace)]
        where = f" in namespace {namespace}" if namespace else ""
        if not matches:
            shown = ", ".join(f"{k}={v}" for k, v in labels.items())
            found.refuse.append(f"{p.component}: {want['what']} not found (no Deployment{where} whose pods are "
                                f"labelled {shown})")
            continue
        located[str(want["what"])] = matches[0]
        account = p.service_account if want.get("serviceAccount") and p.service_account else want.get("serviceAccount")
        for obj in matches:
            runs_as = ((obj.get("spec") or {}).get("template") or {}).get("spec", {}).get("serviceAccountName") \
                or "default"
            if account and runs_as != account:
                found.refuse.append(
                    f"{p.component}: {want['what']} {_name(obj)} runs as service account {runs_as!r}, but "
                    f"Kubeflow's AuthorizationPolicies admit requests from {account!r}: name its account in the "
                    f"KfDef (provided: {{gatewayServiceAccount: {runs_as}}}), or run it as {account} (Helm's gateway "
                    f"chart: --set serviceAccount.name={account})")
        if not any(assess(obj).ready for obj in matches):
            found.waiting.append(f"{p.component}: {want['what']} {_name(matches[0])} is not available yet "
                                 f"({assess(matches[0]).message})")
    return located


def _webhooks(cluster: ClusterAPI, plan: Plan, p: Provided, found: Findings) -> None:
    configs = [c for kind in WEBHOOK_KINDS for c in cluster.list(ADMISSION, kind)[0]]
    namespaces = [dict((n.manifest.get("metadata") or {}).get("labels") or {})
                  for ref, n in plan.nodes.items() if ref.group == "" and ref.kind == "Namespace"]
    gate = WebhookGate(cluster)
    for want in p.webhooks:
        suffix, selects = str(want["suffix"]), dict(want.get("selects") or {})
        hooks = []
        for config in configs:
            if want.get("revisioned") and p.revision and \
                    ((config.get("metadata") or {}).get("labels") or {}).get("istio.io/rev") != p.revision:
                continue
            for hook in config.get("webhooks") or ():
                if not str(hook.get("name", "")).endswith(suffix):
                    continue
                if selects and not _selects(hook, selects, namespaces):
                    continue
                hooks.append((config, hook))
        if not hooks:
            rev = f" of revision {p.revision}" if want.get("revisioned") and p.revision else ""
            sel = (" that selects namespaces labelled " + ", ".join(f"{k}={v}" for k, v in selects.items())
                   + " (as Kubeflow's are)") if selects else ""
            found.refuse.append(f"{p.component}: no admission webhook *{suffix}{rev}{sel} in the cluster: "
                                f"{want['what']} is missing"
                                + ("; with a revisioned Istio, make it the default (istioctl tag set default "
                                   "--revision REV) or name it: provided: {revision: REV}" if selects else ""))
            continue
        for config, hook in hooks:
            one = {"kind": config.get("kind"), "metadata": config.get("metadata"), "webhooks": [hook]}
            service = (hook.get("clientConfig") or {}).get("service")
            if service and not (hook.get("clientConfig") or {}).get("caBundle"):
                found.waiting.append(f"{p.component}: webhook {hook.get('name')} of {config.get('kind')} "
                                     f"{_name(config)} has no CA bundle yet")
                continue
            why = gate.unreachable(one)
            if why:
                found.waiting.append(f"{p.component}: webhook {hook.get('name')} of {_name(config)}: {why}")


def _selects(hook: Mapping[str, Any], labels: Mapping[str, str], namespaces: Iterable[Mapping[str, str]]) -> bool:
    """Whether the webhook selects a namespace of the plan that carries ``labels`` (or any such one)."""
    carrying = [ns for ns in namespaces if all(ns.get(k) == v for k, v in labels.items())] or [dict(labels)]
    return any(labels_match(hook.get("namespaceSelector"), ns) for ns in carrying)


def _mesh_providers(cluster: ClusterAPI, plan: Plan, p: Provided, istiod: Obj | None, found: Findings) -> None:
    """Every provider the plan's CUSTOM AuthorizationPolicies name must be in the mesh config."""
    if ("security.istio.io", "AuthorizationPolicy") not in p.kinds or istiod is None:
        return
    wanted: dict[str, str] = {}
    for ref, node in plan.nodes.items():
        spec = node.manifest.get("spec") or {}
        if ref.kind == "AuthorizationPolicy" and spec.get("action") == "CUSTOM":
            wanted.setdefault(str((spec.get("provider") or {}).get("name")), str(ref))
    if not wanted:
        return
    namespace = str((istiod.get("metadata") or {}).get("namespace"))
    name = "istio" if p.revision in (None, "default") else f"istio-{p.revision}"
    config = cluster.get("v1", "ConfigMap", namespace, name)
    try:
        mesh = yaml.safe_load(((config or {}).get("data") or {}).get("mesh") or "") or {}
    except yaml.YAMLError:
        mesh = {}
    have = {str(e.get("name")) for e in (mesh.get("extensionProviders") or ()) if isinstance(e, dict)} \
        if isinstance(mesh, dict) else set()
    for provider, user in sorted(wanted.items()):
        if provider not in have:
            found.refuse.append(
                f"{p.component}: the mesh config (ConfigMap {namespace}/{name}, key mesh) has no extension provider "
                f"{provider!r}, which {user} uses; add it to meshConfig.extensionProviders (Helm istiod values), "
                f"e.g. as `kfctl show --component istio` renders it without provided")


def _storage_class(cluster: ClusterAPI, name: str, found: Findings) -> None:
    if cluster.get("storage.k8s.io/v1", "StorageClass", None, name) is None:
        live, _ = cluster.list("storage.k8s.io/v1", "StorageClass")
        have = ", ".join(sorted(str((sc.get("metadata") or {}).get("name")) for sc in live)) or "none"
        found.refuse.append(f"spec.storageClass: the cluster has no StorageClass {name!r} (it has: {have})")


def look(cluster: ClusterAPI, plan: Plan, provided: Sequence[Provided], storage_class: str | None = None) -> Findings:
    """One look at everything the cluster provides."""
    found = Findings()
    deployments = cluster.list("apps/v1", "Deployment")[0] if provided else []
    for p in provided:
        _served(cluster, plan, p, found)
        located = _workloads(deployments, p, found)
        _webhooks(cluster, plan, p, found)
        istiod = next((obj for what, obj in located.items() if what == "istiod"), None)
        _mesh_providers(cluster, plan, p, istiod, found)
    if storage_class:
        _storage_class(cluster, storage_class, found)
    return found


def verify(cluster: ClusterAPI, plan: Plan, provided: Sequence[Provided], storage_class: str | None = None, *,
           wait: float = 300.0, poll: float = 1.0, sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.monotonic) -> list[str]:
    """What is wrong with what the cluster provides (empty: all present, healthy, compatible).

    Refusals come back at once; what is only starting is looked at again every ``poll``
    seconds for up to ``wait`` seconds. Reads only: nothing of the cluster's copy is written.
    """
    if not provided and not storage_class:
        return []
    deadline = clock() + wait
    while True:
        found = look(cluster, plan, provided, storage_class)
        if found.refuse:
            return found.refuse + found.waiting
        if not found.waiting:
            return []
        if clock() >= deadline:
            return [f"{w} (still, after {wait:.0f}s)" for w in found.waiting]
        sleep(poll)
