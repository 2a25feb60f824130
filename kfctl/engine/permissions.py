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

:func:`missing_access` is the question itself, without the refusal: ``kfctl
check`` (and apply's pre-write checks, :mod:`kfctl.engine.checks.access`)
also ask for the reads apply makes (get; list and watch in all namespaces)
and for delete (prune).
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


#: what apply also does with every kind of the plan: reads objects back, and lists and watches each kind
#: across namespaces (the readiness trackers); ``kfctl check`` asks for these too
READ_VERBS = ("get",)
CLUSTER_WIDE_VERBS = ("list", "watch")


def missing_access(cluster: Any, plan: Plan, *, verbs: tuple[str, ...] = VERBS,
                   cluster_wide: tuple[str, ...] = (), workers: int = 8) -> list[str]:
    """Each permission the credentials lack, one line naming the verb, resource, scope and the objects that need
    it; [] for an admin (one question) or a server that does not answer access reviews. ``verbs`` are asked per
    resource and namespace of the plan, ``cluster_wide`` per resource across all namespaces."""
    everything = cluster.access_review("*", "*", "*", None)
    if everything is None or everything[0]:
        return []
    want = needed(plan)
    questions: list[tuple[str, str, str, str, list[str]]] = []
    for (group, resource, namespace), refs in sorted(want.items()):
        questions.extend((verb, group, resource, namespace, refs) for verb in verbs)
    wide: dict[tuple[str, str], list[str]] = {}
    for (group, resource, _), refs in sorted(want.items()):
        wide.setdefault((group, resource), []).extend(refs)
    for (group, resource), refs in sorted(wide.items()):
        questions.extend((verb, group, resource, "*", refs) for verb in cluster_wide)

    def ask(question: tuple[str, str, str, str, list[str]]) -> str | None:
        verb, group, resource, namespace, refs = question
        answer = cluster.access_review(verb, group, resource, None if namespace in ("", "*") else namespace)
        if answer is None or answer[0]:
            return None
        full = f"{resource}.{group}" if group else resource
        where = {"": "at the cluster scope", "*": "in all namespaces"}.get(namespace, f"in namespace {namespace}")
        more = f" and {len(refs) - 1} more" if len(refs) > 1 else ""
        return f"{verb} {full} {where} (for {refs[0]}{more})"

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        answers = list(pool.map(ask, questions))
    return [line for line in answers if line]


def who(cluster: Any) -> str:
    """The credentials as the server names them, for messages."""
    user = cluster.user()
    return f"user {user!r}" if user else "the credentials of this kubeconfig"


def check_write_access(cluster: Any, plan: Plan) -> None:
    """Raise ClusterConfigError (exit 2) naming every permission the credentials lack; nothing is written."""
    missing = missing_access(cluster, plan)
    if missing:
        raise ClusterConfigError(
            f"{who(cluster)} may not make every change this deployment needs; nothing was changed. Missing:\n  "
            + "\n  ".join(missing),
            hint=HINT,
        )


HINT = ("ask a cluster admin to grant these verbs (server-side apply is a patch, and a create for a new "
        "object), or use a context with more rights")
