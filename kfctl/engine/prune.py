"""Prune: remove what a deployment owned before and no longer renders, once the new set is healthy.

Data is kept (the rule is :mod:`kfctl.engine.keep`'s): CustomResourceDefinitions
unless ``--purge-crds``, and PersistentVolumeClaims always. Kept objects are
released from the deployment (its ownership labels removed) and reported, so
later runs do not try again; ``kubectl delete`` removes them when wanted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kfctl.engine import events as ev
from kfctl.engine.clusterapi import ClusterAPI
from kfctl.engine.inventory import Inventory, Member, owner_of, release_patch
from kfctl.engine.keep import kept_reason
from kfctl.engine.teardown import Target, delete_in_order
from kfctl.plan import ObjectRef

#: ``(kind, message, component, object)``: how prune reports, without knowing who listens
Report = Callable[[str, str, str, str], None]


def stale_members(planned: Iterable[ObjectRef], old: Inventory | None) -> list[Member]:
    """The old inventory's members that the plan no longer renders."""
    wanted = set(planned)
    return [] if old is None else [m for m in old.members if m.ref not in wanted]


@dataclass(frozen=True)
class PruneResult:
    pruned: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    #: members that did not exist any more, or never did (an object the server refused is recorded
    #: before it is applied): dropped from the inventory like pruned ones, but not counted as pruned
    gone: tuple[str, ...] = ()

    @property
    def released(self) -> frozenset[str]:
        """Every member that leaves the inventory."""
        return frozenset(self.pruned) | frozenset(self.kept) | frozenset(self.gone)


def hand_over(cluster: ClusterAPI, members: list[Member], *, set_id: str, report: Report,
              count_write: Callable[[], None]) -> tuple[str, ...]:
    """Release, never delete, what the deployment installed of a component the cluster now provides.

    A KfDef that switches ``provided: true`` on for a component kfctl installed before hands
    that copy over to the cluster: its objects keep running, lose kfctl's ownership labels and
    leave the inventory (so neither prune nor ``kfctl delete`` ever removes them). Done whether or
    not this apply prunes, since a member left in the inventory would be deleted by ``kfctl delete``.
    """
    released = []
    for member in members:
        live = cluster.get(member.api_version, member.kind, member.namespace or None, member.name)
        if live is not None and owner_of(live) == set_id:
            count_write()
            cluster.merge_patch(member.api_version, member.kind, member.namespace or None, member.name,
                                release_patch(set_id))
        released.append(str(member.ref))
        report(ev.KEPT, f"handed over: the KfDef says the cluster provides {member.component}", member.component,
               str(member.ref))
    return tuple(released)


def prune(cluster: ClusterAPI, stale: list[Member], *, set_id: str, purge_crds: bool, timeout: float,
          concurrency: int, report: Report, count_write: Callable[[], None]) -> PruneResult:
    """Delete the stale members in reverse dependency order, keeping (and releasing) what the keep rule keeps."""
    if not stale:
        return PruneResult()
    kept: list[str] = []
    targets: list[Target] = []
    for member in stale:
        reason = kept_reason(member.ref, purge_crds=purge_crds)
        if reason is None:
            targets.append(Target(member.api_version, member.ref, member.component))
            continue
        live = cluster.get(member.api_version, member.kind, member.namespace or None, member.name)
        if live is not None and owner_of(live) == set_id:
            count_write()
            cluster.merge_patch(member.api_version, member.kind, member.namespace or None, member.name,
                                release_patch(set_id))
        kept.append(str(member.ref))
        report(ev.KEPT, reason, member.component, str(member.ref))

    def deleted(target: Target) -> None:
        count_write()
        report(ev.PRUNED, "deleted", target.component, str(target.ref))

    def stuck(target: Target, why: str) -> None:
        report(ev.FAILED, f"prune of {target.ref} is stuck: {why}", target.component, "")

    done, stuck_ones = delete_in_order(cluster, targets, on_deleted=deleted, on_stuck=stuck,
                                       timeout=timeout, concurrency=concurrency)
    settled = {t.ref for t in done} | {t.ref for t, _ in stuck_ones}
    gone = [str(t.ref) for t in targets if t.ref not in settled]
    return PruneResult(tuple(str(t.ref) for t in done), tuple(kept), tuple(gone))
