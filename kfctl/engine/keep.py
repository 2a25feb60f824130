"""The keep rule: which objects kfctl never deletes unless asked, and why. One owner for prune, delete and diff.

A CustomResourceDefinition is kept: deleting one deletes every object of its
kind, users' objects included (``--purge-crds`` deletes it). A
PersistentVolumeClaim is kept: its volume holds data (``kfctl delete
--delete-storage`` deletes it; prune never does). A Kubeflow Profile is
kept: the profile controller deletes the Profile's namespace with it, and with
it every notebook, run and volume its user made (the user-profile component
creates the first one; removing that component, or ``kfctl delete``, releases
it; ``kubectl delete profile NAME`` is the deliberate way). Kept objects are
released from the deployment and reported.
"""

from __future__ import annotations

from kfctl.plan import ObjectRef

CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")
CLAIM = ("", "PersistentVolumeClaim")
PROFILE = ("kubeflow.org", "Profile")


def kept_reason(ref: ObjectRef, *, purge_crds: bool = False, delete_storage: bool = False) -> str | None:
    """Why ``ref`` is kept instead of deleted, or None when it may go.

    ``delete_storage`` is only for ``kfctl delete``: prune passes False, so claims always stay.
    """
    if (ref.group, ref.kind) == CRD and not purge_crds:
        return "CRD kept: deleting it deletes every object of its kind (use --purge-crds)"
    if (ref.group, ref.kind) == CLAIM and not delete_storage:
        return "PVC kept: it holds data (kfctl delete --delete-storage deletes it)"
    if (ref.group, ref.kind) == PROFILE:
        return ("Profile kept: deleting it deletes its user's namespace and all in it "
                f"(kubectl delete profile {ref.name} does that deliberately)")
    return None
