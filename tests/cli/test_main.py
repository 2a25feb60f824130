"""The CLI's shared plumbing: help, exit codes and the one error path."""

from __future__ import annotations

import json
import subprocess
import sys

import click

from kfctl.cli import main as main_mod
from kfctl.cli.main import cli
from kfctl.errors import ConfigError, Problem


def test_help_documents_exit_codes(runner):
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for line in ("0  success", "1  the operation failed", "2  bad usage", "3  `kfctl diff`"):
        assert line in result.output


def test_unknown_command_is_usage_error(runner):
    result = runner.invoke(cli, ["frobnicate"])
    assert result.exit_code == 2
    assert "No such command 'frobnicate'" in result.output


def test_version_json(runner):
    result = runner.invoke(cli, ["version", "-o", "json"])
    assert result.exit_code == 0
    info = json.loads(result.output)
    assert info["kfctl"]
    assert info["kubernetes-client"]


def test_kfctl_error_maps_to_exit_code_without_traceback(runner, monkeypatch):
    @click.command()
    def broken() -> None:
        raise ConfigError([Problem("bad value", file="k.yaml", line=3, column=5, path="spec.x")])

    monkeypatch.setitem(main_mod.COMMANDS, "broken", f"{__name__}:_broken")
    globals()["_broken"] = broken
    result = runner.invoke(cli, ["broken"])
    assert result.exit_code == 2
    assert "k.yaml:3:5: spec.x: bad value" in result.output
    assert "Traceback" not in result.output


def test_bug_is_reported_plainly_and_traceback_only_with_verbose(runner, monkeypatch):
    @click.command()
    def buggy() -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(main_mod.COMMANDS, "buggy", f"{__name__}:_buggy")
    globals()["_buggy"] = buggy
    result = runner.invoke(cli, ["buggy"])
    assert result.exit_code == 1
    assert "Internal error: RuntimeError: boom" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(cli, ["-v", "buggy"])
    assert "Traceback" in result.output


def test_python_dash_m_runs_in_a_real_subprocess():
    proc = subprocess.run([sys.executable, "-m", "kfctl", "version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("kfctl: ")


def test_closed_pipe_ends_quietly(tmp_path):
    app = tmp_path / "app"
    subprocess.run([sys.executable, "-m", "kfctl", "init", str(app)], check=True, capture_output=True, timeout=60)
    proc = subprocess.Popen([sys.executable, "-m", "kfctl", "show", "-f", str(app / "kfdef.yaml")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err and b"Internal error" not in err
