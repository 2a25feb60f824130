"""The capacity check: will the plan's pods fit the nodes, and will quotas and limit ranges let them in?

Three questions, from the plan's pod templates (:mod:`.planned`) and the
cluster: the sum of the pods' requests against the allocatable cpu and
memory of the nodes Kubeflow's pods can use; the largest pod against the
largest such node (a pod never spans nodes); and, in every namespace of the
plan, a ResourceQuota whose hard limits the plan's pods exceed or that
demands requests or limits a container lacks, and a LimitRange whose min or
max a container is outside of. Scoped quotas (``scopes``/``scopeSelector``)
are not judged: they apply to some pods only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from kfctl.engine.checks.model import FAIL, PASS, WARN, Facts, Finding
from kfctl.engine.checks.planned import PlannedPod, planned_pods
from kfctl.engine.compare import quantity
from kfctl.plan import Plan

ZERO = Decimal(0)


def show(key: str, amount: Decimal) -> str:
    """``cpu`` in cores (``2.5``, ``250m``), memory in Gi or Mi."""
    if key == "cpu":
        return f"{amount.quantize(Decimal('0.01')).normalize():f}" if amount >= 1 else f"{int(amount * 1000)}m"
    if key == "memory":
        gib = amount / Decimal(2**30)
        return f"{gib.quantize(Decimal('0.1')).normalize():f}Gi" if gib >= 1 else f"{int(amount / 2**20)}Mi"
    return f"{amount.normalize():f}"


def _amount(values: Mapping[str, Any], key: str) -> Decimal:
    return quantity(values.get(key)) or ZERO


def totals(pods: list[PlannedPod], nodes: int) -> dict[str, Decimal]:
    """Sum of the plan's pod requests; a DaemonSet's pods once per usable node."""
    out: dict[str, Decimal] = {"cpu": ZERO, "memory": ZERO}
    for pod in pods:
        times = pod.count * (nodes if pod.per_node else 1)
        for key in out:
            out[key] += pod.requests.get(key, ZERO) * times
    return out


def judge_nodes(pods: list[PlannedPod], allocatable: list[tuple[str, Mapping[str, Any]]]) -> list[Finding]:
    """Sum and largest pod against the usable nodes' allocatable ``(name, allocatable)`` (pure)."""
    if not allocatable:
        return [Finding("capacity", FAIL, "no node can run Kubeflow's pods, so none of the plan's pods fits",
                        fix="see the nodes check")]
    want = totals(pods, len(allocatable))
    have = {key: sum((_amount(a, key) for _, a in allocatable), ZERO) for key in want}
    out: list[Finding] = []
    short = [key for key in want if want[key] > have[key]]
    figures = ", ".join(f"{key} {show(key, want[key])} of {show(key, have[key])}" for key in want)
    if short:
        out.append(Finding("capacity", FAIL, f"the plan's pods request more than the nodes have: {figures} "
                           f"allocatable on {len(allocatable)} nodes",
                           fix="add nodes (or larger ones), or leave components out of spec.applications"))
    elif any(have[key] and want[key] > have[key] * Decimal("0.8") for key in want):
        out.append(Finding("capacity", WARN, f"the plan's pods take most of the nodes: {figures} allocatable "
                           f"on {len(allocatable)} nodes (the pods already running need room too)",
                           fix="add nodes before users start notebooks and pipelines"))
    else:
        out.append(Finding("capacity", PASS, f"the plan's pods request {figures} allocatable on "
                           f"{len(allocatable)} nodes"))
    biggest = max(allocatable, key=lambda item: (_amount(item[1], "cpu"), _amount(item[1], "memory")))
    misfits = [p for p in pods if not any(all(p.requests.get(k, ZERO) <= _amount(a, k) for k in ("cpu", "memory"))
                                          for _, a in allocatable)]
    if misfits:
        details = tuple(f"{p.ref} [{p.component}] requests "
                        + ", ".join(f"{k} {show(k, p.requests.get(k, ZERO))}" for k in ("cpu", "memory"))
                        for p in misfits)
        out.append(Finding("capacity", FAIL, f"{len(misfits)} pods fit on no node (the largest, {biggest[0]}, has "
                           f"cpu {show('cpu', _amount(biggest[1], 'cpu'))}, memory "
                           f"{show('memory', _amount(biggest[1], 'memory'))} allocatable)",
                           fix="add a larger node, or lower the component's resource parameters", details=details))
    elif pods:
        largest = max(pods, key=lambda p: (p.requests.get("memory", ZERO), p.requests.get("cpu", ZERO)))
        out.append(Finding("capacity", PASS, f"the largest pod, {largest.ref} (memory "
                           f"{show('memory', largest.requests.get('memory', ZERO))}), fits on node {biggest[0]}"))
    return out


def _quota_keys(hard: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Quota key -> (requests or limits, resource) for what this check judges."""
    out: dict[str, tuple[str, str]] = {}
    for key in hard:
        if key in ("cpu", "memory"):
            out[key] = ("requests", key)
        elif key.startswith(("requests.", "limits.")):
            field, resource = key.split(".", 1)
            out[key] = (field, resource)
    return out


def judge_quota(quota: Mapping[str, Any], pods: list[PlannedPod], defaults: Mapping[str, set[str]]) -> list[str]:
    """Why a namespace's ResourceQuota would refuse some of the plan's pods, one line each (pure).

    ``defaults``: which of ``requests``/``limits`` a LimitRange of the namespace fills in (per resource name)."""
    spec = quota.get("spec") or {}
    if spec.get("scopes") or spec.get("scopeSelector"):
        return []
    hard = spec.get("hard") or {}
    used = (quota.get("status") or {}).get("used") or {}
    name = f"ResourceQuota/{(quota.get('metadata') or {}).get('namespace')}/{(quota.get('metadata') or {}).get('name')}"
    problems: list[str] = []
    for key, (field, resource) in sorted(_quota_keys(hard).items()):
        limit = quantity(hard.get(key))
        if limit is None:
            continue
        values = [(p, (p.requests if field == "requests" else p.limits).get(resource)) for p in pods]
        if resource in ("cpu", "memory") and resource not in defaults.get(field, set()):
            lacking = [p for p, v in values if v is None]
            if lacking:
                problems.append(f"{name} limits {key}, so pods must set {field}.{resource}, and "
                                f"{len(lacking)} of the plan's do not (e.g. {lacking[0].ref}): they are refused")
        want = sum(((v or ZERO) * p.count for p, v in values), ZERO)
        if want > limit:
            problems.append(f"{name} allows {key} {show(resource, limit)} (used now: "
                            f"{used.get(key, '0')}), the plan's pods need {show(resource, want)}")
    if "pods" in hard and (quantity(hard["pods"]) or ZERO) < sum(p.count for p in pods):
        problems.append(f"{name} allows {hard['pods']} pods, the plan runs {sum(p.count for p in pods)} here")
    return problems


def judge_limit_range(limit_range: Mapping[str, Any], pods: list[PlannedPod]) -> list[str]:
    """Containers of the plan's pods outside a LimitRange's Container min/max (pure)."""
    meta = limit_range.get("metadata") or {}
    name = f"LimitRange/{meta.get('namespace')}/{meta.get('name')}"
    problems: list[str] = []
    for item in (limit_range.get("spec") or {}).get("limits") or ():
        if item.get("type") != "Container":
            continue
        for pod in pods:
            for container in pod.containers:
                resources = container.get("resources") or {}
                for resource in ("cpu", "memory"):
                    request = quantity((resources.get("requests") or {}).get(resource))
                    limit = quantity((resources.get("limits") or {}).get(resource))
                    top = quantity((item.get("max") or {}).get(resource))
                    bottom = quantity((item.get("min") or {}).get(resource))
                    value = limit if limit is not None else request
                    if top is not None and value is not None and value > top:
                        problems.append(f"{name} allows {resource} up to {show(resource, top)}; container "
                                        f"{container.get('name')} of {pod.ref} sets {show(resource, value)}")
                    if bottom is not None and request is not None and request < bottom:
                        problems.append(f"{name} needs {resource} of at least {show(resource, bottom)}; container "
                                        f"{container.get('name')} of {pod.ref} requests {show(resource, request)}")
    return problems


def _defaults(ranges: list[Mapping[str, Any]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {"requests": set(), "limits": set()}
    for limit_range in ranges:
        for item in (limit_range.get("spec") or {}).get("limits") or ():
            if item.get("type") == "Container":
                out["limits"] |= set(item.get("default") or {})
                # a default limit is also the default request when no defaultRequest is given
                out["requests"] |= set(item.get("defaultRequest") or {}) | set(item.get("default") or {})
    return out


def check_capacity(cluster: Any, plan: Plan, facts: Facts, rows: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """``rows``: the nodes check's rows (which nodes are usable); the node list is read again for allocatable."""
    from kfctl.engine.checks.nodes import usable

    pods = planned_pods(plan)
    good = {r["name"] for r in rows if usable(r)}
    nodes, _ = cluster.list("v1", "Node")
    allocatable = [(str((n.get("metadata") or {}).get("name")), (n.get("status") or {}).get("allocatable") or {})
                   for n in nodes if (n.get("metadata") or {}).get("name") in good]
    return judge_nodes(pods, sorted(allocatable))


def check_quotas(cluster: Any, plan: Plan, facts: Facts) -> list[Finding]:
    """ResourceQuotas and LimitRanges of every namespace the plan runs pods in, against those pods."""
    pods = planned_pods(plan)
    problems: list[str] = []
    for namespace in sorted({p.ref.namespace for p in pods if p.ref.namespace}):
        here = [p for p in pods if p.ref.namespace == namespace and not p.per_node]
        quotas, _ = cluster.list("v1", "ResourceQuota", namespace=namespace)
        ranges, _ = cluster.list("v1", "LimitRange", namespace=namespace)
        for limit_range in ranges:
            problems += judge_limit_range(limit_range, here)
        for quota in quotas:
            problems += judge_quota(quota, here, _defaults(ranges))
    if problems:
        return [Finding("quotas", FAIL, f"{len(problems)} ResourceQuota or LimitRange rules would refuse the "
                        "plan's pods", fix="raise the quota or limit range in those namespaces (a cluster admin), "
                        "or lower the components' resource parameters", details=tuple(problems))]
    return [Finding("quotas", PASS, "no ResourceQuota or LimitRange in the plan's namespaces refuses its pods")]
