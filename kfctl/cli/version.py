"""``kfctl version``: what is installed, so a bug report says it in one paste."""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata

import click

from kfctl import __version__


def _dist_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _kustomize() -> str | None:
    """Which kustomize builds repo applications, and its version; None (shown "not installed") if none."""
    from kfctl.repos.errors import KustomizeNotFound
    from kfctl.repos.kustomize import find_kustomize

    try:
        return find_kustomize().describe()
    except KustomizeNotFound:
        return None


def _releases() -> str | None:
    """The Kubeflow releases of the shipped catalog, the default marked; None if it cannot be read."""
    from kfctl.catalog import load_releases
    from kfctl.errors import KfctlError

    try:
        family = load_releases()
    except KfctlError:
        return None
    return ", ".join(f"{n} (default)" if n == family.default else n for n in family.names if n) or None


def version_info() -> dict[str, str | None]:
    return {
        "kfctl": __version__,
        "kubeflow-releases": _releases(),
        "python": platform.python_version(),
        "platform": sys.platform,
        "kubernetes-client": _dist_version("kubernetes"),
        "kustomize": _kustomize(),
    }


@click.command()
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def version(output: str) -> None:
    """Print kfctl's version and those of the parts it relies on."""
    info = version_info()
    if output == "json":
        click.echo(json.dumps(info, indent=2, sort_keys=True))
        return
    for key, value in info.items():
        click.echo(f"{key}: {value if value is not None else 'not installed'}")
