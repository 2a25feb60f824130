"""`kfctl apply` refuses to take a deployment back to an older Kubeflow release unless told to."""

from __future__ import annotations

from kfctl.cli.main import cli
from kfctl.cluster import connect
from kfctl.engine.inventory import read_inventory

WRITES = ("create", "update", "patch", "apply", "delete", "deletecollection")


def writes_since(sim, mark: int) -> list[dict]:
    return [e for e in sim.timeline()[mark:] if e["verb"] in WRITES and not e.get("dry_run")
            and not e["resource"].endswith("reviews")]  # apply's access check asks, it changes nothing


def recorded_release(sim) -> str:
    cluster = connect(sim.kubeconfig_path, None)
    try:
        inventory = read_inventory(cluster, "app", "kubeflow")
        assert inventory is not None
        return inventory.status["release"]
    finally:
        cluster.close()


def test_downgrade_is_refused_naming_both_releases_and_allowed_with_the_flag(runner, tmp_path, sim_cluster):
    app = tmp_path / "app"
    assert runner.invoke(cli, ["init", str(app), "--components", "kubeflow-core", "--version", "1.10"]).exit_code == 0
    kfdef = app / "kfdef.yaml"
    text = kfdef.read_text()
    apply = ["--kubeconfig", sim_cluster.kubeconfig_path, "apply", "-f", str(kfdef), "-o", "plain"]
    first = runner.invoke(cli, apply)
    assert first.exit_code == 0, first.output
    assert recorded_release(sim_cluster) == "1.10"

    kfdef.write_text(text.replace('version: "1.10"', 'version: "26.03"'))
    up = runner.invoke(cli, apply)  # an upgrade is not refused
    assert up.exit_code == 0, up.output
    assert recorded_release(sim_cluster) == "26.03"

    kfdef.write_text(text)
    mark = len(sim_cluster.timeline())
    down = runner.invoke(cli, apply)
    assert down.exit_code == 2, down.output
    assert "runs Kubeflow 26.03" in down.stderr and "this KfDef selects 1.10, an older release" in down.stderr
    assert "ConfigMap/kubeflow/kfctl-app" in down.stderr and "--allow-downgrade" in down.stderr
    assert writes_since(sim_cluster, mark) == []
    assert recorded_release(sim_cluster) == "26.03"

    forced = runner.invoke(cli, [*apply, "--allow-downgrade"])
    assert forced.exit_code == 0, forced.output
    assert recorded_release(sim_cluster) == "1.10"
    assert writes_since(sim_cluster, mark)
