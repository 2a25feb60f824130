"""The APIs check: unserved kinds fail, removed versions fail past their removal, deprecated ones warn."""

from __future__ import annotations

from checks_helpers import plan_of

from kfctl.engine.checks.apis import check_apis, judge_versions
from kfctl.engine.checks.model import Facts

FACTS = Facts("app", "kubeflow")
CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "widgets.example.com"},
       "spec": {"group": "example.com", "scope": "Namespaced", "names": {"kind": "Widget", "plural": "widgets"},
                "versions": [{"name": "v1beta1", "served": True, "storage": False, "deprecated": True,
                              "deprecationWarning": "example.com/v1beta1 Widget is deprecated; use v1",
                              "schema": {"openAPIV3Schema": {"type": "object"}}},
                             {"name": "v1", "served": True, "storage": True,
                              "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
OLD_WIDGET = {"apiVersion": "example.com/v1beta1", "kind": "Widget", "metadata": {"name": "w", "namespace": "ns"}}
PDB = {"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget", "metadata": {"name": "p", "namespace": "ns"}}


def test_removed_versions_fail_past_their_removal_and_warn_before():
    [gone] = judge_versions(plan_of(PDB), (1, 25), [])
    assert gone.status == "fail" and "removed in Kubernetes 1.25" in gone.message and "policy/v1" in gone.fix
    [soon] = judge_versions(plan_of(PDB), (1, 24), [])
    assert soon.status == "warn"


def test_a_version_its_crd_deprecates_warns_with_the_crds_warning():
    [finding] = judge_versions(plan_of(CRD, OLD_WIDGET), (1, 33), [])
    assert finding.status == "warn" and "example.com/v1beta1 Widget is deprecated; use v1" in finding.message
    assert judge_versions(plan_of(OLD_WIDGET), (1, 33), [CRD])[0].status == "warn"  # a CRD already on the cluster


def test_on_the_sim_unserved_kinds_fail_and_the_plans_own_crds_count(sim_cluster):
    from kfctl.cluster import connect

    cluster = connect(sim_cluster.kubeconfig_path, None)
    try:
        findings = check_apis(cluster, plan_of(OLD_WIDGET, PDB), FACTS)
        assert [f.status for f in findings] == ["fail", "fail"]  # Widget unserved; policy/v1beta1 removed (1.37)
        assert "does not serve Widget (example.com/v1beta1)" in findings[0].details[0]
        findings = check_apis(cluster, plan_of(CRD, OLD_WIDGET), FACTS)
        assert [f.status for f in findings] == ["warn"]
        ok = check_apis(cluster, plan_of({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}}), FACTS)
        assert [f.status for f in ok] == ["pass"]
    finally:
        cluster.close()
