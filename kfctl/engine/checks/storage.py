"""The storage check: the StorageClasses the plan's claims name exist, with their provisioner and binding mode.

The refusal itself (a claim naming a class the cluster lacks, or none
without a default) is :func:`kfctl.engine.preflight.missing_storage`, which
apply also runs; this check adds what an admin wants to see: which class
serves which claims, its provisioner and volume binding mode, and a warning
for no default class (users' notebook workspaces and pipeline volumes name
none) or for several (which one a claim gets is then arbitrary).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kfctl.engine.checks.model import FAIL, PASS, WARN, Facts, Finding
from kfctl.engine.preflight import claims_of, is_default, missing_storage
from kfctl.plan import Plan


def describe(sc: Mapping[str, Any]) -> str:
    name = (sc.get("metadata") or {}).get("name")
    return (f"{name} (provisioner {sc.get('provisioner', '?')}, "
            f"volumeBindingMode {sc.get('volumeBindingMode') or 'Immediate'})")


def judge(classes: list[Mapping[str, Any]], plan: Plan, missing: list[str]) -> list[Finding]:
    """The findings for these live classes and this plan; ``missing`` is what preflight refuses (pure)."""
    planned = {ref.name: node.manifest for ref, node in plan.nodes.items()
               if ref.group == "storage.k8s.io" and ref.kind == "StorageClass"}
    by_name = {str((sc.get("metadata") or {}).get("name")): sc for sc in classes} | planned
    defaults = sorted(name for name, sc in by_name.items() if is_default(sc))
    wanted = [claim for ref, node in plan.nodes.items() for claim in claims_of(ref, node.manifest)]
    out: list[Finding] = []
    if missing:
        out.append(pending_claims(missing))
    if not defaults:
        if not missing:
            out.append(Finding("storage", WARN, "the cluster has no default StorageClass (it has: "
                               f"{', '.join(sorted(by_name)) or 'none'}): users' notebook workspaces and pipeline "
                               "volumes name no class and would stay Pending",
                               fix="kubectl annotate storageclass NAME storageclass.kubernetes.io/is-default-class=true"))
    elif len(defaults) > 1:
        out.append(Finding("storage", WARN, f"{len(defaults)} StorageClasses are marked default ({', '.join(defaults)}); "
                           "the API server picks the newest one for a claim that names none",
                           fix="keep the default annotation on one class only"))
    if not missing:
        used: dict[str, int] = {}
        for _, name in wanted:
            key = name if name else (defaults[-1] if defaults else "")
            if key:
                used[key] = used.get(key, 0) + 1
        details = tuple(f"{describe(by_name[name])}: {count} claims" for name, count in sorted(used.items())
                        if name in by_name)
        default = f"default StorageClass {describe(by_name[defaults[0]])}" if defaults else "no default StorageClass"
        out.insert(0, Finding("storage", PASS, f"every claim of the plan ({len(wanted)}) has its StorageClass; "
                              f"{default}", details=details))
    return out


def check_storage(cluster: Any, plan: Plan, facts: Facts) -> list[Finding]:
    classes, _ = cluster.list("storage.k8s.io/v1", "StorageClass")
    return judge(classes, plan, missing_storage(cluster, plan))


def pending_claims(missing: list[str]) -> Finding:
    """The failure for claims naming a StorageClass the cluster lacks (or none, without a default one)."""
    return Finding("storage", FAIL, f"{len(missing)} claims of the plan would stay Pending",
                   fix="name a class the cluster has for all of Kubeflow's volumes with spec.storageClass: NAME "
                       "(README: Existing components), or per component with its storageClassName parameter; or "
                       "create the class (or mark one as the default)", details=tuple(missing))
