"""Catalog values: releases, components, platforms, and the per-release :class:`Catalog`.

A :class:`Catalog` is one Kubeflow release's view: its components (inherited
from its base release or its own), the platforms with that release's default
component sets, and the release's metadata. Every catalog knows its sibling
releases (:meth:`Catalog.for_release`), so code that holds any catalog can
switch to the release a KfDef's ``spec.version`` selects. Reading the folders
is :mod:`kfctl.catalog.loader`'s job; the format is documented in
``manifests/README.md``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kfctl.errors import CatalogError
from kfctl.frozen import freeze, thaw  # noqa: F401  (thaw re-exported: callers import it here)


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


def own_templates(folder: Path) -> dict[str, Path]:
    """The files of one templates folder by name (sub-folders and hidden files skipped)."""
    return {p.name: p for p in sorted(folder.iterdir()) if not p.name.startswith(".") and not p.is_dir()}


@dataclass(frozen=True)
class Dependency:
    name: str
    required: bool = True
    #: parameter values of the depending component under which a required dependency is required
    #: (all must hold, e.g. kserve's ``{deploymentMode: Serverless}``); otherwise it orders only
    when: Mapping[str, Any] = field(default_factory=_empty)

    def applies(self, params: Mapping[str, Any]) -> bool:
        """Whether this dependency must be deployed, given the depending component's parameters."""
        return self.required and all(params.get(k) == v for k, v in self.when.items())


@dataclass(frozen=True)
class Release:
    """One Kubeflow release of the catalog, from ``manifests/<name>/release.yaml``.

    ``name`` is ``""`` for a flat folder of components (test catalogs, hand-made
    catalogs): one anonymous release against which ``spec.version`` is not checked.
    """

    name: str
    description: str = ""
    path: Path | None = None
    #: the release this one is built on (its components are inherited unless replaced or dropped)
    base: str | None = None
    #: the release `kfctl init` writes and a KfDef without spec.version gets
    default: bool = False
    #: supported Kubernetes versions: {"min": "1.29", "max": "1.33"} (either may be absent)
    kubernetes: Mapping[str, str] = field(default_factory=_empty)
    #: components of the base that this release no longer has
    drop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Component:
    """One bundle: metadata from ``component.yaml`` and its templates.

    ``path`` is the folder that defines the component in its release. For an
    ``extends: true`` component, ``templates`` maps each file name to the file
    rendered: the component's own, else its base's (minus ``dropTemplates``).
    """

    name: str
    version: str
    description: str
    namespace: str
    path: Path
    depends_on: tuple[Dependency, ...] = ()
    images: tuple[str, ...] = ()
    requests: Mapping[str, str] = field(default_factory=_empty)
    parameters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({"type": "object"}))
    readiness: tuple[Mapping[str, Any], ...] = ()
    #: templates folders, the base-most first, each with the file names it drops from those below
    #: (``dropTemplates``); read when rendering, see :attr:`templates`
    template_layers: tuple[tuple[Path, frozenset[str]], ...] = ()
    #: supported Kubernetes versions {"min", "max"}: the component's own, else its release's
    kubernetes: Mapping[str, str] = field(default_factory=_empty)
    #: the base release's component folder this one extends (``extends: true``), else None
    extends: Path | None = None
    #: ``provided:`` of component.yaml: how a cluster's own copy of this component is used (README,
    #: "Existing components"): ``keep`` (Kubeflow's own objects, still rendered), ``workloads`` and
    #: ``webhooks`` (what must run in the cluster's copy); None: a KfDef cannot declare it provided
    provided: Mapping[str, Any] | None = None

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(self.parameters.get("properties", {}))

    def defaults(self) -> dict[str, Any]:
        """Each parameter's schema default (a fresh, mutable dict)."""
        return {name: thaw(spec.get("default")) for name, spec in self.parameters.get("properties", {}).items()}

    @property
    def templates(self) -> dict[str, Path]:
        """Template file name -> file, in file-name order (partials ``_*.j2`` included): each
        layer's files over the layers below it, minus what it drops. Read from disk on each call."""
        files: dict[str, Path] = {}
        for folder, dropped in self.template_layers or ((self.templates_dir, frozenset()),):
            for name in dropped:
                files.pop(name, None)
            if folder.is_dir():
                files.update(own_templates(folder))
        return dict(sorted(files.items()))

    @property
    def templates_dir(self) -> Path:
        """The component's own templates folder (an extending component also uses its base's files)."""
        return self.path / "templates"


@dataclass(frozen=True)
class Platform:
    """A platform as one release sees it: default component set, parameters and overlays folder."""

    name: str
    description: str
    path: Path
    #: the default component set of this release (``kfctl init``)
    components: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({"type": "object"}))
    #: component parameter defaults, limited to the components this release has
    component_parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=_empty)
    raw: Mapping[str, Any] = field(default_factory=_empty)

    def defaults(self) -> dict[str, Any]:
        return {name: thaw(spec.get("default")) for name, spec in self.parameters.get("properties", {}).items()}


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving a selection: every component in dependency order."""

    order: tuple[str, ...]
    #: (added component, component that required it), in the order they were added
    added: tuple[tuple[str, str], ...]


_VERSION = re.compile(r"^(\d+)\.(\d+)$")


def release_key(name: str) -> tuple[int, ...]:
    """Sort key of a release name ("1.10" < "26.03"); names that are not numbers sort first."""
    m = _VERSION.match(name)
    return (int(m.group(1)), int(m.group(2))) if m else (-1,)


def suggest(name: str, choices: Iterable[str]) -> str:
    """A hint naming the closest choice (if any) and listing all of them."""
    choices = sorted(choices)
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    known = ", ".join(choices) if choices else "(none)"
    if close:
        return f"did you mean {close[0]!r}? known: {known}"
    return f"known: {known}"


class Releases:
    """Every release read from one manifests folder, each with its :class:`Catalog`."""

    def __init__(self, infos: Mapping[str, Release], default: str) -> None:
        self.infos: Mapping[str, Release] = MappingProxyType(dict(infos))
        self.default = default
        self._catalogs: dict[str, Catalog] = {}

    @property
    def names(self) -> tuple[str, ...]:
        """Release names, oldest first."""
        return tuple(sorted(self.infos, key=release_key))

    def catalog(self, name: str | None = None) -> Catalog:
        """The catalog of release ``name`` (default: the default release)."""
        name = self.default if name is None else name
        try:
            return self._catalogs[name]
        except KeyError:
            known = ", ".join(n for n in self.names if n) or "(none: a flat catalog)"
            raise CatalogError(f"unknown release {name!r}", hint=f"known releases: {known}") from None


@dataclass(frozen=True)
class Catalog:
    """One release's components and platforms."""

    components: Mapping[str, Component]
    platforms: Mapping[str, Platform]
    info: Release = field(default_factory=lambda: Release(name="", default=True))
    family: Releases | None = field(default=None, compare=False, repr=False)

    @property
    def release(self) -> str:
        """This catalog's release name ("" for a flat folder)."""
        return self.info.name

    @property
    def releases(self) -> tuple[str, ...]:
        """Every release beside this one, oldest first."""
        return self.family.names if self.family is not None else (self.release,)

    @property
    def default_release(self) -> str:
        return self.family.default if self.family is not None else self.release

    @property
    def kubernetes(self) -> Mapping[str, str]:
        """The release's supported Kubernetes versions ({"min", "max"}; may be empty)."""
        return self.info.kubernetes

    def for_release(self, name: str | None) -> Catalog:
        """The catalog of release ``name`` read from the same folders (this one when equal or None)."""
        if name is None or name == self.release:
            return self
        if self.family is None:
            raise CatalogError(f"unknown release {name!r}", hint="this catalog has no releases")
        return self.family.catalog(name)

    def component(self, name: str) -> Component:
        try:
            return self.components[name]
        except KeyError:
            where = f" in release {self.release}" if self.release else ""
            raise CatalogError(f"unknown component {name!r}{where}",
                               hint=self.suggest(name, self.components)) from None

    def platform(self, name: str) -> Platform:
        try:
            return self.platforms[name]
        except KeyError:
            raise CatalogError(f"unknown platform {name!r}", hint=self.suggest(name, self.platforms)) from None

    @staticmethod
    def suggest(name: str, choices: Iterable[str]) -> str:
        """A hint naming the closest choice (if any) and listing all of them."""
        return suggest(name, choices)

    def resolve(self, selected: Iterable[str],
                parameters: Callable[[str], Mapping[str, Any]] | None = None) -> Resolution:
        """Add required dependencies and order everything so dependencies come first.

        Optional dependencies order components only when both are selected, and so
        do required ones whose ``when`` does not hold for the depending component's
        parameters: ``parameters(name)`` gives them (default: the schema defaults).
        Ties are broken by name so the order is stable. A cycle is a CatalogError.
        """
        params_of = parameters or (lambda name: self.components[name].defaults())
        chosen: list[str] = []
        added: list[tuple[str, str]] = []
        pending = list(dict.fromkeys(selected))
        for name in pending:
            self.component(name)
        seen = set(pending)
        while pending:
            name = pending.pop(0)
            chosen.append(name)
            deps = self.components[name].depends_on
            values = params_of(name) if any(d.when for d in deps) else {}
            for dep in deps:
                if dep.applies(values) and dep.name not in seen:
                    self.component(dep.name)
                    seen.add(dep.name)
                    pending.append(dep.name)
                    added.append((dep.name, name))
        edges = {
            name: sorted(d.name for d in self.components[name].depends_on if d.name in seen)
            for name in chosen
        }
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(node: str, trail: list[str]) -> None:
            if state.get(node) == 2:
                return
            if state.get(node) == 1:
                cycle = trail[trail.index(node):] + [node]
                raise CatalogError("component dependency cycle: " + " -> ".join(cycle))
            state[node] = 1
            for dep in edges[node]:
                visit(dep, [*trail, node])
            state[node] = 2
            order.append(node)

        for name in sorted(chosen):
            visit(name, [])
        return Resolution(order=tuple(order), added=tuple(added))
