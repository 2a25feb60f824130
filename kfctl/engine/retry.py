"""Backoff for transient API failures: exponential with full jitter, honouring Retry-After.

:class:`Retrying` wraps a cluster client so every call is retried while the
error is transient (throttling, 5xx, a webhook not up yet, a dropped
connection); permanent errors pass through at once. Watches are not wrapped:
their callers re-list and re-watch.
"""

from __future__ import annotations

import builtins

import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from kfctl.engine.clusterapi import ClusterAPI, Obj
from kfctl.errors import ApiError

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    base: float = 0.2
    cap: float = 10.0
    attempts: int = 12

    def delay(self, attempt: int, *, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None and retry_after > 0:
            return min(retry_after, self.cap * 3)
        ceiling = min(self.cap, self.base * (2 ** (attempt - 1)))
        return (rng or random).uniform(ceiling / 2, ceiling)


def call_with_retry(fn: Callable[[], T], *, backoff: Backoff = Backoff(), deadline: float | None = None,
                    on_retry: Callable[[Exception, int, float], None] | None = None) -> T:
    """Call ``fn`` until it succeeds, a permanent error occurs, attempts run out or ``deadline`` passes."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except Exception as exc:
            if not (isinstance(exc, ApiError) and exc.transient) or attempt >= backoff.attempts:
                raise
            if deadline is not None and time.monotonic() > deadline:
                raise
            delay = backoff.delay(attempt, retry_after=exc.retry_after)
            if on_retry is not None:
                on_retry(exc, attempt, delay)
            time.sleep(delay)


class Retrying:
    """A :class:`~kfctl.engine.clusterapi.ClusterAPI` whose request methods retry transient failures.

    Watches are passed through (their callers re-list and re-watch); any other attribute
    (``close``, ``server``) is the wrapped cluster's own.
    """

    def __init__(self, cluster: ClusterAPI, *, backoff: Backoff = Backoff(),
                 on_retry: Callable[[Exception, int, float], None] | None = None) -> None:
        self._cluster = cluster
        self._backoff = backoff
        self._on_retry = on_retry

    def _retry(self, fn: Callable[[], T]) -> T:
        return call_with_retry(fn, backoff=self._backoff, on_retry=self._on_retry)

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> Obj | None:
        return self._retry(lambda: self._cluster.get(api_version, kind, namespace, name))

    def list(self, api_version: str, kind: str, *, namespace: str | None = None, label_selector: str | None = None,
             field_selector: str | None = None) -> tuple[list[Obj], str]:
        return self._retry(lambda: self._cluster.list(api_version, kind, namespace=namespace,
                                                      label_selector=label_selector, field_selector=field_selector))

    def apply(self, manifest: Mapping[str, Any], *, force: bool = False, dry_run: bool = False) -> Obj:
        return self._retry(lambda: self._cluster.apply(manifest, force=force, dry_run=dry_run))

    def merge_patch(self, api_version: str, kind: str, namespace: str | None, name: str, patch: Mapping[str, Any],
                    **kwargs: Any) -> Obj:
        return self._retry(lambda: self._cluster.merge_patch(api_version, kind, namespace, name, patch, **kwargs))

    def delete(self, api_version: str, kind: str, namespace: str | None, name: str, *, propagation: str = "Background",
               dry_run: bool = False, resource_version: str | None = None) -> Obj | None:
        return self._retry(lambda: self._cluster.delete(api_version, kind, namespace, name, propagation=propagation,
                                                        dry_run=dry_run, resource_version=resource_version))

    def watch(self, api_version: str, kind: str, **kwargs: Any) -> Iterator[tuple[str, Obj]]:
        return self._cluster.watch(api_version, kind, **kwargs)

    def serves(self, api_version: str, kind: str) -> bool:
        return self._retry(lambda: self._cluster.serves(api_version, kind))

    def namespaced_kinds(self) -> builtins.list[tuple[str, str]]:
        return self._retry(self._cluster.namespaced_kinds)

    def identity(self) -> str:
        return self._retry(self._cluster.identity)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cluster, name)
