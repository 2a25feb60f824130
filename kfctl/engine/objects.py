"""What the engine knows about writing one object to the API server.

Which kinds may be replaced when an upgrade changes an immutable field, how
such a refusal reads, which CRD changes need something done first (a stale
conversion webhook, a stored version left out), which cluster-scoped kinds
are cheap to list whole, and how to order two observations of the same object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kfctl.errors import ApiError, OperationFailed

#: kinds never deleted to get around an immutable field: they hold data or everything else
NEVER_REPLACED = {("", "PersistentVolumeClaim"), ("", "PersistentVolume"), ("", "Namespace"),
                   ("apiextensions.k8s.io", "CustomResourceDefinition")}


#: cluster-scoped kinds with small objects and few of them: listed whole instead of one GET per object
LISTED_WHOLE = {
    ("", "Namespace"), ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("scheduling.k8s.io", "PriorityClass"), ("storage.k8s.io", "StorageClass"), ("networking.k8s.io", "IngressClass"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
}


def immutable_refusal(exc: Exception) -> bool:
    """A 422 refusing to change an immutable field."""
    if not isinstance(exc, ApiError):
        return False
    message = exc.api_message.lower()
    return exc.status == 422 and (
        "field is immutable" in message or "cannot change roleref" in message or "is immutable" in message)


#: the merge patch that removes a CRD's conversion webhook (see :func:`stale_conversion_webhook`)
CLEAR_CONVERSION_WEBHOOK = {"spec": {"conversion": {"strategy": "None", "webhook": None}}}


def stale_conversion_webhook(manifest: Mapping[str, Any], live: Mapping[str, Any] | None) -> bool:
    """A CRD whose new manifest drops the conversion webhook the live one still has.

    Server-side apply cannot remove it: cert-manager's cainjector owns the injected
    ``caBundle`` under ``spec.conversion.webhook``, so the webhook survives kfctl's apply
    and the API server refuses the result ("should not be set when strategy is not set to
    Webhook"). The engine first clears the webhook with :data:`CLEAR_CONVERSION_WEBHOOK`.
    """
    if live is None or manifest.get("kind") != "CustomResourceDefinition":
        return False
    wanted = (manifest.get("spec") or {}).get("conversion") or {}
    if (wanted.get("strategy") or "None") == "Webhook":
        return False
    return bool(((live.get("spec") or {}).get("conversion") or {}).get("webhook"))


def dropped_stored_versions(manifest: Mapping[str, Any], live: Mapping[str, Any] | None) -> list[str]:
    """Versions the live CRD's ``status.storedVersions`` lists that the new manifest leaves out.

    Objects may still be stored in those versions, so the API server refuses the update
    ("status.storedVersions[0]: ... must appear in spec.versions") until they are rewritten in
    the storage version and the status is trimmed: nothing kfctl may do on its own.
    """
    if live is None or manifest.get("kind") != "CustomResourceDefinition":
        return []
    names = {v.get("name") for v in (manifest.get("spec") or {}).get("versions") or []}
    stored = ((live.get("status") or {}).get("storedVersions")) or []
    return [v for v in stored if v not in names]


def stored_version_refusal(manifest: Mapping[str, Any], live: Mapping[str, Any], dropped: list[str]) -> OperationFailed:
    """The error for :func:`dropped_stored_versions`: what is wrong and the migration that fixes it."""
    name = str((manifest.get("metadata") or {}).get("name"))
    plural = str(((manifest.get("spec") or {}).get("names") or {}).get("plural") or name.split(".")[0])
    storage = next((str(v.get("name")) for v in (manifest.get("spec") or {}).get("versions") or [] if v.get("storage")), "")
    live_storage = next((str(v.get("name")) for v in (live.get("spec") or {}).get("versions") or [] if v.get("storage")), "")
    versions = ", ".join(dropped)
    first = (f"make {storage} the storage version while {versions} is still served (the previous release's CRD "
             f"with storage: true on {storage}), then " if live_storage in dropped else "")
    keep = ",".join(f'"{v}"' for v in ((live.get("status") or {}).get("storedVersions") or []) if v not in dropped)
    return OperationFailed(
        f"the new CRD leaves out {versions}, which status.storedVersions says {plural} may still be stored in; "
        "the API server refuses it, and kfctl does not migrate stored objects",
        hint=f"{first}rewrite every {plural} object so that it is stored as {storage} "
             f"(kubectl get {plural} -A -o json | kubectl replace -f -, or kube-storage-version-migrator), then "
             f"kubectl patch crd {name} --subresource=status --type=merge "
             f"-p '{{\"status\":{{\"storedVersions\":[{keep or chr(34) + storage + chr(34)}]}}}}' and apply again")


def resource_version(obj: Mapping[str, Any] | None) -> int:
    try:
        return int(((obj or {}).get("metadata") or {}).get("resourceVersion") or 0)
    except (TypeError, ValueError):
        return 0
