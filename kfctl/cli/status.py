"""``kfctl status``: per-component health of a deployment, read from the cluster.

Works from the in-cluster inventory, so ``--name`` is enough (no KfDef
needed). Exit 0 when every object is healthy, 1 otherwise or when the
deployment is not found.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from kfctl.cli.main import GlobalOptions
from kfctl.config import find_default_file, load_kfdef
from kfctl.errors import EXIT_FAILED


def deployment_identity(file: Path | None, name: str | None, namespace: str | None) -> tuple[str, str]:
    """(name, namespace) from --name/--namespace, else from the KfDef (-f or the default file)."""
    if name:
        return name, namespace or "kubeflow"
    path = file if file is not None else find_default_file()
    kfdef = load_kfdef(path, display=str(file) if file is not None else path.name)
    return kfdef.name, namespace or kfdef.namespace


@click.command()
@click.option("-f", "--file", "file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="The KfDef of the deployment (default: ./kfdef.yaml, else ./app.yaml).")
@click.option("--name", metavar="NAME", help="The deployment's name (its KfDef metadata.name), instead of -f.")
@click.option("--namespace", metavar="NS", help="The deployment's namespace (default: the KfDef's, else kubeflow).")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def status(opts: GlobalOptions, file: Path | None, name: str | None, namespace: str | None, output: str) -> None:
    """Show the health of each component of a deployment, read from the cluster."""
    deployment, ns = deployment_identity(file, name, namespace)
    from kfctl.cluster import connect
    from kfctl.engine.retry import Retrying
    from kfctl.engine.health import read_health

    cluster = Retrying(connect(opts.kubeconfig, opts.context))
    try:
        inventory, components = read_health(cluster, deployment, ns)
    finally:
        cluster.close()
    if inventory is None:
        click.echo(f"deployment {deployment} not found in namespace {ns} (nothing applied, or deleted)", err=True)
        raise click.exceptions.Exit(EXIT_FAILED)
    ok = all(c.ok for c in components)
    if output == "json":
        click.echo(json.dumps({
            "deployment": deployment, "namespace": ns, "healthy": ok, "status": dict(inventory.status),
            "components": [{"name": c.name, "version": c.version, "healthy": c.healthy, "total": c.total,
                            "problems": [{"object": o, "why": w} for o, w in c.problems]} for c in components],
        }, indent=2, sort_keys=True))
    else:
        click.echo(f"{'COMPONENT':<20} {'VERSION':<14} {'HEALTHY':>9}")
        for comp in components:
            click.echo(f"{comp.name:<20} {comp.version:<14} {comp.healthy:>4}/{comp.total:<4}")
            for obj, why in comp.problems:
                click.echo(f"    {obj}: {why}")
        release = inventory.status.get("release")
        click.echo(f"{deployment}: " + (f"Kubeflow {release}, " if release else "") + ("healthy" if ok else "not healthy"))
    if not ok:
        raise click.exceptions.Exit(EXIT_FAILED)
