"""The manifest kfctl actually applies for a rendered object.

Two adjustments to the rendered object, in one place for apply and diff:

* ownership: the ApplySet membership and managed-by labels and the hash of
  the rendered manifest (see :mod:`kfctl.engine.inventory`);
* fields a controller owns are left out: the ``caBundle`` of webhook
  configurations and CRD conversion webhooks that cert-manager's cainjector
  fills (annotation ``cert-manager.io/inject-ca-from`` or ``-from-secret``).
  Applying upstream's placeholder there would reset the injected CA on every
  apply (and break the webhook until cainjector notices); leaving it out lets
  the injector own it. Likewise the ``rules`` of a ClusterRole with an
  ``aggregationRule``: kube-controller-manager's clusterrole-aggregation
  controller writes them (the bundles, like upstream, say ``rules: []``);
  applying them would empty the role on every apply and make kfctl and the
  controller rewrite it in turn (seen on the real control plane, issue #14).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from kfctl.engine.compare import manifest_hash
from kfctl.engine.inventory import label_member

_INJECT = ("cert-manager.io/inject-ca-from", "cert-manager.io/inject-ca-from-secret")


def _without_ca_bundles(manifest: dict[str, Any]) -> dict[str, Any]:
    annotations = (manifest.get("metadata") or {}).get("annotations") or {}
    if not any(key in annotations for key in _INJECT):
        return manifest
    out = copy.deepcopy(manifest)
    for hook in out.get("webhooks") or ():
        (hook.get("clientConfig") or {}).pop("caBundle", None)
    conversion = ((out.get("spec") or {}).get("conversion") or {}).get("webhook") or {}
    (conversion.get("clientConfig") or {}).pop("caBundle", None)
    return out


def _without_aggregated_rules(manifest: dict[str, Any]) -> dict[str, Any]:
    if manifest.get("kind") != "ClusterRole" or not manifest.get("aggregationRule") or "rules" not in manifest:
        return manifest
    return {key: value for key, value in manifest.items() if key != "rules"}


def desired_manifest(manifest: Mapping[str, Any], *, set_id: str) -> dict[str, Any]:
    """The object to apply: controller-owned fields left out, ownership labels and hash added."""
    base = _without_aggregated_rules(_without_ca_bundles(dict(manifest)))
    return label_member(base, set_id=set_id, digest=manifest_hash(base))
