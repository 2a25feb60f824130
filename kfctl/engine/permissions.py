"""Before the first write: may these credentials write every object of the plan?

kfctl writes with server-side apply (a PATCH). Without this check a token
bound to a too-small Role changed the cluster (the namespace, the inventory)
before its first 403 and then ended with exit 1 (seen on the real control
plane, issue #14). Instead kfctl asks the API server, once, whether the
credentials may do everything (``*`` on ``*``: one request for an admin), and
otherwise once per resource and namespace (SelfSubjectAccessReview), and
refuses with exit 2, naming each missing permission and who lacks it, before
anything is changed. A server that does not answer access reviews is not
checked: the writes themselves then say what is missing.
"""

from __future__ import annotations

from typing import Any

from kfctl.errors import ClusterConfigError
from kfctl.kinds import BUILTIN
from kfctl.plan import Plan


#: server-side apply is a PATCH; one that creates the object is also authorized as a create
VERBS = ("patch", "create")


def _plurals(plan: Plan) -> dict[tuple[str, str], str]:
    """Plural of every kind in the plan: built-in facts, the plan's own CRDs, else the RESTMapper's guess."""
    plurals = {key: info.plural for key, info in BUILTIN.items()}
    for ref, node in plan.nodes.items():
        if ref.kind == "CustomResourceDefinition":
            spec = node.manifest.get("spec") or {}
            names = spec.get("names") or {}
            if spec.get("group") and names.get("kind") and names.get("plural"):
                plurals[(str(spec["group"]), str(names["kind"]))] = str(names["plural"])
    return plurals


def needed(plan: Plan) -> dict[tuple[str, str, str], list[str]]:
    """``(group, resource, namespace) -> objects`` the credentials must be allowed to patch."""
    plurals = _plurals(plan)
    out: dict[tuple[str, str, str], list[str]] = {}
    for ref in plan.nodes:
        plural = plurals.get((ref.group, ref.kind)) or ref.kind.lower() + "s"
        out.setdefault((ref.group, plural, ref.namespace or ""), []).append(str(ref))
    return out


def check_write_access(cluster: Any, plan: Plan) -> None:
    """Raise ClusterConfigError (exit 2) naming every permission the credentials lack; nothing is written."""
    everything = cluster.access_review("*", "*", "*", None)
    if everything is None or everything[0]:
        return
    missing: list[str] = []
    for (group, resource, namespace), refs in sorted(needed(plan).items()):
        for verb in VERBS:
            answer = cluster.access_review(verb, group, resource, namespace or None)
            if answer is None or answer[0]:
                continue
            full = f"{resource}.{group}" if group else resource
            where = f"in namespace {namespace}" if namespace else "at the cluster scope"
            more = f" and {len(refs) - 1} more" if len(refs) > 1 else ""
            missing.append(f"{verb} {full} {where} (for {refs[0]}{more})")
    if missing:
        user = cluster.user()
        who = f"user {user!r}" if user else "the credentials of this kubeconfig"
        raise ClusterConfigError(
            f"{who} may not make every change this deployment needs; nothing was changed. Missing:\n  "
            + "\n  ".join(missing),
            hint="ask a cluster admin to grant these verbs (server-side apply is a patch, and a create for a new "
                 "object), or use a context with more rights",
        )
