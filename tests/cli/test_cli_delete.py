"""`kfctl delete` and `kfctl status` conventions: asking a person, -n, -f with --name, JSON for an unknown deployment."""

from __future__ import annotations

import json

import pytest

from kfctl.cli import delete as delete_mod
from kfctl.cli.main import cli

WRITES = ("create", "update", "patch", "apply", "delete", "deletecollection")


def installed(runner, tmp_path, sim):
    app = tmp_path / "app"
    assert runner.invoke(cli, ["init", str(app), "--components", "kubeflow-core"]).exit_code == 0
    kfdef = app / "kfdef.yaml"
    result = runner.invoke(cli, ["--kubeconfig", sim.kubeconfig_path, "apply", "-f", str(kfdef), "-o", "plain"])
    assert result.exit_code == 0, result.output
    return kfdef


def deletes(sim, since: int) -> list:
    return [e for e in sim.timeline()[since:] if e["verb"] in ("delete", "deletecollection") and not e.get("dry_run")]


def test_delete_without_a_terminal_and_without_yes_refuses(runner, tmp_path, sim_cluster, monkeypatch):
    installed(runner, tmp_path, sim_cluster)
    monkeypatch.setattr(delete_mod, "stdin_is_tty", lambda: False)
    mark = len(sim_cluster.timeline())
    result = runner.invoke(cli, ["delete", "--kubeconfig", sim_cluster.kubeconfig_path, "--name", "app"])
    assert result.exit_code == 2, result.output
    assert "there is no terminal to ask on" in result.output and "--yes" in result.output
    assert deletes(sim_cluster, mark) == []


def test_delete_piped_to_tee_still_asks(runner, tmp_path, sim_cluster, monkeypatch):
    """stdin is a terminal, stdout a pipe (`kfctl delete --name prod | tee log`): ask, and honour a no."""
    installed(runner, tmp_path, sim_cluster)
    monkeypatch.setattr(delete_mod, "stdin_is_tty", lambda: True)
    mark = len(sim_cluster.timeline())
    result = runner.invoke(cli, ["delete", "--kubeconfig", sim_cluster.kubeconfig_path, "--name", "app"], input="n\n")
    assert result.exit_code == 1, result.output
    assert "Delete 7 objects of app from" in result.output and "Aborted" in result.output
    assert deletes(sim_cluster, mark) == []
    agreed = runner.invoke(cli, ["delete", "--kubeconfig", sim_cluster.kubeconfig_path, "--name", "app", "-o", "plain"],
                           input="y\n")
    assert agreed.exit_code == 0, agreed.output
    assert "app: 7 deleted" in agreed.output


@pytest.mark.parametrize("command", ["delete", "status"])
def test_file_and_name_together_are_refused(runner, tmp_path, sim_cluster, command):
    kfdef = installed(runner, tmp_path, sim_cluster)
    mark = len(sim_cluster.timeline())
    result = runner.invoke(cli, [command, "--kubeconfig", sim_cluster.kubeconfig_path, "-f", str(kfdef),
                                 "--name", "app", "--yes"][: None if command == "delete" else -1])
    assert result.exit_code == 2, result.output
    assert f"-f {kfdef} and --name app both name the deployment" in result.output
    assert sim_cluster.timeline()[mark:] == []


def test_short_namespace_flag_and_global_flags_after_the_command(runner, tmp_path, sim_cluster):
    installed(runner, tmp_path, sim_cluster)
    result = runner.invoke(cli, ["status", "--name", "app", "-n", "kubeflow", "--kubeconfig",
                                 sim_cluster.kubeconfig_path, "-o", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["healthy"] is True
    elsewhere = runner.invoke(cli, ["status", "--name", "app", "-n", "other", "--kubeconfig",
                                    sim_cluster.kubeconfig_path])
    assert elsewhere.exit_code == 1 and "not found in namespace other" in elsewhere.output


def test_status_json_for_an_unknown_deployment_is_json(runner, sim_cluster):
    result = runner.invoke(cli, ["--kubeconfig", sim_cluster.kubeconfig_path, "status", "--name", "ghost", "-o", "json"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc == {"deployment": "ghost", "namespace": "kubeflow", "found": False, "healthy": False, "status": {},
                   "components": []}


@pytest.mark.parametrize("args", [["--name", "BAD NAME!"], ["--name", "app", "-n", "Bad_NS"]])
@pytest.mark.parametrize("command", ["delete", "status"])
def test_invalid_name_or_namespace_is_exit_2_before_contacting_the_cluster(runner, sim_cluster, command, args):
    mark = len(sim_cluster.timeline())
    result = runner.invoke(cli, ["--kubeconfig", sim_cluster.kubeconfig_path, command, *args, "--yes"][: None if command == "delete" else -1])
    assert result.exit_code == 2, result.output
    assert "is not a valid DNS-1123 label" in result.output
    assert sim_cluster.timeline()[mark:] == []
