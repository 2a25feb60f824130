"""Platform and user overlays: patches matched by kind/namespace/name, and extra resources.

An overlay folder (``platforms/<name>/overlays/`` or a user's folder) holds
``*.yaml`` files, or ``*.yaml.j2`` templates rendered with the platform's
parameters, applied in file-name order. Each file is one mapping::

    component: istio            # optional: the file applies only when istio is rendered,
                                # and its resources belong to istio
    patches:
      - target: {kind: Service, namespace: istio-system, name: istio-ingressgateway}
        patch: {spec: {type: NodePort}}                     # strategic merge (merge.py)
      - target: {kind: PersistentVolumeClaim}               # no name: every PVC
        jsonPatch: [{op: add, path: /spec/storageClassName, value: gp3}]   # RFC 6902
      - target: {kind: ConfigMap, name: jupyter-web-app-config}
        dataPatch:              # strategic merge into a YAML document held in data[key]
          key: spawner_ui_config.yaml
          patch: {spawnerFormDefaults: {shm: {value: false}}}
    resources:                  # extra objects, added before this file's patches run
      - {apiVersion: storage.k8s.io/v1, kind: StorageClass, ...}

``target`` takes ``kind`` (required), and optionally ``apiVersion`` (matches
the group), ``name`` (a shell glob), ``namespace`` and ``component``. A patch
whose target names an object must change at least one when its component is
rendered, otherwise the render fails naming the file: a misspelt target is
caught, never silently ignored. A target without ``name`` is a kind-wide
wildcard that may match nothing in a small selection.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonpatch
import jsonpointer
import jsonschema
import yaml

from kfctl.errors import ConfigError, Problem
from kfctl.kinds import split_api_version
from kfctl.render import jinja, merge, yamlio
from kfctl.render.model import PatchUse, Resource, freeze, thaw

_OBJECT = {"type": "object"}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "component": {"type": "string", "minLength": 1},
        "patches": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["target"],
                "properties": {
                    "target": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["kind"],
                        "properties": {k: {"type": "string", "minLength": 1}
                                       for k in ("kind", "apiVersion", "name", "namespace", "component")},
                    },
                    "patch": _OBJECT,
                    "jsonPatch": {"type": "array", "items": {
                        "type": "object", "required": ["op", "path"],
                        "properties": {"op": {"enum": ["add", "remove", "replace", "move", "copy", "test"]},
                                       "path": {"type": "string"}}}},
                    "dataPatch": {"type": "object", "additionalProperties": False, "required": ["key", "patch"],
                                  "properties": {"key": {"type": "string", "minLength": 1}, "patch": _OBJECT}},
                },
                "oneOf": [{"required": ["patch"]}, {"required": ["jsonPatch"]}, {"required": ["dataPatch"]}],
            },
        },
        "resources": {
            "type": "array",
            "items": {"type": "object", "required": ["apiVersion", "kind", "metadata"],
                      "properties": {"apiVersion": {"type": "string", "minLength": 1},
                                     "kind": {"type": "string", "minLength": 1},
                                     "metadata": {"type": "object", "required": ["name"],
                                                  "properties": {"name": {"type": "string", "minLength": 1}}}}},
        },
    },
}


@dataclass(frozen=True)
class Target:
    kind: str
    api_version: str | None = None
    name: str | None = None
    namespace: str | None = None
    component: str | None = None

    def matches(self, res: Resource) -> bool:
        if res.kind != self.kind:
            return False
        if self.api_version is not None and res.group != split_api_version(self.api_version)[0]:
            return False
        if self.name is not None and not fnmatch.fnmatchcase(res.name, self.name):
            return False
        if self.namespace is not None and (res.namespace or "") != self.namespace:
            return False
        return self.component is None or res.component == self.component

    def __str__(self) -> str:
        parts = [self.kind]
        if self.namespace:
            parts.append(self.namespace)
        parts.append(self.name or "*")
        text = "/".join(parts)
        return f"{text} (component {self.component})" if self.component else text


@dataclass(frozen=True)
class Patch:
    source: str
    index: int
    target: Target
    strategic: Mapping[str, Any] | None = None
    json: tuple[Mapping[str, Any], ...] | None = None
    #: (data key, strategic patch) for a YAML document embedded in a ConfigMap/Secret-like ``data``
    data: tuple[str, Mapping[str, Any]] | None = None

    @property
    def where(self) -> str:
        return f"patches[{self.index}]"


@dataclass(frozen=True)
class Overlay:
    """One overlay file, rendered and checked."""

    source: str
    group: str
    component: str | None
    patches: tuple[Patch, ...]
    resources: tuple[Mapping[str, Any], ...]


def _problem_path(error: jsonschema.ValidationError) -> str:
    text = ""
    for part in error.absolute_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def load_file(path: Path, context: Mapping[str, Any], *, group: str) -> Overlay:
    """Read (and for ``.j2``, render) one overlay file; a malformed one is a ConfigError."""
    shown = jinja.display_path(path)
    text = jinja.render_file(path, context) if path.name.endswith(".j2") else path.read_text(encoding="utf-8")
    try:
        data = yamlio.load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([Problem(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=shown, line=line)]) from None
    data = {} if data is None else data
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data), key=lambda e: list(map(str, e.path)))
    if errors:
        raise ConfigError([Problem(e.message, file=shown, path=_problem_path(e),
                                   hint="see the overlay format in kfctl/render/overlays.py or manifests/README.md")
                           for e in errors])
    component = data.get("component")
    patches = []
    for i, item in enumerate(data.get("patches") or []):
        t = item["target"]
        target = Target(kind=t["kind"], api_version=t.get("apiVersion"), name=t.get("name"),
                        namespace=t.get("namespace"), component=t.get("component", component))
        patches.append(Patch(source=shown, index=i, target=target,
                             strategic=freeze(item["patch"]) if "patch" in item else None,
                             json=freeze(item["jsonPatch"]) if "jsonPatch" in item else None,
                             data=(item["dataPatch"]["key"], freeze(item["dataPatch"]["patch"]))
                             if "dataPatch" in item else None))
    return Overlay(source=shown, group=group, component=component, patches=tuple(patches),
                   resources=tuple(freeze(r) for r in data.get("resources") or ()))


def load_folder(folder: Path, context: Mapping[str, Any], *, group: str) -> list[Overlay]:
    """Every overlay file of a folder, in file-name order."""
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.name.endswith((".yaml", ".yml", ".yaml.j2", ".yml.j2")))
    return [load_file(p, context, group=group) for p in files]


def _patch_embedded(obj: dict[str, Any], key: str, patch: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``patch`` into the YAML mapping stored as text in ``obj["data"][key]``."""
    text = (obj.get("data") or {}).get(key)
    if not isinstance(text, str):
        raise ValueError(f"data.{key} is missing")
    try:
        document = yamlio.load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"data.{key} is not YAML: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError(f"data.{key} does not hold a YAML mapping")
    out = dict(obj)
    out["data"] = {**obj["data"], key: yamlio.dump(merge.merge(document, thaw(patch)))}
    return out


def _apply_one(patch: Patch, res: Resource) -> Resource:
    obj = res.to_dict()
    try:
        if patch.strategic is not None:
            new = merge.merge(obj, thaw(patch.strategic))
        elif patch.data is not None:
            new = _patch_embedded(obj, *patch.data)
        else:
            new = jsonpatch.apply_patch(obj, thaw(patch.json), in_place=False)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, ValueError, TypeError) as exc:
        raise ConfigError([Problem(f"cannot patch {res.ref} (component {res.component}): {exc}",
                                   file=patch.source, path=patch.where)]) from None
    probe = dataclasses.replace(res, body=new)
    if probe.key != res.key or probe.api_version != res.api_version:
        raise ConfigError([Problem(f"patch changes the identity of {res.ref} to {probe.ref}; "
                                   "patches may not change apiVersion, kind, namespace or name",
                                   file=patch.source, path=patch.where)])
    return dataclasses.replace(res, body=freeze(new))


def apply(
    overlays: Sequence[Overlay],
    resources: list[Resource],
    rendered: frozenset[str],
    place: Callable[[Mapping[str, Any], str, str], Mapping[str, Any]],
) -> tuple[list[Resource], list[PatchUse]]:
    """Apply overlays in order: each adds its resources, then runs its patches over everything.

    ``place`` namespaces an added object for its component. Returns the new
    resource list and one :class:`PatchUse` per applicable patch.
    """
    out = list(resources)
    uses: list[PatchUse] = []
    for overlay in overlays:
        if overlay.component is not None and overlay.component not in rendered:
            continue
        owner = overlay.component or overlay.group
        for raw in overlay.resources:
            out.append(Resource(owner, overlay.source, freeze(place(thaw(raw), owner, overlay.source)), overlay=True))
        for patch in overlay.patches:
            if patch.target.component is not None and patch.target.component not in rendered:
                continue
            matched = 0
            for i, res in enumerate(out):
                if patch.target.matches(res):
                    out[i] = _apply_one(patch, res)
                    matched += 1
            if matched == 0 and patch.target.name is not None:
                raise ConfigError([Problem(
                    f"target {patch.target} matches no rendered object",
                    file=patch.source, path=f"{patch.where}.target",
                    hint="check kind, namespace and name against `kfctl show`; "
                         "set target.component if the object exists only with that component",
                )])
            uses.append(PatchUse(source=patch.source, index=patch.index, target=str(patch.target), matched=matched))
    return out, uses
