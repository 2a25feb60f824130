"""``build_application``: the objects ``kustomize build`` makes of a repo application.

What a KfDef application with ``kustomizeConfig.repoRef`` means here, decided
against kfctl 1.x (which merged a package's ``base`` and ``overlays/<name>``
kustomizations into one file, rewrote its ``params.env`` and forced the KfDef
namespace onto everything) and against today's upstream layout (packages are
complete kustomizations; ``example/`` lists them as resources; few read a
``params.env``):

* ``repoRef.path`` is a folder of the repo. If it has a kustomization, that is
  the package; if only its ``base/`` has one (kfctl 1.x's package layout),
  ``base/`` is. Anything else is an error listing what the folder holds.
* ``overlays: [name, ...]`` name folders ``<path>/overlays/<name>``, as in
  kfctl 1.x. An ordinary overlay already includes its base, so it *replaces*
  the package as the build target; an overlay that is a kustomize
  ``kind: Component`` is *added* to it (``components:``). Several overlays may
  be combined only if at most one is ordinary: two ordinary overlays would
  each bring the base, and kustomize refuses duplicate objects (kfctl 1.x's
  field-by-field merge of kustomizations is not reproduced; it silently lost
  settings). A missing overlay is an error listing the ones there are (kfctl
  1.x skipped it with a warning, deploying something other than asked).
* ``parameters``: ``namespace`` sets the namespace of everything built, as in
  kfctl 1.x (via a wrapper kustomization). Every other name must be a key of
  a ``params.env`` (any env file of a ``configMapGenerator``) that the build
  reads; its value is written there in a private copy of the repo, so the
  ``vars`` and ``replacements`` that read it take the new value. A name no
  such file declares is an error listing those that exist: since Kubeflow 1.3
  most packages read no ``params.env`` and are configured by overlays, and
  silently ignoring a setting is worse than refusing it. kfctl 1.x's implicit
  fills (the KfDef's namespace, name and GCP project into matching keys) are
  not reproduced: they forced kubeflow's namespace onto packages that must
  live elsewhere (istio-system, cert-manager).

* remote resources (git URLs, https files) that the build reaches are
  fetched into kfctl's cache, pinned in the lock file and pointed at locally
  in the private copy (:mod:`kfctl.repos.remotes`), so kustomize builds offline.

The cache tree is never written: the wrapper kustomization goes in a
temporary folder of its own (it names the package by a relative path, as
kustomize refuses absolute ones), and parameters and remote references are written into a
hard-linked (or copied) private tree that is removed afterwards.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from kfctl.config.selection import RepoApplication
from kfctl.repos import params as envparams
from kfctl.repos.errors import KustomizeError, RepoPathError, describe_repo
from kfctl.repos.kustomize import Kustomize, find_kustomize
from kfctl.repos.remotes import Prepared, Remotes, refuse_remotes

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SHOWN = 20


def _listing(folder: Path) -> str:
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir() if not p.name.startswith("."))
    if not names:
        return "it is empty"
    more = f", ... ({len(names) - _SHOWN} more)" if len(names) > _SHOWN else ""
    return "it holds: " + ", ".join(names[:_SHOWN]) + more


def _relative(text: str, *, what: str, label: str) -> PurePosixPath:
    path = PurePosixPath(text.strip())
    if path.is_absolute() or ".." in path.parts or "\\" in text:
        raise RepoPathError(f"{label}: {what} {text!r} must be a relative path inside the repo, without '..'")
    return path


def _moved(root: Path, rel: PurePosixPath, missing: int) -> list[str]:
    """Packages whose path ends like ``rel`` after its missing part: where an upgrade moved it
    (Kubeflow 1.10 moved apps/ and contrib/ to applications/, common/istio-1-22 to common/istio)."""
    tail = rel.parts[missing + 1:]
    if not tail:
        return []
    found = []
    for folder, dirs, _ in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        path = PurePosixPath(Path(folder).relative_to(root).as_posix())
        # a one-folder tail ("base") matches too widely unless it is a package itself
        if path.parts[-len(tail):] == tail and (len(tail) > 1 or envparams.kustomization_file(Path(folder))):
            found.append(str(path))
    return sorted(found, key=lambda p: -difflib.SequenceMatcher(None, p, str(rel)).ratio())[:3]


def _package(app: RepoApplication, root: Path, label: str) -> Path:
    """The folder named by repoRef.path, with a missing part reported against what is there."""
    rel = _relative(app.path, what="repoRef.path", label=label)
    folder = root
    for index, part in enumerate(rel.parts):
        nxt = folder / part
        if not nxt.is_dir():
            here = "/".join(folder.relative_to(root).parts) or "the repo's top folder"
            subdirs = [p.name for p in folder.iterdir() if p.is_dir()]
            guess = difflib.get_close_matches(part, subdirs, n=1)
            moved = _moved(root, rel, index)
            raise RepoPathError(
                f"{label}: repoRef.path {app.path!r} is not in the repo: {here} has no folder {part!r}"
                + (f" (did you mean {guess[0]!r}?)" if guess else "") + f"; {_listing(folder)}",
                hint=(f"the repo has it at {' or '.join(repr(m) for m in moved)}" if moved else
                      "repoRef.path is relative to the top of the repo (the archive's top folder is stripped)"))
        folder = nxt
    return folder


def _base(package: Path, app: RepoApplication, label: str) -> Path:
    if envparams.kustomization_file(package) is not None:
        return package
    if envparams.kustomization_file(package / "base") is not None:
        return package / "base"
    inner = sorted(str(p.parent.relative_to(package)) for p in package.glob("*/**/kustomization.yaml"))[:_SHOWN]
    raise RepoPathError(
        f"{label}: {app.path!r} has no kustomization.yaml (nor base/kustomization.yaml); {_listing(package)}",
        hint=(f"point repoRef.path at a package: {', '.join(app.path.rstrip('/') + '/' + i for i in inner)}"
              if inner else "point repoRef.path at a folder with a kustomization.yaml"))


def _overlay_folders(package: Path) -> list[str]:
    folder = package / "overlays"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if envparams.kustomization_file(p) is not None)


def _targets(app: RepoApplication, package: Path, base: Path, label: str) -> tuple[Path, list[Path]]:
    """The kustomization to build and the Components to add to it."""
    plain: list[tuple[str, Path]] = []
    components: list[Path] = []
    for name in app.overlays:
        rel = _relative(name, what="overlay", label=label)
        folder = package / "overlays" / rel
        if envparams.kustomization_file(folder) is None:
            there = _overlay_folders(package)
            raise RepoPathError(
                f"{label}: overlay {name!r} is not in the repo: {app.path}/overlays/{name} has no kustomization"
                + (f"; overlays there: {', '.join(there)}" if there else f"; {app.path} has no overlays/ folder"),
                hint="overlays are kfctl 1.x's <path>/overlays/<name> folders; or put the overlay's own path in "
                     "repoRef.path")
        if envparams.read_kustomization(folder).get("kind") == "Component":
            components.append(folder)
        else:
            plain.append((name, folder))
    if len(plain) > 1:
        names = " and ".join(repr(n) for n, _ in plain)
        raise RepoPathError(
            f"{label}: overlays {names} are both complete kustomizations that include the base; kustomize "
            "cannot combine them (the base's objects would be duplicated)",
            hint="choose one, write an overlay that combines them, or make all but one kustomize Components")
    return (plain[0][1] if plain else base), components


def _copy_tree(root: Path, dest: Path) -> None:
    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(root, dest, symlinks=True, copy_function=link_or_copy, ignore=shutil.ignore_patterns(".git"))


def _work_dir(root: Path) -> Path:
    """A private folder for the build copy: in the cache's tmp/ when root is a cache tree, so hard links work."""
    tmp = root.parent.parent / "tmp"
    if root.parent.name == "trees" and tmp.is_dir():
        return Path(tempfile.mkdtemp(prefix="build-", dir=tmp))
    return Path(tempfile.mkdtemp(prefix="kfctl-repo-"))


def _parameters(app: RepoApplication, label: str) -> tuple[str | None, dict[str, str]]:
    namespace = None
    values: dict[str, str] = {}
    for name, value in app.parameters.items():
        text = envparams.as_text(value)
        if text is None:
            raise RepoPathError(f"{label}: parameter {name!r} must be a single-line string, number or boolean "
                                f"(got {type(value).__name__})")
        if name == "namespace":
            namespace = text
        values[name] = text
    return namespace, values


def _check_parameters(values: Mapping[str, str], files: list[envparams.EnvFile], root: Path, label: str) -> None:
    declared = {key for f in files for key in f.keys}
    unknown = [name for name in values if name not in declared and name != "namespace"]
    if not unknown:
        return
    shown = ", ".join(f"{k} ({f.path.relative_to(root)})" for f in files for k in f.keys) if files else ""
    which = ", ".join(repr(u) for u in unknown)
    if shown:
        guess = difflib.get_close_matches(unknown[0], sorted(declared), n=1)
        raise RepoPathError(
            f"{label}: parameter{'s' if len(unknown) > 1 else ''} {which} "
            f"{'are' if len(unknown) > 1 else 'is'} not in any params.env the package reads"
            + (f" (did you mean {guess[0]!r}?)" if guess else "") + f"; it takes: {shown}",
            hint="remove it, or change the package with an overlay of your own")
    raise RepoPathError(
        f"{label}: parameter{'s' if len(unknown) > 1 else ''} {which} cannot be set: the package reads no "
        "params.env (since Kubeflow 1.3 most packages take no parameters); only 'namespace' applies to any package",
        hint="remove it, or choose an overlay (kustomizeConfig.overlays) or a package of your own that sets it")


def _parse(text: str, label: str) -> list[dict[str, Any]]:
    try:
        docs = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        raise KustomizeError(f"{label}: kustomize printed YAML kfctl cannot read: {exc}") from exc
    objects = [d for d in docs if d is not None]
    bad = next((d for d in objects if not isinstance(d, dict)), None)
    if bad is not None:
        raise KustomizeError(f"{label}: kustomize printed a document that is not an object: {str(bad)[:80]!r}")
    return objects


def _targets_of(app: RepoApplication, root: Path, label: str) -> tuple[Path, list[Path]]:
    package = _package(app, root, label)
    base = _base(package, app, label)
    return _targets(app, package, base, label)


def label_of(app: RepoApplication) -> str:
    return f"application {app.name!r} ({describe_repo(app.repo)}, path {app.path!r})"


def prepare_remotes(app: RepoApplication, root: Path, remotes: Remotes) -> Prepared:
    """Fetch (or find in the cache) every remote resource building ``app`` reaches; see :mod:`kfctl.repos.remotes`."""
    label = label_of(app)
    root = Path(os.path.realpath(root))
    main, components = _targets_of(app, root, label)
    return remotes.prepare([main, *components], root, label=label)


def build_application(app: RepoApplication, root: Path, *, kustomize: Kustomize | None = None,
                      remotes: Remotes | None = None) -> list[dict[str, Any]]:
    """The objects ``kustomize build`` produces for ``app`` in the repo tree ``root``, in kustomize's order.

    ``root`` is what :func:`kfctl.repos.fetch_repo` returned. Remote resources
    the build reaches are fetched through ``remotes`` (cache, lock, mirrors,
    ``--offline``); without it, any remote resource is an error naming them all.
    Raises :class:`~kfctl.repos.errors.RepoPathError` for a path, overlay or
    parameter the repo lacks and :class:`~kfctl.repos.errors.KustomizeError`
    (with kustomize's own text) when kustomize fails; nothing is written to ``root``.
    """
    label = label_of(app)
    runner = kustomize or find_kustomize()
    root = Path(os.path.realpath(root))
    main, components = _targets_of(app, root, label)
    namespace, values = _parameters(app, label)
    if remotes is None:
        refuse_remotes([main, *components], root, label=label)
        prepared = None
    else:
        prepared = remotes.prepare([main, *components], root, label=label)
    with ExitStack() as cleanup:
        files: list[envparams.EnvFile] = []
        if values:
            files = envparams.env_files(envparams.reachable([main, *components], root), root)
            _check_parameters(values, files, root, label)
        rewrite_params = any(set(f.keys) & set(values) for f in files)
        if rewrite_params or (prepared is not None and prepared.needed):
            work = _work_dir(root)
            cleanup.callback(shutil.rmtree, work, True)
            copy = work / "repo"
            _copy_tree(root, copy)
            if prepared is not None and prepared.needed:
                prepared.materialize(work, _copy_tree, root_copy=copy)
            main = copy / main.relative_to(root)
            components = [copy / c.relative_to(root) for c in components]
            if rewrite_params:
                envparams.rewrite([envparams.EnvFile(copy / f.path.relative_to(root), f.keys) for f in files], values)
        target = main
        if namespace is not None or components:
            wrapper = Path(tempfile.mkdtemp(prefix="kfctl-kustomize-"))
            cleanup.callback(shutil.rmtree, wrapper, True)
            kustomization: dict[str, Any] = {"apiVersion": "kustomize.config.k8s.io/v1beta1",
                                             "kind": "Kustomization",
                                             "resources": [os.path.relpath(main, wrapper)]}
            if components:
                kustomization["components"] = [os.path.relpath(c, wrapper) for c in components]
            if namespace is not None:
                kustomization["namespace"] = namespace
            (wrapper / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
            target = wrapper
        return _parse(runner.build(target, what=label), label)
