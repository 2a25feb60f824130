"""Reading a deployment back from the cluster: its members' live state.

Shared by ``diff``, ``status`` and ``delete`` (the inventory itself is read by
:func:`kfctl.engine.inventory.read_inventory`): one label-selected LIST per
kind finds the deployment's objects, so reading 600 objects costs a few dozen
requests. Kinds the server does not serve (a CRD already deleted) simply
have no live objects.

Objects that are not the deployment's (someone else's, or absent) are found
by :class:`Lookup` (diff) and :func:`list_whole` (diff and apply) without one
GET each: an object in a namespace that does not exist does not exist either,
small cluster-scoped kinds are listed whole, and a kind with several objects
to find in one namespace is listed there once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kfctl.engine.clusterapi import ClusterAPI, Obj
from kfctl.engine.inventory import PART_OF, applyset_id, read_inventory  # noqa: F401  (read_inventory: re-exported, it lived here)
from kfctl.engine.objects import LISTED_WHOLE
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


#: objects of one kind to find in one namespace from which listing the kind there once beats a GET each
LIST_FROM = 4


def _by_name(items: Iterable[Obj]) -> dict[str, Obj]:
    return {str((i.get("metadata") or {}).get("name")): i for i in items}


def list_whole(cluster: ClusterAPI, kinds: Iterable[tuple[str, str]], *,
               concurrency: int = 1) -> dict[tuple[str, str], dict[str, Obj]]:
    """Every object of each small cluster-scoped kind (:data:`~kfctl.engine.objects.LISTED_WHOLE`)
    among the ``(apiVersion, kind)`` pairs, one LIST each: ``(apiVersion, kind) -> name -> object``.

    Other kinds are left out: a cluster-wide list of CRDs or of a namespaced kind can be very large.
    """
    wanted = sorted({(api, kind) for api, kind in kinds
                     if (api.split("/", 1)[0] if "/" in api else "", kind) in LISTED_WHOLE})

    def one(pair: tuple[str, str]) -> dict[str, Obj]:
        items, _ = cluster.list(*pair)
        return _by_name(items)

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return dict(zip(wanted, pool.map(one, wanted)))


class Lookup:
    """Live objects that may exist without being the deployment's, found with as few requests as the answers need.

    The namespaces that exist are listed once when it is made: a namespaced object whose
    namespace is not among them is :meth:`absent` without a request. :meth:`prepare` takes the
    objects to find (``ref -> apiVersion``, each of a served kind) and lists what is cheaper
    listed: the kinds :func:`list_whole` lists, one LIST each, and a kind with :data:`LIST_FROM`
    or more objects to find in one namespace, listed in that namespace once. Anything else
    costs one GET when :meth:`get` asks for it.
    """

    def __init__(self, cluster: ClusterAPI, *, concurrency: int = 8) -> None:
        self.cluster = cluster
        self.concurrency = concurrency
        self.whole = list_whole(cluster, [("v1", "Namespace")])
        self.namespaces = self.whole[("v1", "Namespace")]
        self.in_namespace: dict[tuple[str, str, str], dict[str, Obj]] = {}

    def absent(self, ref: ObjectRef) -> bool:
        """Known not to exist without asking: its namespace does not exist."""
        return bool(ref.namespace) and ref.namespace not in self.namespaces

    def prepare(self, wanted: Mapping[ObjectRef, str]) -> None:
        present = {ref: api for ref, api in wanted.items() if not self.absent(ref)}
        cluster_scoped = {(api, ref.kind) for ref, api in present.items() if not ref.namespace}
        self.whole.update(list_whole(self.cluster, cluster_scoped - set(self.whole), concurrency=self.concurrency))
        shared = Counter((api, ref.kind, ref.namespace) for ref, api in present.items() if ref.namespace)
        busy = sorted(key for key, count in shared.items() if count >= LIST_FROM and key not in self.in_namespace)

        def one(key: tuple[str, str, str]) -> dict[str, Obj]:
            items, _ = self.cluster.list(key[0], key[1], namespace=key[2])
            return _by_name(items)

        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            self.in_namespace.update(zip(busy, pool.map(one, busy)))

    def get(self, api_version: str, ref: ObjectRef) -> Obj | None:
        """The live object in ``api_version``, or None when it does not exist."""
        if self.absent(ref):
            return None
        listed = (self.in_namespace.get((api_version, ref.kind, ref.namespace)) if ref.namespace
                  else self.whole.get((api_version, ref.kind)))
        if listed is not None:
            return listed.get(ref.name)
        return self.cluster.get(api_version, ref.kind, ref.namespace or None, ref.name)
