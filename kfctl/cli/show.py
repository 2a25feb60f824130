"""``kfctl show``: print the rendered deployment as multi-document YAML on stdout.

The same objects ``kfctl generate`` writes and ``kfctl apply`` sends, in
apply order, so it pipes into ``kubectl diff -f -`` or a linter.
``--component`` narrows the output to some components; they are still
rendered as part of the whole deployment, so cross-component choices
(``{% if "istio" in components %}``) are the same as in the real thing.
"""

from __future__ import annotations

from pathlib import Path

import click

from kfctl.cli.main import global_options
from kfctl.catalog import Catalog
from kfctl.cli.generate import kfdef_option, offline_option, overlay_option
from kfctl.cli.loading import load_rendering as load
from kfctl.errors import InputError
from kfctl.render import to_yaml


@click.command()
@kfdef_option
@click.option("-c", "--component", "components", multiple=True, metavar="NAME",
              help="Show only this component's objects (repeatable; `platform` and `user` name the "
                   "objects that overlays add outside any component).")
@overlay_option
@offline_option
@global_options()
def show(file: Path | None, components: tuple[str, ...], overlays: tuple[Path, ...], offline: bool) -> None:
    """Print the rendered Kubernetes objects of a KfDef as YAML."""
    _path, _selection, rendering = load(file, overlays, offline)
    present = [b.component for b in rendering.bundles]
    for name in components:
        if name not in present:
            raise InputError(f"component {name!r} is not part of this deployment",
                             hint=Catalog.suggest(name, present))
    wanted = set(components)
    resources = [r for r in rendering.resources if not wanted or r.component in wanted]
    click.echo(to_yaml(resources), nl=False)
