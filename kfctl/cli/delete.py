"""``kfctl delete``: remove what a deployment owns, in a safe order, keeping data by default.

Reads the deployment from the cluster (its ApplySet inventory), so it works
with ``--name`` alone, after the KfDef or the bundles changed, and again after
an interrupted apply or delete. See :mod:`kfctl.engine.delete` for what is
kept and why.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kfctl.cli.apply import Duration, output_option
from kfctl.cli.main import GlobalOptions, global_options
from kfctl.cli.output import make_sink
from kfctl.cli.status import deployment_identity
from kfctl.errors import EXIT_FAILED, InputError


def stdin_is_tty() -> bool:
    """Whether a person can answer the confirmation (stdout may be a pipe: `kfctl delete | tee log`)."""
    return sys.stdin.isatty()


@click.command()
@click.argument("what", required=False, type=click.Choice(["all", "k8s", "platform"]), metavar="[all|k8s|platform]")
@click.option("-f", "--file", "file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="The KfDef of the deployment (default: ./kfdef.yaml, else ./app.yaml); only its name is used.")
@click.option("--name", metavar="NAME", help="The deployment's name, instead of a KfDef.")
@click.option("-n", "--namespace", metavar="NS", help="The deployment's namespace (default: the KfDef's, else kubeflow).")
@click.option("--purge-crds", is_flag=True, help="Also delete CRDs, and with them every object of their kinds.")
@click.option("--delete-storage", "--delete_storage", "delete_storage", is_flag=True,
              help="Also delete PersistentVolumeClaims (and so their data).")
@click.option("--remove-finalizers", is_flag=True,
              help="Clear finalizers of objects stuck past the timeout (can orphan external resources).")
@click.option("--force", is_flag=True, help="Delete even if the current cluster is not the one the deployment was applied to.")
@click.option("-y", "--yes", is_flag=True,
              help="Do not ask for confirmation. Without it, delete asks on a terminal and refuses without one.")
@click.option("--dry-run", is_flag=True, help="List what would be deleted and kept; change nothing.")
@click.option("--timeout", type=Duration(), default="10m", show_default=True, help="Limit for objects to be gone.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True)
@output_option
@click.pass_obj
@global_options()
def delete(opts: GlobalOptions, what: str | None, file: Path | None, name: str | None, namespace: str | None,
           purge_crds: bool, delete_storage: bool, remove_finalizers: bool, force: bool, yes: bool, dry_run: bool,
           timeout: float, concurrency: int, output: str) -> None:
    """Delete everything a deployment owns: webhooks first, namespaces last; CRDs and PVCs are kept unless asked.

    Safe to run again at any time: after an interrupted delete, after a failed
    apply, or twice in a row.
    """
    deployment, ns = deployment_identity(file, name, namespace)
    if what == "platform":
        click.echo("nothing to delete on the platform: kfctl creates no cloud resources outside the cluster")
        return
    from kfctl.cluster import connect
    from kfctl.engine.retry import Retrying
    from kfctl.engine.delete import DeleteEngine, DeleteOptions

    cluster = Retrying(connect(opts.kubeconfig, opts.context))
    try:
        engine = DeleteEngine(cluster, deployment=deployment, namespace=ns, options=DeleteOptions(
            purge_crds=purge_crds, delete_storage=delete_storage, remove_finalizers=remove_finalizers,
            timeout=timeout, concurrency=concurrency, dry_run=dry_run))
        inventory = engine.inventory()
        recorded = (inventory.status or {}).get("cluster") if inventory else None
        if recorded and not force:
            here = cluster.identity()
            if recorded != here:
                raise InputError(
                    f"deployment {deployment} was applied to another cluster ({recorded}); the current context "
                    f"points at {cluster.server} ({here})",
                    hint="switch --context to the deployment's cluster, or pass --force if this is really it")
        plan = engine.plan(inventory)
        if not plan.delete and not plan.keep:
            click.echo(f"{deployment}: nothing to delete (not deployed in namespace {ns}, or already deleted)")
            return
        if not dry_run and not yes and not stdin_is_tty():
            # the answer must come from a person: `kfctl delete | tee log` still asks, `< /dev/null` refuses
            raise InputError(
                f"kfctl delete asks before deleting {len(plan.delete)} objects of {deployment} from {cluster.server}, "
                "and there is no terminal to ask on (stdin is not a TTY)",
                hint="pass --yes to delete without asking (scripts, CI), or --dry-run to list what would go")
        if dry_run or not yes:
            for member in plan.delete:
                click.echo(f"delete  {member.ref} [{member.component}]")
            for member, why in plan.keep:
                click.echo(f"keep    {member.ref} [{member.component}]: {why}")
            click.echo(f"{deployment}: {len(plan.delete)} to delete, {len(plan.keep)} to keep")
            if dry_run:
                return
            click.confirm(f"Delete {len(plan.delete)} objects of {deployment} from {cluster.server}?", abort=True,
                          err=True)
        sizes: dict[str, int] = {}
        for member in plan.delete:
            sizes[member.component or "-"] = sizes.get(member.component or "-", 0) + 1
        sink = make_sink(output, components=sizes, verbose=opts.verbose, deleting=True)
        engine.sink = sink
        try:
            result = engine.run(plan)
        finally:
            sink.close()
    finally:
        cluster.close()
    if output != "json":
        for ref, why in result.kept:
            click.echo(f"kept {ref}: {why}")
        line = f"{deployment}: {len(result.deleted)} deleted, {len(result.kept)} kept, in {result.elapsed:.1f}s"
        if result.ok:
            click.echo(line)
        else:
            click.echo(line + f", {len(result.stuck)} stuck:", err=True)
            for ref, why in result.stuck:
                click.echo(f"  {ref}: {why}", err=True)
            click.echo("Remove what blocks them (or pass --remove-finalizers) and run kfctl delete again.", err=True)
    if not result.ok:
        raise click.exceptions.Exit(EXIT_FAILED)
