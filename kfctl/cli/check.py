"""``kfctl check``: read the cluster and the plan, and say what would make the install fail.

One line per finding (pass, warn or fail) with how to fix it, the node and
GPU table under the nodes line; ``-o json`` for scripts. Exit 0 without a
failure, 1 with one. The checks are :mod:`kfctl.engine.checks`; ``kfctl
apply`` runs the fast, hard ones itself before writing (see
:func:`refuse_failed_checks`), unless ``--skip-checks``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from kfctl.cli.generate import kfdef_option, offline_option, overlay_option
from kfctl.cli.loading import load_planned
from kfctl.cli.main import GlobalOptions, global_options
from kfctl.errors import EXIT_FAILED, ClusterConfigError

MARK = {"pass": "pass", "warn": "WARN", "fail": "FAIL"}


def facts_of(deployment: Any, *, adopt: bool = False) -> Any:
    from kfctl.engine.checks import Facts

    from kfctl.catalog import load_catalog
    from kfctl.config import provided_spelling, providable
    from kfctl.render.images import public_images

    catalog = load_catalog().for_release(deployment.selection.release or None)
    return Facts(deployment=deployment.name, namespace=deployment.namespace,
                 kubernetes=deployment.kubernetes_ranges(catalog), adopt=adopt,
                 providable={name: provided_spelling(name) for name in providable(catalog)},
                 provided=tuple(deployment.provided), storage_class=deployment.storage_class,
                 public_images=tuple(public_images(deployment.rendering)),
                 rewrites=bool(deployment.selection.kfdef.images.rewrites))


#: detail lines ``kfctl check`` shows per finding (the node table always whole; -o json has every line)
SHOWN_DETAILS = 12


def format_finding(finding: Any, *, width: int = 13, limit: int | None = None) -> list[str]:
    """A finding as text: ``STATUS  CHECK  message``, then ``fix:`` and detail lines indented under it
    (at most ``limit`` of them, then how many more)."""
    lines = [f"{MARK[finding.status]:<4}  {finding.check:<{width}}  {finding.message}"]
    pad = " " * (6 + width + 2)
    if finding.fix and finding.status != "pass":
        lines.append(f"{pad}fix: {finding.fix}")
    details = list(finding.details)
    if limit is not None and len(details) > limit + 1:
        details = details[:limit] + [f"... and {len(details) - limit} more (-o json lists every one)"]
    lines += [f"{pad}{line}" for line in details]
    return lines


def refuse_failed_checks(cluster: Any, deployment: Any, *, adopt: bool = False) -> None:
    """``kfctl apply``'s pre-write gate: exit 2 naming every hard failure (version, unserved kinds, missing
    StorageClasses, permissions, objects owned by others); nothing is written."""
    from kfctl.engine.checks import hard_checks
    from kfctl.engine.checks.model import counted
    from kfctl.engine.permissions import HINT

    failed = hard_checks(cluster, deployment.plan, facts_of(deployment, adopt=adopt))
    if not failed:
        return
    lines = [line for finding in failed for line in format_finding(finding)]
    hint = ("fix each problem and apply again; kfctl check lists them with the other checks; --skip-checks "
            "applies anyway")
    if any(f.check == "permissions" for f in failed):
        hint = f"{HINT}; {hint}"
    raise ClusterConfigError(f"apply refused: the checks found {counted(len(failed), 'problem')}; nothing was changed:\n  "
                             + "\n  ".join(lines), hint=hint)


@click.command()
@kfdef_option
@overlay_option
@click.option("-o", "--output", "output", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: one line per check; json: the findings and the node table as one JSON document.")
@click.option("--adopt", is_flag=True, help="Judge objects owned by others as `kfctl apply --adopt` would "
                                            "(take them over: a warning, not a failure).")
@offline_option
@click.pass_obj
@global_options()
def check(opts: GlobalOptions, file: Path | None, overlays: tuple[Path, ...], output: str, adopt: bool,
          offline: bool) -> None:
    """Check the cluster against the KfDef's plan before installing: version, nodes and GPUs, capacity,
    storage, permissions, objects already there, APIs.

    Prints one line per check (pass, WARN or FAIL) with how to fix it. Nothing
    is written to the cluster. Exit 0 without a failure, 1 with one.
    """
    from kfctl.cluster import connect
    from kfctl.engine.checks import run_checks
    from kfctl.engine.retry import Retrying

    # the plan needs no secret values: placeholders stand in, as for apply --dry-run
    deployment = load_planned(file, overlays, offline, secrets=False)
    cluster = connect(opts.kubeconfig, opts.context)
    try:
        report = run_checks(Retrying(cluster), deployment.plan, facts_of(deployment, adopt=adopt))
    finally:
        cluster.close()
    if output == "json":
        click.echo(json.dumps({"deployment": deployment.name, "namespace": deployment.namespace,
                               **report.to_json()}, indent=2))
    else:
        click.echo(f"Checking {deployment.name} ({len(deployment.plan)} objects) against the cluster")
        for finding in report.findings:
            limit = None if finding.check == "nodes" and finding.status != "warn" else SHOWN_DETAILS
            for line in format_finding(finding, limit=limit):
                click.echo(line)
        counts = report.counts()
        click.echo(f"{counts['pass']} passed, {counts['warn']} warnings, {counts['fail']} failed")
    if not report.ok:
        raise click.exceptions.Exit(EXIT_FAILED)
