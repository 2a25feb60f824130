"""``kfctl generate`` (alias ``build``): write the rendered deployment as a kustomize tree.

The output (default: ``kustomize/`` beside the KfDef, as kfctl 1.x did) holds
one folder per component with plain YAML and a ``kustomization.yaml``, and a
top-level ``kustomization.yaml``, so ``kubectl apply -k DIR`` or a GitOps tool
can take it from there. Every run regenerates everything (an unchanged KfDef
gives byte-identical files) and removes files of components no longer
selected; kfctl never touches files it did not write (see
:mod:`kfctl.render.writer`). kfctl 0.5's ``generate all|k8s|platform`` is
accepted: platform settings are part of the manifests now, so all three write
the same tree.

Values of the KfDef's ``spec.secrets`` never reach these files: parameters
that take one are rendered with placeholders, and the Secrets holding them go
to ``secrets.example.yaml``, outside the kustomization, with their values
withheld (:mod:`kfctl.render.secretref`).
"""

from __future__ import annotations

from pathlib import Path

import click

from kfctl.cli.loading import load_rendering

from kfctl.cli.main import global_options
from kfctl.errors import InputError
from kfctl.render.secretref import is_withheld
from kfctl.render.writer import SECRETS_EXAMPLE, write

LEGACY_WHAT = ("all", "k8s", "platform")

kfdef_option = click.option(
    "-f", "--file", "file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
    help="The KfDef to render (default: ./kfdef.yaml, else ./app.yaml).")
overlay_option = click.option(
    "--overlay", "overlays", multiple=True, metavar="DIR",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A folder of your own overlays, applied after the platform's and after overlays/ beside "
         "the KfDef (repeatable).")

offline_option = click.option(
    "--offline", is_flag=True, envvar="KFCTL_OFFLINE",
    help="Download nothing: repos and their remote resources must be in kfctl's cache (pinned by the lock file "
         "beside the KfDef); every one that is not is named, exit 2. Also $KFCTL_OFFLINE=1.")


# kept for callers that import it from here
load = load_rendering


@click.command()
@click.argument("what", required=False, type=click.Choice(LEGACY_WHAT), metavar="[all|k8s|platform]")
@kfdef_option
@click.option("-o", "--output", "output", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Folder to write (default: kustomize/ beside the KfDef).")
@overlay_option
@offline_option
@global_options()
def generate(what: str | None, file: Path | None, output: Path | None, overlays: tuple[Path, ...],
             offline: bool) -> None:
    """Render the KfDef into a kustomize folder for `kubectl apply -k` or GitOps.

    Rerunning with an unchanged KfDef leaves every file byte-identical; a
    changed KfDef is always regenerated, and files of components no longer
    selected are removed (only files kfctl wrote).
    """
    path, _selection, rendering = load(file, overlays, offline)
    if what == "platform":
        click.echo("note: `generate platform` writes the whole tree: platform settings are overlays "
                   "inside the manifests since kfctl 1.0", err=True)
    out = output if output is not None else path.parent / "kustomize"
    try:
        report = write(rendering, out)
    except OSError as exc:
        raise InputError(f"cannot write the kustomize tree to {out}: {exc.strerror or exc}"
                         + (f" ({exc.filename})" if exc.filename else ""),
                         hint="pass -o DIR with a folder you can write") from None
    for rel in report.kept:
        click.echo(f"warning: kept {out / rel}: no longer generated, but edited since kfctl wrote it", err=True)
    count = len(rendering.resources)
    components = len(rendering.bundles)
    status = (f"{len(report.written)} written, {len(report.unchanged)} unchanged, {len(report.removed)} removed"
              if report.changed else "no changes")
    click.echo(f"Generated {count} objects in {components} folders into {out} ({status}).")
    withheld = [r.ref for r in rendering.resources if is_withheld(r.body)]
    if withheld:
        click.echo(f"{len(withheld)} Secrets hold KfDef secrets and are not in the kustomization: "
                   f"{', '.join(withheld)}; {out / SECRETS_EXAMPLE} lists their keys (no values) and how to "
                   "create them for GitOps.")
    click.echo(f"Apply with `kfctl apply`, which waits for each dependency (CRDs, webhooks) to be ready; "
               f"`kubectl apply --server-side -k {out}` does not wait and may need retries.")
