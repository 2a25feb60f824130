"""The write decision: what apply does with one object, and so what diff says it would do.

One pure function, :func:`decide`, looks at the desired manifest, the live
object (or None) and the deployment's identity and answers with an
:class:`Action`. ``kfctl apply`` acts on it, ``kfctl diff`` reports it and
prune relies on the same ownership rules, so the three cannot disagree (they
did: apply silently took back objects its own prune had released, diff said
they needed ``--adopt``).

Two outcomes are known only from the API server, and are decided from its
answer by :func:`after_refusal`: a field another manager owns (a conflict,
unless forced) and a field the server will not change (the object is
replaced, when this deployment owns it and its kind may be replaced).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from kfctl.engine.compare import first_difference
from kfctl.engine.inventory import owner_of, released_from, same_applied_manifest
from kfctl.engine.objects import NEVER_REPLACED, immutable_refusal
from kfctl.errors import ApiError


class Action(str, Enum):
    CREATE = "create"            # absent: apply creates it
    SKIP = "skip"                # every desired field is live, applied from this very manifest
    CHECK_DRIFT = "check-drift"  # applied from this manifest, but a field differs: a dry run tells
    PATCH = "patch"              # ours, and the manifest changed
    TAKE_BACK = "take-back"      # released by this deployment's own prune or delete: taken back
    ADOPT = "adopt"              # someone else's (or nobody's) and --adopt was given
    NEEDS_ADOPT = "needs-adopt"  # someone else's (or nobody's): refused without --adopt
    REPLACE = "replace"          # the server will not change a field: delete and create (ours only)
    CONFLICT = "conflict"        # another field manager owns fields we set: refused without --force-conflicts

    @property
    def writes(self) -> bool:
        return self not in (Action.SKIP, Action.NEEDS_ADOPT, Action.CONFLICT)


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    #: take over fields other managers own (adopting, taking back, correcting drift, or asked to)
    force: bool = False


def decide(manifest: Mapping[str, Any], live: Mapping[str, Any] | None, *, set_id: str, adopt: bool = False,
           force_conflicts: bool = False) -> Decision:
    """What to do with one object, before asking the server anything more."""
    if live is None:
        return Decision(Action.CREATE, "created", force=force_conflicts)
    owner = owner_of(live)
    if owner != set_id:
        if owner is None and released_from(live) == set_id:
            return Decision(Action.TAKE_BACK, "taken back (released by this deployment's earlier prune or delete)",
                            force=True)
        if adopt:
            return Decision(Action.ADOPT, "adopted", force=True)
        whom = f"another deployment (applyset {owner})" if owner else "no kfctl deployment (created by hand or another tool)"
        return Decision(Action.NEEDS_ADOPT, f"exists and belongs to {whom}; kfctl does not overwrite it. "
                                            "Rerun with --adopt to take it over")
    if same_applied_manifest(manifest, live):
        drift = first_difference(manifest, live)
        if drift is None:
            return Decision(Action.SKIP, "unchanged")
        # Correcting drift on our own object takes back the fields someone else edited
        # (their Update made them the owner).
        return Decision(Action.CHECK_DRIFT, f"corrected drift at {drift}", force=True)
    return Decision(Action.PATCH, "updated", force=force_conflicts)


def after_refusal(decision: Decision, error: Exception, live: Mapping[str, Any] | None, *, group: str, kind: str,
                  set_id: str) -> Decision | None:
    """What a refused write turns into: REPLACE for an immutable field of an object this deployment
    owns (or is adopting), CONFLICT for a field-manager conflict; None when the refusal stands."""
    if isinstance(error, ApiError) and error.status == 409:  # server-side apply: fields another manager owns
        return Decision(Action.CONFLICT, error.api_message)
    if live is None or not immutable_refusal(error) or (group, kind) in NEVER_REPLACED:
        return None
    owner = owner_of(live)
    if owner == set_id or (owner is None and decision.action in (Action.ADOPT, Action.TAKE_BACK)):
        return Decision(Action.REPLACE, "replaced (a field it changes is immutable)", force=decision.force)
    return None
