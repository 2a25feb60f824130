"""The offline pipeline, assembled in one place: KfDef -> selection -> rendering -> checks.

It is the one bridge between ``kfctl.config`` (and ``kfctl.repos``) and the
renderer, which depends on the catalog only and knows nothing of the KfDef;
:func:`kfctl.deploy.load_deployment` adds the plan. This module builds the renderer's
:class:`RenderRequest` from a resolved :class:`kfctl.config.Selection`:

* components in the selection's dependency order, with their effective parameters;
* platform parameters from the spec of the KfDef's platform plugin
  (``KfGcpPlugin``, ``KfAwsPlugin``: kfctl 1.x's place for them), keeping only
  the names the platform's schema declares; kfctl 1.x's ``ipName`` is read as
  ``staticIpName``. Other kfctl 1.x plugin fields (project, zone, email) were
  for provisioning and are ignored;
* user overlays: the folder ``overlays/`` beside the KfDef file when it exists
  (the directory-level convention), then any folders given explicitly.

Commands that render (generate, show, apply, diff, images) call :func:`render_kfdef`, which also applies the
KfDef's ``spec.images`` (registry rewrites, pull secrets: :mod:`kfctl.render.images`) to the whole rendering.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from kfctl.catalog import Catalog, load_catalog
from kfctl.config import KfDef, Selection, validate_file
from kfctl.config.model import PLATFORM_PLUGINS
from kfctl.errors import InputError
from kfctl.kinds import BUILTIN
from kfctl.render.model import Bundle, Rendering, RenderRequest, Resource, freeze, thaw
from kfctl.render.admission import refusals
from kfctl.render.images import apply_policy
from kfctl.render.renderer import render
from kfctl.render.secretref import referenced, render_without_values

#: The folder beside a KfDef whose overlays apply automatically.
USER_OVERLAYS_DIR = "overlays"
#: kfctl 1.x plugin spec names -> this platform parameter.
LEGACY_PLATFORM_KEYS = {"ipName": "staticIpName"}


def platform_parameters(selection: Selection, catalog: Catalog) -> dict[str, Any]:
    """Platform parameters the KfDef sets, through its platform plugin's spec."""
    declared = set(catalog.platform(selection.platform).parameters.get("properties") or {})
    values: dict[str, Any] = {}
    for plugin in selection.kfdef.plugins:
        if PLATFORM_PLUGINS.get(plugin.kind) != selection.platform:
            continue
        for key, value in (plugin.spec or {}).items():
            name = LEGACY_PLATFORM_KEYS.get(key, key)
            if name in declared:
                values[name] = thaw(value)
    return values


def user_overlays(kfdef_path: Path | None, extra: Iterable[Path] = ()) -> tuple[Path, ...]:
    """The conventional ``overlays/`` folder beside the KfDef (if present), then ``extra``."""
    found = []
    if kfdef_path is not None:
        conventional = Path(kfdef_path).parent / USER_OVERLAYS_DIR
        if conventional.is_dir():
            found.append(conventional)
    found.extend(Path(p) for p in extra)
    return tuple(dict.fromkeys(found))


def request_for(selection: Selection, catalog: Catalog, *, overlays: Iterable[Path] = (),
                secrets: Mapping[str, str] | None = None) -> RenderRequest:
    """The renderer's input for a resolved KfDef; ``secrets`` (KfDef secret name -> value, real or a
    placeholder) fill the parameters that say ``valueFrom: {secret: NAME}``."""
    params: dict[str, dict[str, Any]] = {c.name: thaw(c.parameters) for c in selection.components}
    for comp in selection.components:
        for name, secret in comp.secrets.items():
            if secrets is None or secret not in secrets:
                raise InputError(f"parameter {name!r} of {comp.name} takes KfDef secret {secret!r}, "
                                 "whose value was not read", hint="this is a bug in kfctl: please report it")
            params[comp.name][name] = secrets[secret]
    return RenderRequest(
        platform=selection.platform,
        components=selection.names,
        namespace=selection.kfdef.namespace,
        deployment=selection.kfdef.name,
        parameters=params,
        platform_parameters=platform_parameters(selection, catalog),
        overlays=user_overlays(selection.kfdef.source, overlays),
        release=selection.release or None,
        provided=selection.provided,
        storage_class=selection.storage_class,
        **({"gateway_service_account": selection.gateway_service_account}
           if selection.gateway_service_account else {}),
    )


def repo_bundles(selection: Selection, *, progress: bool = False, offline: bool = False) -> tuple[Bundle, ...]:
    """Build the KfDef's repo applications (``kustomizeConfig.repoRef``) with real kustomize.

    Each becomes a bundle named after its application, holding kustomize's output
    unchanged: upstream objects are not relabelled (the apply engine adds only its
    ownership labels). A namespaced object kustomize left without a namespace goes
    to ``default``, where ``kubectl apply`` would put it.

    Remote kustomize resources inside the repos are fetched into the cache and
    pinned in the lock file beside the KfDef (``kfdef.lock.yaml``), written once
    every application has built; with ``offline`` nothing is downloaded and one
    error names every URL that is not cached.
    """
    if not selection.repo_applications:
        return ()
    from kfctl.repos import build_application, fetch_repo, find_kustomize
    from kfctl.repos.lock import lock_path, read_lock, write_lock
    from kfctl.repos.mirrors import load_mirrors
    from kfctl.repos.remotes import NotCached, RemoteProblems, Remotes

    source = selection.kfdef.source
    lock_file = lock_path(source) if source is not None else None
    mirrors = load_mirrors(source)
    remotes = Remotes(locked=read_lock(lock_file) if lock_file is not None else {}, mirrors=mirrors,
                      offline=offline, progress=progress, lock_file=lock_file)
    kustomize = find_kustomize()
    roots: dict[str, Path] = {}
    problems: list[RemoteProblems] = []
    built: list[tuple[Any, list[dict[str, Any]]]] = []
    for app in selection.repo_applications:
        try:
            if app.repo.name not in roots:
                roots[app.repo.name] = fetch_repo(app.repo, progress=progress, offline=offline, mirrors=mirrors)
            built.append((app, _cached_build(app, roots[app.repo.name], kustomize, build_application, remotes)))
        except RemoteProblems as exc:  # go on, so that one error names every URL missing or failing
            problems.append(exc)
    offline_problems = [p for p in problems if isinstance(p, NotCached)]
    if offline_problems:
        raise offline_problems[0].merged(offline_problems)
    if problems:
        raise problems[0].merged(problems)
    if lock_file is not None and (remotes.used or remotes.locked):
        write_lock(lock_file, remotes.used, selection.kfdef.name)
    bundles = []
    for app, objects in built:
        resources = tuple(
            Resource(component=app.name, source=f"{app.repo.name}:{app.path}", body=freeze(obj)) for obj in objects
        )
        bundles.append(Bundle(component=app.name, version=f"{app.repo.name}:{app.path}", resources=resources))
    return tuple(_default_namespaces(bundles))


def _cached_build(app: Any, root: Path, kustomize: Any, build: Any, remotes: Any) -> list[dict[str, Any]]:
    """kustomize's output for an application, cached when the tree is an immutable cache entry.

    Fetched archives are unpacked into ``<cache>/trees/<sha256>`` and never modified, so a build
    is fully determined by that digest, the application's path, overlays and parameters, the
    remote resources it reaches (their commits and sha256s, checked first) and the kustomize
    binary: the second ``kfctl apply`` (or ``diff``) of an unchanged KfDef does not run
    kustomize again. Local folders (which may change) are always built.
    """
    from kfctl.repos import default_cache_dir
    from kfctl.repos.build import prepare_remotes

    trees = default_cache_dir() / "trees"
    if root.parent != trees:
        return build(app, root, kustomize=kustomize, remotes=remotes)
    pins = prepare_remotes(app, root, remotes).key
    binary = Path(str(kustomize.executable))
    stat = binary.stat() if binary.exists() else None
    key = json.dumps([root.name, app.path, list(app.overlays), thaw(app.parameters), str(binary),
                      stat.st_size if stat else 0, stat.st_mtime_ns if stat else 0, pins],
                     sort_keys=True, default=str)
    entry = default_cache_dir() / "builds" / (hashlib.sha256(key.encode()).hexdigest() + ".json")
    if entry.is_file():
        try:
            return json.loads(entry.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass  # a damaged entry: build again and replace it
    objects = build(app, root, kustomize=kustomize, remotes=remotes)
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = entry.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(objects), encoding="utf-8")
    os.replace(tmp, entry)
    return objects


def _default_namespaces(bundles: list[Bundle]) -> list[Bundle]:
    crd_scopes = {
        (str((r.body.get("spec") or {}).get("group")), str(((r.body.get("spec") or {}).get("names") or {}).get("kind"))):
            (r.body.get("spec") or {}).get("scope") == "Namespaced"
        for b in bundles for r in b.resources if r.kind == "CustomResourceDefinition"
    }
    out = []
    for bundle in bundles:
        fixed = []
        for res in bundle.resources:
            info = BUILTIN.get((res.group, res.kind))
            namespaced = info.namespaced if info else crd_scopes.get((res.group, res.kind), True)
            if namespaced and not res.namespace:
                body = thaw(res.body)
                body.setdefault("metadata", {})["namespace"] = "default"
                res = Resource(component=res.component, source=res.source, body=freeze(body))
            fixed.append(res)
        out.append(Bundle(component=bundle.component, version=bundle.version, resources=tuple(fixed)))
    return out


def render_kfdef(path: str | Path, catalog: Catalog | None = None, *, overlays: Iterable[Path] = (),
                 display: str | None = None, progress: bool = False,
                 offline: bool = False, skip_invalid: bool = False,
                 secrets: Mapping[str, str] | Callable[[KfDef], Mapping[str, str]] | None = None
                 ) -> tuple[Selection, Rendering]:
    """Validate the KfDef at ``path`` and render it: its Selection and the Rendering.

    ``catalog`` may be any release's: the KfDef's ``spec.version`` picks the release
    (``selection.release``) and its sibling catalog renders.

    Catalog components are rendered from their bundles; repo applications are
    fetched and built with kustomize and appended as bundles of their own
    (``offline``: from kfctl's cache only).

    ``secrets`` are the KfDef's secret values, or what reads them from the
    validated KfDef (:func:`kfctl.config.secret_values`, for apply and diff: every
    problem of the file is reported before a missing variable); without them each is a
    placeholder and the Secrets
    holding them are withheld (:mod:`kfctl.render.secretref`), so nothing that
    writes files ever sees a secret's value.
    """
    catalog = catalog or load_catalog()
    selection = validate_file(path, catalog, display=display)
    catalog = catalog.for_release(selection.release)  # the release spec.version selected
    if callable(secrets):
        secrets = secrets(selection.kfdef)
    if secrets is not None:
        rendering = render(request_for(selection, catalog, overlays=overlays, secrets=secrets), catalog)
    else:
        rendering = render_without_values(
            referenced(selection.components),
            lambda values: render(request_for(selection, catalog, overlays=overlays, secrets=values), catalog))
    extra = repo_bundles(selection, progress=progress, offline=offline)
    if extra:
        rendering = dataclasses.replace(rendering, bundles=rendering.bundles + extra)
    # spec.images last, over everything (overlays' and repo applications' images too), then the API server's checks
    rendering = apply_policy(rendering, selection.kfdef.images)
    return selection, refuse_invalid(rendering, skip=skip_invalid)


def refuse_invalid(rendering: Rendering, *, skip: bool = False) -> Rendering:
    """Refuse (InputError, exit 2, before any request) a rendering holding objects the API server would
    refuse, naming each with its source; with ``skip``, leave them out and say so in ``skipped``."""
    found = refusals(rendering.resources)
    if not found:
        return rendering
    if not skip:
        shown = [str(r) for r in found[:40]]
        more = f"\n  ... and {len(found) - 40} more" if len(found) > 40 else ""
        raise InputError(f"{len(found)} problems the API server would refuse, found before any change:\n  "
                         + "\n  ".join(shown) + more,
                         hint="fix the parameter, overlay or manifest named, or pass --skip-invalid to apply "
                              "the rest and leave these objects out")
    bad = {id(r.resource) for r in found}
    bundles = tuple(dataclasses.replace(b, resources=tuple(r for r in b.resources if id(r) not in bad))
                    for b in rendering.bundles)
    return dataclasses.replace(rendering, bundles=bundles, skipped=tuple(str(r) for r in found))
