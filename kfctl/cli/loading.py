"""The one way the CLI turns a KfDef file into what a command needs, and says what it should know.

``generate`` and ``show`` need the rendering; ``apply`` and ``diff`` the planned
deployment (:func:`kfctl.deploy.load_deployment`, which assembles the offline
pipeline: KfDef validation, selection, rendering, the checks against what the
API server would refuse, the plan). Both paths end in :func:`announce`, so
every command prints the same warnings: the KfDef's, objects left out by
``--skip-invalid``, parameters still at a demo default, and parameters of two
components that should agree and do not.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kfctl.config import Selection, find_default_file
from kfctl.render import Rendering

if TYPE_CHECKING:
    from kfctl.deploy import Deployment


def kfdef_path(file: Path | None) -> tuple[Path, str]:
    """The KfDef to read (``-f``, else ``./kfdef.yaml`` or kfctl 0.5's ``./app.yaml``) and how to name it."""
    path = file if file is not None else find_default_file()
    return path, str(file) if file is not None else path.name


def announce(selection: Selection, rendering: Rendering) -> None:
    for warning in selection.warnings:
        click.echo(f"warning: {warning}", err=True)
    for skipped in rendering.skipped:
        click.echo(f"warning: skipped (--skip-invalid): {skipped}", err=True)
    # demo defaults (the first user's password, client and cookie secrets, database passwords) are
    # warned about by every command, also by apply, where they take effect
    for name in rendering.demo_defaults:
        click.echo(f"warning: {name} keeps its demo default; set it in the KfDef before production use", err=True)
    for mismatch in rendering.mismatches:
        click.echo(f"warning: {mismatch}", err=True)


def load_rendering(file: Path | None, overlays: tuple[Path, ...], offline: bool = False
                   ) -> tuple[Path, Selection, Rendering]:
    """Find, validate and render the KfDef (generate, show); secret values are never read here."""
    from kfctl.pipeline import render_kfdef

    path, shown = kfdef_path(file)
    selection, rendering = render_kfdef(path, overlays=overlays, display=shown, progress=sys.stderr.isatty(),
                                        offline=offline)
    announce(selection, rendering)
    return path, selection, rendering


def load_planned(file: Path | None, overlays: tuple[Path, ...], offline: bool = False, *,
                 skip_invalid: bool = False, secrets: bool = True) -> Deployment:
    """Validate, render and plan (apply, diff); with ``secrets`` the KfDef's secret values are read once it is
    valid, before rendering (a missing one is exit 2 before any request); without (``--dry-run``), placeholders
    stand in."""
    from kfctl.config import secret_values
    from kfctl.deploy import load_deployment

    path, shown = kfdef_path(file)
    deployment = load_deployment(path, overlays=overlays, display=shown, offline=offline,
                                 skip_invalid=skip_invalid, secrets=secret_values if secrets else None)
    announce(deployment.selection, deployment.rendering)
    return deployment
