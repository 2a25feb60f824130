"""The renderer's values: what to render (:class:`RenderRequest`) and what came out.

Everything here is immutable and flows one way: a request goes in, a
:class:`Rendering` of per-component :class:`Bundle` s of :class:`Resource` s
comes out. The request is deliberately independent of the KfDef format, so
the renderer can be driven by ``kfctl.config``, by tests, or by a benchmark.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kfctl.kinds import split_api_version
from kfctl.frozen import freeze, thaw  # noqa: F401  (re-exported: renderer modules import them here)

#: Where overlay-only resources that belong to no component are grouped.
PLATFORM_GROUP = "platform"
USER_GROUP = "user"


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class RenderRequest:
    """Everything the renderer needs, and nothing of the KfDef's shape.

    ``components`` is the resolved selection in dependency order (dependencies
    first). ``parameters`` holds per-component values that override the
    platform's and the schema defaults (a shallow, per-parameter override), so
    passing already-effective parameters is fine. ``overlays`` are user overlay
    folders applied after the platform's own, in the given order. ``release``
    names the catalog release to render (None: the catalog given to the renderer).
    """

    platform: str
    components: tuple[str, ...]
    namespace: str = "kubeflow"
    deployment: str = "kubeflow"
    parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=_empty)
    platform_parameters: Mapping[str, Any] = field(default_factory=_empty)
    overlays: tuple[Path, ...] = ()
    release: str | None = None
    #: components (of ``components``) the cluster already runs: only the objects their component.yaml
    #: ``provided.keep`` lists are kept; templates still see them in ``components``
    provided: tuple[str, ...] = ()
    #: a StorageClass the cluster provides: a rendered StorageClass of that name is left out
    storage_class: str | None = None
    #: the service account Istio's ingress gateway runs as in istio-system: the principal Kubeflow's
    #: AuthorizationPolicies admit (templates: ``ingress_gateway.principal``); a provided Istio may differ
    gateway_service_account: str = "istio-ingressgateway-service-account"

    def __post_init__(self) -> None:
        object.__setattr__(self, "components", tuple(self.components))
        object.__setattr__(self, "provided", tuple(self.provided))
        object.__setattr__(self, "parameters", freeze(self.parameters))
        object.__setattr__(self, "platform_parameters", freeze(self.platform_parameters))
        object.__setattr__(self, "overlays", tuple(Path(p) for p in self.overlays))


@dataclass(frozen=True)
class Resource:
    """One rendered Kubernetes object and where it came from.

    ``source`` is the file that produced it (``manifests/1.10/katib/templates/db.yaml.j2``
    or an overlay file, then ``overlay`` is true); ``body`` is the object itself, read-only.
    """

    component: str
    source: str
    body: Mapping[str, Any]
    #: True for objects an overlay added (rather than a bundle template)
    overlay: bool = False

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion", ""))

    @property
    def group(self) -> str:
        return split_api_version(self.api_version)[0]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        return str((self.body.get("metadata") or {}).get("name", ""))

    @property
    def namespace(self) -> str | None:
        ns = (self.body.get("metadata") or {}).get("namespace")
        return None if ns is None else str(ns)

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Identity as the API server sees it: (group, kind, namespace or "", name)."""
        return (self.group, self.kind, self.namespace or "", self.name)

    @property
    def ref(self) -> str:
        """``Kind/namespace/name`` (or ``Kind/name``) for messages."""
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"

    def to_dict(self) -> dict[str, Any]:
        """The object as a fresh, mutable dict."""
        return thaw(self.body)


@dataclass(frozen=True)
class Bundle:
    """The rendered objects of one component (or overlay group), in output order."""

    component: str
    version: str
    resources: tuple[Resource, ...]


@dataclass(frozen=True)
class PatchUse:
    """How many objects one overlay patch changed: the proof that it applies to something."""

    source: str
    index: int
    target: str
    matched: int


@dataclass(frozen=True)
class Rendering:
    """The renderer's output: bundles in apply order, plus an overlay report."""

    request: RenderRequest
    bundles: tuple[Bundle, ...]
    patches: tuple[PatchUse, ...] = ()
    #: "component.parameter" (or "platform.parameter") still at a default marked x-kfctl-demo
    demo_defaults: tuple[str, ...] = ()
    #: objects left out because the API server would refuse them (``--skip-invalid``), with why
    skipped: tuple[str, ...] = ()
    #: parameters of two selected components that should agree and do not (``x-kfctl-same-as``)
    mismatches: tuple[str, ...] = ()
    #: (image as rewritten, image as the bundles name it) for each image ``spec.images`` rewrote
    image_sources: tuple[tuple[str, str], ...] = ()
    #: provided component -> the (group, kind) of the CRDs its own copy would have installed, which the
    #: cluster's copy must serve (kfctl.engine.provided checks them)
    provided_kinds: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=_empty)

    @property
    def resources(self) -> tuple[Resource, ...]:
        return tuple(r for b in self.bundles for r in b.resources)

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def bundle(self, component: str) -> Bundle | None:
        return next((b for b in self.bundles if b.component == component), None)
