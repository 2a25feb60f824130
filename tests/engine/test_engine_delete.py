"""The delete engine against the simulated cluster: ownership, data kept, stuck objects, resumption."""

from __future__ import annotations

import json

import yaml

from kfctl.cli.main import cli
from kfctl.cluster import connect
from kfctl.engine.apply import ApplyEngine, ApplyOptions
from kfctl.engine.delete import DeleteEngine, DeleteOptions
from kfctl.engine.inventory import parent_name
from kfctl.plan import build_plan

OBJECTS = """
apiVersion: v1
kind: Namespace
metadata: {name: kubeflow}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: kubeflow}
data: {a: "1"}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: notebooks.kubeflow.org}
spec:
  group: kubeflow.org
  scope: Namespaced
  names: {kind: Notebook, plural: notebooks, singular: notebook, listKind: NotebookList}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
---
apiVersion: kubeflow.org/v1
kind: Notebook
metadata: {name: demo, namespace: kubeflow}
spec: {}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kubeflow-view}
rules: []
"""


def install(sim) -> None:
    cluster = connect(sim.kubeconfig_path, None)
    plan = build_plan([("app", d) for d in yaml.safe_load_all(OBJECTS) if d])
    result = ApplyEngine(cluster, plan, deployment="demo", namespace="kubeflow",
                         options=ApplyOptions(object_timeout=20, timeout=60),
                         status={"cluster": cluster.identity()}).run()
    assert result.ok, result.problems


def delete(sim, **options):
    cluster = connect(sim.kubeconfig_path, None)
    engine = DeleteEngine(cluster, deployment="demo", namespace="kubeflow",
                          options=DeleteOptions(**{"timeout": 5, **options}))
    return cluster, engine.run(engine.plan(engine.inventory()))


def test_delete_removes_owned_objects_keeps_crds_and_user_objects(sim_cluster):
    install(sim_cluster)
    cluster = connect(sim_cluster.kubeconfig_path, None)
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "alice"}})
    cluster.apply({"apiVersion": "kubeflow.org/v1", "kind": "Notebook", "metadata": {"name": "mine", "namespace": "alice"}, "spec": {}})
    _, result = delete(sim_cluster)
    assert result.ok
    assert set(result.deleted) == {"ConfigMap/kubeflow/cfg", "Notebook.kubeflow.org/kubeflow/demo",
                                   "ClusterRole/kubeflow-view", "Namespace/kubeflow"}
    assert result.kept == (("CustomResourceDefinition/notebooks.kubeflow.org",
                            "CRD kept: deleting it deletes every object of its kind (use --purge-crds)"),)
    assert cluster.get("kubeflow.org/v1", "Notebook", "alice", "mine") is not None  # the user's notebook survives
    assert cluster.get("v1", "Namespace", None, "kubeflow") is None
    _, again = delete(sim_cluster)
    assert again.ok and again.deleted == ()


def test_a_namespace_with_a_configmap_made_by_hand_is_kept_and_says_why(sim_cluster):
    install(sim_cluster)
    cluster = connect(sim_cluster.kubeconfig_path, None)
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "handmade", "namespace": "kubeflow"}})
    _, result = delete(sim_cluster)
    assert result.ok
    kept = dict(result.kept)
    assert "ConfigMap/handmade" in kept["Namespace/kubeflow"]
    assert cluster.get("v1", "ConfigMap", "kubeflow", "handmade") is not None
    assert cluster.get("v1", "ConfigMap", "kubeflow", "cfg") is None
    assert cluster.get("v1", "ConfigMap", "kubeflow", parent_name("demo")) is None


def test_purge_crds_deletes_them_after_their_custom_resources(sim_cluster):
    install(sim_cluster)
    _, result = delete(sim_cluster, purge_crds=True)
    assert result.ok and "CustomResourceDefinition/notebooks.kubeflow.org" in result.deleted
    deletes = [e for e in sim_cluster.timeline() if e["verb"] == "delete"]
    order = [e["resource"] for e in deletes]
    assert order.index("notebooks") < order.index("customresourcedefinitions") < order.index("namespaces")


def test_stuck_finalizer_times_out_naming_it_and_a_rerun_finishes(sim_cluster):
    install(sim_cluster)
    cluster = connect(sim_cluster.kubeconfig_path, None)
    cluster.merge_patch("v1", "ConfigMap", "kubeflow", "cfg", {"metadata": {"finalizers": ["example.com/hold"]}},
                        field_manager="someone")
    _, result = delete(sim_cluster, timeout=1.5)
    assert not result.ok
    assert result.stuck == (("ConfigMap/kubeflow/cfg",
                             "finalizers example.com/hold were not removed by their controller"),)
    assert cluster.get("v1", "Namespace", None, "kubeflow") is not None  # namespaces wait for the rest
    cluster.merge_patch("v1", "ConfigMap", "kubeflow", "cfg", {"metadata": {"finalizers": None}}, field_manager="someone")
    _, again = delete(sim_cluster)
    assert again.ok and "Namespace/kubeflow" in again.deleted


def test_remove_finalizers_clears_them(sim_cluster):
    install(sim_cluster)
    cluster = connect(sim_cluster.kubeconfig_path, None)
    cluster.merge_patch("v1", "ConfigMap", "kubeflow", "cfg", {"metadata": {"finalizers": ["example.com/hold"]}},
                        field_manager="someone")
    _, result = delete(sim_cluster, remove_finalizers=True)
    assert result.ok and cluster.get("v1", "ConfigMap", "kubeflow", "cfg") is None


def test_cli_guard_dry_run_and_exit_codes(runner, sim_cluster):
    install(sim_cluster)
    cluster = connect(sim_cluster.kubeconfig_path, None)
    parent = cluster.get("v1", "ConfigMap", "kubeflow", parent_name("demo"))
    status = json.loads(parent["data"]["status.json"])
    status["cluster"] = "some-other-cluster"
    cluster.merge_patch("v1", "ConfigMap", "kubeflow", parent_name("demo"), {"data": {"status.json": json.dumps(status)}},
                        field_manager="test")
    kc = ["--kubeconfig", sim_cluster.kubeconfig_path]
    refused = runner.invoke(cli, [*kc, "delete", "--name", "demo", "--yes"])
    assert refused.exit_code == 2 and "applied to another cluster (some-other-cluster)" in refused.output
    dry = runner.invoke(cli, [*kc, "delete", "--name", "demo", "--dry-run", "--force"])
    assert dry.exit_code == 0
    assert "delete  Namespace/kubeflow [app]" in dry.output and "keep    CustomResourceDefinition/notebooks.kubeflow.org" in dry.output
    assert cluster.get("v1", "ConfigMap", "kubeflow", "cfg") is not None
    done = runner.invoke(cli, [*kc, "delete", "--name", "demo", "--force", "--purge-crds", "--yes", "-o", "plain"])
    assert done.exit_code == 0, done.output
    assert "demo: 5 deleted, 0 kept" in done.output


def test_kept_objects_are_released_and_taken_back_by_the_next_apply(sim_cluster):
    install(sim_cluster)
    cluster = connect(sim_cluster.kubeconfig_path, None)
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "handmade", "namespace": "kubeflow"}})
    _, result = delete(sim_cluster)
    assert result.ok
    for kind, api, name in (("Namespace", "v1", "kubeflow"),
                            ("CustomResourceDefinition", "apiextensions.k8s.io/v1", "notebooks.kubeflow.org")):
        live = cluster.get(api, kind, None, name)
        assert "applyset.kubernetes.io/part-of" not in (live["metadata"].get("labels") or {})
    assert cluster.get("v1", "ConfigMap", "kubeflow", parent_name("demo")) is None  # the inventory is gone
    install(sim_cluster)  # no --adopt needed for what this deployment kept


def test_another_tools_applyset_of_the_same_name_is_refused_and_nothing_is_deleted(sim_cluster):
    """kubectl apply --applyset wrote a parent where kfctl's would be: delete must not delete its members."""
    import pytest

    from kfctl.engine.inventory import TOOLING
    from kfctl.errors import OperationFailed

    install(sim_cluster)
    cluster = connect(sim_cluster.kubeconfig_path, None)
    parent = cluster.get("v1", "ConfigMap", "kubeflow", parent_name("demo"))
    parent["metadata"]["annotations"][TOOLING] = "kubectl/v1.37.0"
    parent["metadata"].pop("managedFields", None)
    cluster.apply(parent, force=True)
    before = [e for e in sim_cluster.timeline() if e["verb"] == "delete"]
    with pytest.raises(OperationFailed, match="ApplySet parent of kubectl/v1.37.0"):
        delete(sim_cluster)
    assert [e for e in sim_cluster.timeline() if e["verb"] == "delete"] == before
    assert cluster.get("v1", "ConfigMap", "kubeflow", "cfg") is not None
