"""Reading the catalog: releases from ``manifests/<release>/``, platforms from ``platforms/``.

Layout (``manifests/README.md``)::

    manifests/<release>/release.yaml           name, base, default, kubernetes, drop
    manifests/<release>/<component>/component.yaml, templates/

A release with a ``base`` inherits every base component it neither replaces
(a folder of the same name) nor drops (``drop:``). A folder whose
``component.yaml`` says ``extends: true`` is built on the base's component:
``component.yaml`` deep-merged over the base's (mappings key by key, lists and
scalars replaced, ``null`` removes a key) and templates overridden file by
file (``dropTemplates`` removes base files). A folder with component folders
directly inside and no ``release.yaml`` anywhere is one anonymous release
(test catalogs).

Loading is strict (a broken bundle or release is a :class:`CatalogError`
naming its file) and cached per folder: the catalog is read-only data shipped
with kfctl.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from kfctl import paths
from kfctl.catalog.model import (Catalog, Component, Dependency, Platform, Release, Releases, own_templates,
                                 release_key)
from kfctl.errors import CatalogError
from kfctl.frozen import freeze

RELEASE_FILE = "release.yaml"
COMPONENT_FILE = "component.yaml"
PLATFORM_FILE = "platform.yaml"
#: keys of an extending component.yaml that steer the merge and are not merged themselves
_DIRECTIVES = ("extends", "dropTemplates")
_K8S_VERSION = re.compile(r"^1\.\d+$")
_RELEASE_NAME = re.compile(r"^\d+\.\d+$")


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping at the top level")
    return data


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` merged into ``base``: mappings key by key, anything else replaced, ``None`` removes the key."""
    out = dict(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _kubernetes(value: Any, where: str) -> dict[str, str]:
    """A ``kubernetes: {min: "1.31", max: "1.35"}`` value, checked."""
    if value is None:
        return {}
    if not isinstance(value, dict) or set(value) - {"min", "max"}:
        raise CatalogError(f"{where}: kubernetes: expected {{min: \"1.31\", max: \"1.35\"}}")
    for key, text in value.items():
        if not isinstance(text, str) or not _K8S_VERSION.match(text):
            raise CatalogError(f"{where}: kubernetes.{key}: expected a quoted Kubernetes minor version "
                               f"like \"1.31\", got {text!r}")
    if "min" in value and "max" in value and \
            int(value["min"].split(".")[1]) > int(value["max"].split(".")[1]):
        raise CatalogError(f"{where}: kubernetes: min {value['min']} is above max {value['max']}")
    return dict(value)


def _own_templates(folder: Path) -> dict[str, Path]:
    templates = folder / "templates"
    return own_templates(templates) if templates.is_dir() else {}


@dataclass(frozen=True)
class _Raw:
    """A component as read so far: its merged ``component.yaml`` and template files."""

    data: Mapping[str, Any]
    folder: Path
    #: the template files as loading saw them (checks of dropTemplates)
    templates: Mapping[str, Path]
    layers: tuple[tuple[Path, frozenset[str]], ...]
    extends: Path | None = None


def _component(raw: _Raw, release_k8s: Mapping[str, str]) -> Component:
    data, folder = raw.data, raw.folder
    path = folder / COMPONENT_FILE
    for key in ("name", "version", "description"):
        if not isinstance(data.get(key), str):
            raise CatalogError(f"{path}: {key}: required string is missing")
    if data["name"] != folder.name:
        raise CatalogError(f"{path}: name {data['name']!r} does not match its folder {folder.name!r}")
    deps = []
    for i, dep in enumerate(data.get("dependsOn") or []):
        if not isinstance(dep, dict) or not isinstance(dep.get("name"), str):
            raise CatalogError(f"{path}: dependsOn[{i}]: expected {{name: ..., required: true|false}}")
    params = data.get("parameters") or {"type": "object", "properties": {}}
    for i, dep in enumerate(data.get("dependsOn") or []):
        when = dep.get("when") or {}
        declared = params.get("properties") or {}
        if not isinstance(when, dict) or any(k not in declared or isinstance(v, (dict, list)) for k, v in when.items()):
            raise CatalogError(f"{path}: dependsOn[{i}].when: expected {{parameter: value}} over the component's "
                               f"own parameters (known: {', '.join(sorted(declared)) or 'none'})")
        deps.append(Dependency(name=dep["name"], required=bool(dep.get("required", True)), when=freeze(when)))
    for pname, spec in (params.get("properties") or {}).items():
        if not isinstance(spec, dict) or "default" not in spec or "description" not in spec:
            raise CatalogError(f"{path}: parameters.properties.{pname}: needs a default and a description")
    kubernetes = {**release_k8s, **_kubernetes(data.get("kubernetes"), str(path))}
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
        template_layers=raw.layers,
        kubernetes=MappingProxyType(kubernetes),
        extends=raw.extends,
        provided=_provided(data.get("provided"), str(path)),
    )


_PROVIDED_LISTS = {"keep": ("kind", "name"), "workloads": ("what", "labels"), "webhooks": ("what", "suffix")}


def _provided(raw: Any, path: str) -> Mapping[str, Any] | None:
    """component.yaml ``provided``: lists ``keep`` ({kind, name}), ``workloads`` ({what, labels, namespace?,
    serviceAccount?, revisioned?}) and ``webhooks`` ({what, suffix, selects?, revisioned?}); checked here so a
    typo fails when the catalog loads (their meaning: :mod:`kfctl.engine.provided`)."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - set(_PROVIDED_LISTS):
        raise CatalogError(f"{path}: provided: expected a mapping of {', '.join(_PROVIDED_LISTS)}")
    for key, needed in _PROVIDED_LISTS.items():
        items = raw.get(key) or []
        if not isinstance(items, list) or any(not isinstance(i, dict) or any(n not in i for n in needed) for i in items):
            raise CatalogError(f"{path}: provided.{key}: expected a list of {{{', '.join(needed)}, ...}}")
    return freeze(raw)


def _read_folder(folder: Path, base: Mapping[str, _Raw] | None) -> _Raw:
    """One component folder of a release, built on ``base`` (the base release's components) if it extends."""
    path = folder / COMPONENT_FILE
    data = _read_yaml(path)
    own = _own_templates(folder)
    drop = data.get("dropTemplates")
    if not data.get("extends"):
        if drop is not None:
            raise CatalogError(f"{path}: dropTemplates needs extends: true (a component without it "
                               "has only its own templates)")
        if "extends" in data and data["extends"] is not False:
            raise CatalogError(f"{path}: extends: expected true or false")
        return _Raw(data={k: v for k, v in data.items() if k not in _DIRECTIVES}, folder=folder, templates=own,
                    layers=((folder / "templates", frozenset()),))
    if data["extends"] is not True:
        raise CatalogError(f"{path}: extends: expected true or false")
    if base is None:
        raise CatalogError(f"{path}: extends: true, but this release has no base",
                           hint=f"set base: in {folder.parent / RELEASE_FILE}, or drop extends")
    if folder.name not in base:
        raise CatalogError(f"{path}: extends: true, but the base release has no component {folder.name!r}",
                           hint="remove extends: the folder then defines a new component")
    parent = base[folder.name]
    templates = dict(parent.templates)
    if drop is not None and (not isinstance(drop, list) or not all(isinstance(d, str) for d in drop)):
        raise CatalogError(f"{path}: dropTemplates: expected a list of template file names")
    for name in drop or ():
        if name not in templates:
            raise CatalogError(f"{path}: dropTemplates names {name!r}, which the base component does not have",
                               hint="base templates: " + (", ".join(sorted(templates)) or "(none)"))
        if name in own:
            raise CatalogError(f"{path}: dropTemplates names {name!r}, which this folder's templates/ also has",
                               hint="either override the file or drop it")
        del templates[name]
    templates.update(own)
    merged = deep_merge(parent.data, {k: v for k, v in data.items() if k not in _DIRECTIVES})
    return _Raw(data=merged, folder=folder, templates=templates, extends=parent.folder,
                layers=(*parent.layers, (folder / "templates", frozenset(drop or ()))))


def _release_info(folder: Path) -> Release:
    path = folder / RELEASE_FILE
    data = _read_yaml(path)
    name = data.get("name")
    if not isinstance(name, str) or name != folder.name:
        raise CatalogError(f"{path}: name {name!r} does not match its folder {folder.name!r}",
                           hint='quote it: name: "26.03"')
    if not _RELEASE_NAME.match(name):
        raise CatalogError(f"{path}: name {name!r} is not a release number like \"1.10\" or \"26.03\"")
    unknown = set(data) - {"name", "description", "base", "default", "kubernetes", "drop"}
    if unknown:
        raise CatalogError(f"{path}: unknown field(s) {', '.join(sorted(unknown))}",
                           hint="fields: name, description, base, default, kubernetes, drop")
    base = data.get("base")
    if base is not None and not isinstance(base, str):
        raise CatalogError(f"{path}: base: expected a quoted release name like \"1.10\"")
    drop = data.get("drop") or []
    if not isinstance(drop, list) or not all(isinstance(d, str) for d in drop):
        raise CatalogError(f"{path}: drop: expected a list of component names")
    if drop and base is None:
        raise CatalogError(f"{path}: drop needs a base release to drop from")
    if not isinstance(data.get("default", False), bool):
        raise CatalogError(f"{path}: default: expected true or false")
    return Release(name=name, description=str(data.get("description") or ""), path=folder, base=base,
                   default=bool(data.get("default", False)),
                   kubernetes=MappingProxyType(_kubernetes(data.get("kubernetes"), str(path))), drop=tuple(drop))


def _component_folders(folder: Path) -> list[Path]:
    out = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        if not (sub / COMPONENT_FILE).is_file():
            raise CatalogError(f"{sub}: a folder in a release must be a component (it has no {COMPONENT_FILE})")
        out.append(sub)
    return out


def _release_components(manifests: Path) -> tuple[dict[str, Release], dict[str, dict[str, _Raw]]]:
    """Every release's info and its components (inherited ones included), bases first."""
    folders = sorted(p for p in manifests.iterdir() if p.is_dir() and (p / RELEASE_FILE).is_file())
    stray = sorted(p.name for p in manifests.iterdir() if p.is_dir() and (p / COMPONENT_FILE).is_file())
    if stray:
        raise CatalogError(f"{manifests}: component folder(s) {', '.join(stray)} outside a release folder",
                           hint="move them into manifests/<release>/ (see manifests/README.md)")
    infos = {f.name: _release_info(f) for f in folders}
    for info in infos.values():
        if info.base is not None and info.base not in infos:
            raise CatalogError(f"{manifests / info.name / RELEASE_FILE}: base {info.base!r} is not a release here",
                               hint="releases: " + ", ".join(sorted(infos, key=release_key)))
    raws: dict[str, dict[str, _Raw]] = {}

    def build(name: str, trail: tuple[str, ...]) -> dict[str, _Raw]:
        if name in raws:
            return raws[name]
        if name in trail:
            raise CatalogError("release base cycle: " + " -> ".join((*trail, name)))
        info = infos[name]
        base = build(info.base, (*trail, name)) if info.base is not None else None
        comps: dict[str, _Raw] = dict(base or {})
        folder_of_release = manifests / name
        own = _component_folders(folder_of_release)
        for dropped in info.drop:
            if dropped not in comps:
                raise CatalogError(f"{folder_of_release / RELEASE_FILE}: drop names {dropped!r}, which base "
                                   f"{info.base} does not have")
            if any(f.name == dropped for f in own):
                raise CatalogError(f"{folder_of_release / RELEASE_FILE}: drop names {dropped!r}, which this release "
                                   "also has a folder for", hint="remove one of the two")
            del comps[dropped]
        for folder in own:
            comps[folder.name] = _read_folder(folder, base)
        raws[name] = comps
        return comps

    for name in infos:
        build(name, ())
    return infos, raws


def _default(infos: Mapping[str, Release], manifests: Path) -> str:
    defaults = [i.name for i in infos.values() if i.default]
    if len(defaults) == 1:
        return defaults[0]
    if not defaults and len(infos) == 1:
        return next(iter(infos))
    raise CatalogError(f"{manifests}: exactly one release must say default: true "
                       f"({'none does' if not defaults else 'these do: ' + ', '.join(sorted(defaults))})")


def _platform(folder: Path, data: Mapping[str, Any], release: str, releases: tuple[str, ...],
              components: Mapping[str, Component]) -> Platform:
    path = folder / PLATFORM_FILE
    listed = data.get("components") or ()
    if isinstance(listed, dict):
        unknown = sorted(set(listed) - set(releases))
        if unknown and releases != ("",):
            raise CatalogError(f"{path}: components names unknown release(s) {', '.join(map(str, unknown))}",
                               hint="releases: " + ", ".join(releases))
        listed = listed.get(release) or ()
    if not isinstance(listed, list | tuple) or not all(isinstance(c, str) for c in listed):
        raise CatalogError(f"{path}: components: expected a list of component names, or a mapping from "
                           "release to such a list")
    comp_params = data.get("componentParameters") or {}
    return Platform(
        name=data["name"],
        description=str(data.get("description", "")),
        path=folder,
        components=tuple(listed),
        parameters=freeze(data.get("parameters") or {"type": "object", "properties": {}}),
        component_parameters=freeze({k: v for k, v in comp_params.items() if k in components}),
        raw=freeze(data),
    )


@functools.lru_cache(maxsize=8)
def _load(manifests: Path, platforms: Path) -> Releases:
    if manifests.is_dir() and any((p / RELEASE_FILE).is_file() for p in manifests.iterdir() if p.is_dir()):
        infos, raws = _release_components(manifests)
        default = _default(infos, manifests)
    else:  # a flat folder of components: one anonymous release
        infos = {"": Release(name="", default=True)}
        folders = sorted(p for p in manifests.iterdir() if (p / COMPONENT_FILE).is_file()) \
            if manifests.is_dir() else []
        raws = {"": {f.name: _read_folder(f, None) for f in folders}}
        default = ""
    platform_data: dict[Path, dict[str, Any]] = {}
    if platforms.is_dir():
        for folder in sorted(p for p in platforms.iterdir() if (p / PLATFORM_FILE).is_file()):
            data = _read_yaml(folder / PLATFORM_FILE)
            if data.get("name") != folder.name:
                raise CatalogError(f"{folder / PLATFORM_FILE}: name {data.get('name')!r} does not match its "
                                   f"folder {folder.name!r}")
            platform_data[folder] = data
    family = Releases(infos, default)
    names = family.names
    for name, info in infos.items():
        components = {n: _component(raw, info.kubernetes) for n, raw in sorted(raws[name].items())}
        for comp in components.values():
            for dep in comp.depends_on:
                if dep.name not in components:
                    where = f" in release {name}" if name else ""
                    raise CatalogError(f"{comp.path / COMPONENT_FILE}: dependsOn names unknown component "
                                       f"{dep.name!r}{where}")
        plats = {f.name: _platform(f, d, name, names, components) for f, d in platform_data.items()}
        family._catalogs[name] = Catalog(components=MappingProxyType(components), platforms=MappingProxyType(plats),
                                         info=info, family=family)
    return family


def load_releases(manifests: Path | None = None, platforms: Path | None = None) -> Releases:
    """Every release of the catalog shipped with kfctl, or of the given folders (tests)."""
    return _load(Path(manifests or paths.manifests_dir()).resolve(),
                 Path(platforms or paths.platforms_dir()).resolve())


def load_catalog(manifests: Path | None = None, platforms: Path | None = None, *,
                 release: str | None = None) -> Catalog:
    """The catalog of ``release`` (default: the default release, 26.03) shipped with kfctl, or read from
    the given folders (tests). Any catalog reaches its siblings with :meth:`Catalog.for_release`."""
    return load_releases(manifests, platforms).catalog(release)
