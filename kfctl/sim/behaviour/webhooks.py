"""Admission webhooks as an admission plugin: who would be called, and could they be reached.

The most common Kubeflow install failure is a webhook whose pods are not ready
yet: ``Internal error occurred: failed calling webhook "webhook.cert-manager.io":
failed to call webhook: Post "https://cert-manager-webhook.cert-manager.svc:443/
validate?timeout=10s": dial tcp 10.96.0.12:443: connect: connection refused``.

For every write, each Mutating- then ValidatingWebhookConfiguration webhook
whose rules match (apiGroups, apiVersions, resources incl. ``*`` and
subresources, operations, scope), whose namespaceSelector matches the
namespace's labels and whose objectSelector matches the object's labels is
"called". The sim does not run webhook code: a call succeeds (admits without
change) when the webhook's Service has a ready endpoint and its caBundle is
set. Otherwise, with failurePolicy Fail (the default) the request is rejected
with a 500 and the real text (connection refused without ready endpoints,
``service "x" not found`` without the Service, an x509 error with an empty
caBundle); with Ignore it passes. URL webhooks (``clientConfig.url``) are
taken as reachable. Writes to webhook configurations themselves are never
intercepted, as on a real server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kfctl.sim.admission import UPDATE, AdmissionRequest
from kfctl.sim.behaviour.pods import label_selector_matches
from kfctl.sim.status import APIError

if TYPE_CHECKING:
    from kfctl.sim.behaviour import Behaviours

GROUP = "admissionregistration.k8s.io"
MUTATING, VALIDATING = "mutatingwebhookconfigurations", "validatingwebhookconfigurations"
_EXEMPT = {(GROUP, MUTATING), (GROUP, VALIDATING), (GROUP, "validatingadmissionpolicies"),
           (GROUP, "validatingadmissionpolicybindings"), (GROUP, "mutatingadmissionpolicies"),
           (GROUP, "mutatingadmissionpolicybindings")}


def _match_list(values: list[str], wanted: str) -> bool:
    return "*" in values or wanted in values


def _resource_matches(resources: list[str], plural: str, subresource: str) -> bool:
    target = f"{plural}/{subresource}" if subresource else plural
    for item in resources:
        if item == "*/*" or item == target:
            return True
        if item == "*" and not subresource:
            return True
        if subresource and item == f"*/{subresource}":
            return True
        if subresource and item.endswith("/*") and item[:-2] == plural:
            return True
    return False


def rule_matches(rule: dict[str, Any], request: AdmissionRequest, subresource: str) -> bool:
    rtype = request.rtype
    if not _match_list(rule.get("operations") or [], request.operation):
        return False
    if not _match_list(rule.get("apiGroups") or [], rtype.group):
        return False
    if not _match_list(rule.get("apiVersions") or [], rtype.version):
        return False
    if not _resource_matches(rule.get("resources") or [], rtype.plural, subresource):
        return False
    scope = rule.get("scope", "*")
    if scope == "Namespaced" and not rtype.namespaced:
        return False
    if scope == "Cluster" and rtype.namespaced:
        return False
    return True


def is_status_only(request: AdmissionRequest) -> bool:
    """An UPDATE that changes only status: the sim's controllers writing the status subresource.

    The pipeline does not pass the subresource to validating plugins, so it is
    inferred: nothing but ``status`` (and server-kept metadata) differs.
    """
    if request.operation != UPDATE or request.old is None or request.obj is None:
        return False
    if request.subresource:
        return request.subresource == "status"
    skip = {"status", "metadata"}
    if any(request.obj.get(k) != request.old.get(k) for k in (set(request.obj) | set(request.old)) - skip):
        return False
    keep = ("managedFields", "resourceVersion", "generation")
    new_meta = {k: v for k, v in request.obj["metadata"].items() if k not in keep}
    old_meta = {k: v for k, v in request.old["metadata"].items() if k not in keep}
    return new_meta == old_meta and request.obj.get("status") != request.old.get("status")


class WebhookAdmission:
    """The admission plugin pair (mutating, validating) over the stored configurations."""

    def __init__(self, behaviours: Behaviours) -> None:
        self.b = behaviours
        chain = behaviours.runtime.cluster.admission
        chain.mutating.append(self.mutate)
        chain.validating.append(self.validate)

    def close(self) -> None:
        chain = self.b.runtime.cluster.admission
        if self.mutate in chain.mutating:
            chain.mutating.remove(self.mutate)
        if self.validate in chain.validating:
            chain.validating.remove(self.validate)

    def mutate(self, request: AdmissionRequest) -> dict[str, Any] | None:
        self._call(MUTATING, request)
        return None

    def validate(self, request: AdmissionRequest) -> None:
        self._call(VALIDATING, request)

    # -- matching -------------------------------------------------------------------
    def _call(self, plural: str, request: AdmissionRequest) -> None:
        if (request.rtype.group, request.rtype.plural) in _EXEMPT:
            return
        if is_status_only(request) and not request.subresource:
            subresource = "status"
        else:
            subresource = request.subresource
        configs, _ = self.b.runtime.store.list(GROUP, plural)
        if not configs:
            return
        for config in configs:
            for hook in config.get("webhooks") or []:
                if self._matches(hook, request, subresource):
                    self._reach(hook, config)

    def _matches(self, hook: dict[str, Any], request: AdmissionRequest, subresource: str) -> bool:
        if not any(rule_matches(r, request, subresource) for r in hook.get("rules") or []):
            return False
        obj = request.obj if request.obj is not None else request.old
        labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
        old_labels = ((request.old or {}).get("metadata") or {}).get("labels") or {}
        object_selector = hook.get("objectSelector")
        if not (label_selector_matches(object_selector, labels) or
                (request.old is not None and label_selector_matches(object_selector, old_labels))):
            return False
        namespace_selector = hook.get("namespaceSelector")
        rtype = request.rtype
        if rtype.group == "" and rtype.plural == "namespaces":
            return label_selector_matches(namespace_selector, labels)
        if not rtype.namespaced:
            return True
        ns = self.b.runtime.store.get("", "namespaces", "", request.namespace)
        ns_labels = dict(((ns or {}).get("metadata") or {}).get("labels") or {})
        ns_labels.setdefault("kubernetes.io/metadata.name", request.namespace)
        return label_selector_matches(namespace_selector, ns_labels)

    # -- reachability -------------------------------------------------------------------
    def _reach(self, hook: dict[str, Any], config: dict[str, Any]) -> None:
        problem = self.unreachable(hook)
        if not problem:
            return
        if hook.get("failurePolicy", "Fail") == "Ignore":
            return
        name = hook.get("name", "")
        message = f'failed calling webhook "{name}": failed to call webhook: {problem}'
        raise APIError(500, "InternalError", f"Internal error occurred: {message}",
                       details={"causes": [{"message": message}]})

    def unreachable(self, hook: dict[str, Any]) -> str:
        """Why calling ``hook`` fails now, in the Go client's words ('' when it would answer)."""
        client = hook.get("clientConfig") or {}
        service = client.get("service")
        if not service:
            return ""
        ns, name = service.get("namespace", ""), service.get("name", "")
        port = int(service.get("port") or 443)
        path = service.get("path") or ""
        timeout = int(hook.get("timeoutSeconds") or 10)
        url = f"https://{name}.{ns}.svc:{port}{path}?timeout={timeout}s"
        svc = self.b.runtime.store.get("", "services", ns, name)
        if svc is None:
            return f'Post "{url}": service "{name}" not found'
        if not self.b.kubelet.serving_addresses(ns, name, port):  # no ready endpoint, or its server not listening
            ip = (svc.get("spec") or {}).get("clusterIP", "")
            return f'Post "{url}": dial tcp {ip}:{port}: connect: connection refused'
        if not client.get("caBundle"):
            return f'Post "{url}": tls: failed to verify certificate: x509: certificate signed by unknown authority'
        return ""
