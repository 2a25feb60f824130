"""``kfctl check``: what in this cluster would make this plan fail, found before anything is written.

Install failures on real clusters mostly come from what was already there or
missing: cert-manager installed by Helm, no default StorageClass, a token
that may not create ClusterRoles, nodes too small, no GPUs. Each check reads
the cluster and the plan and returns :class:`Finding` lines (pass, warn or
fail, with how to fix it). :func:`run_checks` runs them all for ``kfctl
check``; :func:`hard_checks` runs the fast ones that decide whether ``kfctl
apply`` may start (version, what the cluster lacks, permissions, objects of
other owners), so apply refuses with nothing written. A check the
credentials may not make (a 403 on a read) is a warning, not a failure.

The checks, one module each: :mod:`.version`, :mod:`.nodes` (and GPUs),
:mod:`.capacity` (and quotas), :mod:`.storage`, :mod:`.access`
(permissions), :mod:`.owners` (already there), :mod:`.apis`, and
:mod:`.supplied` (what the cluster provides, images left on public registries).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kfctl.engine.checks.access import check_permissions
from kfctl.engine.checks.apis import check_apis
from kfctl.engine.checks.capacity import check_capacity, check_quotas
from kfctl.engine.checks.model import FAIL, PASS, WARN, Facts, Finding, Report
from kfctl.engine.checks.nodes import check_nodes
from kfctl.engine.checks.owners import check_owners
from kfctl.engine.checks.storage import check_storage, pending_claims
from kfctl.engine.checks.supplied import check_images, check_provided
from kfctl.engine.checks.version import check_version
from kfctl.engine.preflight import missing_storage
from kfctl.errors import ApiError
from kfctl.plan import Plan

__all__ = ["FAIL", "PASS", "WARN", "Facts", "Finding", "Report", "hard_checks", "run_checks"]

#: the checks in the order they print
CHECKS = ("version", "nodes", "gpus", "capacity", "quotas", "storage", "permissions", "already-there", "apis",
          "provided", "images")


def _guarded(name: str, run: Callable[[], list[Finding]]) -> list[Finding]:
    """A check's findings, or one warning when the cluster refused to answer what it needed to read."""
    try:
        return run()
    except ApiError as exc:
        why = "these credentials may not read it" if exc.status == 403 else "the API server answered an error"
        return [Finding(name, WARN, f"could not check: {exc.message} ({why})",
                        fix="run kfctl check with credentials that may read it, or check this by hand")]


def run_checks(cluster: Any, plan: Plan, facts: Facts) -> Report:
    """Every check, in :data:`CHECKS` order."""
    findings: list[Finding] = []
    rows: list[dict[str, Any]] = []
    findings += _guarded("version", lambda: check_version(cluster, plan, facts))

    def nodes() -> list[Finding]:
        found, table = check_nodes(cluster, plan, facts)
        rows.extend(table)
        return found

    findings += _guarded("nodes", nodes)
    findings += _guarded("capacity", lambda: check_capacity(cluster, plan, facts, rows))
    findings += _guarded("quotas", lambda: check_quotas(cluster, plan, facts))
    findings += _guarded("storage", lambda: check_storage(cluster, plan, facts))
    findings += _guarded("permissions", lambda: check_permissions(cluster, plan, facts))
    findings += _guarded("already-there", lambda: check_owners(cluster, plan, facts))
    findings += _guarded("apis", lambda: check_apis(cluster, plan, facts))
    findings += _guarded("provided", lambda: check_provided(cluster, plan, facts))
    findings += check_images(facts)
    return Report(tuple(findings), tuple(rows))


def hard_checks(cluster: Any, plan: Plan, facts: Facts) -> list[Finding]:
    """The failures that make ``kfctl apply`` refuse before its first write: a Kubernetes version older than a
    component supports, a kind nobody serves or a StorageClass nobody has, a missing permission, and objects
    of other owners apply would refuse (not with ``--adopt``). Fast: a few dozen requests for a full Kubeflow."""
    from kfctl.engine.preflight import unserved_kinds

    found: list[Finding] = []
    found += _guarded("version", lambda: check_version(cluster, plan, facts))
    lacking = unserved_kinds(cluster, plan)
    if lacking:
        found.append(Finding("apis", FAIL, f"{len(lacking)} kinds of the plan are not served and no CRD in it "
                             "defines them", fix="install what provides them first, or leave those objects out",
                             details=tuple(lacking)))
    storage = missing_storage(cluster, plan)
    if storage:
        found.append(pending_claims(storage))
    found += _guarded("permissions", lambda: check_permissions(cluster, plan, facts, prune=False))
    found += _guarded("already-there", lambda: check_owners(cluster, plan, facts))
    return [f for f in found if f.status == FAIL]
