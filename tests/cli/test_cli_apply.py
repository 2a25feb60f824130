"""`kfctl apply` through the CLI, against the simulated cluster."""

from __future__ import annotations

import json

from kfctl.cli.main import cli


def init(runner, tmp_path, components="kubeflow-core"):
    app = tmp_path / "app"
    result = runner.invoke(cli, ["init", str(app), "--components", components])
    assert result.exit_code == 0, result.output
    return app / "kfdef.yaml"


def test_dry_run_prints_the_plan_without_a_cluster(runner, tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    kfdef = init(runner, tmp_path)
    result = runner.invoke(cli, ["apply", "-f", str(kfdef), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Plan for app:" in result.output
    assert "wave 1 (" in result.output and "Namespace/kubeflow  [kubeflow-core]" in result.output


def test_apply_warns_about_the_demo_login(runner, tmp_path, monkeypatch):
    """The first user's demo password is warned about by apply itself, not only by generate."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    kfdef = init(runner, tmp_path, components="dex")
    result = runner.invoke(cli, ["apply", "-f", str(kfdef), "--dry-run"])
    assert result.exit_code == 0, result.output
    for name in ("dex.userPassword", "dex.userEmail", "oauth2-proxy.clientSecret", "oauth2-proxy.cookieSecret"):
        assert f"warning: {name} keeps its demo default" in result.stderr
    text = kfdef.read_text().replace("  - name: dex\n", "  - name: dex\n    parameters:\n"
                                     "    - {name: userPassword, value: not-the-demo-one}\n", 1)
    kfdef.write_text(text)
    result = runner.invoke(cli, ["apply", "-f", str(kfdef), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dex.userPassword" not in result.stderr and "dex.userEmail keeps" in result.stderr


def test_no_cluster_is_exit_2_with_directions(runner, tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    kfdef = init(runner, tmp_path)
    result = runner.invoke(cli, ["apply", "-f", str(kfdef)])
    assert result.exit_code == 2
    assert "no cluster configured" in result.output and "kfctl sim serve" in result.output


def test_apply_then_reapply_reports_no_changes(runner, tmp_path, sim_cluster):
    kfdef = init(runner, tmp_path)
    first = runner.invoke(cli, ["--kubeconfig", sim_cluster.kubeconfig_path, "apply", "-f", str(kfdef), "-o", "plain"])
    assert first.exit_code == 0, first.output
    assert "applied          Namespace/kubeflow" in first.output
    second = runner.invoke(cli, ["--kubeconfig", sim_cluster.kubeconfig_path, "apply", "-f", str(kfdef), "-o", "plain"])
    assert second.exit_code == 0, second.output
    assert "no changes; app: 7/7 objects healthy, 0 writes" in second.output


def test_json_output_is_one_event_per_line(runner, tmp_path, sim_cluster):
    kfdef = init(runner, tmp_path)
    result = runner.invoke(cli, ["--kubeconfig", sim_cluster.kubeconfig_path, "apply", "-f", str(kfdef), "-o", "json"])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines()]
    kinds = {e["kind"] for e in events}
    assert {"applied", "healthy", "component-ready", "summary"} <= kinds
    assert events[-1]["data"]["phase"] == "end" and events[-1]["data"]["healthy"] == 7


def test_bad_kfdef_makes_no_request(runner, tmp_path, sim_cluster):
    kfdef = tmp_path / "kfdef.yaml"
    kfdef.write_text("apiVersion: kfdef.apps.kubeflow.org/v1\nkind: KfDef\nmetadata: {name: x}\n"
                     "spec:\n  applications:\n  - name: katibb\n")
    before = len(sim_cluster.timeline())
    result = runner.invoke(cli, ["--kubeconfig", sim_cluster.kubeconfig_path, "apply", "-f", str(kfdef)])
    assert result.exit_code == 2
    assert "katibb" in result.output and "did you mean 'katib'" in result.output
    assert len(sim_cluster.timeline()) == before
