"""``kfctl validate``: check a KfDef and show what it would deploy, changing nothing.

Without ``-f`` it reads ``kfdef.yaml`` in the working directory, else
``app.yaml`` (kfctl 0.5 app folders; such a v1alpha1 file is refused with a
map of its fields). Problems go to stderr as ``FILE:LINE:COL: PATH: MESSAGE``
with exit code 2; a valid file prints the resolved components in dependency
order, the dependencies that were added, and any notices and warnings.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from kfctl.cli.main import global_options
from kfctl.catalog import load_catalog
from kfctl.config import Selection, find_default_file, validate_file


def _text(selection: Selection, file: str) -> None:
    kfdef = selection.kfdef
    why = "" if kfdef.platform_reason == "spec.platform" else \
        " (the default)" if kfdef.platform_reason == "default" else f" (from {kfdef.platform_reason})"
    release = f", Kubeflow {selection.release}" if selection.release else ""
    click.echo(f"{file}: valid KfDef {kfdef.name!r}: namespace {kfdef.namespace}, platform {selection.platform}{why}"
               f"{release}")
    for notice in selection.notices:
        click.echo(f"  {notice}")
    if selection.components:
        click.echo("Components, in dependency order:")
        width = max(len(c.name) for c in selection.components)
        for i, comp in enumerate(selection.components, 1):
            why = f"added: required by {comp.required_by}" if comp.required_by else \
                f"from {', '.join(comp.applications)}" if comp.applications != (comp.name,) else ""
            if comp.provided:
                why = ("provided by the cluster" + (f" (revision {comp.revision})" if comp.revision else "")
                       + (f"; {why}" if why else ""))
            click.echo(f"  {i:>2}. {comp.name.ljust(width)}  {why}".rstrip())
    if selection.repo_applications:
        click.echo("Repo applications (built by kustomize):")
        for app in selection.repo_applications:
            click.echo(f"  - {app.name}: {app.repo.name}/{app.path}")
    for warning in selection.warnings:
        click.echo(f"warning: {warning}", err=True)


def _json(selection: Selection, file: str) -> None:
    kfdef = selection.kfdef
    doc = {
        "file": file,
        "name": kfdef.name,
        "namespace": kfdef.namespace,
        "release": selection.release,
        "platform": selection.platform,
        "platformReason": kfdef.platform_reason,
        "components": [
            {"name": c.name, "parameters": c.parameters, "applications": list(c.applications),
             "requiredBy": c.required_by, "provided": c.provided}
            for c in selection.components
        ],
        "repoApplications": [
            {"name": a.name, "repo": a.repo.name, "uri": a.repo.uri, "path": a.path, "overlays": list(a.overlays),
             "parameters": a.parameters}
            for a in selection.repo_applications
        ],
        "added": [{"component": dep, "requiredBy": by} for dep, by in selection.added],
        "notices": list(selection.notices),
        "warnings": list(selection.warnings),
    }
    click.echo(json.dumps(doc, indent=2, default=dict))


@click.command()
@click.option("-f", "--file", "file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="The KfDef to check (default: ./kfdef.yaml, else ./app.yaml).")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format of a valid file's summary.")
@global_options()
def validate(file: Path | None, output: str) -> None:
    """Check a KfDef file and print the components it deploys, in dependency order.

    Nothing is changed, neither the file nor any cluster. All problems are
    reported at once, each with its file, line and column (exit code 2); the
    KfDef is then rendered and every object checked for values the API server
    would refuse, each named with its template or overlay (exit code 2).
    """
    path = file if file is not None else find_default_file()
    shown = str(file) if file is not None else path.name
    selection = validate_file(path, load_catalog(), display=shown)
    # then render the catalog's components: every object is checked for what the API server would
    # refuse (exit 2, named). Repo applications are not fetched here: they are checked when built.
    from kfctl.pipeline import refuse_invalid, request_for
    from kfctl.render.images import apply_policy
    from kfctl.render.renderer import render

    catalog = load_catalog().for_release(selection.release)
    refuse_invalid(apply_policy(render(request_for(selection, catalog), catalog), selection.kfdef.images))
    (_json if output == "json" else _text)(selection, shown)
