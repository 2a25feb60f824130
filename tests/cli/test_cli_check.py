"""`kfctl check` and apply's pre-write checks against simulated clusters (issue #15 items 1 and 2)."""

from __future__ import annotations

import json
import time

import pytest

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
    """A KfDef of these components ("": the platform's default set, the full install)."""
    app = tmp_path / "app"
    chosen = ["--components", components] if components else []
    assert runner.invoke(cli, ["init", str(app), *chosen]).exit_code == 0
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
    for check in ("version", "nodes", "gpus", "capacity", "quotas", "storage", "permissions", "already-there", "apis",
                  "images"):
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
    assert "spec.applications: - {name: cert-manager, provided: true}" in there["fix"]
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


# -- shaped clusters (kfctl/sim/shape.py): each case passes, warns or fails as it should -----------------------

SHAPE = {"apiVersion": "kfctl.sim/v1", "kind": "ClusterShape"}


def shaped_sim(sim_factory, **parts):
    sim = sim_factory(behaviour=True, profile="instant", shape={**SHAPE, **parts})
    sim.sync()
    return sim


def statuses(output: str) -> dict[str, list[str]]:
    """check -> the statuses of its lines, from the text output."""
    out: dict[str, list[str]] = {}
    for line in output.splitlines():
        if line[:4] in ("pass", "WARN", "FAIL") and line[4:6] == "  ":
            out.setdefault(line[6:].split()[0], []).append(line[:4].lower())
    return out


def set_parameter(kfdef, component: str, name: str, value: str) -> None:
    kfdef.write_text(kfdef.read_text().replace(
        f"  - name: {component}\n", f"  - name: {component}\n    parameters:\n    - {{name: {name}, value: {value}}}\n", 1))


def test_on_a_cluster_shaped_for_kubeflow_every_check_passes(runner, tmp_path, sim_factory):
    sim = shaped_sim(sim_factory, kubernetesVersion="v1.33.4",
                     nodes=[{"name": "cpu", "count": 2, "cpu": 8, "memory": "32Gi"},
                            {"name": "gpu", "count": 1, "cpu": 16, "memory": "64Gi", "nvidia.com/gpu": 2}])
    kfdef = init(runner, tmp_path, "kubeflow-core,notebooks,katib")
    result = runner.invoke(cli, [*kc(sim), "check", "-f", str(kfdef)])
    assert result.exit_code == 0, result.output
    found = statuses(result.output)
    assert set(found) == {"version", "nodes", "gpus", "capacity", "quotas", "storage", "permissions",
                          "already-there", "apis", "images"}
    assert all(s == ["pass"] * len(s) for s in found.values()), result.output
    assert "Kubernetes 1.33 is within what all" in result.output


def test_gpu_nodes_with_labels_and_taints_make_the_table_the_nodes_have(runner, tmp_path, sim_factory):
    sim = shaped_sim(sim_factory, nodes=[
        {"name": "cpu", "count": 2, "cpu": 8, "memory": "32Gi"},
        {"name": "a100", "count": 2, "cpu": 32, "memory": "256Gi", "nvidia.com/gpu": 8,
         "labels": {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}, "taints": ["nvidia.com/gpu=present:NoSchedule"]},
        {"name": "mi300", "count": 1, "amd.com/gpu": 4, "labels": {"amd.com/gpu.family": "MI300"}},
        {"name": "old", "count": 1, "ready": False},
        {"name": "drained", "count": 1, "unschedulable": True}])
    kfdef = init(runner, tmp_path, "kubeflow-core,notebooks")
    result = runner.invoke(cli, [*kc(sim), "check", "-f", str(kfdef)])
    found = statuses(result.output)
    assert found["nodes"] == ["pass", "warn", "warn", "warn", "warn"], result.output
    assert found["gpus"] == ["pass"] and "3 of 7 nodes have GPUs (20 in all)" in result.output
    for name in ("a100-1", "a100-2"):
        assert f"node {name} has taints no Kubeflow pod tolerates: nvidia.com/gpu=present:NoSchedule" in result.output
    assert "node old-1 is not Ready" in result.output and "node drained-1 is cordoned" in result.output
    # the table against the nodes as the seed talk reads them (custom-columns NAME, GPU)
    cluster = connect(sim.kubeconfig_path, None)
    try:
        nodes, _ = cluster.list("v1", "Node")
    finally:
        cluster.close()
    talk = sorted((n["metadata"]["name"], n["status"]["allocatable"].get("nvidia.com/gpu", "0"),
                   n["status"]["allocatable"].get("amd.com/gpu", "0")) for n in nodes)
    rows = [line.split() for line in result.output.splitlines()
            if line.strip().split(" ")[0] in {name for name, _, _ in talk}]
    assert [(r[0], r[4], r[5]) for r in rows] == talk
    assert [r[1] for r in rows] == ["Ready", "Ready", "Ready", "Ready", "Ready,Cordoned", "Ready", "NotReady"]
    assert "nvidia.com/gpu.product=NVIDIA-A100-SXM4-80GB" in rows[0][6] and "amd.com/gpu.family=MI300" in rows[5][6]


def test_no_gpu_nodes_warns_when_the_kfdef_offers_gpus(runner, tmp_path, sim_factory):
    sim = shaped_sim(sim_factory, nodes=[{"name": "cpu", "count": 2}])
    kfdef = init(runner, tmp_path, "kubeflow-core,notebooks")
    result = runner.invoke(cli, [*kc(sim), "check", "-f", str(kfdef)])
    assert result.exit_code == 0 and statuses(result.output)["gpus"] == ["warn"], result.output
    assert "ConfigMap/kubeflow/jupyter-web-app-config [notebooks] (amd.com/gpu, nvidia.com/gpu)" in result.output


def test_no_default_storage_class_names_the_class_the_claims_can_use(runner, tmp_path, sim_factory):
    sim = shaped_sim(sim_factory, storageClasses=[{"name": "gp3", "provisioner": "ebs.csi.aws.com",
                                                   "volumeBindingMode": "WaitForFirstConsumer"}])
    kfdef = init(runner, tmp_path, "katib")
    failed = runner.invoke(cli, [*kc(sim), "check", "-f", str(kfdef)])
    assert failed.exit_code == 1 and statuses(failed.output)["storage"] == ["fail"], failed.output
    assert "katib-mysql names no StorageClass and the cluster has no default one (it has: gp3)" in failed.output
    set_parameter(kfdef, "katib", "storageClassName", "gp3")
    named = runner.invoke(cli, [*kc(sim), "check", "-f", str(kfdef)])
    assert statuses(named.output)["storage"] == ["pass", "warn"], named.output
    assert "gp3 (provisioner ebs.csi.aws.com, volumeBindingMode WaitForFirstConsumer): 1 claims" in named.output


def test_an_older_kubernetes_fails_check_and_apply_refuses_with_nothing_written(runner, tmp_path, sim_factory):
    sim = shaped_sim(sim_factory, kubernetesVersion="v1.29.4")
    kfdef = init(runner, tmp_path)
    checked = runner.invoke(cli, [*kc(sim), "check", "-f", str(kfdef)])
    assert checked.exit_code == 1 and statuses(checked.output)["version"] == ["fail"], checked.output
    assert "Kubernetes 1.29 is older than 1 of the 1 components support" in checked.output
    assert "upgrade the cluster to Kubernetes 1.31 or newer" in checked.output
    mark = len(sim.timeline())
    refused = runner.invoke(cli, [*kc(sim), "apply", "-f", str(kfdef), "-o", "plain"])
    assert refused.exit_code == 2, refused.output
    assert "FAIL  version" in refused.output and "nothing was changed" in refused.output
    assert writes(sim, mark) == []


LIMITED = {"name": "deployer", "token": "deployer-token-0001", "namespace": "kubeflow",
           "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}


def test_a_token_bound_to_a_limited_role_fails_permissions_and_apply_refuses(runner, tmp_path, sim_factory):
    sim = shaped_sim(sim_factory, users=[LIMITED])
    kfdef = init(runner, tmp_path)
    limited = [*kc(sim), "--context", "kfctl-sim-deployer"]
    checked = runner.invoke(cli, [*limited, "check", "-f", str(kfdef)])
    assert checked.exit_code == 1, checked.output
    found = statuses(checked.output)
    assert found["permissions"][0] == "fail" and "deployer" in checked.output
    assert "patch clusterroles.rbac.authorization.k8s.io at the cluster scope" in checked.output
    assert "list clusterroles.rbac.authorization.k8s.io in all namespaces" in checked.output
    assert found["nodes"] == ["warn"] and "could not check" in checked.output  # may not list nodes: not a failure
    assert statuses(runner.invoke(cli, [*kc(sim), "check", "-f", str(kfdef)]).output)["permissions"] == ["pass"]
    mark = len(sim.timeline())
    refused = runner.invoke(cli, [*limited, "apply", "-f", str(kfdef), "-o", "plain"])
    assert refused.exit_code == 2, refused.output
    assert "patch clusterroles.rbac.authorization.k8s.io" in refused.output and "nothing was changed" in refused.output
    assert writes(sim, mark) == []


def test_a_quota_and_limit_range_in_the_kubeflow_namespace_fail_quotas(runner, tmp_path, sim_factory):
    sim = shaped_sim(sim_factory, namespaces=[{
        "name": "kubeflow",
        "resourceQuotas": [{"name": "kubeflow", "spec": {"hard": {"requests.memory": "256Mi", "pods": "2"}}}],
        "limitRanges": [{"name": "caps", "spec": {"limits": [{"type": "Container", "max": {"memory": "256Mi"}}]}}]}])
    kfdef = init(runner, tmp_path, "katib")
    result = runner.invoke(cli, [*kc(sim), "check", "-f", str(kfdef)])
    assert result.exit_code == 1, result.output
    found = statuses(result.output)
    assert found["quotas"] == ["fail"]
    assert "ResourceQuota/kubeflow/kubeflow allows requests.memory 256Mi" in result.output
    assert "LimitRange/kubeflow/caps allows memory up to 256Mi" in result.output
    # the namespace was made before kfctl: apply would refuse it without --adopt
    assert found["already-there"] == ["fail"] and "Namespace/kubeflow" in result.output


def test_helm_installed_cert_manager_and_istio_are_named_with_the_alternative(runner, tmp_path, sim_factory):
    sim = shaped_sim(sim_factory, components=[{"name": "cert-manager"}, {"name": "istio"}])
    kfdef = init(runner, tmp_path, "cert-manager,istio")
    checked = runner.invoke(cli, [*kc(sim), "check", "-f", str(kfdef), "-o", "json"])
    assert checked.exit_code == 1, checked.output
    there = [c for c in json.loads(checked.output)["checks"] if c["check"] == "already-there"]
    helm = {c["message"].split(" of ")[1].split(" already")[0]: c for c in there if "Helm release" in c["message"]}
    assert set(helm) == {"cert-manager", "istio"}
    for component, finding in helm.items():
        assert finding["status"] == "fail"
        assert f"spec.applications: - {{name: {component}, provided: true}}" in finding["fix"]
    assert "CustomResourceDefinition/certificates.cert-manager.io" in helm["cert-manager"]["details"]
    mark = len(sim.timeline())
    refused = runner.invoke(cli, [*kc(sim), "apply", "-f", str(kfdef), "-o", "plain"])
    assert refused.exit_code == 2 and "owned by Helm release" in refused.output, refused.output
    assert writes(sim, mark) == []


# the example shape files (tests/data/shapes) against the default install: what each is shaped to show
EXAMPLES = {
    "gpu.yaml": ([], {"gpus": ["pass"], "nodes": ["pass", "warn", "warn", "warn", "warn", "warn"]}),
    "no-default-sc.yaml": ([], {"storage": ["fail"]}),
    "old-version.yaml": ([], {"version": ["fail"]}),
    "quota.yaml": ([], {"quotas": ["fail"], "already-there": ["fail"]}),
    # cert-manager, istio-base, istio-ingressgateway (Helm releases) and the namespaces Helm created
    "helm-cert-manager-istio.yaml": ([], {"already-there": ["fail"] * 5}),
    "limited-token.yaml": (["--context", "kfctl-sim-bob"],
                           {"permissions": ["fail", "warn"], "capacity": ["pass", "pass"], "quotas": ["warn"],
                            "storage": ["warn"]}),
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_shape_shows_what_it_is_shaped_for(name, runner, tmp_path, sim_factory, sim_shapes):
    context, expected = EXAMPLES[name]
    sim = sim_factory(behaviour=True, profile="instant", shape=sim_shapes / name)
    sim.sync()
    kfdef = init(runner, tmp_path, "")
    result = runner.invoke(cli, [*kc(sim), *context, "check", "-f", str(kfdef)])
    assert result.exit_code == (1 if "fail" in str(expected) else 0), result.output
    found = statuses(result.output)
    for check, want in expected.items():
        assert found[check] == want, (check, result.output)


def test_long_detail_lists_are_cut_in_text_and_whole_in_json():
    from kfctl.cli.check import format_finding
    from kfctl.engine.checks import Finding

    finding = Finding("permissions", "fail", "many", fix="grant", details=tuple(f"line {i}" for i in range(40)))
    lines = format_finding(finding, limit=12)
    assert len(lines) == 1 + 1 + 12 + 1 and lines[-1].strip() == "... and 28 more (-o json lists every one)"
    assert len(format_finding(finding)) == 42  # apply's refusal names every problem
    assert finding.to_json()["details"] == [f"line {i}" for i in range(40)]


def test_provided_components_are_checked_and_images_left_public_are_named(runner, tmp_path, sim_factory):
    """cert-manager declared provided on a cluster without it fails `provided`; a rewrite that misses a registry
    leaves images on public registries, and `images` names them."""
    sim = sim_factory(behaviour=True, profile="instant", shape=ClusterShape.uniform(2))
    sim.sync()
    kfdef = init(runner, tmp_path, "kubeflow-core,cert-manager,katib")
    text = kfdef.read_text()
    kfdef.write_text(text.replace("  - name: cert-manager\n", "  - name: cert-manager\n    provided: true\n", 1)
                     + "  images:\n    rewrite:\n    - {from: ghcr.io/kubeflow, to: registry.internal/kubeflow}\n")
    result = runner.invoke(cli, [*kc(sim), "check", "-f", str(kfdef), "-o", "json"])
    assert result.exit_code == 1, result.output
    by_check = {f["check"]: f for f in json.loads(result.stdout)["checks"]}
    assert by_check["provided"]["status"] == "fail"
    assert any(d.startswith("cert-manager:") for d in by_check["provided"]["details"]), by_check["provided"]
    assert by_check["images"]["status"] == "warn"
    public = by_check["images"]["details"]
    assert public and not any(i.startswith("ghcr.io/kubeflow/") for i in public)
    assert any(i.startswith(("docker.io/", "quay.io/", "mysql")) for i in public), public


def test_a_provided_cert_manager_that_helm_installed_passes(runner, tmp_path, sim_factory, sim_shapes):
    sim = sim_factory(behaviour=True, profile="instant", shape=sim_shapes / "helm-cert-manager-istio.yaml")
    kfdef = init(runner, tmp_path, "kubeflow-core,cert-manager")
    kfdef.write_text(kfdef.read_text().replace("  - name: cert-manager\n",
                                               "  - name: cert-manager\n    provided: true\n", 1))
    deadline = time.monotonic() + 30
    while True:  # its Deployments turn Available a moment after the sim starts
        result = runner.invoke(cli, [*kc(sim), "check", "-f", str(kfdef), "-o", "json"])
        by_check = {f["check"]: f for f in json.loads(result.stdout)["checks"]}
        if by_check["provided"]["status"] == "pass" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert by_check["provided"]["status"] == "pass", by_check["provided"]
    assert by_check["already-there"]["status"] == "pass", by_check["already-there"]  # nothing of theirs is planned
