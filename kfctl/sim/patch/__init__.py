"""Patch algorithms and server-side apply for the simulated Kubernetes API server.

Pure functions over decoded JSON objects, faithful to kube-apiserver: JSON
merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge patch, and
server-side apply with ``metadata.managedFields`` ownership tracking
(structured-merge-diff semantics). List and map semantics of built-in kinds
come from the Kubernetes OpenAPI schema (see ``_generate.py``); custom
resources take theirs from the CRD schema passed as ``schema``.

Errors: :class:`PatchError` (``code`` 422 Invalid or 400 BadRequest) and
:class:`ApplyConflictError` (409 Conflict); both render a ``metav1.Status``
with ``.status()``.

Contract for the sim's request handlers:

* Inputs are never mutated and results share nothing with them.
* Store built-in objects through :func:`normalize` after every write (empty
  lists and string maps vanish as in the apiserver's typed round trip);
  :func:`server_side_apply` already returns normalized objects.
* PATCH (json/merge/strategic): patch the stored object, then call
  :func:`update_managed_fields` (old, new) and store its list as
  ``metadata.managedFields`` (omit the key when it is empty). The same for
  create (``old=None``) and PUT. Writes through ``/scale`` pass
  ``subresource="scale"`` (old and new being the parent object), so the entry
  and conflict messages read ``"kubectl" with subresource "scale"``.
* Apply: :func:`server_side_apply` returns the whole new object with its
  managedFields; ``result == live`` means nothing changed (do not bump
  resourceVersion). The handler still sets name/namespace/uid/
  resourceVersion/generation/creationTimestamp; those are never owned.
* Status: built-in kinds with a ``/status`` subresource are known
  (:data:`STATUS_SUBRESOURCE_KINDS`); for custom resources pass
  ``status_subresource=True`` when the CRD version declares it. Then a
  main-resource apply ignores ``status`` and keeps the live one, and a
  ``subresource="status"`` write owns only ``status``. For PUT/PATCH the
  handler must itself reset status (main) or everything but status (status).
* Custom resources: pass ``schema=`` the CRD version's ``openAPIV3Schema`` so
  ``x-kubernetes-list-type``/``-list-map-keys``/``-map-type`` apply; without
  it lists are atomic and maps granular. Strategic merge patch has no CRD
  schema: the HTTP layer should refuse it for custom resources (415) as the
  apiserver does.
"""

from __future__ import annotations

from ._apply import STATUS_SUBRESOURCE_KINDS, has_status_subresource, server_side_apply, update_managed_fields
from ._errors import ApplyConflictError, Conflict, PatchError
from ._fieldset import from_fields_v1, path_string, paths, to_fields_v1
from ._jsonpatch import json_patch
from ._merge import merge_patch
from ._schema import builtin_kinds
from ._strategic import strategic_merge_patch
from ._typed import normalize


def field_paths(fields_v1: dict) -> list[str]:
    """Every owned path of a ``fieldsV1`` value, spelled like conflict messages (``.spec.replicas``)."""
    return [path_string(p) for p in paths(from_fields_v1(fields_v1))]


def canonical_fields_v1(fields_v1: dict) -> dict:
    """``fieldsV1`` re-encoded in the apiserver's order (``"."`` first, fields, keys, values)."""
    return to_fields_v1(from_fields_v1(fields_v1))


__all__ = [
    "STATUS_SUBRESOURCE_KINDS",
    "ApplyConflictError",
    "Conflict",
    "PatchError",
    "builtin_kinds",
    "canonical_fields_v1",
    "field_paths",
    "has_status_subresource",
    "json_patch",
    "merge_patch",
    "normalize",
    "server_side_apply",
    "strategic_merge_patch",
    "update_managed_fields",
]
