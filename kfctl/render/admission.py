"""What the API server would refuse, found before the first write.

Every command that renders a KfDef (validate, generate, show, diff, apply)
runs these checks over every rendered object, bundle or repo application, so
that a value the server refuses (an annotation key ``bad key!!``, ``cpu:
lots``, a bad CIDR, ``replicas: 99999999999999999999``, upstream 1.10's
``$(profile-name)`` Profile) is an input error naming its source, exit 2,
with nothing written, instead of a failure halfway through an install.

The checks are the API server's own validation rules that need no cluster:
names and namespaces valid for their kind, label and annotation keys and
values, resource quantities, integer fields within their type's range,
CIDRs and IPs, unresolved kustomize variables, structural CRD schemas and
custom objects against the CRDs in the same rendering (from
:mod:`kfctl.render.checks`). The Kubernetes OpenAPI schemas
(``kubernetes-validate``) are checked by ``kfctl validate --openapi``: that
takes about ten seconds for a full install, too long for every command.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kfctl.render.checks import (
    crd_index,
    custom_resource_problems,
    name_problems,
    structural_problems,
    workload_problems,
)
from kfctl.render.model import Resource

INT32 = (-(2**31), 2**31 - 1)
#: kustomize's ``$(VAR)`` left in place when a variable or replacement did not resolve
UNRESOLVED = re.compile(r"\$\([A-Za-z0-9_.-]+\)")

#: integer fields by path (``*`` any list item), with their allowed range
_INT_FIELDS: tuple[tuple[str, tuple[int, int]], ...] = (
    ("spec.replicas", (0, INT32[1])),
    ("spec.minReadySeconds", (0, INT32[1])),
    ("spec.progressDeadlineSeconds", (1, INT32[1])),
    ("spec.revisionHistoryLimit", (0, INT32[1])),
    ("spec.ports.*.port", (1, 65535)),
    ("spec.ports.*.nodePort", (0, 65535)),
    ("spec.parallelism", (0, INT32[1])),
    ("spec.completions", (0, INT32[1])),
    ("spec.backoffLimit", (0, INT32[1])),
)
_POD_INT_FIELDS: tuple[tuple[str, tuple[int, int]], ...] = (
    ("containers.*.ports.*.containerPort", (1, 65535)),
    ("initContainers.*.ports.*.containerPort", (1, 65535)),
    ("terminationGracePeriodSeconds", (0, 2**63 - 1)),
)
_CIDR_FIELDS = ("spec.loadBalancerSourceRanges.*", "spec.ingress.*.from.*.ipBlock.cidr",
                "spec.egress.*.to.*.ipBlock.cidr", "spec.ingress.*.from.*.ipBlock.except.*",
                "spec.egress.*.to.*.ipBlock.except.*")


@dataclass(frozen=True)
class Refusal:
    resource: Resource
    problem: str

    def __str__(self) -> str:
        res = self.resource
        return f"{res.component}: {res.source}: {res.ref}: {self.problem}"


def _walk(node: Any, parts: list[str], path: str = "") -> Iterator[tuple[str, Any]]:
    if not parts:
        yield path, node
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        if isinstance(node, (list, tuple)):
            for i, item in enumerate(node):
                yield from _walk(item, rest, f"{path}[{i}]")
        return
    if isinstance(node, Mapping) and head in node:
        yield from _walk(node[head], rest, f"{path}.{head}" if path else head)


def _int_problem(path: str, value: Any, low: int, high: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            return f"{path}: {value!r} is not an integer"
    if not low <= value <= high:
        return f"{path}: {value} is out of range ({low} to {high})"
    return None


def _pod_spec_path(res: Resource) -> str | None:
    if res.kind == "Pod":
        return "spec"
    if res.kind == "CronJob":
        return "spec.jobTemplate.spec.template.spec"
    if res.group in ("apps", "batch") and res.kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return "spec.template.spec"
    return None


def value_problems(res: Resource) -> list[str]:
    """Integer ranges, CIDRs, and unresolved kustomize variables in names."""
    out: list[str] = []
    body = res.body
    fields = list(_INT_FIELDS)
    pod = _pod_spec_path(res)
    if pod:
        fields += [(f"{pod}.{p}", r) for p, r in _POD_INT_FIELDS]
    for spec, (low, high) in fields:
        for path, value in _walk(body, spec.split(".")):
            problem = _int_problem(path, value, low, high)
            if problem:
                out.append(problem)
    if (res.group, res.kind) in (("", "Service"), ("networking.k8s.io", "NetworkPolicy")):
        for spec in _CIDR_FIELDS:
            for path, value in _walk(body, spec.split(".")):
                try:
                    ipaddress.ip_network(str(value), strict=False)
                except ValueError:
                    out.append(f"{path}: {value!r} is not a CIDR")
    if res.kind == "Service" and res.group == "":
        ip = (body.get("spec") or {}).get("clusterIP")
        if ip not in (None, "", "None"):
            try:
                ipaddress.ip_address(str(ip))
            except ValueError:
                out.append(f"spec.clusterIP: {ip!r} is not an IP address")
    meta = body.get("metadata") or {}
    for field in ("name", "namespace"):
        value = str(meta.get(field) or "")
        if UNRESOLVED.search(value):
            out.append(f"metadata.{field} {value!r} holds an unresolved kustomize variable")
    return out


def refusals(resources: Iterable[Resource]) -> list[Refusal]:
    """Every object the API server would refuse, with why (several lines for one object are possible)."""
    resources = list(resources)
    crds = crd_index(resources)
    found: list[Refusal] = []
    for res in resources:
        problems = name_problems(res) + workload_problems(res) + value_problems(res)
        if res.kind == "CustomResourceDefinition" and res.group == "apiextensions.k8s.io":
            problems += structural_problems(res.body)
        key = (res.group, res.kind)
        if key in crds:
            # a namespace on a cluster-scoped custom object is cleared by the API server, not refused
            problems += [p for p in custom_resource_problems(res, crds[key])
                         if not p.startswith("scope is Cluster but the object has a namespace")]
        found.extend(Refusal(res, p) for p in dict.fromkeys(problems))
    return found
