"""The "already there" check: objects the plan writes that exist and belong to someone else.

A shared cluster often has cert-manager or Istio installed by Helm or OLM,
or a second kfctl deployment. For each object of the plan that exists, the
owner is read from the object (:func:`owner`) and what apply would do is
:func:`kfctl.engine.decide.decide`'s answer, so ``check`` and ``apply``
cannot disagree: without ``--adopt`` apply refuses the object (a failure
here), with it apply takes the object over (a warning: Helm or OLM will
fight over it). The alternative an admin wants is to keep the cluster's
copy and declare the component as provided by the cluster.

One LIST per kind and namespace of the plan finds the objects, so a full
Kubeflow costs about a hundred requests, not one per object.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kfctl.engine.checks.model import FAIL, PASS, WARN, Facts, Finding, counted
from kfctl.engine.decide import Action, decide
from kfctl.engine.inventory import MANAGED_BY, TOOL, applyset_id, owner_of
from kfctl.plan import ObjectRef, Plan

HELM_RELEASE = "meta.helm.sh/release-name"
HELM_NAMESPACE = "meta.helm.sh/release-namespace"
#: field managers that are the API server's own or controllers' status writers, not an installer
SYSTEM_MANAGERS = ("kube-controller-manager", "kube-apiserver", "kube-scheduler", "kubelet", "before-first-apply")


def owner(live: Mapping[str, Any], set_id: str) -> tuple[str, str] | None:
    """``(kind of owner, who)`` of a live object this deployment does not own; None when it is this deployment's.

    kinds: ``helm``, ``olm``, ``kfctl`` (another deployment), ``controller`` (an ownerReference), ``manager``
    (another field manager: kubectl, another tool) or ``unknown``."""
    mine = owner_of(live)
    if mine == set_id:
        return None
    meta = live.get("metadata") or {}
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    if labels.get(MANAGED_BY) == "Helm" or HELM_RELEASE in annotations:
        release = annotations.get(HELM_RELEASE) or labels.get("release") or labels.get("app.kubernetes.io/instance")
        where = annotations.get(HELM_NAMESPACE)
        return "helm", f"Helm release {release or '?'}" + (f" (namespace {where})" if where else "")
    references = meta.get("ownerReferences") or ()
    csv = [r for r in references if r.get("kind") == "ClusterServiceVersion"]
    olm = [k for k in labels if k.startswith("olm.owner") or k.startswith("operators.coreos.com/")]
    if csv or olm:
        name = csv[0].get("name") if csv else labels.get("olm.owner") or olm[0]
        return "olm", f"OLM (ClusterServiceVersion {name})"
    if mine:
        return "kfctl", f"another kfctl deployment (applyset {mine})"
    controllers = [r for r in references if r.get("controller")]
    if controllers:
        return "controller", f"{controllers[0].get('kind')}/{controllers[0].get('name')} (its controller)"
    managers = sorted({str(m.get("manager")) for m in meta.get("managedFields") or ()
                       if m.get("manager") and m.get("manager") != TOOL
                       and not str(m.get("manager")).startswith(SYSTEM_MANAGERS)})
    if managers:
        return "manager", "field manager " + ", ".join(managers)
    return "unknown", "no kfctl deployment (created by hand or another tool)"


def _what_apply_does(action: Action, who: str, count: int) -> str:
    them, they, are = ("it", "it exists", "is") if count == 1 else ("them", "they exist", "are")
    if action == Action.NEEDS_ADOPT:
        return f"apply refuses {them} ({they} and {are} not this deployment's)"
    if action == Action.ADOPT:
        return f"apply --adopt takes {them} over from {who}, which may change {them} back"
    return f"apply would {action.value} {them}"


def judge(plan: Plan, live: Mapping[ObjectRef, Mapping[str, Any]], facts: Facts) -> list[Finding]:
    """The findings for the live copies of the plan's objects (pure)."""
    set_id = applyset_id(facts.deployment, facts.namespace)
    groups: dict[tuple[str, str, str, str], list[ObjectRef]] = {}
    actions: dict[tuple[str, str, str, str], Action] = {}
    for ref, obj in live.items():
        node = plan.nodes.get(ref)
        if node is None:
            continue
        found = owner(obj, set_id)
        if found is None:
            continue
        action = decide(node.manifest, obj, set_id=set_id, adopt=facts.adopt).action
        if action not in (Action.NEEDS_ADOPT, Action.ADOPT):
            continue  # released by this deployment's own prune: taken back
        key = (node.component, "namespace" if ref.kind == "Namespace" and not ref.group else found[0], found[1],
               action.value)
        groups.setdefault(key, []).append(ref)
        actions[key] = action
    out: list[Finding] = []
    for key, refs in sorted(groups.items()):
        component, kind, who, _ = key
        action = actions[key]
        them = "it" if len(refs) == 1 else "them"
        if kind == "namespace":
            # made before kfctl (by an admin, with its quotas, or by `helm install --create-namespace`)
            alternative = (f"apply --adopt to take {them} over (what {'it holds' if them == 'it' else 'they hold'} "
                           "stays; kfctl sets its labels)"
                           + (f", or, when {component} is installed there already, declare it provided: "
                              f"{facts.providable[component]} (README: Existing components)"
                              if component in facts.providable else ""))
            fix = alternative
        else:
            if kind not in ("helm", "olm", "controller", "manager", "unknown"):
                alternative = "give this deployment another name or namespace, or delete the other deployment"
            elif component in facts.providable:
                alternative = (f"use the cluster's own {component}: {facts.providable[component]} "
                               "(README: Existing components)")
            else:
                alternative = f"remove the other installation of {component} first"
            fix = f"{alternative}; or apply --adopt to take {them} over" if action == Action.NEEDS_ADOPT else alternative
        shown = tuple(str(r) for r in refs[:10]) + ((f"... and {len(refs) - 10} more",) if len(refs) > 10 else ())
        out.append(Finding("already-there", FAIL if action == Action.NEEDS_ADOPT else WARN,
                           f"{counted(len(refs), 'object')} of {component} already "
                           f"{'exists' if len(refs) == 1 else 'exist'}, owned by {who}: "
                           + _what_apply_does(action, who, len(refs)), fix=fix, details=shown))
    if not out:
        mine = sum(1 for ref, obj in live.items() if ref in plan.nodes and owner(obj, set_id) is None)
        out.append(Finding("already-there", PASS, "no object of the plan belongs to someone else"
                           + (f" ({mine} already belong to this deployment)" if mine else "")))
    return out


def read_live(cluster: Any, plan: Plan, *, workers: int = 8) -> dict[ObjectRef, dict[str, Any]]:
    """The live copy of every object of the plan that exists: one LIST per served kind and namespace."""
    groups: dict[tuple[str, str, str], set[str]] = {}
    for ref, node in plan.nodes.items():
        groups.setdefault((str(node.manifest.get("apiVersion")), ref.kind, ref.namespace), set()).add(ref.name)

    def one(key: tuple[str, str, str]) -> list[tuple[ObjectRef, dict[str, Any]]]:
        api_version, kind, namespace = key
        if not cluster.serves(api_version, kind):
            return []
        items, _ = cluster.list(api_version, kind, namespace=namespace or None)
        names = groups[key]
        out = []
        for item in items:
            meta = item.get("metadata") or {}
            if meta.get("name") in names and str(meta.get("namespace") or "") == namespace:
                ref = ObjectRef.of({**item, "apiVersion": api_version, "kind": kind})
                out.append((ObjectRef(ref.group, kind, namespace, str(meta.get("name"))), item))
        return out

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return {ref: obj for chunk in pool.map(one, sorted(groups)) for ref, obj in chunk}


def check_owners(cluster: Any, plan: Plan, facts: Facts) -> list[Finding]:
    return judge(plan, read_live(cluster, plan), facts)
