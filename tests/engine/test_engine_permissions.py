"""The write-access check before apply: one question for an admin, exit 2 naming what is missing otherwise."""

from __future__ import annotations

import pytest

from kfctl.engine.permissions import check_write_access, needed
from kfctl.errors import ClusterConfigError
from kfctl.plan import ObjectRef, Plan
from kfctl.plan.graph import Node

CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "notebooks.kubeflow.org"},
       "spec": {"group": "kubeflow.org", "names": {"kind": "Notebook", "plural": "notebooks"}}}


def plan() -> Plan:
    refs = [(ObjectRef("", "Namespace", "", "kubeflow"), {}),
            (ObjectRef("rbac.authorization.k8s.io", "ClusterRole", "", "a"), {}),
            (ObjectRef("rbac.authorization.k8s.io", "ClusterRole", "", "b"), {}),
            (ObjectRef("apiextensions.k8s.io", "CustomResourceDefinition", "", "notebooks.kubeflow.org"), CRD),
            (ObjectRef("kubeflow.org", "Notebook", "alice", "nb"), {})]
    return Plan(nodes={ref: Node(ref, "app", manifest) for ref, manifest in refs}, requires={})


class Cluster:
    def __init__(self, allowed):
        self.allowed = allowed
        self.asked = []

    def access_review(self, verb, group, resource, namespace):
        self.asked.append((verb, group, resource, namespace))
        return self.allowed(verb, group, resource, namespace)

    def user(self):
        return "system:serviceaccount:default:deployer"


def test_needed_uses_builtin_and_the_plans_own_crd_plurals():
    want = needed(plan())
    assert want[("rbac.authorization.k8s.io", "clusterroles", "")] == ["ClusterRole/a", "ClusterRole/b"]
    assert ("kubeflow.org", "notebooks", "alice") in want and ("", "namespaces", "") in want


def test_an_admin_costs_one_question_and_a_server_without_reviews_is_not_checked():
    admin = Cluster(lambda *_: (True, ""))
    check_write_access(admin, plan())
    assert admin.asked == [("*", "*", "*", None)]
    check_write_access(Cluster(lambda *_: None), plan())


def test_missing_permissions_are_named_with_the_user_and_nothing_else_is_asked_twice():
    def allowed(verb, group, resource, namespace):
        return (resource not in ("*", "clusterroles"), "")

    cluster = Cluster(allowed)
    with pytest.raises(ClusterConfigError) as refused:
        check_write_access(cluster, plan())
    text = str(refused.value)
    assert "system:serviceaccount:default:deployer" in text and "nothing was changed" in text
    assert "patch clusterroles.rbac.authorization.k8s.io at the cluster scope (for ClusterRole/a and 1 more)" in text
    assert "create clusterroles.rbac.authorization.k8s.io" in text and "namespaces" not in text
    assert refused.value.exit_code == 2
    assert len(cluster.asked) == len(set(cluster.asked))
