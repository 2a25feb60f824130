"""The permissions check: the verbs apply needs are failures when missing, delete a warning."""

from __future__ import annotations

from checks_helpers import deployment, plan_of

from kfctl.engine.checks.access import check_permissions
from kfctl.engine.checks.model import Facts

FACTS = Facts("app", "kubeflow")
ROLE = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "viewer"}}


class Reviewed:
    """Answers access reviews from a rule: a token bound to a limited Role."""

    def __init__(self, allowed):
        self.allowed, self.asked = allowed, []

    def access_review(self, verb, group, resource, namespace):
        self.asked.append((verb, group, resource, namespace))
        return self.allowed(verb, group, resource, namespace), ""

    def user(self):
        return "system:serviceaccount:ci:deployer"


def test_an_admin_passes_with_two_questions():
    cluster = Reviewed(lambda *_: True)
    [finding] = check_permissions(cluster, plan_of(ROLE, deployment("web")), FACTS)
    assert finding.status == "pass" and cluster.asked == [("*", "*", "*", None)] * 2


def test_each_missing_verb_is_named_and_delete_is_only_a_warning():
    def allowed(verb, group, resource, namespace):
        if resource == "*":
            return False
        if resource == "clusterroles":
            return verb in ("get", "list", "watch")
        return verb != "delete" and not (verb == "watch" and namespace is None)

    failed, warned = check_permissions(Reviewed(allowed), plan_of(ROLE, deployment("web")), FACTS)
    assert failed.status == "fail" and "system:serviceaccount:ci:deployer" in failed.message
    assert failed.details == (
        "patch clusterroles.rbac.authorization.k8s.io at the cluster scope (for ClusterRole/viewer)",
        "create clusterroles.rbac.authorization.k8s.io at the cluster scope (for ClusterRole/viewer)",
        "watch deployments.apps in all namespaces (for Deployment/kubeflow/web)",
    )
    assert warned.status == "warn" and "--no-prune" in warned.fix
    assert "delete deployments.apps in namespace kubeflow (for Deployment/kubeflow/web)" in warned.details


def test_a_server_without_access_reviews_is_not_judged():
    class Silent(Reviewed):
        def access_review(self, *args):
            return None

    [finding] = check_permissions(Silent(None), plan_of(ROLE), FACTS)
    assert finding.status == "pass"
