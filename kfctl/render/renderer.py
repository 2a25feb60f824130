"""Render a :class:`RenderRequest` into a :class:`Rendering`: bundles of objects in apply order.

Pipeline, per request: validate the platform's parameters; per component (in
the request's dependency order) compute and validate its parameters, render
its templates (file-name order; ``_*.j2`` files are partials for
``{% include %}``/``{% import %}`` only), parse them strictly; give
namespaced objects their component's namespace; run the platform's overlays,
then the user's; add the standard labels; refuse duplicates. Nothing here
reads the clock or a random source, so equal requests give equal renderings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from kfctl import __version__
from kfctl.catalog import Catalog, Component, load_catalog
from kfctl.errors import CatalogError, TemplateError
from kfctl.render import jinja, labels, overlays, params, yamlio
from kfctl.render.model import PLATFORM_GROUP, USER_GROUP, Bundle, Rendering, RenderRequest, Resource, freeze
from kfctl.render.scope import Scopes, is_crd

KUBEFLOW_NAMESPACE_MARKER = "kubeflow"


def component_namespace(component: Component, request: RenderRequest) -> str:
    """The component's main namespace; ``kubeflow`` in a bundle means the KfDef's namespace."""
    if component.namespace == KUBEFLOW_NAMESPACE_MARKER:
        return request.namespace
    return component.namespace


def template_files(component: Component, templates: Mapping[str, Path] | None = None) -> list[Path]:
    """The templates rendered for a component, in file-name order (its own and, when it extends
    a base release's component, the base's it does not override or drop)."""
    files = []
    for name, path in sorted((component.templates if templates is None else templates).items()):
        if name.startswith(("_", ".")):
            continue
        if not path.name.endswith(".yaml.j2"):
            raise CatalogError(f"{jinja.display_path(path)}: templates must be named *.yaml.j2 "
                               "(or _*.j2 for partials)", hint="rename the file")
        files.append(path)
    return files


def _parse(text: str, shown: str) -> list[Any]:
    try:
        return yamlio.load_all(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = ""
        if mark is not None:
            lines = text.splitlines()
            snippet = lines[mark.line] if mark.line < len(lines) else ""
            where = f" at rendered line {mark.line + 1}: {snippet.strip()!r}"
        problem = getattr(exc, "problem", None) or str(exc)
        raise TemplateError(f"{shown}: rendered output is not valid YAML{where}: {problem}",
                            hint="quote inserted values with `| tojson`; run `kfctl show` to see the output") from None


def _check_object(doc: Any, shown: str, index: int) -> None:
    what = f"{shown}: document {index + 1}"
    if not isinstance(doc, dict):
        raise TemplateError(f"{what}: expected a Kubernetes object (a mapping), got {type(doc).__name__}")
    for key in ("apiVersion", "kind"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise TemplateError(f"{what}: {key} is missing")
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise TemplateError(f"{what} ({doc['kind']}): metadata.name is missing or not a string")


def _render_component(component: Component, context: Mapping[str, Any]) -> list[Resource]:
    out = []
    templates = component.templates
    for path in template_files(component, templates):
        shown = jinja.display_path(path)
        docs = _parse(jinja.render_file(path, context, files=templates), shown)
        for i, doc in enumerate(docs):
            _check_object(doc, shown, i)
            out.append(Resource(component.name, shown, doc))
    return out


class _Placer:
    """Puts namespaced objects into their component's namespace; refuses misplaced ones."""

    def __init__(self, scopes: Scopes, namespaces: Mapping[str, str]) -> None:
        self.scopes = scopes
        self.namespaces = namespaces

    def __call__(self, obj: Mapping[str, Any], component: str, source: str = "") -> dict[str, Any]:
        out = dict(obj)
        meta = dict(out.get("metadata") or {})
        namespaced = self.scopes.namespaced(out["apiVersion"], out["kind"])
        if namespaced and not meta.get("namespace"):
            meta["namespace"] = self.namespaces[component]
        elif not namespaced and "namespace" in meta:
            where = f"{source}: " if source else ""
            raise TemplateError(f"{where}{out['kind']}/{meta.get('name')} is cluster-scoped "
                                "and must not set metadata.namespace", hint="remove metadata.namespace")
        out["metadata"] = meta
        return out


def render(request: RenderRequest, catalog: Catalog | None = None) -> Rendering:
    """Render every selected component with the platform's and the user's overlays."""
    catalog = (catalog or load_catalog(release=request.release)).for_release(request.release)
    platform = catalog.platform(request.platform)
    components = [catalog.component(n) for n in request.components]
    selected = frozenset(request.components)
    values_of = {}
    for comp in components:
        values_of[comp.name] = params.effective(comp.parameters, platform.component_parameters.get(comp.name),
                                                request.parameters.get(comp.name), owner=f"component {comp.name}",
                                                file=jinja.display_path(comp.path / "component.yaml"))
        for dep in comp.depends_on:
            if dep.applies(values_of[comp.name]) and dep.name not in selected:
                when = "".join(f" with {k} {v}" for k, v in dep.when.items())
                raise CatalogError(f"component {comp.name!r}{when} requires {dep.name!r}, which is not selected",
                                   hint=f"add {dep.name} to the deployment's components")
    platform_file = jinja.display_path(platform.path / "platform.yaml")
    platform_params = params.effective(platform.parameters, request.platform_parameters,
                                       owner=f"platform {platform.name}", file=platform_file)
    shared = {
        "platform": platform.name,
        "components": list(request.components),
        "kubeflow_namespace": request.namespace,
        "deployment": request.deployment,
        "release": catalog.release,
        "ingress_gateway": {"namespace": "istio-system", "service_account": request.gateway_service_account,
                            "principal": f"cluster.local/ns/istio-system/sa/{request.gateway_service_account}"},
    }
    namespaces = {c.name: component_namespace(c, request) for c in components}
    namespaces[PLATFORM_GROUP] = namespaces[USER_GROUP] = request.namespace
    versions = {c.name: c.version for c in components}
    versions[PLATFORM_GROUP] = versions[USER_GROUP] = __version__

    demo = params.demo_defaults(platform.parameters, platform_params, owner=PLATFORM_GROUP)
    rendered: list[Resource] = []
    for comp in components:
        values = values_of[comp.name]
        demo += params.demo_defaults(comp.parameters, values, owner=comp.name)
        context = {**shared, "params": values, "namespace": namespaces[comp.name],
                   "component": {"name": comp.name, "version": comp.version}}
        rendered.extend(_render_component(comp, context))

    overlay_context = {**shared, "params": platform_params, "namespace": request.namespace}
    loaded = overlays.load_folder(platform.path / "overlays", overlay_context, group=PLATFORM_GROUP)
    for folder in request.overlays:
        if not folder.is_dir():
            raise CatalogError(f"overlay folder {folder} does not exist", hint="create it or drop the option")
        loaded.extend(overlays.load_folder(folder, overlay_context, group=USER_GROUP))
    for ov in loaded:  # a platform may name components a smaller catalog lacks; a user may not
        if ov.group == USER_GROUP and ov.component is not None and ov.component not in catalog.components:
            raise CatalogError(f"{ov.source}: component {ov.component!r} is not in the catalog"
                               + (f" of release {catalog.release}" if catalog.release else ""),
                               hint=catalog.suggest(ov.component, catalog.components))

    crds = [r.body for r in rendered if is_crd(r.body)]
    crds += [res for ov in loaded for res in ov.resources if is_crd(res)]
    place = _Placer(Scopes(crds), namespaces)
    placed = [dataclasses.replace(r, body=freeze(place(r.body, r.component, r.source))) for r in rendered]
    patched, uses = overlays.apply(loaded, placed, selected, place)

    patched, provided_kinds = _leave_provided(patched, request, catalog)
    seen: dict[tuple[str, str, str, str], Resource] = {}
    by_group: dict[str, list[Resource]] = {}
    for res in patched:
        if res.key in seen:
            other = seen[res.key]
            raise TemplateError(f"{res.ref} is rendered twice: by {other.source} ({other.component}) "
                                f"and by {res.source} ({res.component})", hint="rename or drop one of them")
        seen[res.key] = res
        body = labels.with_labels(res.body, res.component, versions[res.component])
        by_group.setdefault(res.component, []).append(dataclasses.replace(res, body=freeze(body)))

    order = [PLATFORM_GROUP, *request.components, USER_GROUP]
    bundles = tuple(Bundle(name, versions[name], tuple(by_group[name])) for name in order if by_group.get(name))
    differ = params.mismatches({c.name: c.parameters for c in components}, values_of)
    return Rendering(request=request, bundles=bundles, patches=tuple(uses), demo_defaults=tuple(demo),
                     mismatches=tuple(differ), provided_kinds=freeze(provided_kinds))


def _leave_provided(resources: list[Resource], request: RenderRequest, catalog: Catalog
                    ) -> tuple[list[Resource], dict[str, tuple[tuple[str, str], ...]]]:
    """Leave out what the cluster provides: a provided component's objects but those its ``provided.keep``
    lists (Kubeflow's own use of it) and those overlays add for it (a platform's IAP Ingress and policies
    are Kubeflow's), and a StorageClass named ``request.storage_class``.

    Overlays have been applied already, so a user's patch of a left-out object changes nothing. Returns
    the objects kept and, per provided component, the kinds its CRDs define (the cluster must serve them).
    """
    keep = {name: {(str(k["kind"]), str(k["name"])) for k in (catalog.component(name).provided or {}).get("keep", ())}
            for name in request.provided}
    kinds: dict[str, list[tuple[str, str]]] = {name: [] for name in request.provided}
    out = []
    for res in resources:
        if res.component in keep and not res.overlay and (res.kind, res.name) not in keep[res.component]:
            if is_crd(res.body):
                spec = res.body.get("spec") or {}
                kinds[res.component].append((str(spec.get("group")), str((spec.get("names") or {}).get("kind"))))
            continue
        if request.storage_class and res.kind == "StorageClass" and res.group == "storage.k8s.io" \
                and res.name == request.storage_class:
            continue
        out.append(res)
    return out, {name: tuple(found) for name, found in kinds.items()}


def to_yaml(resources: Any) -> str:
    """Resources (or a Rendering) as one multi-document YAML stream."""
    return yamlio.dump_objects(r.to_dict() for r in resources)
