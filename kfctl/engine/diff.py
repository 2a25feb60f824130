"""What ``kfctl apply`` would change: a server-side dry run compared with the live objects.

For each planned object: ``create`` (absent), ``update`` (the dry-run result
differs from the live object: a unified diff of the two), ``unchanged``, or
``refuse`` (it exists and this deployment does not own it). Old inventory
members that are no longer rendered are listed as ``prune`` (or ``keep`` for
CRDs and PVCs, which prune keeps). Secret values never appear: each is shown
as ``***``, with a marker when it changes.

The deployment's own objects come from one label-selected LIST per kind; the
others are found by :class:`kfctl.engine.observe.Lookup`, which skips what
cannot exist and lists instead of fetching one by one, so a diff before the
first install costs about a hundred requests, not one per object.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import yaml

from kfctl.engine.clusterapi import ClusterAPI
from kfctl.engine.decide import Action, after_refusal, decide
from kfctl.engine.desired import desired_manifest
from kfctl.engine.inventory import applyset_id, read_inventory
from kfctl.engine.objects import CLEAR_CONVERSION_WEBHOOK, stale_conversion_webhook
from kfctl.engine.observe import Lookup, list_owned
from kfctl.engine.keep import kept_reason
from kfctl.errors import ClusterError
from kfctl.plan import ObjectRef, Plan

_SERVER_FIELDS = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")


@dataclass(frozen=True)
class Change:
    ref: ObjectRef
    component: str
    action: str  # create | update | unchanged | refuse | prune | keep
    #: the unified diff or the reason, or what renders it when first asked for (see :attr:`detail`)
    text: str | Callable[[], str] = field(default="", compare=False, repr=False)

    @cached_property
    def detail(self) -> str:
        """The unified diff or the reason. A create's diff (the whole manifest as YAML, the costly part
        of a diff against an empty cluster) is rendered only when asked for: ``kfctl diff -q`` never is."""
        return self.text() if callable(self.text) else self.text

    @property
    def pending(self) -> bool:
        return self.action in ("create", "update", "prune", "refuse")


def _clean(obj: Mapping[str, Any] | None) -> dict[str, Any]:
    if not obj:
        return {}
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (out.get("metadata") or {}).items() if k not in _SERVER_FIELDS}
    out["metadata"] = meta
    return out


def _mask(obj: dict[str, Any], other: Mapping[str, Any] | None, side: str) -> dict[str, Any]:
    """Secret values replaced by ``***``; a value that differs from ``other`` shows as ``*** (old)``/``*** (new)``."""
    if obj.get("kind") != "Secret":
        return obj
    out = dict(obj)
    for field in ("data", "stringData"):
        if isinstance(out.get(field), Mapping):
            theirs = (other or {}).get(field) or {}
            out[field] = {k: ("***" if theirs.get(k) == v else f"*** ({side})") for k, v in out[field].items()}
    return out


def json_merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch applied to a copy of ``target``."""
    if not isinstance(patch, Mapping):
        return patch
    out = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = json_merge(out.get(key), value)
    return out


#: libyaml's dumper when PyYAML has it: the full default set's creates print five times faster (both sides of a
#: diff use the same one, so line wrapping never shows as a change)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _text(obj: Mapping[str, Any] | None) -> list[str]:
    if not obj:
        return []
    return yaml.dump(obj, Dumper=_DUMPER, sort_keys=True, default_flow_style=False, width=4096,
                     allow_unicode=True).splitlines(keepends=True)


def unified(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, name: str) -> str:
    a, b = _clean(before), _clean(after)
    a, b = _mask(a, b, "old"), _mask(b, a, "new")
    text_a, text_b = _text(a), _text(b)
    return "".join(difflib.unified_diff(text_a, text_b, f"live/{name}", f"apply/{name}"))


def compute(cluster: ClusterAPI, plan: Plan, *, deployment: str, namespace: str, purge_crds: bool = False,
            concurrency: int = 8, adopt: bool = False, handed_over: frozenset[str] = frozenset()) -> list[Change]:
    """Each planned object's change, decided as apply decides it (:func:`kfctl.engine.decide.decide`); members of
    ``handed_over`` components (now provided by the cluster) are kept, as apply releases them."""
    set_id = applyset_id(deployment, namespace)
    manifests = {ref: desired_manifest(node.manifest, set_id=set_id) for ref, node in plan.nodes.items()}
    versions = {ref: str(m["apiVersion"]) for ref, m in manifests.items()}
    inventory = read_inventory(cluster, deployment, namespace)
    # Only objects of a served kind in a namespace that exists can exist: the others are not asked for
    # (a kind not served yet has no objects, its CRD comes with this apply; nothing is retried).
    lookup = Lookup(cluster, concurrency=concurrency)
    candidates = {ref: api for ref, api in versions.items() if not lookup.absent(ref)}
    served = {pair for pair in {(api, ref.kind) for ref, api in candidates.items()} if cluster.serves(*pair)}
    possible = {ref: api for ref, api in candidates.items() if (api, ref.kind) in served}
    kinds = {(api, ref.kind) for ref, api in possible.items()}
    if inventory is not None:
        kinds |= inventory.kinds
    owned = list_owned(cluster, deployment, namespace, kinds, concurrency=concurrency, versions=versions)
    # Not members, but they may still exist, owned by someone else.
    lookup.prepare({ref: api for ref, api in possible.items() if ref not in owned})

    def one(ref: ObjectRef) -> Change:
        manifest = manifests[ref]
        component = plan.nodes[ref].component
        live = owned.get(ref)
        if live is None and ref in possible:
            live = lookup.get(possible[ref], ref)
        decision = decide(manifest, live, set_id=set_id, adopt=adopt)
        if decision.action is Action.CREATE:
            return Change(ref, component, "create", lambda: unified(None, manifest, str(ref)))
        if decision.action is Action.NEEDS_ADOPT:
            return Change(ref, component, "refuse", decision.reason)
        if decision.action is Action.SKIP:
            return Change(ref, component, "unchanged")
        assert live is not None
        if stale_conversion_webhook(manifest, live):
            # apply clears the webhook first (a merge patch, which has no dry run): show that step's effect
            after = json_merge(live, CLEAR_CONVERSION_WEBHOOK)
            return Change(ref, component, "update", unified(live, after, str(ref)) + "(and then the new manifest is applied)\n")
        try:
            after = cluster.apply(manifest, force=decision.force, dry_run=True)
        except ClusterError as exc:
            then = after_refusal(decision, exc, live, group=ref.group, kind=ref.kind, set_id=set_id)
            if then is None:
                raise
            if then.action is Action.CONFLICT:
                return Change(ref, component, "refuse", f"{then.reason} (apply needs --force-conflicts)")
            return Change(ref, component, "update", f"{then.reason}: apply deletes and re-creates it\n"
                          + unified(live, manifest, str(ref)))
        text = unified(live, after, str(ref))
        if decision.action in (Action.ADOPT, Action.TAKE_BACK):
            return Change(ref, component, "update", f"{decision.reason}\n{text}")
        return Change(ref, component, "update" if text else "unchanged", text)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        changes = list(pool.map(one, plan.nodes))
    if inventory is not None:
        for member in inventory.members:
            if member.ref in plan.nodes:
                continue
            reason = kept_reason(member.ref, purge_crds=purge_crds)
            if member.component in handed_over:
                reason = f"handed over: the KfDef says the cluster provides {member.component}"
            if reason:
                changes.append(Change(member.ref, member.component, "keep", reason))
            elif member.ref in owned:
                changes.append(Change(member.ref, member.component, "prune", unified(owned[member.ref], None, str(member.ref))))
    return changes
