"""Workload controllers as a client sees them: Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs."""

from __future__ import annotations

import time

from kfctl.sim.behaviour import ClusterShape, ImageRule, NodeSpec, Profile
from simb_helpers import condition, deployment


def test_deployment_creates_replicaset_and_pods_and_publishes_status(kube) -> None:
    kube.create(deployment("web", replicas=3))
    d = kube.wait(lambda: (lambda d: d if d.status and d.status.available_replicas == 3 else None)(
        kube.apps.read_namespaced_deployment("web", "default")), what="3 available replicas")
    assert (d.status.observed_generation, d.status.replicas, d.status.updated_replicas, d.status.ready_replicas) == \
        (d.metadata.generation, 3, 3, 3)
    available, progressing = condition(d, "Available"), condition(d, "Progressing")
    assert (available.status, available.reason) == ("True", "MinimumReplicasAvailable")
    assert (progressing.status, progressing.reason) == ("True", "NewReplicaSetAvailable")
    [rs] = kube.apps.list_namespaced_replica_set("default").items
    pod_hash = rs.metadata.labels["pod-template-hash"]
    assert rs.metadata.name == f"web-{pod_hash}" and rs.spec.selector.match_labels["pod-template-hash"] == pod_hash
    assert rs.metadata.owner_references[0].kind == "Deployment" and rs.metadata.owner_references[0].controller
    assert rs.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    pods = kube.core.list_namespaced_pod("default", label_selector="app=web").items
    assert len(pods) == 3
    for p in pods:
        assert p.metadata.name.startswith(f"web-{pod_hash}-") and p.metadata.labels["pod-template-hash"] == pod_hash
        assert p.metadata.owner_references[0].uid == rs.metadata.uid
        assert p.status.phase == "Running" and p.spec.node_name == "sim-node-1" and p.status.pod_ip


def test_kubectl_rollout_status_wait_and_get_agree(kube) -> None:
    kube.create(deployment("api", replicas=2))
    out = kube.kubectl("rollout", "status", "deploy/api", "--timeout=20s").stdout
    assert 'deployment "api" successfully rolled out' in out
    kube.kubectl("wait", "--for=condition=Available", "deploy/api", "--timeout=20s")
    table = kube.kubectl("get", "deploy", "api").stdout.split("\n")
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table[1].split()[:4] == ["api", "2/2", "2", "2"]
    pods = kube.kubectl("get", "pods", "-l", "app=api").stdout.strip().split("\n")
    assert pods[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [line.split()[1:4] for line in pods[1:]] == [["1/1", "Running", "0"]] * 2


def test_template_change_rolls_out_a_new_replicaset(kube) -> None:
    kube.create(deployment("roll", replicas=4))
    kube.kubectl("rollout", "status", "deploy/roll", "--timeout=20s")
    kube.apps.patch_namespaced_deployment("roll", "default", {"spec": {"template": {"spec": {"containers": [
        {"name": "roll", "image": "nginx:1.28"}]}}}})
    out = kube.kubectl("rollout", "status", "deploy/roll", "--timeout=20s").stdout
    assert "successfully rolled out" in out
    rss = {rs.metadata.annotations["deployment.kubernetes.io/revision"]: rs
           for rs in kube.apps.list_namespaced_replica_set("default").items}
    assert set(rss) == {"1", "2"}
    assert rss["1"].spec.replicas == 0 and rss["2"].spec.replicas == 4
    assert rss["2"].spec.template.spec.containers[0].image == "nginx:1.28"
    pods = kube.core.list_namespaced_pod("default", label_selector="app=roll").items
    assert {p.spec.containers[0].image for p in pods} == {"nginx:1.28"} and len(pods) == 4
    d = kube.apps.read_namespaced_deployment("roll", "default")
    assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    scaled = [e.message for e in kube.events(name="roll", reason="ScalingReplicaSet")]
    assert any("Scaled down replica set roll-" in m for m in scaled)


def test_progress_deadline_exceeded_when_pods_never_become_ready(behaving) -> None:
    kube = behaving(profile=Profile(images=(ImageRule("broken/*", fail="ImagePullBackOff"),)))
    stuck = deployment("stuck", image="broken/app:1")
    stuck["spec"]["progressDeadlineSeconds"] = 30
    kube.create(stuck)
    cond = kube.wait(lambda: (lambda c: c if c is not None and c.reason == "ProgressDeadlineExceeded" else None)(
        condition(kube.apps.read_namespaced_deployment("stuck", "default"), "Progressing")), what="deadline")
    assert cond.status == "False" and "has timed out progressing" in cond.message
    available = condition(kube.apps.read_namespaced_deployment("stuck", "default"), "Available")
    assert (available.status, available.reason) == ("False", "MinimumReplicasUnavailable")
    proc = kube.kubectl("rollout", "status", "deploy/stuck", "--timeout=10s", check=False)
    assert proc.returncode != 0 and "exceeded its progress deadline" in proc.stderr


def test_statefulset_ordinal_pods_claims_and_revisions(kube) -> None:
    kube.create({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
                 "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                          "template": {"metadata": {"labels": {"app": "db"}},
                                       "spec": {"containers": [{"name": "db", "image": "mysql:8.0"}]}},
                          "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                              "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}})
    out = kube.kubectl("rollout", "status", "statefulset/db", "--timeout=20s").stdout
    assert "partitioned roll out complete" in out or "rolling update complete" in out
    sts = kube.apps.read_namespaced_stateful_set("db", "default")
    assert (sts.status.replicas, sts.status.ready_replicas, sts.status.current_replicas) == (2, 2, 2)
    assert sts.status.current_revision == sts.status.update_revision
    assert sts.status.update_revision.startswith("db-")
    assert sorted(p.metadata.name for p in kube.core.list_namespaced_pod("default").items) == ["db-0", "db-1"]
    claims = {c.metadata.name: c.status.phase for c in kube.core.list_namespaced_persistent_volume_claim(
        "default").items}
    assert claims == {"data-db-0": "Bound", "data-db-1": "Bound"}
    db0 = kube.core.read_namespaced_pod("db-0", "default")
    assert {v.persistent_volume_claim.claim_name for v in db0.spec.volumes if v.persistent_volume_claim} == \
        {"data-db-0"}
    kube.apps.patch_namespaced_stateful_set("db", "default", {"spec": {"template": {"spec": {"containers": [
        {"name": "db", "image": "mysql:8.4"}]}}}})
    kube.wait(lambda: (lambda s: s.status.current_revision == s.status.update_revision and
                       s.status.update_revision != sts.status.update_revision and s.status.ready_replicas == 2)(
        kube.apps.read_namespaced_stateful_set("db", "default")), what="rolled statefulset")
    assert {p.spec.containers[0].image for p in kube.core.list_namespaced_pod("default").items} == {"mysql:8.4"}


def test_daemonset_runs_one_pod_per_eligible_node(behaving) -> None:
    shape = ClusterShape(nodes=(NodeSpec("a"), NodeSpec("b"), NodeSpec("gpu", taints=(("gpu", "yes", "NoSchedule"),))))
    kube = behaving(shape=shape)
    kube.create({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
                 "spec": {"selector": {"matchLabels": {"app": "agent"}},
                          "template": {"metadata": {"labels": {"app": "agent"}},
                                       "spec": {"containers": [{"name": "agent", "image": "busybox:1"}]}}}})
    kube.kubectl("rollout", "status", "daemonset/agent", "--timeout=20s")
    ds = kube.apps.read_namespaced_daemon_set("agent", "default")
    assert (ds.status.desired_number_scheduled, ds.status.number_ready, ds.status.updated_number_scheduled) == \
        (2, 2, 2)
    assert sorted(p.spec.node_name for p in kube.core.list_namespaced_pod("default").items) == ["a", "b"]


def test_job_completes_and_a_crashing_job_fails(behaving) -> None:
    kube = behaving(profile=Profile(job_run=2, images=(ImageRule("crash/*", fail="CrashLoopBackOff",
                                                                 crash_after=1),)))
    def job(name: str, image: str) -> dict:
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
                "spec": {"backoffLimit": 1, "completions": 2, "template": {"spec": {
                    "restartPolicy": "Never", "containers": [{"name": "main", "image": image}]}}}}
    kube.create(job("ok", "busybox:1"), job("bad", "crash/app:1"))
    kube.kubectl("wait", "--for=condition=Complete", "job/ok", "--timeout=20s")
    ok = kube.batch.read_namespaced_job("ok", "default")
    assert ok.status.succeeded == 2 and ok.status.completion_time is not None
    assert condition(ok, "SuccessCriteriaMet").status == "True"
    kube.kubectl("wait", "--for=condition=Failed", "job/bad", "--timeout=20s")
    bad = kube.batch.read_namespaced_job("bad", "default")
    assert condition(bad, "Failed").reason == "BackoffLimitExceeded" and bad.status.failed == 2
    table = kube.kubectl("get", "jobs").stdout
    assert "Complete" in table and "Failed" in table
    statuses = kube.kubectl("get", "pods", "-l", "job-name=ok").stdout
    assert statuses.count("Completed") == 2


def test_cronjob_stays_idle(kube) -> None:
    kube.create({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
                 "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                     "restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox:1"}]}}}}}})
    kube.sim.clock.sleep(120)
    kube.sim.sync()
    assert kube.batch.list_namespaced_job("default").items == []


def test_rolling_update_respects_max_surge_and_max_unavailable(behaving) -> None:
    kube = behaving(profile=Profile(container_start=5))
    d = deployment("surge", replicas=3)
    d["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    kube.create(d)
    kube.kubectl("rollout", "status", "deploy/surge", "--timeout=20s")
    kube.apps.patch_namespaced_deployment("surge", "default", {"spec": {"template": {"metadata": {
        "annotations": {"restartedAt": "now"}}}}})
    seen_total, seen_available = [], []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = kube.apps.read_namespaced_deployment("surge", "default").status
        pods = [p for p in kube.core.list_namespaced_pod("default", label_selector="app=surge").items]
        seen_total.append(len(pods))
        seen_available.append(status.available_replicas or 0)
        if status.updated_replicas == 3 and status.replicas == 3 and status.available_replicas == 3 and \
                status.observed_generation == 2:
            break
    else:
        raise AssertionError("the rollout did not finish")
    assert max(seen_total) == 4  # never more than replicas + maxSurge
    assert min(seen_available) >= 3  # never fewer than replicas - maxUnavailable
