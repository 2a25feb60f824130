"""``kfctl apply``: render, plan and apply a KfDef to a cluster in one health-checked pass.

Everything that can be wrong with the input (the KfDef, a bundle, a
template, an overlay, the plan) is found before kfctl contacts the cluster,
so a bad KfDef makes no request at all. ``--dry-run`` prints the plan.
Then the fast checks of ``kfctl check`` that would make the apply fail
(:func:`kfctl.cli.check.refuse_failed_checks`) run before the first write,
unless ``--skip-checks``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from kfctl.cli.generate import kfdef_option, offline_option, overlay_option
from kfctl.cli.loading import load_planned
from kfctl.cli.main import GlobalOptions, global_options
from kfctl.cli.output import make_sink, root_cause
from kfctl.errors import EXIT_FAILED, InputError

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

    def convert(self, value, param, ctx):
        try:
            seconds = float(value) if isinstance(value, int | float) else parse_duration(str(value))
        except click.BadParameter as exc:
            self.fail(str(exc), param, ctx)
        if seconds <= 0:
            self.fail(f"{value!r} is no time at all: give a positive duration (examples: 90s, 15m)", param, ctx)
        return seconds


output_option = click.option(
    "-o", "--output", "output", type=click.Choice(["auto", "live", "plain", "json"]), default="auto",
    show_default=True, help="live: a progress table (a TTY); plain: timestamped lines; json: one event per line.")


load = load_planned  # apply's and diff's way in: kfctl.cli.loading


def refuse_downgrade(cluster, deployment) -> None:
    """Exit 2, before any write, when the cluster holds this deployment at a newer release than the KfDef's.

    The inventory's status records the release each apply used. Going back is not an apply like any
    other: 26.03's MySQL 8.4 data cannot be opened by 1.10's MySQL 8.0, and Pipelines' artifacts written
    to SeaweedFS after the upgrade are not in 1.10's MinIO claim (README.md, "Upgrading").
    """
    from kfctl.config.versions import downgrade
    from kfctl.engine.inventory import read_inventory
    from kfctl.engine.retry import Retrying

    recorded = read_inventory(Retrying(cluster), deployment.name, deployment.namespace)
    was = None if recorded is None else recorded.status.get("release")
    wanted = deployment.selection.release
    if isinstance(was, str) and downgrade(was, wanted):
        raise InputError(
            f"deployment {deployment.name} in namespace {deployment.namespace} runs Kubeflow {was} (recorded in "
            f"ConfigMap/{deployment.namespace}/kfctl-{deployment.name}); this KfDef selects {wanted}, an older "
            "release: kfctl does not downgrade, nothing was changed",
            hint=f"set spec.version to \"{was}\" to keep the deployment, or pass --allow-downgrade to apply "
                 f"{wanted} anyway (data written since the upgrade, such as MySQL 8.4 databases and Pipelines "
                 "artifacts in SeaweedFS, is not carried back; see README.md, \"Upgrading\")")


def refuse_unprovided(cluster: Any, deployment: Any, *, wait: float) -> None:
    """Exit 2 before any write when what the KfDef says the cluster provides (cert-manager, Istio, a
    StorageClass) is absent, incompatible, or not healthy within ``wait`` seconds (README, "Existing components")."""
    from kfctl.engine.provided import verify

    problems = verify(cluster, deployment.plan, deployment.provided, deployment.storage_class, wait=wait)
    if problems:
        raise InputError(f"what the KfDef says the cluster provides is not ready for Kubeflow; nothing was changed:\n  "
                         + "\n  ".join(problems),
                         hint="fix the cluster's own installation, or drop provided to let kfctl install the "
                              "component")


def print_problems(result, verbose: int = 0) -> None:
    """Each failed or blocked object, with why; without -v, repeats of one root cause as one line and a count."""
    groups: dict[tuple[str, str], list] = {}
    for outcome in result.problems:
        key = (outcome.state, str(outcome.ref) if verbose else root_cause(outcome.state, outcome.message))
        groups.setdefault(key, []).append(outcome)
    for (state, cause), outcomes in groups.items():
        first = outcomes[0]
        click.echo(f"  {first.state:<8} {first.ref} [{first.component}]: {first.message}", err=True)
        if len(outcomes) > 1:
            components = sorted({o.component for o in outcomes})
            what = f"blocked by {cause}" if state == "blocked" else "failed the same way"
            click.echo(f"  {'':<8} ... and {len(outcomes) - 1} more {what} "
                       f"[{', '.join(components[:4])}{', ...' if len(components) > 4 else ''}] (-v lists each)",
                       err=True)


@click.command()
@kfdef_option
@overlay_option
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing: a summary per wave and component; "
                                             "-v lists every object, -o json prints it as JSON.")
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
@click.option("--skip-invalid", is_flag=True,
              help="Leave out objects the API server would refuse (listed) and apply the rest, instead of refusing "
                   "the whole apply.")
@click.option("--allow-downgrade", is_flag=True,
              help="Apply a Kubeflow release older than the one the deployment runs (refused otherwise; "
                   "data written by the newer release is not carried back).")
@click.option("--skip-checks", is_flag=True,
              help="Start writing without the pre-write checks (Kubernetes version, unserved kinds, missing "
                   "StorageClasses, permissions, objects owned by others); problems then show as failed objects.")
@output_option
@offline_option
@click.pass_obj
@global_options()
def apply(opts: GlobalOptions, file: Path | None, overlays: tuple[Path, ...], dry_run: bool, concurrency: int,
          timeout: float, object_timeout: float, force_conflicts: bool, adopt: bool, prune: bool,
          purge_crds: bool, skip_invalid: bool, allow_downgrade: bool, skip_checks: bool, output: str,
          offline: bool) -> None:
    """Apply the KfDef to the cluster: in dependency order, each object as soon as what it needs is healthy.

    Re-applying an unchanged KfDef writes nothing; a changed one writes only
    what changed and then prunes what is no longer rendered. Exit 0 only when
    every object is healthy.
    """
    # every secret the KfDef asks for must be at hand before the first write (exit 2 naming each one);
    # --dry-run prints the plan, so it renders with placeholders and never reads them
    deployment = load(file, overlays, offline, skip_invalid=skip_invalid, secrets=not dry_run)
    if dry_run:
        from kfctl.cli import planview

        if output == "json":
            click.echo(planview.as_json(deployment.plan, deployment.name, deployment.namespace))
        elif opts.verbose:
            click.echo(f"Plan for {deployment.name}: {len(deployment.plan)} objects, "
                       f"{len(deployment.plan.edges)} dependencies (nothing is changed)")
            click.echo(deployment.plan.format_waves())
        else:
            click.echo(planview.summary(deployment.plan, deployment.name))
        if output != "json" and (deployment.provided or deployment.storage_class):
            what = [p.component for p in deployment.provided]
            what += [f"StorageClass {deployment.storage_class}"] if deployment.storage_class else []
            click.echo(f"provided by the cluster (checked before the first write, never changed): {', '.join(what)}")
        return
    from kfctl.cluster import connect
    from kfctl.engine.apply import ApplyEngine
    from kfctl.engine.results import ApplyOptions
    from kfctl.engine.retry import Retrying

    from kfctl.cli.check import refuse_failed_checks

    cluster = connect(opts.kubeconfig, opts.context)
    try:
        # what the KfDef says the cluster provides, first: when it is missing, its kinds are unserved too,
        # and the check below would only say that
        refuse_unprovided(Retrying(cluster), deployment, wait=min(object_timeout, timeout))
        if not skip_checks:
            # version, unserved kinds, missing StorageClasses, permissions, objects owned by others: every
            # problem named at once, before the first write (exit 2); `kfctl check` runs these and more.
            # First, so that a token that may not even read the namespace hears what it lacks (the
            # downgrade check's read would end in a bare 403)
            refuse_failed_checks(Retrying(cluster), deployment, adopt=adopt)
        if not allow_downgrade:
            refuse_downgrade(cluster, deployment)
    except BaseException:
        cluster.close()
        raise
    sink = make_sink(output, components=deployment.component_sizes(), verbose=opts.verbose)
    status = {**deployment.status(), "cluster": Retrying(cluster).identity()}
    engine = ApplyEngine(
        cluster, deployment.plan, deployment=deployment.name, namespace=deployment.namespace,
        options=ApplyOptions(concurrency=concurrency, timeout=timeout, object_timeout=object_timeout,
                             force_conflicts=force_conflicts, adopt=adopt, prune=prune, purge_crds=purge_crds,
                             handed_over=frozenset(deployment.selection.provided)),
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
    print_problems(result, opts.verbose)
    if result.pending_prune:
        click.echo(f"{len(result.pending_prune)} objects no longer rendered were not pruned, because the apply is not "
                   "healthy; the next healthy apply prunes them: " + ", ".join(result.pending_prune), err=True)
    raise click.exceptions.Exit(EXIT_FAILED)
