"""The capacity check: the plan's requests against the usable nodes, the largest pod, quotas and limit ranges."""

from __future__ import annotations

from checks_helpers import GPU_NODE, deployment, plan_of

from kfctl.engine.checks.capacity import check_capacity, check_quotas, judge_limit_range, judge_quota
from kfctl.engine.checks.model import Facts
from kfctl.engine.checks.nodes import check_nodes
from kfctl.engine.checks.planned import planned_pods
from kfctl.sim.behaviour import ClusterShape
from kfctl.sim.behaviour.profiles import NodeSpec

FACTS = Facts("app", "kubeflow")


def run(cluster, plan):
    _, rows = check_nodes(cluster, plan, FACTS)
    return check_capacity(cluster, plan, FACTS, rows) + check_quotas(cluster, plan, FACTS)


def test_requests_within_the_usable_nodes_pass_and_a_tainted_node_does_not_count(shaped):
    cluster = shaped(ClusterShape(nodes=(NodeSpec("cpu-1", cpu="4", memory="16Gi"), GPU_NODE)))
    plan = plan_of(deployment("web", cpu="1", memory="2Gi", replicas=2), deployment("db", cpu="500m", memory="6Gi"))
    total, largest, quotas = run(cluster, plan)
    assert total.status == "pass" and "cpu 2.5 of 4, memory 10Gi of 16Gi" in total.message  # gpu-1 is tainted
    assert largest.status == "pass" and "Deployment/kubeflow/db" in largest.message
    assert quotas.status == "pass"


def test_too_much_in_all_and_a_pod_larger_than_any_node_fail(shaped):
    cluster = shaped(ClusterShape.uniform(2, cpu="2", memory="4Gi"))
    plan = plan_of(deployment("web", cpu="1", memory="1Gi", replicas=5), deployment("mysql", cpu="1", memory="6Gi"))
    total, largest, _ = run(cluster, plan)
    assert total.status == "fail" and "cpu 6 of 4" in total.message and "add nodes" in total.fix
    assert largest.status == "fail" and largest.details == (
        "Deployment/kubeflow/mysql [app] requests cpu 1, memory 6Gi",)


def test_a_quota_and_a_limit_range_in_a_plan_namespace_that_refuse_the_pods_fail(shaped):
    cluster = shaped(ClusterShape.uniform(1))
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubeflow"}})
    cluster.apply({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "small", "namespace": "kubeflow"},
                   "spec": {"hard": {"requests.memory": "1Gi", "limits.cpu": "4"}}})
    cluster.apply({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "caps", "namespace": "kubeflow"},
                   "spec": {"limits": [{"type": "Container", "max": {"memory": "1Gi"}}]}})
    plan = plan_of(deployment("web", memory="512Mi", replicas=2, limits={"cpu": "1", "memory": "512Mi"}),
                   deployment("db", memory="2Gi"))
    *_, quotas = run(cluster, plan)
    assert quotas.status == "fail"
    text = "\n".join(quotas.details)
    assert "LimitRange/kubeflow/caps allows memory up to 1Gi; container main of Deployment/kubeflow/db sets 2Gi" in text
    assert "ResourceQuota/kubeflow/small allows requests.memory 1Gi" in text and "need 3Gi" in text
    assert "limits limits.cpu, so pods must set limits.cpu, and 1 of the plan's do not" in text
    # another namespace's quota is not the plan's business
    elsewhere = plan_of(deployment("web", namespace="other", memory="2Gi"))
    assert run(cluster, elsewhere)[-1].status == "pass"


def test_quota_rules():
    pods = planned_pods(plan_of(deployment("a", cpu="1", memory="1Gi", replicas=3)))
    quota = {"metadata": {"name": "q", "namespace": "kubeflow"},
             "spec": {"hard": {"cpu": "2", "pods": "2"}}, "status": {"used": {"cpu": "500m"}}}
    problems = judge_quota(quota, pods, {})
    assert any("allows cpu 2" in p and "need 3" in p for p in problems)
    assert any("allows 2 pods, the plan runs 3" in p for p in problems)
    scoped = {**quota, "spec": {**quota["spec"], "scopes": ["BestEffort"]}}
    assert judge_quota(scoped, pods, {}) == []  # applies to some pods only: not judged
    limits = {"metadata": {"name": "q", "namespace": "kubeflow"}, "spec": {"hard": {"limits.memory": "10Gi"}}}
    assert judge_quota(limits, pods, {}) and judge_quota(limits, pods, {"limits": {"memory"}}) == []
    floor = {"metadata": {"name": "l", "namespace": "kubeflow"},
             "spec": {"limits": [{"type": "Container", "min": {"cpu": "2"}}]}}
    assert judge_limit_range(floor, pods) == [
        "LimitRange/kubeflow/l needs cpu of at least 2; container main of Deployment/kubeflow/a requests 1"]
