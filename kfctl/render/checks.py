"""Checks a rendered deployment must pass before it reaches a cluster.

Used by the cross-bundle tests (``tests/manifests/``) so a bundle author learns
of a mistake from a message naming component, template and object, and
usable by any caller that wants to vet a rendering offline:

* :func:`structural_problems` (from :mod:`.crdschema`): a CRD's schema is
  structural, as the API server demands;
* :func:`name_problems`: names valid for their kind (DNS-1123 label,
  subdomain, DNS-1035 for Services, path segments for RBAC, CRD names
  ``<plural>.<group>``), label keys and values, webhook names;
* :func:`workload_problems`: what the API server checks beyond the schema
  (a selector its pod template satisfies, container and Service port names,
  resource quantities and requests within limits);
* :func:`reference_problems`: what the deployment must contain for its
  objects to work (service accounts, webhook Services, Certificates named by
  ``cert-manager.io/inject-ca-from``, cert-manager issuers);
* :func:`custom_resource_problems` (from :mod:`.crdschema`): custom objects
  valid against the CRD of their kind found in the same rendering;
* :func:`openapi_problems`: built-in objects valid against the Kubernetes
  OpenAPI schemas of a release, through the ``kubernetes-validate`` package
  (a test dependency, imported only when called).
"""

from __future__ import annotations

import functools
import json
import re
from fractions import Fraction
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from kfctl.render.crdschema import crd_index, custom_resource_problems, structural_problems
from kfctl.render.model import Resource

__all__ = ["all_problems", "crd_index", "custom_resource_problems", "name_problems", "openapi_problems",
           "reference_problems", "structural_problems", "workload_problems"]

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

_LABEL_KINDS = {"Namespace", "Service"}
_SEGMENT_KINDS = {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}


def where(res: Resource) -> str:
    """``component: source: Kind/ns/name``: the prefix of every message here."""
    return f"{res.component}: {res.source}: {res.ref}"


# -- names -------------------------------------------------------------------

def _qualified_key_problem(key: str) -> str | None:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.match(prefix)):
        return f"label/annotation key {key!r}: prefix must be a DNS subdomain"
    if not name or len(name) > 63 or not LABEL_NAME.match(name):
        return f"label/annotation key {key!r}: name part must be 1-63 alphanumerics, '-', '_' or '.'"
    return None


def name_problems(res: Resource) -> list[str]:
    """Names, namespace, labels and annotation keys valid for the object's kind."""
    out = []
    name, kind = res.name, res.kind
    if kind in _LABEL_KINDS:
        pattern, what = (DNS_1035, "a DNS-1035 label") if kind == "Service" else (DNS_LABEL, "a DNS-1123 label")
        if len(name) > 63 or not pattern.match(name):
            out.append(f"name {name!r} must be {what} (at most 63 lower-case alphanumerics or '-')")
    elif kind in _SEGMENT_KINDS:
        if name in (".", "..") or "/" in name or "%" in name:
            out.append(f"name {name!r} must be a path segment (no '/' or '%')")
    elif len(name) > 253 or not DNS_SUBDOMAIN.match(name):
        out.append(f"name {name!r} must be a DNS-1123 subdomain (lower-case alphanumerics, '-', '.')")
    if kind == "CustomResourceDefinition":
        spec = res.body.get("spec") or {}
        expected = f"{(spec.get('names') or {}).get('plural')}.{spec.get('group')}"
        if name != expected:
            out.append(f"CRD name must be <plural>.<group> = {expected!r}")
    if kind == "CronJob" and len(name) > 52:
        out.append(f"CronJob name {name!r} is longer than 52 characters")
    ns = res.namespace
    if ns is not None and (len(ns) > 63 or not DNS_LABEL.match(ns)):
        out.append(f"namespace {ns!r} must be a DNS-1123 label")
    meta = res.body.get("metadata") or {}
    for key, value in (meta.get("labels") or {}).items():
        problem = _qualified_key_problem(str(key))
        if problem:
            out.append(problem)
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            out.append(f"label {key}: value {value!r} must be a string of at most 63 alphanumerics, '-', '_', '.'")
    for key, value in (meta.get("annotations") or {}).items():
        problem = _qualified_key_problem(str(key))
        if problem:
            out.append(problem)
        if not isinstance(value, str):
            out.append(f"annotation {key}: value must be a string, not {type(value).__name__} (quote it)")
    if kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        for hook in res.body.get("webhooks") or ():
            hook_name = str(hook.get("name", ""))
            if hook_name.count(".") < 2 or not DNS_SUBDOMAIN.match(hook_name):
                out.append(f"webhook name {hook_name!r} must be a fully qualified domain with at least three segments")
    return out


# -- workloads --------------------------------------------------------------------

_WORKLOADS = {("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "DaemonSet"), ("apps", "ReplicaSet"),
              ("batch", "Job")}
IANA_SVC_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def _pod_spec(res: Resource) -> Mapping[str, Any] | None:
    spec = res.body.get("spec") or {}
    if res.kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    elif (res.group, res.kind) not in _WORKLOADS and res.kind != "Pod":
        return None
    return spec if res.kind == "Pod" else (spec.get("template") or {}).get("spec")


_SUFFIX: dict[str, int | Fraction] = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": 1,
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")


def quantity(value: Any) -> Fraction | None:
    """A Kubernetes resource quantity as an exact number, or None if it is not one."""
    match = _QUANTITY.match(str(value).strip())
    if not match:
        return None
    try:
        return Fraction(match.group(1)) * _SUFFIX[match.group(2) or ""]
    except (ValueError, ZeroDivisionError):
        return None


def _resource_problems(field: str, container: Mapping[str, Any]) -> list[str]:
    out = []
    resources = container.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    for kind, amount in {**requests, **limits}.items():
        if quantity(amount) is None:
            out.append(f"{field}[{container.get('name')}].resources: {kind} {amount!r} is not a quantity")
    for kind, request in requests.items():
        low, high = quantity(request), quantity(limits.get(kind)) if kind in limits else None
        if low is not None and high is not None and low > high:
            out.append(f"{field}[{container.get('name')}].resources: {kind} request {request} exceeds its limit "
                       f"{limits[kind]}")
    return out


def workload_problems(res: Resource) -> list[str]:
    """What the API server checks beyond the OpenAPI schema: selector vs template labels, port names."""
    out = []
    spec = res.body.get("spec") or {}
    if (res.group, res.kind) in _WORKLOADS and "selector" in spec:
        wanted = (spec.get("selector") or {}).get("matchLabels") or {}
        have = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        missing = {k: v for k, v in wanted.items() if have.get(k) != v}
        if missing:
            out.append(f"spec.selector.matchLabels {dict(missing)} do not match spec.template.metadata.labels")
    pod = _pod_spec(res)
    for field in ("initContainers", "containers"):
        for container in (pod or {}).get(field) or ():
            out += _resource_problems(field, container)
            for port in container.get("ports") or ():
                name = port.get("name")
                if name is not None and (len(str(name)) > 15 or not IANA_SVC_NAME.match(str(name))):
                    out.append(f"{field}[{container.get('name')}].ports: name {name!r} must be at most 15 "
                               "lower-case alphanumerics or '-', with a letter")
    if res.kind == "Service" and res.group == "":
        for port in spec.get("ports") or ():
            name = port.get("name")
            if name is not None and (len(str(name)) > 63 or not DNS_LABEL.match(str(name))):
                out.append(f"spec.ports: name {name!r} must be a DNS-1123 label")
        if len(spec.get("ports") or ()) > 1 and any("name" not in p for p in spec.get("ports") or ()):
            out.append("spec.ports: every port needs a name when there are several")
    return out


# -- references between objects ------------------------------------------------------

def _index(resources: list[Resource]) -> set[tuple[str, str, str]]:
    return {(r.kind, r.namespace or "", r.name) for r in resources}


def reference_problems(res: Resource, index: set[tuple[str, str, str]]) -> list[str]:
    """References the deployment itself must satisfy: service accounts, webhook Services, CA injection, issuers.

    ``index`` holds (kind, namespace, name) of every object rendered with ``res``.
    """
    out = []
    ns = res.namespace or ""
    pod = _pod_spec(res)
    account = (pod or {}).get("serviceAccountName")
    if account and account != "default" and ("ServiceAccount", ns, account) not in index:
        out.append(f"serviceAccountName {account!r}: no ServiceAccount {ns}/{account} in this deployment")
    if res.kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        for hook in res.body.get("webhooks") or ():
            svc = (hook.get("clientConfig") or {}).get("service")
            if svc and ("Service", svc.get("namespace", ""), svc.get("name", "")) not in index:
                out.append(f"webhook {hook.get('name')}: calls Service {svc.get('namespace')}/{svc.get('name')}, "
                           "which this deployment does not render")
    if res.kind == "CustomResourceDefinition":
        conversion = ((res.body.get("spec") or {}).get("conversion") or {}).get("webhook") or {}
        svc = (conversion.get("clientConfig") or {}).get("service")
        if svc and ("Service", svc.get("namespace", ""), svc.get("name", "")) not in index:
            out.append(f"conversion webhook calls Service {svc.get('namespace')}/{svc.get('name')}, "
                       "which this deployment does not render")
    inject = ((res.body.get("metadata") or {}).get("annotations") or {}).get("cert-manager.io/inject-ca-from")
    if inject:
        cert_ns, _, cert = str(inject).partition("/")
        if ("Certificate", cert_ns, cert) not in index:
            out.append(f"cert-manager.io/inject-ca-from {inject!r}: no such Certificate in this deployment")
    if res.group == "cert-manager.io" and res.kind == "Certificate":
        ref = (res.body.get("spec") or {}).get("issuerRef") or {}
        kind = ref.get("kind", "Issuer")
        key = (kind, ns if kind == "Issuer" else "", ref.get("name", ""))
        if ref.get("group", "cert-manager.io") == "cert-manager.io" and key not in index:
            out.append(f"issuerRef {kind}/{ref.get('name')}: not in this deployment")
    return out


# -- built-in kinds -----------------------------------------------------------------

@functools.lru_cache(maxsize=4096)
def _openapi_cached(text: str, version: str) -> tuple[str, ...] | None:
    import kubernetes_validate  # test dependency: only needed here

    obj = json.loads(text)
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return None
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(p) for p in error.absolute_path) or "(root)"
        return (f"{path}: {error.message.splitlines()[0]}",)
    return ()


def openapi_problems(res: Resource, version: str = "1.32") -> list[str] | None:
    """Problems against the Kubernetes OpenAPI schema, or None when it has no schema for the kind."""
    result = _openapi_cached(json.dumps(res.to_dict(), sort_keys=True), version)
    return None if result is None else list(result)


def all_problems(resources: Iterable[Resource], *, version: str = "1.32",
                 provided: Iterable[tuple[str, str]] = ()) -> Iterator[str]:
    """Every problem of a rendering, one ``component: source: object: problem`` line each.

    ``provided`` lists (group, kind) pairs the cluster itself supplies (a
    cloud's CRDs); those get only name checks.
    """
    resources = list(resources)
    crds = crd_index(resources)
    provided = set(provided)
    index = _index(resources)
    for res in resources:
        problems = name_problems(res) + workload_problems(res) + reference_problems(res, index)
        if res.kind == "CustomResourceDefinition":
            problems += structural_problems(res.body)
        key = (res.group, res.kind)
        if key in crds:
            problems += custom_resource_problems(res, crds[key])
        elif key not in provided:
            found = openapi_problems(res, version)
            if found is None:
                problems.append(f"no schema: {res.api_version} {res.kind} is neither a Kubernetes {version} kind "
                                "nor defined by a CRD in this deployment")
            else:
                problems += found
        for problem in problems:
            yield f"{where(res)}: {problem}"
