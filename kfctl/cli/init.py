"""``kfctl init``: create an app folder with a commented, valid ``kfdef.yaml``.

It never overwrites: an existing ``kfdef.yaml`` is an error (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import click

from kfctl.catalog import load_catalog
from kfctl.config.starter import render_starter, starter_release
from kfctl.errors import InputError

KFDEF_FILE = "kfdef.yaml"


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise InputError("--components is empty", hint="pass --components a,b,... or leave it out for the "
                                                       "platform's default set")
    return names


@click.command()
@click.argument("app_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--platform", default="generic", show_default=True, help="Platform of the cluster.")
@click.option("--components", metavar="A,B,...", help="Components to deploy (default: the platform's set).")
@click.option("--namespace", default="kubeflow", show_default=True, help="Namespace of the control plane.")
@click.option("--name", help="Deployment name (default: the folder name).")
@click.option("--version", "version", metavar="RELEASE",
              help="Kubeflow release to deploy, written as spec.version (default: the current one, 26.03; "
                   "1.10 for the previous).")
def init(app_dir: Path, platform: str, components: str | None, namespace: str, name: str | None,
         version: str | None) -> None:
    """Create APP_DIR with a commented kfdef.yaml to edit, then check with `kfctl validate`."""
    target = app_dir / KFDEF_FILE
    if target.exists():
        raise InputError(f"{target} already exists: kfctl init never overwrites a KfDef",
                         hint="edit that file, or choose another APP_DIR")
    deployment = name or app_dir.resolve().name
    catalog = starter_release(load_catalog(), version)
    text = render_starter(catalog, name=deployment, namespace=namespace, platform=platform,
                          components=_split(components), version=catalog.release or None)
    app_dir.mkdir(parents=True, exist_ok=True)
    try:
        with open(target, "x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError:
        raise InputError(f"{target} already exists: kfctl init never overwrites a KfDef") from None
    release = f", Kubeflow {catalog.release}" if catalog.release else ""
    click.echo(f"Wrote {target} (deployment {deployment!r}, platform {platform}{release}).")
    click.echo(f"Next: edit it, then `cd {app_dir} && kfctl validate`.")
