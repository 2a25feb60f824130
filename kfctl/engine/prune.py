"""Prune: remove what a deployment owned before and no longer renders, once the new set is healthy.

Data is kept: CustomResourceDefinitions (deleting one deletes every user
object of its kind) are kept unless ``--purge-crds``, and PersistentVolumeClaims
(their volumes hold user data) are always kept on prune. Kept objects are
released from the deployment (its ownership labels removed) and reported, so
later runs do not try again; ``kubectl delete`` removes them when wanted.
"""

from __future__ import annotations

from typing import Any

from kfctl.engine import events as ev
from kfctl.engine.inventory import PART_OF, Member, release_patch
from kfctl.engine.teardown import Target, delete_in_order
from kfctl.plan import ObjectRef


def _kept_reason(ref: ObjectRef, purge_crds: bool) -> str | None:
    if ref.group == "apiextensions.k8s.io" and ref.kind == "CustomResourceDefinition" and not purge_crds:
        return "CRD kept: deleting it would delete every object of its kind (use --purge-crds)"
    if ref.group == "" and ref.kind == "PersistentVolumeClaim":
        return "PersistentVolumeClaim kept: it holds data"
    return None


def stale_members(plan: Any, old: Any) -> list[Member]:
    """The old inventory's members that the plan no longer renders."""
    return [] if old is None else [m for m in old.members if m.ref not in plan.nodes]


def prune_stale(engine: Any, old: Any) -> tuple[list[str], list[str], list[str]]:
    """Delete the old inventory's members that the plan no longer has; returns (pruned, kept, gone).

    ``gone`` are members that did not exist any more (or never did: an object the server refused
    is recorded before it is applied). They are dropped from the inventory like pruned ones, so
    ``status`` does not report them missing, but they are not counted as pruned.
    """
    stale = stale_members(engine.plan, old)
    if not stale:
        return [], [], []
    kept: list[str] = []
    targets: list[Target] = []
    for member in stale:
        reason = _kept_reason(member.ref, engine.options.purge_crds)
        if reason is None:
            targets.append(Target(member.api_version, member.ref, member.component))
            continue
        live = engine.retrying.get(member.api_version, member.kind, member.namespace or None, member.name)
        if live is not None and ((live.get("metadata") or {}).get("labels") or {}).get(PART_OF) == engine.set_id:
            engine._count_write()
            engine.retrying.merge_patch(member.api_version, member.kind, member.namespace or None, member.name,
                                        release_patch(engine.set_id))
        kept.append(str(member.ref))
        engine.emit(ev.KEPT, None, reason, component=member.component, object=str(member.ref))

    def deleted(target: Target) -> None:
        engine._count_write()
        engine.emit(ev.PRUNED, None, "deleted", component=target.component, object=str(target.ref))

    def stuck(target: Target, why: str) -> None:
        engine.emit(ev.FAILED, None, f"prune of {target.ref} is stuck: {why}", component=target.component)

    done, stuck_ones = delete_in_order(engine.retrying, targets, on_deleted=deleted, on_stuck=stuck,
                                       timeout=engine.options.object_timeout, concurrency=engine.options.concurrency)
    settled = {t.ref for t in done} | {t.ref for t, _ in stuck_ones}
    gone = [str(t.ref) for t in targets if t.ref not in settled]
    return [str(t.ref) for t in done], kept, gone
