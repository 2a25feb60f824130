"""`kfctl check` and apply's pre-write checks against simulated clusters (issue #15 items 1 and 2)."""

from __future__ import annotations

import json

from kfctl.cli.main import cli
from kfctl.cluster import connect
from kfctl.sim.behaviour import ClusterShape

WRITES = ("create", "update", "patch", "apply", "delete")
HELM = {"app.kubernetes.io/managed-by": "Helm"}
HELM_NOTES = {"meta.helm.sh/release-name": "cert-manager", "meta.helm.sh/release-namespace": "cert-manager"}


def writes(sim, since: int = 0) -> list[dict]:
    return [e for e in sim.timeline()[since:] if e["verb"] in WRITES and not e.get("dry_run")
            and not e["resource"].endswith("reviews")]  # access reviews ask, they change nothing


def init(runner, tmp_path, components: str = "kubeflow-core"):
    app = tmp_path / "app"
    assert runner.invoke(cli, ["init", str(app), "--components", components]).exit_code == 0
    return app / "kfdef.yaml"


def kc(sim):
    return ["--kubeconfig", sim.kubeconfig_path]


def lines_of(output: str, check: str) -> list[str]:
    return [line for line in output.splitlines() if line[6:].startswith(check + " ")]


def helm_cert_manager(sim) -> None:
    """cert-manager's namespace and service account as `helm install cert-manager --create-namespace` leaves them."""
    cluster = connect(sim.kubeconfig_path, None)
    try:
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cert-manager"}})
        cluster.apply({"apiVersion": "v1", "kind": "ServiceAccount",
                       "metadata": {"name": "cert-manager", "namespace": "cert-manager", "labels": HELM,
                                    "annotations": HELM_NOTES}})
    finally:
        cluster.close()


def test_a_clean_cluster_passes_with_one_line_per_check_and_exit_0(runner, tmp_path, sim_factory):
    sim = sim_factory(behaviour=True, profile="instant", shape=ClusterShape.uniform(2))
    sim.sync()
    kfdef = init(runner, tmp_path)
    result = runner.invoke(cli, [*kc(sim), "check", "-f", str(kfdef)])
    assert result.exit_code == 0, result.output
    for check in ("version", "nodes", "gpus", "capacity", "quotas", "storage", "permissions", "already-there", "apis"):
        assert lines_of(result.output, check), (check, result.output)
    assert lines_of(result.output, "version")[0].startswith("WARN")  # the sim serves 1.37, components go to 1.35
    assert lines_of(result.output, "permissions")[0].startswith("pass")
    assert "0 failed" in result.output
    assert writes(sim) == []  # check changes nothing


def test_the_gpu_table_matches_the_nodes_and_json_carries_it(runner, tmp_path, sim_factory):
    sim = sim_factory(behaviour=True, profile="instant", shape=ClusterShape.uniform(3, cpu="4", memory="16Gi", gpus=1))
    sim.sync()
    kfdef = init(runner, tmp_path)
    result = runner.invoke(cli, [*kc(sim), "check", "-f", str(kfdef)])
    assert result.exit_code == 0, result.output
    table = [line.split() for line in result.output.splitlines() if line.strip().startswith(("NAME", "sim-node-"))]
    assert table == [["NAME", "READY", "CPU", "MEMORY", "NVIDIA.COM/GPU", "AMD.COM/GPU", "ACCELERATOR", "TAINTS"],
                     *[[f"sim-node-{i}", "Ready", "4", "16Gi", "1", "0", "nvidia.com/gpu.present=true", "-"]
                       for i in (1, 2, 3)]]
    assert "3 of 3 nodes have GPUs (3 in all)" in result.output
    document = json.loads(runner.invoke(cli, [*kc(sim), "check", "-f", str(kfdef), "-o", "json"]).output)
    assert document["ok"] is True and document["deployment"] == "app"
    assert [(n["name"], n["nvidia.com/gpu"]) for n in document["nodes"]] == [
        ("sim-node-1", "1"), ("sim-node-2", "1"), ("sim-node-3", "1")]
    assert {c["check"] for c in document["checks"]} >= {"version", "nodes", "gpus", "storage", "permissions"}


def test_no_default_storage_class_fails_check_for_a_claim_without_one(runner, tmp_path, sim_factory):
    sim = sim_factory(behaviour=True, profile="instant", shape=ClusterShape.uniform(1, default_storage_class=False))
    sim.sync()
    kfdef = init(runner, tmp_path, "katib")
    result = runner.invoke(cli, [*kc(sim), "check", "-f", str(kfdef)])
    assert result.exit_code == 1, result.output
    [storage] = lines_of(result.output, "storage")
    assert storage.startswith("FAIL") and "would stay Pending" in storage
    assert "katib-mysql names no StorageClass and the cluster has no default one" in result.output


def test_helm_owned_objects_fail_check_and_apply_refuses_them_with_nothing_written(runner, tmp_path, sim_cluster):
    helm_cert_manager(sim_cluster)
    kfdef = init(runner, tmp_path, "cert-manager")
    checked = runner.invoke(cli, [*kc(sim_cluster), "check", "-f", str(kfdef), "-o", "json"])
    assert checked.exit_code == 1, checked.output
    there, by_hand = [c for c in json.loads(checked.output)["checks"] if c["check"] == "already-there"]
    # the namespace was made without Helm's labels (as `helm install --create-namespace` leaves it)
    assert by_hand["status"] == "fail" and by_hand["details"] == ["Namespace/cert-manager"]
    assert "created by hand or another tool" in by_hand["message"]
    assert by_hand["fix"].startswith("apply --adopt to take it over (what it holds stays")
    assert there["status"] == "fail" and "owned by Helm release cert-manager" in there["message"]
    assert "declare cert-manager as provided by the cluster" in there["fix"]
    assert there["details"] == ["ServiceAccount/cert-manager/cert-manager"]
    mark = len(sim_cluster.timeline())
    refused = runner.invoke(cli, [*kc(sim_cluster), "apply", "-f", str(kfdef), "-o", "plain"])
    assert refused.exit_code == 2, refused.output
    assert "apply refused: the checks found 2 problems; nothing was changed" in refused.output
    assert "owned by Helm release cert-manager" in refused.output and "--skip-checks" in refused.output
    assert writes(sim_cluster, mark) == []


def test_apply_names_every_hard_failure_at_once(runner, tmp_path, sim_cluster):
    helm_cert_manager(sim_cluster)
    kfdef = init(runner, tmp_path, "cert-manager,katib")
    kfdef.write_text(kfdef.read_text().replace("  - name: katib\n", "  - name: katib\n    parameters:\n"
                                               "    - {name: storageClassName, value: fast-ssd}\n", 1))
    mark = len(sim_cluster.timeline())
    refused = runner.invoke(cli, [*kc(sim_cluster), "apply", "-f", str(kfdef), "-o", "plain"])
    assert refused.exit_code == 2, refused.output
    assert "the checks found 3 problems" in refused.output
    assert "names StorageClass 'fast-ssd', which the cluster lacks" in refused.output
    assert "owned by Helm release cert-manager" in refused.output
    assert writes(sim_cluster, mark) == []


def test_skip_checks_and_adopt_let_apply_start(runner, tmp_path, sim_cluster):
    kfdef = init(runner, tmp_path, "kubeflow-core")
    cluster = connect(sim_cluster.kubeconfig_path, None)
    try:
        cluster.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                       "metadata": {"name": "kubeflow-view", "labels": HELM, "annotations": HELM_NOTES}, "rules": []})
    finally:
        cluster.close()
    mark = len(sim_cluster.timeline())
    refused = runner.invoke(cli, [*kc(sim_cluster), "apply", "-f", str(kfdef), "-o", "plain"])
    assert refused.exit_code == 2 and writes(sim_cluster, mark) == []
    assert "ClusterRole/kubeflow-view" in refused.output
    skipped = runner.invoke(cli, [*kc(sim_cluster), "apply", "-f", str(kfdef), "-o", "plain", "--skip-checks",
                                  "--timeout", "60s"])
    # without the checks apply writes what it may and fails on the Helm-owned role
    assert skipped.exit_code == 1, skipped.output
    assert "apply refused" not in skipped.output
    assert "failed   ClusterRole/kubeflow-view" in skipped.output
    assert {w["resource"] for w in writes(sim_cluster, mark)} >= {"namespaces", "clusterroles"}
    adopted = runner.invoke(cli, [*kc(sim_cluster), "apply", "-f", str(kfdef), "-o", "plain", "--adopt",
                                  "--timeout", "60s"])
    assert adopted.exit_code == 0, adopted.output


def test_after_apply_the_deployments_own_objects_are_no_conflict(runner, tmp_path, sim_cluster):
    kfdef = init(runner, tmp_path)
    assert runner.invoke(cli, [*kc(sim_cluster), "apply", "-f", str(kfdef), "-o", "plain"]).exit_code == 0
    result = runner.invoke(cli, [*kc(sim_cluster), "check", "-f", str(kfdef)])
    [there] = lines_of(result.output, "already-there")
    assert there.startswith("pass") and "(7 already belong to this deployment)" in there
    again = runner.invoke(cli, [*kc(sim_cluster), "apply", "-f", str(kfdef), "-o", "plain"])
    assert again.exit_code == 0 and "no changes" in again.output  # the checks do not stand in a re-apply's way
