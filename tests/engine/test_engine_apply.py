"""The apply engine against the simulated cluster: order, idempotency, drift, ownership, prune, failures."""

from __future__ import annotations

import time

import httpx
import yaml

from kfctl.cluster import connect
from kfctl.engine import events as ev
from kfctl.engine.apply import ApplyEngine, ApplyOptions
from kfctl.engine.inventory import PART_OF
from kfctl.errors import KfctlError
from kfctl.plan import build_plan
from kfctl.sim.clock import parse_time

BASE = """
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
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: kubeflow}
spec: {size: 3}
"""


def docs(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


def run(sim, objects, *, events=None, **options):
    cluster = connect(sim.kubeconfig_path, None)
    plan = build_plan([("app", d) for d in objects])
    sink = events.append if events is not None else (lambda e: None)
    engine = ApplyEngine(cluster, plan, deployment="demo", namespace="kubeflow",
                         options=ApplyOptions(**{"object_timeout": 20, "timeout": 60, **options}), sink=sink)
    try:
        return engine.run()
    finally:
        cluster.close()


def writes(sim) -> list[dict]:
    return [e for e in sim.timeline() if e["verb"] in ("create", "update", "patch", "apply", "delete")
            and not e.get("dry_run")]


def widget_writes(timeline: list[dict]) -> list[dict]:
    """Every write to the Widget, refused ones too: before its kind is served the sim records the bare path."""
    return [e for e in timeline if e["verb"] in ("create", "update", "patch", "apply")
            and (e["resource"] == "widgets" or "/widgets" in e["resource"])]


def established_at(sim, timeout: float = 10.0) -> float:
    """When the sim marked the Widget CRD Established (waited for; second precision: at most 1 s early)."""
    cluster = connect(sim.kubeconfig_path, None)
    deadline = time.monotonic() + timeout
    try:
        while True:
            crd = cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "widgets.example.com")
            conditions = ((crd or {}).get("status") or {}).get("conditions") or []
            stamps = [c["lastTransitionTime"] for c in conditions if c["type"] == "Established" and c["status"] == "True"]
            if stamps:
                return parse_time(stamps[0])
            assert time.monotonic() < deadline, "the CRD was never Established"
            time.sleep(0.02)
    finally:
        cluster.close()


def test_custom_resource_waits_for_established_crd(sim_factory):
    sim = sim_factory(crd_establish_delay=10.0)  # 10 sim s (0.1 s): an early write cannot hide in a timestamp
    events: list[ev.Event] = []
    result = run(sim, docs(BASE), events=events)
    assert result.ok, result.problems
    timeline = sim.timeline()
    [crd_created] = [e for e in timeline if e["resource"] == "customresourcedefinitions" and e["code"] == 201]
    established = established_at(sim)
    assert established >= crd_created["time"] + 10 - 1
    # the server's view: no write of the Widget (accepted or refused) before its CRD was Established
    writes_ = widget_writes(timeline)
    assert [e["code"] for e in writes_] == [201], writes_
    assert writes_[0]["time"] >= established, (writes_, established)
    # the engine's view: it waited for the CRD instead of trying, being refused and retrying
    widget = "Widget.example.com/kubeflow/w1"
    assert not [e for e in events if e.obj == widget and e.kind in (ev.RETRY, ev.FAILED)]
    order = [(e.obj, e.kind) for e in events if e.kind in (ev.HEALTHY, ev.APPLIED)]
    assert order.index(("CustomResourceDefinition/widgets.example.com", ev.HEALTHY)) < \
        order.index((widget, ev.APPLIED))


def test_an_early_custom_resource_write_shows_in_the_timeline(sim_factory):
    """The check above can fail: a Widget written before Established is in the timeline, early and refused."""
    sim = sim_factory(crd_establish_delay=10.0, time_scale=0.1)  # 1 s to send it in
    cluster = connect(sim.kubeconfig_path, None)
    ns, _, crd, widget = docs(BASE)
    cluster.apply(ns)
    cluster.apply(crd)
    cluster.close()
    # straight over HTTP: kfctl's client would not send it (discovery says the kind is not served)
    early = httpx.patch(sim.url + "/apis/example.com/v1/namespaces/kubeflow/widgets/w1", json=widget,
                        params={"fieldManager": "test"}, headers={"Content-Type": "application/apply-patch+yaml"})
    assert early.status_code == 404
    established = established_at(sim)
    [write] = widget_writes(sim.timeline())
    assert write["code"] == 404 and write["time"] < established


def test_reapply_makes_no_writes_and_keeps_resource_versions(sim_cluster):
    assert run(sim_cluster, docs(BASE)).ok
    cluster = connect(sim_cluster.kubeconfig_path, None)
    before = cluster.get("v1", "ConfigMap", "kubeflow", "cfg")["metadata"]["resourceVersion"]
    count = len(writes(sim_cluster))
    events: list[ev.Event] = []
    result = run(sim_cluster, docs(BASE), events=events)
    assert result.ok and result.writes == 0
    assert len(writes(sim_cluster)) == count
    assert cluster.get("v1", "ConfigMap", "kubeflow", "cfg")["metadata"]["resourceVersion"] == before
    assert {e.kind for e in events if e.obj} <= {ev.UNCHANGED, ev.HEALTHY}


def test_drift_is_corrected(sim_cluster):
    assert run(sim_cluster, docs(BASE)).ok
    cluster = connect(sim_cluster.kubeconfig_path, None)
    # someone edits a field kfctl owns, and so becomes its owner
    cluster.merge_patch("v1", "ConfigMap", "kubeflow", "cfg", {"data": {"a": "edited"}}, field_manager="kubectl-edit")
    events: list[ev.Event] = []
    result = run(sim_cluster, docs(BASE), events=events)
    assert result.ok and result.writes == 1
    applied = [e for e in events if e.kind == ev.APPLIED]
    assert [(e.obj, e.message) for e in applied] == [("ConfigMap/kubeflow/cfg", "corrected drift at .data.a")]
    assert cluster.get("v1", "ConfigMap", "kubeflow", "cfg")["data"]["a"] == "1"


def test_object_created_by_hand_is_not_overwritten_unless_adopted(sim_cluster):
    assert run(sim_cluster, docs(BASE)).ok
    cluster = connect(sim_cluster.kubeconfig_path, None)
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "extra", "namespace": "kubeflow"},
                   "data": {"a": "mine"}})
    wanted = docs(BASE) + [{"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "extra", "namespace": "kubeflow"}, "data": {"a": "kfctl"}}]
    wanted[1]["data"]["a"] = "2"
    result = run(sim_cluster, wanted)
    assert not result.ok
    states = {str(o.ref): (o.state, o.message) for o in result.outcomes}
    assert states["ConfigMap/kubeflow/extra"][0] == "failed"
    assert "created by hand or another tool" in states["ConfigMap/kubeflow/extra"][1]
    assert "--adopt" in states["ConfigMap/kubeflow/extra"][1]
    assert states["ConfigMap/kubeflow/cfg"] == ("healthy", "exists")  # an independent object went on
    assert cluster.get("v1", "ConfigMap", "kubeflow", "cfg")["data"]["a"] == "2"
    assert cluster.get("v1", "ConfigMap", "kubeflow", "extra")["data"]["a"] == "mine"
    adopted = run(sim_cluster, wanted, adopt=True)
    assert adopted.ok
    live = cluster.get("v1", "ConfigMap", "kubeflow", "extra")
    assert live["data"]["a"] == "kfctl" and PART_OF in live["metadata"]["labels"]


def test_a_namespace_made_by_hand_blocks_everything_until_adopted(sim_cluster):
    cluster = connect(sim_cluster.kubeconfig_path, None)
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubeflow"}})
    result = run(sim_cluster, docs(BASE))
    states = {str(o.ref): o.state for o in result.outcomes}
    assert states.pop("Namespace/kubeflow") == "failed"
    assert set(states.values()) == {"blocked"}
    assert not [e for e in writes(sim_cluster) if e["resource"] != "namespaces"]
    assert run(sim_cluster, docs(BASE), adopt=True).ok


def test_invalid_object_fails_at_once_and_blocks_its_dependents(sim_cluster):
    bad = docs(BASE)
    bad[3]["spec"]["size"] = "three"  # the CRD's schema says integer: 422
    bad.append({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "after", "namespace": "kubeflow",
                             "annotations": {"config.kubernetes.io/depends-on": "example.com/namespaces/kubeflow/Widget/w1"}}})
    events: list[ev.Event] = []
    result = run(sim_cluster, bad, events=events)
    states = {str(o.ref): o for o in result.outcomes}
    widget = states["Widget.example.com/kubeflow/w1"]
    assert widget.state == "failed" and "size" in widget.message
    assert states["ConfigMap/kubeflow/after"].state == "blocked"
    assert "Widget.example.com/kubeflow/w1, which failed" in states["ConfigMap/kubeflow/after"].message
    assert states["ConfigMap/kubeflow/cfg"].state == "healthy"
    assert not [e for e in events if e.kind == ev.RETRY]  # 422 is permanent: no retries


def test_prune_removes_what_is_no_longer_rendered_but_keeps_crds(sim_cluster):
    assert run(sim_cluster, docs(BASE)).ok
    smaller = [d for d in docs(BASE) if d["kind"] not in ("Widget", "CustomResourceDefinition")]
    smaller[1]["metadata"]["name"] = "cfg2"
    result = run(sim_cluster, smaller)
    assert result.ok
    assert sorted(result.pruned) == ["ConfigMap/kubeflow/cfg", "Widget.example.com/kubeflow/w1"]
    assert result.kept == ("CustomResourceDefinition/widgets.example.com",)
    cluster = connect(sim_cluster.kubeconfig_path, None)
    assert cluster.get("v1", "ConfigMap", "kubeflow", "cfg") is None
    crd = cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "widgets.example.com")
    assert crd is not None and PART_OF not in (crd["metadata"].get("labels") or {})
    again = run(sim_cluster, smaller)
    assert again.ok and again.writes == 0 and not again.pruned and not again.kept


def test_objects_of_another_deployment_are_never_pruned(sim_cluster):
    assert run(sim_cluster, docs(BASE)).ok
    cluster = connect(sim_cluster.kubeconfig_path, None)
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "by-hand", "namespace": "kubeflow"}})
    result = run(sim_cluster, docs(BASE)[:2])
    assert result.ok
    assert cluster.get("v1", "ConfigMap", "kubeflow", "by-hand") is not None


def test_an_immutable_field_change_replaces_an_owned_object(sim_cluster):
    role = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: %s}
rules: []
"""
    binding = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: %s}
subjects: [{kind: ServiceAccount, name: default, namespace: kubeflow}]
"""
    first = docs(BASE)[:1] + docs(role % "old") + docs(binding % "old")
    assert run(sim_cluster, first).ok
    events: list[ev.Event] = []
    result = run(sim_cluster, docs(BASE)[:1] + docs(role % "new") + docs(binding % "new"), events=events)
    assert result.ok, result.problems
    replaced = [e for e in events if e.kind == ev.APPLIED and e.obj == "ClusterRoleBinding/reader"]
    assert replaced and replaced[0].message == "replaced (a field it changes is immutable)"
    cluster = connect(sim_cluster.kubeconfig_path, None)
    live = cluster.get("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", None, "reader")
    assert live["roleRef"]["name"] == "new"
    assert result.pruned == ("ClusterRole/old",)


def test_a_failed_workload_says_what_its_pods_report(sim_factory):
    sim = sim_factory(behaviour=True, profile="instant")
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "hungry", "namespace": "kubeflow"},
                  "spec": {"replicas": 1, "progressDeadlineSeconds": 1, "selector": {"matchLabels": {"app": "hungry"}},
                           "template": {"metadata": {"labels": {"app": "hungry"}},
                                        "spec": {"containers": [{"name": "c", "image": "busybox",
                                                                 "resources": {"requests": {"cpu": "500"}}}]}}}}
    result = run(sim, docs(BASE)[:1] + [deployment])
    outcome = {str(o.ref): o for o in result.outcomes}["Deployment/kubeflow/hungry"]
    assert outcome.state == "failed"
    assert "ProgressDeadlineExceeded" in outcome.message
    assert "pod hungry-" in outcome.message and "Insufficient cpu" in outcome.message


def test_a_workload_waiting_for_a_while_says_what_its_pods_report(sim_factory, monkeypatch):
    from kfctl.engine import apply as apply_module

    monkeypatch.setattr(apply_module, "PROBE_AFTER", 0.2)
    sim = sim_factory(behaviour=True, profile="instant")
    statefulset = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "big", "namespace": "kubeflow"},
                   "spec": {"replicas": 1, "serviceName": "big", "selector": {"matchLabels": {"app": "big"}},
                            "template": {"metadata": {"labels": {"app": "big"}},
                                         "spec": {"containers": [{"name": "c", "image": "busybox",
                                                                  "resources": {"requests": {"memory": "900Gi"}}}]}}}}
    events: list[ev.Event] = []
    cluster = connect(sim.kubeconfig_path, None)
    plan = build_plan([("app", d) for d in docs(BASE)[:1] + [statefulset]])
    result = ApplyEngine(cluster, plan, deployment="demo", namespace="kubeflow", sink=events.append,
                         options=ApplyOptions(object_timeout=2, timeout=30)).run()
    waits = [e.message for e in events if e.kind == ev.WAITING and e.obj == "StatefulSet/kubeflow/big"]
    assert any("pod big-0: unschedulable" in m and "Insufficient memory" in m for m in waits), waits
    outcome = {str(o.ref): o for o in result.outcomes}["StatefulSet/kubeflow/big"]
    assert outcome.state == "failed" and outcome.message.startswith("timed out waiting")
    assert "Insufficient memory" in outcome.message


def test_a_webhook_counts_as_healthy_only_once_its_service_has_ready_endpoints(sim_cluster):
    hook = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "guard"},
            "webhooks": [{"name": "guard.example.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                          "clientConfig": {"service": {"name": "guard", "namespace": "kubeflow"}, "caBundle": "Zm9v"},
                          "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["secrets"],
                                     "operations": ["CREATE"]}]}]}
    others = [{**hook, "metadata": {"name": f"guard-{i}"}} for i in range(3)]  # KServe has seven on one Service
    events: list[ev.Event] = []
    result = run(sim_cluster, docs(BASE)[:1] + [hook, *others], events=events, object_timeout=1.5)
    outcome = {str(o.ref): o for o in result.outcomes}["ValidatingWebhookConfiguration/guard"]
    assert outcome.state == "failed"
    assert "waiting for ready endpoints of service kubeflow/guard" in outcome.message
    # one list per look for the shared Service, looks spaced out while nothing changes (not 4 x 4 a second),
    # and the four configurations checked as they are written and watched share one list between looks:
    # at most one list then, plus looks after 0, 0.25, 0.75 s (and 1.75 s on a slow machine)
    looks = [e for e in sim_cluster.timeline() if e["resource"] == "endpointslices" and e["verb"] == "list"]
    assert 0 < len(looks) <= 1 + 5, len(looks)


def test_with_fewer_workers_than_startable_objects_the_longest_chain_starts_first(sim_cluster):
    # rendered first: five ClusterRoles nothing waits on; last: the account a Deployment runs as
    roles = [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": f"r{i}"},
              "rules": []} for i in range(5)]
    chain = docs("""
apiVersion: v1
kind: ServiceAccount
metadata: {name: runner, namespace: kubeflow}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: kubeflow}
spec:
  replicas: 0
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      serviceAccountName: runner
      containers: [{name: c, image: nginx:1.27}]
""")
    namespace = docs(BASE)[0]
    result = run(sim_cluster, [namespace, *roles, *chain], concurrency=1)
    assert result.ok, result.problems
    applied = [e["name"] for e in writes(sim_cluster) if e["verb"] == "apply"]
    # the namespace heads every namespaced object; the account heads the Deployment's chain
    assert applied.index("runner") < min(applied.index(f"r{i}") for i in range(5))
    assert applied.index("kubeflow") < applied.index("runner")


def test_a_workload_waiting_for_image_pulls_past_its_deadlines_is_slow_not_stuck(sim_factory):
    """A node pulls one image at a time: a pod can wait past --object-timeout and the Deployment's 600 s
    progress deadline without anything being wrong. A pod waiting for a Secret that never comes is stuck."""
    from kfctl.sim.behaviour import ImageRule, Profile

    sim = sim_factory(behaviour=True, profile=Profile(images=(ImageRule("big/*", pull=700.0),)), time_scale=0.01)

    def deployment(name: str, image: str, **pod: object) -> dict:
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "kubeflow"},
                "spec": {"selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}},
                                      "spec": {"containers": [{"name": "main", "image": image}], **pod}}}}
    stuck = deployment("stuck", "small/app:1", volumes=[{"name": "s", "secret": {"secretName": "never"}}])
    stuck["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [{"name": "s", "mountPath": "/s"}]
    events: list[ev.Event] = []
    result = run(sim, docs(BASE)[:1] + [deployment("slow", "big/model:1"), stuck], events=events,
                 object_timeout=2.5, timeout=60)
    outcomes = {str(o.ref): o for o in result.outcomes}
    assert outcomes["Deployment/kubeflow/slow"].state == "healthy", outcomes["Deployment/kubeflow/slow"].message
    said = [e.message for e in events if e.kind == ev.WAITING and e.obj == "Deployment/kubeflow/slow"]
    assert any(m.startswith("past --object-timeout, but pod slow-") for m in said), said
    assert any(m.startswith("past its progress deadline, but pod slow-") for m in said), said
    assert outcomes["Deployment/kubeflow/stuck"].state == "failed"
    assert outcomes["Deployment/kubeflow/stuck"].message.startswith("timed out waiting")


def _inventory_members(sim) -> set[str]:
    from kfctl.engine.inventory import parent_name, read_parent

    cluster = connect(sim.kubeconfig_path, None)
    try:
        live = cluster.get("v1", "ConfigMap", "kubeflow", parent_name("demo"))
        return {str(m.ref) for m in read_parent(live, deployment="demo").members}
    finally:
        cluster.close()


def test_a_refused_object_that_is_dropped_leaves_the_inventory(sim_cluster):
    # Issue #16 defect 10: the inventory is widened before applying, so an object the server refused
    # stayed a member forever once dropped from the bundle: status said "missing", apply and diff all well.
    bad = docs(BASE)[:2] + [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name", "namespace": "kubeflow"}}]
    assert not run(sim_cluster, bad).ok
    assert "ConfigMap/kubeflow/Bad_Name" in _inventory_members(sim_cluster)
    fixed = run(sim_cluster, docs(BASE)[:2])
    assert fixed.ok and fixed.pruned == ()  # nothing was deleted: it never existed
    assert "ConfigMap/kubeflow/Bad_Name" not in _inventory_members(sim_cluster)
    assert run(sim_cluster, docs(BASE)[:2]).writes == 0


def test_an_unhealthy_apply_says_which_stale_objects_wait_to_be_pruned(sim_cluster):
    # Issue #16 defect 13: an unhealthy apply kept objects due for pruning silently ("0 pruned").
    assert run(sim_cluster, docs(BASE)).ok
    broken = docs(BASE)[:2] + [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name", "namespace": "kubeflow"}}]
    events: list[ev.Event] = []
    result = run(sim_cluster, broken, events=events)
    assert not result.ok and result.pruned == ()
    assert sorted(result.pending_prune) == ["CustomResourceDefinition/widgets.example.com", "Widget.example.com/kubeflow/w1"]
    said = [e for e in events if e.kind == ev.SUMMARY and e.data.get("phase") == "pending-prune"]
    assert said and "2 objects no longer rendered wait to be pruned" in said[0].message
    from kfctl.engine.inventory import parent_name, read_parent
    cluster = connect(sim_cluster.kubeconfig_path, None)
    live = cluster.get("v1", "ConfigMap", "kubeflow", parent_name("demo"))
    assert sorted(read_parent(live, deployment="demo").status["pendingPrune"]) == sorted(result.pending_prune)
    cluster.close()


def test_a_rollout_past_its_deadline_before_this_apply_gets_time_once_the_cause_is_fixed(sim_factory):
    # Issue #16 defect 12: after the cause of a failure was fixed, a re-apply failed the Deployment at
    # once on its stale ProgressDeadlineExceeded condition while its pod was about to start.
    from kfctl.sim.behaviour import ImageRule, Profile

    # a slow start (probed) keeps the pod unready for a while after the fix, so the re-apply's first
    # look surely finds the old deadline, however the mount retries fall; and no pull is under way
    sim = sim_factory(behaviour=True, profile=Profile(images=(ImageRule("slowstart/*", pull=0.0, start=600.0),)),
                      time_scale=0.01)
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "kubeflow"},
           "spec": {"progressDeadlineSeconds": 30, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                                 "spec": {"containers": [{"name": "main", "image": "slowstart/app:1",
                                                          "readinessProbe": {"httpGet": {"path": "/", "port": 80}},
                                                          "volumeMounts": [{"name": "s", "mountPath": "/s"}]}],
                                          "volumes": [{"name": "s", "secret": {"secretName": "later"}}]}}}}
    first = run(sim, docs(BASE)[:1] + [dep], object_timeout=20, timeout=60)
    outcome = {str(o.ref): o for o in first.outcomes}["Deployment/kubeflow/web"]
    assert outcome.state == "failed" and "ProgressDeadlineExceeded" in outcome.message, outcome.message
    cluster = connect(sim.kubeconfig_path, None)
    cluster.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "later", "namespace": "kubeflow"}})
    cluster.close()
    events: list[ev.Event] = []
    again = run(sim, docs(BASE)[:1] + [dep], events=events, object_timeout=40, timeout=60)
    assert again.ok, [o.message for o in again.problems]
    said = [e.message for e in events if e.kind == ev.WAITING and e.obj == "Deployment/kubeflow/web"]
    assert any(m.startswith("its progress deadline was exceeded before this apply") for m in said), [(e.kind, e.obj, e.message) for e in events]


def test_an_upgrade_that_drops_a_crds_conversion_webhook_clears_the_injected_one(sim_cluster):
    # Issue #16 defect 11: cainjector owns the injected caBundle, so apply alone kept
    # spec.conversion.webhook and the API server refused strategy None with a webhook.
    with_webhook = docs(BASE)[:3]
    crd = with_webhook[2]
    crd["metadata"]["annotations"] = {"cert-manager.io/inject-ca-from": "kubeflow/widgets-cert"}
    crd["spec"]["conversion"] = {"strategy": "Webhook", "webhook": {
        "conversionReviewVersions": ["v1"],
        "clientConfig": {"service": {"name": "widgets", "namespace": "kubeflow", "path": "/convert"}}}}
    assert run(sim_cluster, with_webhook).ok
    cluster = connect(sim_cluster.kubeconfig_path, None)
    cluster.merge_patch("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "widgets.example.com",
                        {"spec": {"conversion": {"webhook": {"clientConfig": {"caBundle": "Y2E="}}}}},
                        field_manager="cert-manager-cainjector")
    from kfctl.engine.diff import compute
    plan = build_plan([("app", d) for d in docs(BASE)[:3]])
    changes = {str(c.ref): c for c in compute(cluster, plan, deployment="demo", namespace="kubeflow")}
    change = changes["CustomResourceDefinition/widgets.example.com"]
    assert change.action == "update" and "-    webhook:" in change.detail, change.detail
    result = run(sim_cluster, docs(BASE)[:3])
    assert result.ok, [o.message for o in result.problems]
    live = cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "widgets.example.com")
    assert live["spec"]["conversion"] == {"strategy": "None"}
    cluster.close()
    assert run(sim_cluster, docs(BASE)[:3]).writes == 0


def set_stored_versions(sim, versions: list[str]) -> None:
    import httpx

    response = httpx.patch(f"{sim.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com/status",
                           json={"status": {"storedVersions": versions}},
                           headers={"Content-Type": "application/merge-patch+json"}, timeout=10)
    assert response.status_code == 200, response.text


def test_a_crd_leaving_out_a_stored_version_fails_with_the_migration_and_no_write(sim_cluster):
    # The API server refuses a CRD whose spec.versions leaves out a version in status.storedVersions
    # (objects may still be stored in it): kfctl says what to migrate instead of sending it.
    two = docs(BASE)[:3]
    crd = two[2]
    v1 = crd["spec"]["versions"][0]
    crd["spec"]["versions"] = [{**v1, "name": "v1beta1", "storage": False}, v1]
    assert run(sim_cluster, two).ok
    set_stored_versions(sim_cluster, ["v1beta1", "v1"])  # as if v1beta1 had been the storage version once
    mark = len(sim_cluster.timeline())
    result = run(sim_cluster, docs(BASE)[:3])  # v1 only
    assert not result.ok
    failed = {str(o.ref): o.message for o in result.problems}
    message = failed["CustomResourceDefinition/widgets.example.com"]
    assert "leaves out v1beta1, which status.storedVersions says widgets may still be stored in" in message
    assert "kubectl get widgets -A -o json | kubectl replace -f -" in message
    assert """--subresource=status --type=merge -p '{"status":{"storedVersions":["v1"]}}'""" in message
    assert not [e for e in sim_cluster.timeline()[mark:]
                if e["resource"] == "customresourcedefinitions" and e["verb"] in ("apply", "patch", "update")]
    set_stored_versions(sim_cluster, ["v1"])  # after the migration the same apply goes through
    assert run(sim_cluster, docs(BASE)[:3]).ok
