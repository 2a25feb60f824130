"""The APIs check: every kind the plan uses is served (or defined by a CRD in the plan), in a version that stays.

Unserved kinds are :func:`kfctl.engine.preflight.unserved_kinds` (apply
refuses them too). Deprecated versions are flagged from two sources: the
built-in table below of API versions Kubernetes removed (a failure on a
server at or past the removal, a warning before it), and a CRD's own
``deprecated: true`` on a version, in the plan or on the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kfctl.engine.checks.model import FAIL, PASS, WARN, Facts, Finding
from kfctl.engine.checks.version import server_minor
from kfctl.engine.preflight import unserved_kinds
from kfctl.plan import Plan

#: (apiVersion, kind or "*") -> (Kubernetes minor that removed it, what to use instead)
#: from the Kubernetes deprecation guide
REMOVED: Mapping[tuple[str, str], tuple[tuple[int, int], str]] = {
    ("extensions/v1beta1", "*"): ((1, 22), "apps/v1 or networking.k8s.io/v1"),
    ("apps/v1beta1", "*"): ((1, 16), "apps/v1"),
    ("apps/v1beta2", "*"): ((1, 16), "apps/v1"),
    ("networking.k8s.io/v1beta1", "*"): ((1, 22), "networking.k8s.io/v1"),
    ("apiextensions.k8s.io/v1beta1", "*"): ((1, 22), "apiextensions.k8s.io/v1"),
    ("admissionregistration.k8s.io/v1beta1", "*"): ((1, 22), "admissionregistration.k8s.io/v1"),
    ("apiregistration.k8s.io/v1beta1", "*"): ((1, 22), "apiregistration.k8s.io/v1"),
    ("rbac.authorization.k8s.io/v1beta1", "*"): ((1, 22), "rbac.authorization.k8s.io/v1"),
    ("scheduling.k8s.io/v1beta1", "*"): ((1, 22), "scheduling.k8s.io/v1"),
    ("coordination.k8s.io/v1beta1", "*"): ((1, 22), "coordination.k8s.io/v1"),
    ("certificates.k8s.io/v1beta1", "*"): ((1, 22), "certificates.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"): ((1, 27), "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "*"): ((1, 22), "storage.k8s.io/v1"),
    ("batch/v1beta1", "*"): ((1, 25), "batch/v1"),
    ("policy/v1beta1", "*"): ((1, 25), "policy/v1 (PodSecurityPolicy: Pod Security admission)"),
    ("discovery.k8s.io/v1beta1", "*"): ((1, 25), "discovery.k8s.io/v1"),
    ("events.k8s.io/v1beta1", "*"): ((1, 25), "events.k8s.io/v1"),
    ("autoscaling/v2beta1", "*"): ((1, 25), "autoscaling/v2"),
    ("autoscaling/v2beta2", "*"): ((1, 26), "autoscaling/v2"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "*"): ((1, 26), "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "*"): ((1, 29), "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "*"): ((1, 32), "flowcontrol.apiserver.k8s.io/v1"),
}

#: still served, deprecated: (apiVersion, kind) -> what to use instead
DEPRECATED: Mapping[tuple[str, str], str] = {
    ("v1", "Endpoints"): "discovery.k8s.io/v1 EndpointSlice (core v1 Endpoints is deprecated since 1.33)",
    ("v1", "ComponentStatus"): "the API server's /livez and /readyz",
}


def _crd_deprecations(crds: list[Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    """(apiVersion, kind) -> the CRD's deprecationWarning, for every version a CRD marks deprecated."""
    out: dict[tuple[str, str], str] = {}
    for crd in crds:
        spec = crd.get("spec") or {}
        kind = str((spec.get("names") or {}).get("kind", ""))
        for version in spec.get("versions") or ():
            if version.get("deprecated"):
                api_version = f"{spec.get('group')}/{version.get('name')}"
                out[(api_version, kind)] = str(version.get("deprecationWarning") or f"{api_version} {kind} is deprecated")
    return out


def judge_versions(plan: Plan, server: tuple[int, int] | None, live_crds: list[Mapping[str, Any]]) -> list[Finding]:
    """Deprecated and removed API versions the plan writes (pure)."""
    planned_crds = [n.manifest for r, n in plan.nodes.items() if r.kind == "CustomResourceDefinition"]
    # the plan's own CRDs are what the cluster will serve after apply: they win over the live ones
    deprecated = _crd_deprecations(live_crds) | _crd_deprecations(planned_crds)
    used: dict[tuple[str, str], list[str]] = {}
    for ref, node in plan.nodes.items():
        used.setdefault((str(node.manifest.get("apiVersion")), ref.kind), []).append(str(ref))
    out: list[Finding] = []
    for (api_version, kind), refs in sorted(used.items()):
        shown = ", ".join(refs[:2]) + (f" and {len(refs) - 2} more" if len(refs) > 2 else "")
        removed = REMOVED.get((api_version, kind)) or REMOVED.get((api_version, "*"))
        if removed:
            (major, minor), instead = removed
            gone = server is not None and server >= (major, minor)
            out.append(Finding("apis", FAIL if gone else WARN,
                               f"{kind} {api_version} ({shown}) was removed in Kubernetes {major}.{minor}"
                               + (" and this server does not serve it" if gone else ""),
                               fix=f"use {instead} in the bundle or overlay that writes it"))
        elif (api_version, kind) in DEPRECATED or (api_version, kind) in deprecated:
            why = DEPRECATED.get((api_version, kind)) or deprecated[(api_version, kind)]
            out.append(Finding("apis", WARN, f"{kind} {api_version} ({shown}) is deprecated: {why}",
                               fix="move to the newer version in the bundle or overlay that writes it"))
    return out


def check_apis(cluster: Any, plan: Plan, facts: Facts) -> list[Finding]:
    unserved = unserved_kinds(cluster, plan)
    server = server_minor(cluster.server_version()) if hasattr(cluster, "server_version") else None
    live_crds: list[Mapping[str, Any]] = []
    if cluster.serves("apiextensions.k8s.io/v1", "CustomResourceDefinition"):
        groups = {r.group for r in plan.nodes if r.group}
        items, _ = cluster.list("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        live_crds = [c for c in items if (c.get("spec") or {}).get("group") in groups]
    out: list[Finding] = []
    if unserved:
        out.append(Finding("apis", FAIL, f"{len(unserved)} kinds of the plan are not served and no CRD in it defines "
                           "them", fix="install what provides them first, or leave those objects out",
                           details=tuple(unserved)))
    out += judge_versions(plan, server, live_crds)
    if not out:
        kinds = len({(str(n.manifest.get("apiVersion")), r.kind) for r, n in plan.nodes.items()})
        out.append(Finding("apis", PASS, f"all {kinds} kinds of the plan are served or defined by its CRDs, none "
                           "in a deprecated version"))
    return out
