"""The command line: click commands, one module each, wired up in :mod:`kfctl.cli.main`."""
