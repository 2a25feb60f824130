"""`kfctl diff` and `kfctl status` against the simulated cluster."""

from __future__ import annotations

import json

from kfctl.cli.main import cli
from kfctl.engine.diff import unified


def init(runner, tmp_path):
    app = tmp_path / "app"
    assert runner.invoke(cli, ["init", str(app), "--components", "kubeflow-core"]).exit_code == 0
    return app / "kfdef.yaml"


def kc(sim):
    return ["--kubeconfig", sim.kubeconfig_path]


def test_diff_before_and_after_apply_and_after_a_parameter_change(runner, tmp_path, sim_cluster):
    kfdef = init(runner, tmp_path)
    before = runner.invoke(cli, [*kc(sim_cluster), "diff", "-f", str(kfdef), "-q"])
    assert before.exit_code == 3, before.output
    assert "create   Namespace/kubeflow [kubeflow-core]" in before.output
    assert "app: 7 create" in before.output
    writes_before = [e for e in sim_cluster.timeline() if e["verb"] in ("apply", "create", "update", "patch", "delete") and not e.get("dry_run")]
    assert writes_before == []  # diff changes nothing
    assert runner.invoke(cli, [*kc(sim_cluster), "apply", "-f", str(kfdef), "-o", "plain"]).exit_code == 0
    same = runner.invoke(cli, [*kc(sim_cluster), "diff", "-f", str(kfdef)])
    assert same.exit_code == 0 and "no changes (7 unchanged)" in same.output
    text = kfdef.read_text().replace("  - name: kubeflow-core\n", "  - name: kubeflow-core\n    parameters:\n    - {name: podSecurityEnforce, value: baseline}\n", 1)
    kfdef.write_text(text)
    changed = runner.invoke(cli, [*kc(sim_cluster), "diff", "-f", str(kfdef)])
    assert changed.exit_code == 3, changed.output
    assert "update   Namespace/kubeflow [kubeflow-core]" in changed.output
    # 26.03 (kfctl init's release) enforces restricted by default
    assert "-    pod-security.kubernetes.io/enforce: restricted" in changed.output
    assert "+    pod-security.kubernetes.io/enforce: baseline" in changed.output


def test_secret_values_are_masked():
    live = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"a": "b2xk", "same": "eA=="}}
    after = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"a": "bmV3", "same": "eA=="}}
    text = unified(live, after, "Secret/ns/s")
    assert "b2xk" not in text and "bmV3" not in text
    assert "-  a: '*** (old)'" in text and "+  a: '*** (new)'" in text
    assert not [l for l in text.splitlines() if "same" in l and l[:1] in "+-"]  # unchanged keys do not change


def test_status_reports_components_and_missing_objects(runner, tmp_path, sim_cluster):
    kfdef = init(runner, tmp_path)
    missing = runner.invoke(cli, [*kc(sim_cluster), "status", "--name", "app"])
    assert missing.exit_code == 1 and "deployment app not found" in missing.output
    assert runner.invoke(cli, [*kc(sim_cluster), "apply", "-f", str(kfdef), "-o", "plain"]).exit_code == 0
    ok = runner.invoke(cli, [*kc(sim_cluster), "status", "-f", str(kfdef), "-o", "json"])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.output)
    assert data["healthy"] and data["components"][0]["name"] == "kubeflow-core"
    assert data["components"][0]["healthy"] == 7 and data["status"]["platform"] == "generic"
    assert data["status"]["release"] == "26.03"  # kfctl init's default, recorded with the inventory
    from kfctl.cluster import connect

    cluster = connect(sim_cluster.kubeconfig_path, None)
    cluster.delete("rbac.authorization.k8s.io/v1", "ClusterRole", None, "kubeflow-view")
    bad = runner.invoke(cli, [*kc(sim_cluster), "status", "--name", "app"])
    assert bad.exit_code == 1
    assert "ClusterRole/kubeflow-view: missing from the cluster" in bad.output
    assert "app: Kubeflow 26.03, not healthy" in bad.output


def test_status_records_the_release_the_kfdef_selected(runner, tmp_path, sim_cluster):
    app = tmp_path / "old"
    assert runner.invoke(cli, ["init", str(app), "--components", "kubeflow-core", "--version", "1.10"]).exit_code == 0
    assert runner.invoke(cli, [*kc(sim_cluster), "apply", "-f", str(app / "kfdef.yaml"), "-o", "plain"]).exit_code == 0
    ok = runner.invoke(cli, [*kc(sim_cluster), "status", "--name", "old"])
    assert ok.exit_code == 0 and "old: Kubeflow 1.10, healthy" in ok.output
    data = json.loads(runner.invoke(cli, [*kc(sim_cluster), "status", "--name", "old", "-o", "json"]).output)
    assert data["status"]["release"] == "1.10"
