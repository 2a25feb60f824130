"""Reading a deployment back from the cluster: its members' live state.

Shared by ``diff``, ``status`` and ``delete`` (the inventory itself is read by
:func:`kfctl.engine.inventory.read_inventory`): one label-selected LIST per
kind finds the deployment's objects, so reading 600 objects costs a few dozen
requests. Kinds the server does not serve (a CRD already deleted) simply
have no live objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kfctl.engine.clusterapi import ClusterAPI
from kfctl.engine.inventory import PART_OF, applyset_id, read_inventory  # noqa: F401  (read_inventory: re-exported, it lived here)
from kfctl.errors import KindNotServed, NotFound
from kfctl.plan import ObjectRef


def list_owned(cluster: ClusterAPI, deployment: str, namespace: str, kinds: Iterable[tuple[str, str]],
               *, concurrency: int = 8, versions: Mapping[ObjectRef, str] | None = None) -> dict[ObjectRef, dict[str, Any]]:
    """Live objects labelled as members of the deployment, for the given (apiVersion, kind) pairs.

    A kind listed in several versions yields each object once: in the version ``versions`` names
    for it (the one its manifest uses), else the first listed.
    """
    selector = f"{PART_OF}={applyset_id(deployment, namespace)}"

    def one(pair: tuple[str, str]) -> list[dict[str, Any]]:
        api_version, kind = pair
        if not cluster.serves(api_version, kind):
            return []  # not served (yet, or any more): no members, and nothing to wait for
        try:
            items, _ = cluster.list(api_version, kind, label_selector=selector)
        except (NotFound, KindNotServed):  # a kind no longer (or not yet) served has no members
            return []
        return items

    found: dict[ObjectRef, dict[str, Any]] = {}
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for items in pool.map(one, sorted(set(kinds))):
            for item in items:
                ref = ObjectRef.of(item, namespaced=bool((item.get("metadata") or {}).get("namespace")))
                wanted = (versions or {}).get(ref)
                if ref not in found or (wanted and item.get("apiVersion") == wanted):
                    found[ref] = item
    return found


def kinds_of(manifests: Mapping[ObjectRef, Mapping[str, Any]] | Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    if isinstance(manifests, Mapping):
        return {(str(m.get("apiVersion")), str(m.get("kind"))) for m in manifests.values()}
    return set(manifests)
