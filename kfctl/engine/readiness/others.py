"""Readiness of batch, storage, networking, CRDs, namespaces and generic objects.

kstatus calls a running Job Current; a deploy tool must wait for it to
complete, so here a Job is Current only when it has completed.
"""

from __future__ import annotations

from typing import Any

from kfctl.engine.readiness.verdict import Verdict, condition, condition_is, current, describe, failed, in_progress


def job(obj: dict[str, Any]) -> Verdict:
    if condition_is(obj, "Complete"):
        return current("job completed")
    fail = condition(obj, "Failed")
    if fail and fail.get("status") == "True":
        return failed(f"job failed: {describe(fail)}")
    status = obj.get("status") or {}
    return in_progress(
        f"job running: {status.get('succeeded', 0)} succeeded, {status.get('active', 0)} active, "
        f"{status.get('failed', 0)} failed"
    )


def pvc(obj: dict[str, Any]) -> Verdict:
    phase = (obj.get("status") or {}).get("phase", "Pending")
    if phase == "Bound":
        return current("bound")
    if phase == "Lost":
        return failed("claim lost its volume")
    return in_progress(f"claim {phase.lower()}, not bound")


def service(obj: dict[str, Any]) -> Verdict:
    spec = obj.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    if kind == "ExternalName":
        return current("external name")
    if kind == "LoadBalancer":
        ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress")
        if not ingress:
            return in_progress("waiting for a load balancer address")
        return current("load balancer ready")
    if kind != "ClusterIP" or spec.get("clusterIP") not in (None, ""):
        return current("service ready")
    return in_progress("waiting for a cluster IP")


def crd(obj: dict[str, Any]) -> Verdict:
    for type_ in ("NamesAccepted", "Established"):
        cond = condition(obj, type_)
        if cond is not None and cond.get("status") == "False" and cond.get("reason") != "Installing":
            return failed(f"{type_} is False: {describe(cond)}")
    if condition_is(obj, "Established") and condition_is(obj, "NamesAccepted"):
        return current("established")
    return in_progress("waiting for condition Established")


def namespace(obj: dict[str, Any]) -> Verdict:
    phase = (obj.get("status") or {}).get("phase", "Active")
    if phase == "Active":
        return current("active")
    return in_progress(f"namespace {phase.lower()}")


def apiservice(obj: dict[str, Any]) -> Verdict:
    available = condition(obj, "Available")
    if available and available.get("status") == "True":
        return current("available")
    return in_progress(f"waiting for condition Available {describe(available)}".rstrip())


def webhook_configuration(obj: dict[str, Any]) -> Verdict:
    """A webhook configuration is ready once every webhook the API server must call has a caBundle.

    With an empty caBundle the API server checks the webhook's certificate against its own
    roots and fails every call ("x509: certificate signed by unknown authority"). The bundle
    comes from cert-manager's cainjector (``cert-manager.io/inject-ca-from[-secret]``) or, for
    self-managed webhooks (Knative, istiod, Katib, the training operator), from the webhook's
    own controller once it runs. Self-managed validating webhooks with ``failurePolicy: Ignore``
    hold nothing up, so they are not waited for (cert-manager fills every entry it injects). Whether the webhook's Service answers is the
    engine's business: it waits for the backing workload as a dependency, then for endpoints.
    """
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    inject = annotations.get("cert-manager.io/inject-ca-from") or annotations.get("cert-manager.io/inject-ca-from-secret")
    mutating = str(obj.get("kind", "")).startswith("Mutating")
    hooks = [h for h in obj.get("webhooks") or () if not (h.get("clientConfig") or {}).get("caBundle")]
    if inject and hooks:
        names = ", ".join(h.get("name", "?") for h in hooks)
        return in_progress(f"waiting for cert-manager to inject the CA from {inject} into {names}")
    missing = [h.get("name", "?") for h in hooks if (h.get("clientConfig") or {}).get("service")
               and (mutating or h.get("failurePolicy", "Fail") != "Ignore")]
    if missing:
        return in_progress(f"waiting for the webhook's own controller to write its CA into {', '.join(missing)}")
    return current("configured")


def generic(obj: dict[str, Any]) -> Verdict:
    """Any kind without a rule of its own: the Ready condition decides; none means ready."""
    ready = condition(obj, "Ready")
    if ready is None:
        return current("exists")
    if ready.get("status") == "True":
        return current("ready")
    if ready.get("status") == "False" and (ready.get("reason") or "").lower() in {"failed", "error", "invalid"}:
        return failed(f"Ready is False: {describe(ready)}")
    return in_progress(f"waiting for condition Ready {describe(ready)}".rstrip())


def ready_condition(obj: dict[str, Any]) -> Verdict:
    """Kinds whose controller always writes a Ready condition (cert-manager's Issuers and Certificates):
    none yet means the controller has not looked at it, not that it is ready. On the real control plane
    an install could otherwise end before cert-manager had marked its ClusterIssuer Ready (issue #14)."""
    if condition(obj, "Ready") is None:
        return in_progress("waiting for its controller to set condition Ready")
    return generic(obj)


def exists(obj: dict[str, Any]) -> Verdict:
    return current("exists")
