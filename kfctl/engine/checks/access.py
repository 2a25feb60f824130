"""The permissions check: may these credentials do what apply does with every kind of the plan?

Built on :mod:`kfctl.engine.permissions` (one SelfSubjectAccessReview ``*``
on ``*`` for an admin, else one per verb, resource and namespace). Writing
(patch, create), reading back (get) and listing and watching each kind in
all namespaces (apply's readiness trackers) are required: without them apply
fails part-way. ``delete`` is a warning: only prune and ``kfctl delete`` need it.
"""

from __future__ import annotations

from typing import Any

from kfctl.engine.checks.model import FAIL, PASS, WARN, Facts, Finding, counted
from kfctl.engine.permissions import CLUSTER_WIDE_VERBS, HINT, READ_VERBS, VERBS, missing_access, who
from kfctl.plan import Plan


def check_permissions(cluster: Any, plan: Plan, facts: Facts, *, prune: bool = True) -> list[Finding]:
    required = missing_access(cluster, plan, verbs=VERBS + READ_VERBS, cluster_wide=CLUSTER_WIDE_VERBS)
    out: list[Finding] = []
    if required:
        out.append(Finding("permissions", FAIL, f"{who(cluster)} may not do {counted(len(required), 'thing')} apply does",
                           fix=HINT.replace("these verbs", "these verbs (get, list and watch: apply reads back and "
                                            "watches what it writes)"), details=tuple(required)))
    if prune:
        deleting = missing_access(cluster, plan, verbs=("delete",))
        if deleting:
            out.append(Finding("permissions", WARN, f"{who(cluster)} may not delete {counted(len(deleting), 'resource')} of "
                               "the plan: prune and kfctl delete will fail on them",
                               fix="grant delete on them, or apply with --no-prune and leave deleting to an admin",
                               details=tuple(deleting)))
    if not out:
        out.append(Finding("permissions", PASS, f"{who(cluster)} may do everything apply does with the plan's "
                           f"{len(plan)} objects"))
    return out
