"""``kfctl diff``: what ``kfctl apply`` would change, without changing anything.

Exit codes: 0 no changes, 3 changes pending (1 and 2 as everywhere).
"""

from __future__ import annotations

from pathlib import Path

import click

from kfctl.cli.loading import load_planned as load
from kfctl.cli.generate import kfdef_option, offline_option, overlay_option
from kfctl.cli.main import GlobalOptions, global_options
from kfctl.errors import EXIT_CHANGES


@click.command()
@kfdef_option
@overlay_option
@click.option("--purge-crds", is_flag=True, help="Show CRDs that prune would delete with --purge-crds.")
@click.option("-q", "--quiet", is_flag=True, help="Only the summary line per object, no diffs.")
@offline_option
@click.pass_obj
@global_options()
def diff(opts: GlobalOptions, file: Path | None, overlays: tuple[Path, ...], purge_crds: bool, quiet: bool,
         offline: bool) -> None:
    """Show what `kfctl apply` would change (server-side dry run; Secret values masked).

    Exit 0 when nothing would change, 3 when changes are pending.
    """
    deployment = load(file, overlays, offline)
    from kfctl.cluster import connect
    from kfctl.engine.retry import Retrying
    from kfctl.engine.diff import compute

    cluster = Retrying(connect(opts.kubeconfig, opts.context))
    try:
        changes = compute(cluster, deployment.plan, deployment=deployment.name, namespace=deployment.namespace,
                          purge_crds=purge_crds, handed_over=frozenset(deployment.selection.provided))
    finally:
        cluster.close()
    pending = [c for c in changes if c.pending]
    for change in changes:
        if change.action == "unchanged":
            continue
        click.echo(f"{change.action:<8} {change.ref} [{change.component}]")
        if not quiet and change.detail:
            click.echo(change.detail.rstrip("\n") if change.action in ("create", "update", "prune") else f"         {change.detail}")
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    summary = ", ".join(f"{n} {a}" for a, n in sorted(counts.items()))
    click.echo(f"{deployment.name}: {summary}" if pending else f"{deployment.name}: no changes ({summary})")
    if pending:
        raise click.exceptions.Exit(EXIT_CHANGES)
