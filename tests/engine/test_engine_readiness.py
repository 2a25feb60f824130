"""Readiness rules: feed a live object (YAML), compare the verdict."""

from __future__ import annotations

import pytest
import yaml

from kfctl.engine.readiness import Status, assess, rule_for_override


def obj(text: str) -> dict:
    return yaml.safe_load(text)


DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: kubeflow, generation: 2}
spec: {replicas: 3}
status:
  observedGeneration: 2
  replicas: 3
  updatedReplicas: 3
  readyReplicas: 3
  availableReplicas: 3
  conditions:
  - {type: Available, status: "True", reason: MinimumReplicasAvailable}
  - {type: Progressing, status: "True", reason: NewReplicaSetAvailable}
"""


def test_deployment_ready():
    verdict = assess(obj(DEPLOY))
    assert verdict.status is Status.CURRENT
    assert verdict.message == "3 of 3 replicas available"


@pytest.mark.parametrize(
    ("patch", "status", "message"),
    [
        ({"metadata": {"generation": 3}}, Status.IN_PROGRESS, "controller has not observed generation 3 yet (observed 2)"),
        ({"status": {"availableReplicas": 1}}, Status.IN_PROGRESS, "1 of 3 replicas available"),
        ({"status": {"updatedReplicas": 2}}, Status.IN_PROGRESS, "2 of 3 replicas updated"),
        ({"status": {"replicas": 4}}, Status.IN_PROGRESS, "1 old replicas pending termination"),
        ({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["x/y"]}}, Status.TERMINATING, "being deleted (finalizers: x/y)"),
    ],
)
def test_deployment_in_progress(patch, status, message):
    live = obj(DEPLOY)
    for key, value in patch.items():
        live[key].update(value)
    verdict = assess(live)
    assert (verdict.status, verdict.message) == (status, message)


def test_deployment_progress_deadline_is_failed():
    live = obj(DEPLOY)
    live["status"]["availableReplicas"] = 0
    live["status"]["conditions"][1] = {
        "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
        "message": 'ReplicaSet "web-1" has timed out progressing.',
    }
    verdict = assess(live)
    assert verdict.failed
    assert "ProgressDeadlineExceeded" in verdict.message


def test_deployment_needs_available_condition():
    live = obj(DEPLOY)
    live["status"]["conditions"] = []
    assert assess(live).message == "waiting for condition Available"


def test_zero_replicas_is_ready_without_condition():
    live = obj("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: 0}\nstatus: {}")
    assert assess(live).ready


STS = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, generation: 1}
spec: {replicas: 2}
status: {observedGeneration: 1, replicas: 2, readyReplicas: 2, currentReplicas: 2, updatedReplicas: 2,
         currentRevision: db-1, updateRevision: db-1}
"""


def test_statefulset_ready_and_rolling():
    assert assess(obj(STS)).ready
    live = obj(STS)
    live["status"].update(updateRevision="db-2", updatedReplicas=1)
    verdict = assess(live)
    assert verdict.status is Status.IN_PROGRESS
    assert verdict.message == "rolling update: 1 of 2 replicas at revision db-2"


def test_statefulset_on_delete_is_current():
    live = obj(STS)
    live["spec"]["updateStrategy"] = {"type": "OnDelete"}
    live["status"]["readyReplicas"] = 0
    assert assess(live).ready


def test_daemonset():
    live = obj("""
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds}
status: {desiredNumberScheduled: 3, currentNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2, numberReady: 3}
""")
    assert assess(live).message == "2 of 3 pods available"
    live["status"]["numberAvailable"] = 3
    assert assess(live).ready
    assert not assess(obj("apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: ds}")).ready


def test_job_must_complete_not_just_run():
    running = obj("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nstatus: {active: 1}")
    assert assess(running).status is Status.IN_PROGRESS
    done = obj("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nstatus: {conditions: [{type: Complete, status: 'True'}]}")
    assert assess(done).ready
    bad = obj("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nstatus: {conditions: [{type: Failed, status: 'True', reason: BackoffLimitExceeded, message: Job has reached the specified backoff limit}]}")
    verdict = assess(bad)
    assert verdict.failed and "BackoffLimitExceeded" in verdict.message


def test_pod_crashloop_is_failed_and_running_ready_is_current():
    crash = obj("""
apiVersion: v1
kind: Pod
metadata: {name: p}
status:
  phase: Running
  containerStatuses:
  - name: app
    restartCount: 4
    state: {waiting: {reason: CrashLoopBackOff}}
""")
    verdict = assess(crash)
    assert verdict.failed and verdict.message == "container app: CrashLoopBackOff after 4 restarts"
    ok = obj("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {phase: Running, conditions: [{type: Ready, status: 'True'}]}")
    assert assess(ok).ready


def test_pod_unschedulable_says_why():
    pend = obj("""
apiVersion: v1
kind: Pod
metadata: {name: p}
status:
  phase: Pending
  conditions: [{type: PodScheduled, status: "False", reason: Unschedulable, message: "0/1 nodes are available: 1 Insufficient cpu."}]
""")
    verdict = assess(pend)
    assert verdict.status is Status.IN_PROGRESS
    assert "Insufficient cpu" in verdict.message


def test_pvc_and_service():
    assert assess(obj("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nstatus: {phase: Bound}")).ready
    assert assess(obj("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nstatus: {phase: Pending}")).message == "claim pending, not bound"
    lb = obj("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: LoadBalancer, clusterIP: 10.0.0.1}")
    assert assess(lb).message == "waiting for a load balancer address"
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}
    assert assess(lb).ready
    assert assess(obj("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {clusterIP: 10.0.0.2}")).ready


def test_crd_established_and_names_conflict():
    crd = obj("""
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: foos.example.com}
status:
  conditions:
  - {type: NamesAccepted, status: "True"}
  - {type: Established, status: "False", reason: Installing}
""")
    assert assess(crd).status is Status.IN_PROGRESS
    crd["status"]["conditions"][1] = {"type": "Established", "status": "True"}
    assert assess(crd).ready
    crd["status"]["conditions"][0] = {"type": "NamesAccepted", "status": "False", "reason": "ListKindConflict", "message": "taken"}
    assert assess(crd).failed


def test_webhook_waits_for_injected_ca():
    hook = obj("""
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: h
  annotations: {cert-manager.io/inject-ca-from: kubeflow/cert}
webhooks:
- name: a.example.com
  clientConfig: {service: {name: s, namespace: kubeflow}}
""")
    verdict = assess(hook)
    assert verdict.status is Status.IN_PROGRESS and "kubeflow/cert" in verdict.message
    hook["webhooks"][0]["clientConfig"]["caBundle"] = "Zm9v"
    assert assess(hook).ready


def test_self_managed_webhook_waits_for_its_own_ca_unless_it_can_be_ignored():
    hook = obj("""
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: validation.webhook.serving.knative.dev}
webhooks:
- name: validation.webhook.serving.knative.dev
  clientConfig: {service: {name: webhook, namespace: knative-serving}}
- name: optional.example.com
  failurePolicy: Ignore
  clientConfig: {service: {name: other, namespace: knative-serving}}
- name: url.example.com
  clientConfig: {url: "https://hooks.example.com/validate"}
""")
    verdict = assess(hook)
    assert verdict.status is Status.IN_PROGRESS
    assert "own controller" in verdict.message and "validation.webhook.serving.knative.dev" in verdict.message
    assert "optional.example.com" not in verdict.message and "url.example.com" not in verdict.message
    hook["webhooks"][0]["clientConfig"]["caBundle"] = "Zm9v"
    assert assess(hook).ready
    hook["kind"] = "MutatingWebhookConfiguration"  # a skipped mutation changes what is stored: wait for it too
    assert "optional.example.com" in assess(hook).message


def test_generic_custom_resource_and_kstatus_conditions():
    cert = obj("apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c}\nstatus: {conditions: [{type: Ready, status: 'False', reason: Issuing}]}")
    assert assess(cert).status is Status.IN_PROGRESS
    assert assess(obj("apiVersion: example.com/v1\nkind: Foo\nmetadata: {name: f}")).ready
    stalled = obj("apiVersion: example.com/v1\nkind: Foo\nmetadata: {name: f}\nstatus: {conditions: [{type: Stalled, status: 'True', reason: Broken}]}")
    assert assess(stalled).failed
    reconciling = obj("apiVersion: example.com/v1\nkind: Foo\nmetadata: {name: f}\nstatus: {conditions: [{type: Reconciling, status: 'True', reason: Working}]}")
    assert assess(reconciling).status is Status.IN_PROGRESS


def test_cert_manager_issuers_and_certificates_wait_for_their_ready_condition():
    for kind in ("Certificate", "Issuer", "ClusterIssuer"):
        fresh = obj(f"apiVersion: cert-manager.io/v1\nkind: {kind}\nmetadata: {{name: c}}")
        assert assess(fresh).status is Status.IN_PROGRESS and "condition Ready" in assess(fresh).message
        fresh["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
        assert assess(fresh).ready


def test_override_by_condition_and_exists():
    rule = rule_for_override({"kind": "Foo", "name": "f", "condition": {"type": "Synced"}})
    live = obj("apiVersion: example.com/v1\nkind: Foo\nmetadata: {name: f}\nstatus: {conditions: [{type: Ready, status: 'True'}]}")
    assert not assess(live, rule=rule).ready
    live["status"]["conditions"].append({"type": "Synced", "status": "True"})
    assert assess(live, rule=rule).ready
    pending = obj("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nstatus: {phase: Pending}")
    assert assess(pending, rule=rule_for_override({"ready": "exists"})).ready
    assert rule_for_override({"kind": "X", "timeoutSeconds": 5}) is None
