"""``kfctl images``: every container image of the rendered deployment, for mirroring and pre-pulling.

The list is read from the same rendering ``apply`` sends (the KfDef's
``spec.images`` rewrite applied), through the one table of image locations in
:mod:`kfctl.render.images`: pod specs of every workload and the images
controllers are configured to start later. Text output is one image per line,
sorted and unique, to feed ``xargs -n1 docker pull`` or a mirroring script;
``--pairs`` prints ``SOURCE TARGET`` for each image a rewrite moved (what to
copy where); ``-o json`` says which objects use each image and where.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from kfctl.cli.generate import kfdef_option, offline_option, overlay_option
from kfctl.cli.loading import load_rendering
from kfctl.cli.main import global_options
from kfctl.imageref import is_public, normalize
from kfctl.render.images import image_uses


@click.command()
@kfdef_option
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--public", "public_only", is_flag=True,
              help="Only images still pulled from a public registry (docker.io, ghcr.io, quay.io, gcr.io, ...).")
@click.option("--pairs", is_flag=True,
              help="Print `SOURCE TARGET` per image: where to copy each image from, for spec.images' rewrite "
                   "(an image no rewrite moved is its own source).")
@overlay_option
@offline_option
@global_options()
def images(file: Path | None, output: str, public_only: bool, pairs: bool, overlays: tuple[Path, ...],
           offline: bool) -> None:
    """List every container image of the KfDef's rendered deployment, one per line."""
    _path, _selection, rendering = load_rendering(file, overlays, offline)
    sources = dict(rendering.image_sources)
    uses: dict[str, list[dict[str, str]]] = {}
    for use in image_uses(rendering):
        if public_only and not is_public(use.image):
            continue
        uses.setdefault(use.image, []).append(
            {"component": use.component, "object": use.object, "where": use.where, "category": use.category})
    names = sorted(uses)
    if output == "json":
        # where kfctl's workloads run: each needs the Secrets spec.images.imagePullSecrets names
        namespaces = sorted({u["object"].split("/")[1] for found in uses.values() for u in found
                             if u["category"] == "pod" and u["object"].count("/") == 2})
        click.echo(json.dumps({"images": [
            {"image": name, "source": sources.get(name, name), "normalized": normalize(name),
             "public": is_public(name), "uses": uses[name]} for name in names],
            "namespaces": namespaces}, indent=2))
    elif pairs:
        for name in names:
            click.echo(f"{normalize(sources.get(name, name))} {normalize(name)}")
    else:
        for name in names:
            click.echo(name)
