"""Catalog values and loading: components from ``manifests/``, platforms from ``platforms/``.

Loading is strict (a broken bundle is a :class:`CatalogError` naming its file)
and cached per folder, since the catalog is read-only data shipped with kfctl.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from kfctl import paths
from kfctl.errors import CatalogError
from kfctl.frozen import freeze, thaw  # noqa: F401  (thaw re-exported: callers import it here)


@dataclass(frozen=True)
class Dependency:
    name: str
    required: bool = True


@dataclass(frozen=True)
class Component:
    """One bundle: metadata from ``component.yaml`` and the folder of its templates."""

    name: str
    version: str
    description: str
    namespace: str
    path: Path
    depends_on: tuple[Dependency, ...] = ()
    images: tuple[str, ...] = ()
    requests: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    parameters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({"type": "object"}))
    readiness: tuple[Mapping[str, Any], ...] = ()

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(self.parameters.get("properties", {}))

    def defaults(self) -> dict[str, Any]:
        """Each parameter's schema default (a fresh, mutable dict)."""
        return {name: thaw(spec.get("default")) for name, spec in self.parameters.get("properties", {}).items()}

    @property
    def templates_dir(self) -> Path:
        return self.path / "templates"


@dataclass(frozen=True)
class Platform:
    """A platform: its default component set, parameters and overlays folder."""

    name: str
    description: str
    path: Path
    components: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({"type": "object"}))
    component_parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    raw: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def defaults(self) -> dict[str, Any]:
        return {name: thaw(spec.get("default")) for name, spec in self.parameters.get("properties", {}).items()}


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving a selection: every component in dependency order."""

    order: tuple[str, ...]
    #: (added component, component that required it), in the order they were added
    added: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Catalog:
    components: Mapping[str, Component]
    platforms: Mapping[str, Platform]

    def component(self, name: str) -> Component:
        try:
            return self.components[name]
        except KeyError:
            raise CatalogError(f"unknown component {name!r}", hint=self.suggest(name, self.components)) from None

    def platform(self, name: str) -> Platform:
        try:
            return self.platforms[name]
        except KeyError:
            raise CatalogError(f"unknown platform {name!r}", hint=self.suggest(name, self.platforms)) from None

    @staticmethod
    def suggest(name: str, choices: Iterable[str]) -> str:
        """A hint naming the closest choice (if any) and listing all of them."""
        choices = sorted(choices)
        close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
        known = ", ".join(choices) if choices else "(none)"
        if close:
            return f"did you mean {close[0]!r}? known: {known}"
        return f"known: {known}"

    def resolve(self, selected: Iterable[str]) -> Resolution:
        """Add required dependencies and order everything so dependencies come first.

        Optional dependencies order components only when both are selected.
        Ties are broken by name so the order is stable. A cycle is a CatalogError.
        """
        chosen: list[str] = []
        added: list[tuple[str, str]] = []
        pending = list(dict.fromkeys(selected))
        for name in pending:
            self.component(name)
        seen = set(pending)
        while pending:
            name = pending.pop(0)
            chosen.append(name)
            for dep in self.components[name].depends_on:
                if dep.required and dep.name not in seen:
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


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping at the top level")
    return data


def _load_component(folder: Path) -> Component:
    path = folder / "component.yaml"
    data = _read_yaml(path)
    for key in ("name", "version", "description"):
        if not isinstance(data.get(key), str):
            raise CatalogError(f"{path}: {key}: required string is missing")
    if data["name"] != folder.name:
        raise CatalogError(f"{path}: name {data['name']!r} does not match its folder {folder.name!r}")
    deps = []
    for i, dep in enumerate(data.get("dependsOn") or []):
        if not isinstance(dep, dict) or not isinstance(dep.get("name"), str):
            raise CatalogError(f"{path}: dependsOn[{i}]: expected {{name: ..., required: true|false}}")
        deps.append(Dependency(name=dep["name"], required=bool(dep.get("required", True))))
    params = data.get("parameters") or {"type": "object", "properties": {}}
    for pname, spec in (params.get("properties") or {}).items():
        if not isinstance(spec, dict) or "default" not in spec or "description" not in spec:
            raise CatalogError(f"{path}: parameters.properties.{pname}: needs a default and a description")
    return Component(
        name=data["name"],
        version=data["version"],
        description=data["description"],
        namespace=str(data.get("namespace", "kubeflow")),
        path=folder,
        depends_on=tuple(deps),
        images=tuple(data.get("images") or ()),
        requests=freeze(data.get("requests") or {}),
        parameters=freeze(params),
        readiness=freeze(data.get("readiness") or []),
    )


def _load_platform(folder: Path) -> Platform:
    path = folder / "platform.yaml"
    data = _read_yaml(path)
    if data.get("name") != folder.name:
        raise CatalogError(f"{path}: name {data.get('name')!r} does not match its folder {folder.name!r}")
    return Platform(
        name=data["name"],
        description=str(data.get("description", "")),
        path=folder,
        components=tuple(data.get("components") or ()),
        parameters=freeze(data.get("parameters") or {"type": "object", "properties": {}}),
        component_parameters=freeze(data.get("componentParameters") or {}),
        raw=freeze(data),
    )


@functools.lru_cache(maxsize=8)
def _load(manifests: Path, platforms: Path) -> Catalog:
    components = {}
    if manifests.is_dir():
        for folder in sorted(p for p in manifests.iterdir() if (p / "component.yaml").is_file()):
            comp = _load_component(folder)
            components[comp.name] = comp
    plats = {}
    if platforms.is_dir():
        for folder in sorted(p for p in platforms.iterdir() if (p / "platform.yaml").is_file()):
            plat = _load_platform(folder)
            plats[plat.name] = plat
    for comp in components.values():
        for dep in comp.depends_on:
            if dep.name not in components:
                raise CatalogError(f"{comp.path / 'component.yaml'}: dependsOn names unknown component {dep.name!r}")
    return Catalog(components=MappingProxyType(components), platforms=MappingProxyType(plats))


def load_catalog(manifests: Path | None = None, platforms: Path | None = None) -> Catalog:
    """The catalog shipped with kfctl, or one read from the given folders (tests)."""
    return _load(Path(manifests or paths.manifests_dir()).resolve(), Path(platforms or paths.platforms_dir()).resolve())
