"""Discovery and OpenAPI documents, computed from the type table.

Both discovery flavours are served: legacy (``/api``, ``/apis``,
``/apis/<g>/<v>``) and, for clients that ask for it with
``Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList``
(kubectl 1.37 does), aggregated discovery v2 in one document per root. A
client asking only for v2beta1 gets the legacy document, as from a server that
no longer serves the beta, and falls back.
OpenAPI v3 is served only as far as kubectl needs it: a root index and, per
group-version, the PATCH operations declaring the ``fieldValidation`` query
parameter, so kubectl leaves validation to the server.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kfctl.sim.types import SUBRESOURCE_VERBS, ResourceType, TypeRegistry

SERVER_VERSION = {
    "major": "1", "minor": "37", "emulationMajor": "1", "emulationMinor": "37",
    "minCompatibilityMajor": "1", "minCompatibilityMinor": "36",
    "gitVersion": "v1.37.0-kfctl-sim", "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.25.0", "compiler": "gc",
    "platform": "linux/amd64",
}


def server_version(git_version: str = "") -> dict[str, Any]:
    """What ``/version`` answers: the sim's own version, or a shape's older one (``v1.29.4``).

    An older version changes only this document and the nodes' kubelet versions; discovery still serves every
    kind the sim has (a deliberate difference, see kfctl/sim/README.md). Versions before 1.31 carry no
    emulation or compatibility fields, as their servers did not.
    """
    if not git_version:
        return dict(SERVER_VERSION)
    major, minor = git_version.lstrip("v").split(".")[:2]
    doc = {**SERVER_VERSION, "major": major, "minor": minor, "gitVersion": git_version}
    if (int(major), int(minor)) < (1, 31):
        for key in ("emulationMajor", "emulationMinor", "minCompatibilityMajor", "minCompatibilityMinor"):
            doc.pop(key)
    else:
        doc.update(emulationMajor=major, emulationMinor=minor, minCompatibilityMajor=major,
                   minCompatibilityMinor=str(int(minor) - 1))
    return doc


def api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_doc(group: str, versions: list[str]) -> dict[str, Any]:
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list(types: TypeRegistry) -> dict[str, Any]:
    groups = [_group_doc(g, vs) for g, vs in types.groups() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(types: TypeRegistry, group: str) -> dict[str, Any] | None:
    for name, versions in types.groups():
        if name == group and group:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group, versions)}
    return None


def _storage_hash(rtype: ResourceType) -> str:
    digest = hashlib.sha256(f"{rtype.group}/{rtype.storage_version or rtype.version}/{rtype.kind}".encode())
    return __import__("base64").b64encode(digest.digest()[:8]).decode()


def resource_list(types: TypeRegistry, group: str, version: str) -> dict[str, Any] | None:
    found = sorted(types.resources(group, version), key=lambda t: t.plural)
    if not found:
        return None
    resources: list[dict[str, Any]] = []
    for rtype in found:
        entry: dict[str, Any] = {"name": rtype.plural, "singularName": rtype.singular, "namespaced": rtype.namespaced,
                                 "kind": rtype.kind, "verbs": sorted(rtype.verbs)}
        if rtype.short_names:
            entry["shortNames"] = list(rtype.short_names)
        if rtype.categories:
            entry["categories"] = list(rtype.categories)
        if "create" in rtype.verbs and len(rtype.verbs) > 1:
            entry["storageVersionHash"] = _storage_hash(rtype)
        resources.append(entry)
        for sub in rtype.subresources:
            sub_entry: dict[str, Any] = {"name": f"{rtype.plural}/{sub}", "singularName": "",
                                         "namespaced": rtype.namespaced, "kind": rtype.kind,
                                         "verbs": sorted(SUBRESOURCE_VERBS)}
            if sub == "scale":
                sub_entry.update(group="autoscaling", version="v1", kind="Scale")
            if sub == "finalize":
                sub_entry["verbs"] = ["update"]
            resources.append(sub_entry)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


# -- OpenAPI v3 ------------------------------------------------------------------

def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def openapi_gv(types: TypeRegistry, group: str, version: str) -> dict[str, Any] | None:
    """A minimal OpenAPI v3 document for one group-version (paths + PATCH parameters)."""
    found = types.resources(group, version)
    if not found:
        return None
    params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
              for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
    paths: dict[str, Any] = {}
    for rtype in found:
        base = "/" + _gv_path(group, version)
        prefix = f"{base}/namespaces/{{namespace}}/{rtype.plural}" if rtype.namespaced else f"{base}/{rtype.plural}"
        gvk = {"group": group, "version": version, "kind": rtype.kind}
        item: dict[str, Any] = {}
        if "get" in rtype.verbs:
            item["get"] = {"operationId": f"read{rtype.kind}", "x-kubernetes-action": "get",
                           "x-kubernetes-group-version-kind": gvk}
        if "patch" in rtype.verbs:
            item["patch"] = {"operationId": f"patch{rtype.kind}", "x-kubernetes-action": "patch",
                             "x-kubernetes-group-version-kind": gvk, "parameters": params}
        if "update" in rtype.verbs:
            item["put"] = {"operationId": f"replace{rtype.kind}", "x-kubernetes-action": "put",
                           "x-kubernetes-group-version-kind": gvk, "parameters": params}
        paths[f"{prefix}/{{name}}"] = item
        coll: dict[str, Any] = {}
        if "create" in rtype.verbs:
            coll["post"] = {"operationId": f"create{rtype.kind}", "x-kubernetes-action": "post",
                            "x-kubernetes-group-version-kind": gvk, "parameters": params}
        paths[prefix] = coll
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes (kfctl sim)", "version": "v1.37.0"},
            "paths": paths, "components": {"schemas": {}}}


OPENAPI_V2_PROTOBUF = "application/octet-stream"  # what kube-openapi answers a protobuf request with
OPENAPI_V2_EMPTY = {"swagger": "2.0", "info": {"title": "Kubernetes (kfctl sim)", "version": "v1.37.0"},
                    "paths": {}, "definitions": {}}


def openapi_root(types: TypeRegistry) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for group, versions in types.groups():
        for version in versions:
            doc = openapi_gv(types, group, version)
            digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32].upper()
            path = _gv_path(group, version)
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}


# -- aggregated discovery (apidiscovery.k8s.io/v2) ---------------------------------

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def wants_aggregated(accept: str) -> bool:
    """True when the Accept header lists aggregated discovery v2."""
    return any(part.replace(" ", "") == AGGREGATED_V2 for part in accept.split(","))


def _aggregated_resource(rtype: ResourceType) -> dict[str, Any]:
    gvk = {"group": rtype.group, "version": rtype.version, "kind": rtype.kind}
    entry: dict[str, Any] = {"resource": rtype.plural, "responseKind": gvk,
                             "scope": "Namespaced" if rtype.namespaced else "Cluster",
                             "singularResource": rtype.singular, "verbs": sorted(rtype.verbs)}
    if rtype.short_names:
        entry["shortNames"] = list(rtype.short_names)
    if rtype.categories:
        entry["categories"] = list(rtype.categories)
    subs = []
    for sub in rtype.subresources:
        kind = {"group": "autoscaling", "version": "v1", "kind": "Scale"} if sub == "scale" else gvk
        subs.append({"subresource": sub, "responseKind": kind,
                     "verbs": ["update"] if sub == "finalize" else sorted(SUBRESOURCE_VERBS)})
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated(types: TypeRegistry, *, core: bool) -> dict[str, Any]:
    """The ``APIGroupDiscoveryList`` for ``/api`` (core) or ``/apis`` (every named group)."""
    items = []
    for group, versions in types.groups():
        if (group == "") != core:
            continue
        docs = []
        for version in versions:
            resources = sorted(types.resources(group, version), key=lambda t: t.plural)
            docs.append({"version": version, "resources": [_aggregated_resource(t) for t in resources],
                         "freshness": "Current"})
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": docs})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
            "items": items}
