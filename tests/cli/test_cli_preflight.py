"""apply refuses, before any write, a plan the cluster cannot satisfy (#16 defect 14, item 4)."""

from __future__ import annotations

from kfctl.cli.main import cli
from kfctl.engine.preflight import missing_storage, unserved_kinds
from kfctl.plan import build_plan

WRITES = ("create", "update", "patch", "apply", "delete")


def writes(sim) -> list[dict]:
    return [e for e in sim.timeline() if e["verb"] in WRITES and not e.get("dry_run")
            and not e["resource"].endswith("reviews")]  # apply's access check asks, it changes nothing


def test_a_claim_naming_a_missing_storage_class_is_refused_with_nothing_written(runner, tmp_path, sim_cluster):
    app = tmp_path / "app"
    assert runner.invoke(cli, ["init", str(app), "--components", "katib"]).exit_code == 0
    kfdef = app / "kfdef.yaml"
    kfdef.write_text(kfdef.read_text().replace("  - name: katib\n", "  - name: katib\n    parameters:\n"
                                               "    - {name: storageClassName, value: fast-ssd}\n", 1))
    result = runner.invoke(cli, ["--kubeconfig", sim_cluster.kubeconfig_path, "apply", "-f", str(kfdef), "-o", "plain"])
    assert result.exit_code == 2, result.output
    assert "PersistentVolumeClaim/kubeflow/katib-mysql names StorageClass 'fast-ssd', which the cluster lacks" in result.output
    assert writes(sim_cluster) == []


def test_a_kind_nobody_serves_is_refused_with_nothing_written(runner, tmp_path, sim_cluster):
    app = tmp_path / "app"
    assert runner.invoke(cli, ["init", str(app), "--components", "kubeflow-core"]).exit_code == 0
    (app / "overlays").mkdir()
    (app / "overlays" / "x.yaml").write_text(
        "resources:\n  - {apiVersion: cloud.example.com/v1, kind: BackendConfig, metadata: {name: bc}, spec: {}}\n")
    result = runner.invoke(cli, ["--kubeconfig", sim_cluster.kubeconfig_path, "apply", "-f", str(app / "kfdef.yaml")])
    assert result.exit_code == 2, result.output
    assert "the cluster does not serve BackendConfig (cloud.example.com/v1)" in result.output
    assert writes(sim_cluster) == []


class Fake:
    def __init__(self, classes, served=()):
        self.classes, self.served = classes, set(served)

    def list(self, api_version, kind, **kwargs):
        return self.classes, "1"

    def serves(self, api_version, kind):
        return (api_version, kind) in self.served


def sc(name, default=False):
    annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
    return {"metadata": {"name": name, "annotations": annotations}}


def claim(name, cls="__unset__"):
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if cls != "__unset__":
        spec["storageClassName"] = cls
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "ns"}, "spec": spec}


def test_storage_rules():
    plan = build_plan([("c", claim("a")), ("c", claim("b", "gold")), ("c", claim("c", ""))])
    assert missing_storage(Fake([sc("std", default=True), sc("gold")]), plan) == []
    problems = missing_storage(Fake([sc("std")]), plan)
    assert len(problems) == 2 and "no default one" in problems[0] and "'gold'" in problems[1]
    planned = build_plan([("c", claim("b", "gold")),
                          ("c", {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "gold"},
                                 "provisioner": "x"})])
    assert missing_storage(Fake([]), planned) == []  # the plan brings it


def test_kinds_defined_by_a_crd_in_the_plan_need_not_be_served():
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced", "names": {"kind": "Widget", "plural": "widgets"},
                    "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "ns"}}
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}}
    served = [("v1", "ConfigMap"), ("apiextensions.k8s.io/v1", "CustomResourceDefinition")]
    assert unserved_kinds(Fake([], served), build_plan([("c", crd), ("c", widget), ("c", cm)])) == []
    problems = unserved_kinds(Fake([], served), build_plan([("c", widget), ("c", cm)]))
    assert len(problems) == 1 and "Widget (example.com/v1)" in problems[0]
