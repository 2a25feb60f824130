"""kfctl's entry point: the command group, global options and the one error path.

This is the only module that ends the process. Commands raise
:class:`kfctl.errors.KfctlError` subclasses; :class:`KfctlGroup` prints them and
turns them into the documented exit codes. Anything else is a bug: a one-line
report, and the traceback with ``-v``.

Commands are imported lazily from :data:`COMMANDS` so that ``kfctl version``
does not pay for the simulated cluster or the kubernetes client.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import sys
import traceback
from dataclasses import dataclass, replace

import click

from kfctl import __version__
from kfctl.errors import EXIT_FAILED, EXIT_INPUT, KfctlError

#: command name -> "module:attribute" of its click command. A command exists
#: here only once it works; aliases point at the same object.
COMMANDS: dict[str, str] = {
    "version": "kfctl.cli.version:version",
    "init": "kfctl.cli.init:init",
    "validate": "kfctl.cli.validate:validate",
    "generate": "kfctl.cli.generate:generate",
    "build": "kfctl.cli.generate:generate",
    "show": "kfctl.cli.show:show",
    "sim": "kfctl.cli.sim:sim",
    "apply": "kfctl.cli.apply:apply",
    "check": "kfctl.cli.check:check",
    "diff": "kfctl.cli.diff:diff",
    "status": "kfctl.cli.status:status",
    "delete": "kfctl.cli.delete:delete",
    "images": "kfctl.cli.images:images",
}

EPILOG = """\b
Exit codes:
  0  success
  1  the operation failed (the cluster did not reach the wanted state)
  2  bad usage, bad configuration or bad input (nothing was changed)
  3  `kfctl diff` found changes pending
"""


@dataclass(frozen=True)
class GlobalOptions:
    """Options given before the command, shared by every command that talks to a cluster."""

    kubeconfig: str | None = None
    context: str | None = None
    verbose: int = 0


class KfctlGroup(click.Group):
    """A group that loads commands lazily and owns the error-to-exit-code mapping."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KfctlError as exc:
            click.echo(f"Error: {exc.render()}", err=True)
            raise click.exceptions.Exit(exc.exit_code) from exc
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            raise click.exceptions.Exit(130) from None
        except BrokenPipeError:
            # The reader went away (`kfctl show | head`): stop quietly, as Python's docs advise.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise click.exceptions.Exit(EXIT_FAILED) from None
        except OSError as exc:
            if exc.filename is None:
                return self._bug(ctx, exc)
            # a path the user gave that cannot be read or written: their input, not a bug
            if self._verbose(ctx):
                traceback.print_exc()
            click.echo(f"Error: {exc.strerror or exc}: {exc.filename}\n"
                       "hint: check the path and its permissions", err=True)
            raise click.exceptions.Exit(EXIT_INPUT) from None
        except Exception as exc:  # a bug: say so plainly, never dump on the user unasked
            return self._bug(ctx, exc)

    @staticmethod
    def _verbose(ctx: click.Context) -> bool:
        opts = ctx.find_object(GlobalOptions)
        return bool(opts is not None and opts.verbose)

    def _bug(self, ctx: click.Context, exc: BaseException):
        if self._verbose(ctx):
            traceback.print_exc()
        click.echo(
            f"Internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in kfctl; run again with -v for the traceback and report it.",
            err=True,
        )
        raise click.exceptions.Exit(EXIT_FAILED) from exc


KUBECONFIG_HELP = ("Kubeconfig file of the cluster to use (default: $KUBECONFIG, a path list merged as kubectl "
                   "does, then ~/.kube/config).")
CONTEXT_HELP = "Kubeconfig context to use (default: its current context)."
VERBOSE_HELP = "More output; repeat for debug logs and tracebacks of bugs."


def _configure_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose >= 2 else logging.INFO if verbose == 1 else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger().setLevel(level)


def _set_global(ctx: click.Context, param: click.Parameter, value: object) -> object:
    """Fold a global option given after the command into the shared GlobalOptions (kubectl's convention)."""
    if value is None or value == 0 or value == ():
        return value
    root = ctx.find_root()
    opts = root.obj if isinstance(root.obj, GlobalOptions) else GlobalOptions()
    if param.name == "verbose":
        opts = replace(opts, verbose=opts.verbose + int(value))  # type: ignore[call-overload]
        _configure_logging(opts.verbose)
    elif param.name == "kubeconfig":
        opts = replace(opts, kubeconfig=str(value))
    elif param.name == "kube_context":
        opts = replace(opts, context=str(value))
    root.obj = opts
    ctx.obj = opts
    return value


def global_options(*, cluster: bool = True):
    """Accept the global options after the command too (``kfctl apply --kubeconfig k``), as kubectl does."""

    def decorate(fn):
        fn = click.option("-v", "--verbose", count=True, expose_value=False, is_eager=True, callback=_set_global,
                          help=VERBOSE_HELP)(fn)
        if cluster:
            fn = click.option("--context", "kube_context", metavar="NAME", expose_value=False, is_eager=True,
                              callback=_set_global, help=CONTEXT_HELP)(fn)
            fn = click.option("--kubeconfig", metavar="PATH", expose_value=False, is_eager=True,
                              callback=_set_global, help=KUBECONFIG_HELP)(fn)
        return fn

    return decorate


@click.group(cls=KfctlGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--kubeconfig", metavar="PATH", help=KUBECONFIG_HELP)
@click.option("--context", "kube_context", metavar="NAME", help=CONTEXT_HELP)
@click.option("-v", "--verbose", count=True, help=VERBOSE_HELP)
@click.version_option(__version__, "--version", prog_name="kfctl", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, kubeconfig: str | None, kube_context: str | None, verbose: int) -> None:
    """kfctl installs, upgrades and removes Kubeflow on Kubernetes.

    Describe the deployment in a KfDef file (`kfctl init` writes one), check it
    with `kfctl validate`. The global options may also follow the command.
    """
    _configure_logging(verbose)
    # $KUBECONFIG is read by kfctl.cluster (a path list); --kubeconfig names one file
    ctx.obj = GlobalOptions(kubeconfig=kubeconfig, context=kube_context, verbose=verbose)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI and exit with its code."""
    try:
        cli.main(args=argv, prog_name="kfctl")
    finally:
        # Nothing is left to free: skip the interpreter's last collection of every object
        # (a fifth of a no-op apply's time went there).
        gc.freeze()
