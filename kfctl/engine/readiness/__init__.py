"""Per-kind readiness rules, registered in one table.

:func:`assess` applies kstatus' generic checks in kstatus' order
(deletionTimestamp -> Terminating; status.observedGeneration behind
metadata.generation -> InProgress; Reconciling=True -> InProgress;
Stalled=True -> Failed), then the kind's rule from :data:`RULES`, falling back
to the generic Ready-condition rule. Components may override a rule in their
``component.yaml`` (``readiness: [{kind, name, condition: {type, status}}]``),
which :func:`rule_for_override` turns into a rule of the same shape.

Rules are pure functions of one live object returning a :class:`Verdict`;
they never raise for odd objects and never call the cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kfctl.engine.readiness import others, workloads
from kfctl.engine.readiness.verdict import (
    Status,
    Verdict,
    condition,
    condition_is,
    current,
    describe,
    failed,
    in_progress,
)

Rule = Callable[[dict[str, Any]], Verdict]

#: (API group, kind) -> rule. The group of core/v1 is "".
RULES: Mapping[tuple[str, str], Rule] = {
    ("apps", "Deployment"): workloads.deployment,
    ("apps", "StatefulSet"): workloads.statefulset,
    ("apps", "DaemonSet"): workloads.daemonset,
    ("apps", "ReplicaSet"): workloads.replicaset,
    ("", "Pod"): workloads.pod,
    ("batch", "Job"): others.job,
    ("batch", "CronJob"): others.exists,
    ("", "PersistentVolumeClaim"): others.pvc,
    ("", "Service"): others.service,
    ("", "Namespace"): others.namespace,
    ("", "ConfigMap"): others.exists,
    ("", "Secret"): others.exists,
    ("", "ServiceAccount"): others.exists,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): others.crd,
    ("apiregistration.k8s.io", "APIService"): others.apiservice,
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): others.webhook_configuration,
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): others.webhook_configuration,
    ("cert-manager.io", "Certificate"): others.ready_condition,
    ("cert-manager.io", "Issuer"): others.ready_condition,
    ("cert-manager.io", "ClusterIssuer"): others.ready_condition,
}

__all__ = ["RULES", "Status", "Verdict", "assess", "group_of", "rule_for_override"]


def group_of(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def _generic_checks(obj: dict[str, Any]) -> Verdict | None:
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        finalizers = meta.get("finalizers") or []
        extra = f" (finalizers: {', '.join(finalizers)})" if finalizers else ""
        return Verdict(Status.TERMINATING, f"being deleted{extra}")
    status = obj.get("status") or {}
    observed = status.get("observedGeneration") if isinstance(status, dict) else None
    generation = meta.get("generation")
    if observed is not None and generation is not None and observed != generation:
        return in_progress(f"controller has not observed generation {generation} yet (observed {observed})")
    if condition_is(obj, "Stalled"):
        return failed(f"stalled: {describe(condition(obj, 'Stalled'))}")
    if condition_is(obj, "Reconciling"):
        return in_progress(f"reconciling: {describe(condition(obj, 'Reconciling'))}".rstrip(": "))
    return None


def rule_for_override(override: Mapping[str, Any]) -> Rule | None:
    """A rule from a ``component.yaml`` readiness override, or None to keep the kind's rule.

    ``condition: {type: X, status: "True"}`` waits for that condition;
    ``ready: exists`` treats existence as ready. Timeouts are the engine's.
    """
    if override.get("ready") == "exists":
        return others.exists
    cond = override.get("condition")
    if cond:
        type_, want = str(cond["type"]), str(cond.get("status", "True"))

        def by_condition(obj: dict[str, Any]) -> Verdict:
            have = condition(obj, type_)
            if have is not None and have.get("status") == want:
                return current(f"condition {type_}={want}")
            return in_progress(f"waiting for condition {type_}={want} {describe(have)}".rstrip())

        return by_condition
    return None


def assess(obj: dict[str, Any], *, rule: Rule | None = None) -> Verdict:
    """The readiness of one live object. ``rule`` replaces the kind's rule (overrides)."""
    early = _generic_checks(obj)
    if early is not None:
        return early
    if rule is None:
        rule = RULES.get((group_of(str(obj.get("apiVersion", ""))), str(obj.get("kind", ""))), others.generic)
    return rule(obj)
