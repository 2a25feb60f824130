"""`kfctl apply` through the CLI, against the simulated cluster."""

from __future__ import annotations

import json

import pytest

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
    result = runner.invoke(cli, ["apply", "-f", str(kfdef), "--dry-run", "-v"])
    assert result.exit_code == 0, result.output
    assert "Plan for app:" in result.output
    assert "wave 1 (" in result.output and "Namespace/kubeflow  [kubeflow-core]" in result.output


def test_dry_run_is_a_summary_by_default_and_json_on_request(runner, tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    kfdef = init(runner, tmp_path, components="pipelines,katib,notebooks")
    result = runner.invoke(cli, ["apply", "-f", str(kfdef), "--dry-run"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Namespace/kubeflow" not in out  # no per-object listing without -v
    assert "  wave  1 (" in out and "Components:" in out and "add -v" in out
    assert max(len(line) for line in out.splitlines()) <= 110
    assert len(out.splitlines()) < 40
    full = runner.invoke(cli, ["apply", "-f", str(kfdef), "--dry-run", "-v"]).stdout
    assert len(full) > 5 * len(out)
    doc = json.loads(runner.invoke(cli, ["apply", "-f", str(kfdef), "--dry-run", "-o", "json"]).stdout)
    objects = [o for wave in doc["waves"] for o in wave["objects"]]
    assert doc["objects"] == len(objects) > 100
    assert all(o["after"] == [] for o in doc["waves"][0]["objects"])
    assert {"object": "Namespace/kubeflow", "kind": "Namespace", "namespace": None, "name": "kubeflow",
            "component": "kubeflow-core", "after": []} in doc["waves"][0]["objects"]
    assert all(o["after"] for wave in doc["waves"][1:] for o in wave["objects"])


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


def test_global_flags_after_the_command(runner, tmp_path, sim_cluster, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    kfdef = init(runner, tmp_path)
    result = runner.invoke(cli, ["apply", "-f", str(kfdef), "--kubeconfig", sim_cluster.kubeconfig_path, "-o", "plain"])
    assert result.exit_code == 0, result.output
    assert "7/7 objects healthy" in result.output
    missing = runner.invoke(cli, ["diff", "-f", str(kfdef), "--kubeconfig", str(tmp_path / "nope"), "--context", "x"])
    assert missing.exit_code == 2 and f"kubeconfig {tmp_path / 'nope'} does not exist" in missing.output
    assert runner.invoke(cli, ["validate", "-f", str(kfdef), "-v"]).exit_code == 0


@pytest.mark.parametrize("namespace", ["kube-system", "default", "kube-public", "kube-node-lease"])
def test_reserved_namespace_is_refused_before_any_write(runner, tmp_path, sim_cluster, namespace):
    kfdef = init(runner, tmp_path)
    kfdef.write_text(kfdef.read_text().replace("namespace: kubeflow", f"namespace: {namespace}", 1))
    before = len(sim_cluster.timeline())
    for command in (["validate"], ["apply"], ["diff"], ["generate", "-o", str(tmp_path / "out")]):
        result = runner.invoke(cli, ["--kubeconfig", sim_cluster.kubeconfig_path, *command, "-f", str(kfdef)])
        assert result.exit_code == 2, (command, result.output)
        assert "metadata.namespace" in result.output and f"'{namespace}' is a namespace Kubernetes reserves" in result.output
    assert len(sim_cluster.timeline()) == before
    assert not (tmp_path / "out").exists()
    refused = runner.invoke(cli, ["init", str(tmp_path / "other"), "-n", namespace])
    assert refused.exit_code == 2 and f"--namespace {namespace}" in refused.output
    assert not (tmp_path / "other").exists()


def test_unset_secret_variable_refuses_apply_with_no_write(runner, tmp_path, sim_cluster, monkeypatch):
    kfdef = init(runner, tmp_path)
    kfdef.write_text(kfdef.read_text().rstrip("\n") + "\n  secrets:\n"
                     "  - {name: admin-password, secretSource: {envSource: {name: KFCTL_TEST_ADMIN_PASSWORD}}}\n")
    line = kfdef.read_text().splitlines().index(
        "  - {name: admin-password, secretSource: {envSource: {name: KFCTL_TEST_ADMIN_PASSWORD}}}") + 1
    monkeypatch.delenv("KFCTL_TEST_ADMIN_PASSWORD", raising=False)
    before = len(sim_cluster.timeline())
    result = runner.invoke(cli, ["--kubeconfig", sim_cluster.kubeconfig_path, "apply", "-f", str(kfdef)])
    assert result.exit_code == 2, result.output
    assert f"{kfdef}:{line}:" in result.output
    assert "secret 'admin-password' reads environment variable KFCTL_TEST_ADMIN_PASSWORD, which is not set" in result.output
    assert len(sim_cluster.timeline()) == before
    monkeypatch.setenv("KFCTL_TEST_ADMIN_PASSWORD", "s3cret")
    done = runner.invoke(cli, ["--kubeconfig", sim_cluster.kubeconfig_path, "apply", "-f", str(kfdef), "-o", "plain"])
    assert done.exit_code == 0, done.output


def test_a_zero_timeout_is_a_usage_error(runner, tmp_path, sim_cluster):
    kfdef = init(runner, tmp_path)
    before = len(sim_cluster.timeline())
    for option in ("--timeout", "--object-timeout"):
        result = runner.invoke(cli, ["--kubeconfig", sim_cluster.kubeconfig_path, "apply", "-f", str(kfdef), option, "0"])
        assert result.exit_code == 2 and "is no time at all" in result.output, result.output
    assert len(sim_cluster.timeline()) == before
    assert runner.invoke(cli, ["apply", "-f", str(kfdef), "--timeout", "90s", "--dry-run"]).exit_code == 0
