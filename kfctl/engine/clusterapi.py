"""What the engine needs of a cluster: the :class:`ClusterAPI` protocol.

The engine never imports :mod:`kfctl.cluster` (which wraps the official
``kubernetes`` client): it is handed an object with these methods, checked
statically. :class:`kfctl.cluster.Cluster` is the real one,
:class:`kfctl.engine.retry.Retrying` wraps one with retries, and tests may pass
anything shaped like it. Errors it raises are those of :mod:`kfctl.errors`
(``ApiError`` and its kinds), so the engine tells them apart by class.
"""

from __future__ import annotations

import builtins

import threading
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

#: a Kubernetes object as JSON
Obj = dict[str, Any]


class ClusterAPI(Protocol):
    """One connection to one cluster, safe to share between threads."""

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> Obj | None:
        """The live object, or None when it does not exist."""
        ...

    def list(self, api_version: str, kind: str, *, namespace: str | None = None, label_selector: str | None = None,
             field_selector: str | None = None) -> tuple[list[Obj], str]:
        """All objects of a kind (in one namespace or all), and the list's resourceVersion."""
        ...

    def apply(self, manifest: Mapping[str, Any], *, force: bool = False, dry_run: bool = False) -> Obj:
        """Server-side apply as kfctl's field manager; the object as stored."""
        ...

    def merge_patch(self, api_version: str, kind: str, namespace: str | None, name: str, patch: Mapping[str, Any],
                    *, field_manager: str = ...) -> Obj:
        ...

    def delete(self, api_version: str, kind: str, namespace: str | None, name: str, *, propagation: str = "Background",
               dry_run: bool = False, resource_version: str | None = None) -> Obj | None:
        """Delete one object; None if it was already gone."""
        ...

    def watch(self, api_version: str, kind: str, *, namespace: str | None = None, label_selector: str | None = None,
              field_selector: str | None = None, resource_version: str | None = None,
              timeout_seconds: int | None = None, stopper: threading.Event | None = None) -> Iterator[tuple[str, Obj]]:
        """``(type, object)`` watch events until the server ends the stream or ``stopper`` is set."""
        ...

    def serves(self, api_version: str, kind: str) -> bool:
        """Whether the server serves the kind now (never raises KindNotServed)."""
        ...

    def namespaced_kinds(self) -> builtins.list[tuple[str, str]]:
        ...

    def identity(self) -> str:
        ...
