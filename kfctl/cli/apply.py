"""``kfctl apply``: render, plan and apply a KfDef to a cluster in one health-checked pass.

Everything that can be wrong with the input (the KfDef, a bundle, a
template, an overlay, the plan) is found before kfctl contacts the cluster,
so a bad KfDef makes no request at all. ``--dry-run`` prints the plan.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from kfctl.cli.generate import kfdef_option, overlay_option
from kfctl.cli.main import GlobalOptions
from kfctl.cli.output import make_sink
from kfctl.config import find_default_file
from kfctl.errors import EXIT_FAILED

_DURATION = re.compile(r"^\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*$")


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``1h30m`` -> seconds."""
    match = _DURATION.match(text or "")
    if not text or not match or not any(match.groups()):
        raise click.BadParameter(f"{text!r} is not a duration (examples: 600, 90s, 15m, 1h30m)")
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


class Duration(click.ParamType):
    name = "duration"

    def convert(self, value, param, ctx):  # type: ignore[override]
        if isinstance(value, int | float):
            return float(value)
        try:
            return parse_duration(str(value))
        except click.BadParameter as exc:
            self.fail(str(exc), param, ctx)


output_option = click.option(
    "-o", "--output", "output", type=click.Choice(["auto", "live", "plain", "json"]), default="auto",
    show_default=True, help="live: a progress table (a TTY); plain: timestamped lines; json: one event per line.")


def load(file: Path | None, overlays: tuple[Path, ...]):
    from kfctl.deploy import load_deployment

    path = file if file is not None else find_default_file()
    deployment = load_deployment(path, overlays=overlays, display=str(file) if file is not None else path.name)
    for warning in deployment.selection.warnings:
        click.echo(f"warning: {warning}", err=True)
    return deployment


def print_problems(result) -> None:
    for outcome in result.problems:
        click.echo(f"  {outcome.state:<8} {outcome.ref} [{outcome.component}]: {outcome.message}", err=True)


@click.command()
@kfdef_option
@overlay_option
@click.option("--dry-run", is_flag=True, help="Print the plan (objects in dependency waves) and change nothing.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Objects applied at the same time.")
@click.option("--timeout", type=Duration(), default="30m", show_default=True, help="Limit for the whole apply.")
@click.option("--object-timeout", type=Duration(), default="10m", show_default=True,
              help="Limit for one object to become healthy (components may set their own).")
@click.option("--force-conflicts", is_flag=True, help="Take over fields another field manager owns.")
@click.option("--adopt", is_flag=True, help="Take over existing objects kfctl did not create (or another deployment owns).")
@click.option("--prune/--no-prune", default=True, show_default=True,
              help="Delete objects this deployment owned before and no longer renders (after the new set is healthy).")
@click.option("--purge-crds", is_flag=True, help="Let prune delete CRDs (and so every object of their kinds).")
@output_option
@click.pass_obj
def apply(opts: GlobalOptions, file: Path | None, overlays: tuple[Path, ...], dry_run: bool, concurrency: int,
          timeout: float, object_timeout: float, force_conflicts: bool, adopt: bool, prune: bool,
          purge_crds: bool, output: str) -> None:
    """Apply the KfDef to the cluster: in dependency order, each object as soon as what it needs is healthy.

    Re-applying an unchanged KfDef writes nothing; a changed one writes only
    what changed and then prunes what is no longer rendered. Exit 0 only when
    every object is healthy.
    """
    deployment = load(file, overlays)
    if dry_run:
        click.echo(f"Plan for {deployment.name}: {len(deployment.plan)} objects, "
                   f"{len(deployment.plan.edges)} dependencies (nothing is changed)")
        click.echo(deployment.plan.format_waves())
        return
    from kfctl.cluster import connect
    from kfctl.engine.apply import ApplyEngine, ApplyOptions
    from kfctl.engine.retry import Retrying

    from kfctl.engine.permissions import check_write_access

    cluster = connect(opts.kubeconfig, opts.context)
    try:
        check_write_access(Retrying(cluster), deployment.plan)
    except BaseException:
        cluster.close()
        raise
    sink = make_sink(output, components=deployment.component_sizes(), verbose=opts.verbose)
    status = {**deployment.status(), "cluster": Retrying(cluster).identity()}
    engine = ApplyEngine(
        cluster, deployment.plan, deployment=deployment.name, namespace=deployment.namespace,
        options=ApplyOptions(concurrency=concurrency, timeout=timeout, object_timeout=object_timeout,
                             force_conflicts=force_conflicts, adopt=adopt, prune=prune, purge_crds=purge_crds),
        sink=sink, rules=deployment.rules, status=status,
    )
    try:
        result = engine.run()
    finally:
        sink.close()
        cluster.close()
    if output == "json":
        if not result.ok:
            raise click.exceptions.Exit(EXIT_FAILED)
        return
    healthy = sum(o.state == "healthy" for o in result.outcomes)
    line = (f"{deployment.name}: {healthy}/{len(result.outcomes)} objects healthy, {result.writes} writes, "
            f"{len(result.pruned)} pruned, {len(result.kept)} kept, in {result.elapsed:.1f}s")
    if result.ok:
        click.echo(("no changes; " if result.writes == 0 else "") + line)
        for kept in result.kept:
            click.echo(f"  kept {kept} (released from the deployment; delete it by hand if unwanted)")
        return
    click.echo(line, err=True)
    print_problems(result)
    raise click.exceptions.Exit(EXIT_FAILED)
