"""apply and diff decide alike: one write decision (kfctl.engine.decide) for every case of an object."""

from __future__ import annotations

import pytest

from kfctl.cluster import connect
from kfctl.engine import events as ev
from kfctl.engine.apply import ApplyEngine, ApplyOptions
from kfctl.engine.decide import Action, after_refusal, decide
from kfctl.errors import ApiError
from kfctl.engine.diff import compute
from kfctl.engine.inventory import PART_OF, RELEASED_FROM, label_member
from kfctl.plan import build_plan

SET = "applyset-demo"


def cm(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "kubeflow"}, "data": data}


NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubeflow"}}
CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "widgets.example.com"},
       "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
                "versions": [{"name": "v1", "served": True, "storage": True,
                              "schema": {"openAPIV3Schema": {"type": "object"}}}]}}


def binding(role: str) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "rb", "namespace": "kubeflow"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "kubeflow"}]}


def engine(sim, objects, deployment="demo", events=None, **options):
    cluster = connect(sim.kubeconfig_path, None)
    plan = build_plan([("app", d) for d in objects])
    return cluster, plan, ApplyEngine(cluster, plan, deployment=deployment, namespace="kubeflow",
                                      options=ApplyOptions(**{"object_timeout": 20, "timeout": 60, **options}),
                                      sink=events.append if events is not None else (lambda e: None))


def apply(sim, objects, deployment="demo", **options):
    cluster, _, eng = engine(sim, objects, deployment, **options)
    try:
        return eng.run()
    finally:
        cluster.close()


def test_apply_and_diff_agree_on_every_case(sim_cluster, monkeypatch):
    before = [NS, cm("c-same", a="1"), cm("c-drift", a="1"), cm("c-conflict", a="1"), binding("view"), CRD]
    assert apply(sim_cluster, before).ok
    assert apply(sim_cluster, before[:-1]).kept == ("CustomResourceDefinition/widgets.example.com",)
    assert apply(sim_cluster, [cm("c-other", a="1")], deployment="other").ok
    cluster = connect(sim_cluster.kubeconfig_path, None)
    cluster.merge_patch("v1", "ConfigMap", "kubeflow", "c-drift", {"data": {"a": "edited"}}, field_manager="kubectl-edit")
    from kfctl.cluster import client as client_module
    with monkeypatch.context() as m:  # another field manager takes data.a of a kfctl object
        m.setattr(client_module, "FIELD_MANAGER", "someone-else")
        cluster.apply(cm("c-conflict", a="2"), force=True)
    after = [NS, cm("c-new", a="1"), cm("c-same", a="1"), cm("c-drift", a="1"), cm("c-conflict", a="3"),
             binding("edit"), CRD, cm("c-other", a="9")]
    events: list = []
    _, plan, eng = engine(sim_cluster, after, events=events)
    said = {str(c.ref): c.action for c in compute(cluster, plan, deployment="demo", namespace="kubeflow")}
    result = eng.run()
    did = {str(o.ref): ("failed" if o.state == "failed" else "wrote" if o.wrote else "no write") for o in result.outcomes}
    cluster.close()
    expected = {
        "ConfigMap/kubeflow/c-new": ("create", "wrote"),
        "ConfigMap/kubeflow/c-same": ("unchanged", "no write"),
        "ConfigMap/kubeflow/c-drift": ("update", "wrote"),
        "ConfigMap/kubeflow/c-conflict": ("refuse", "failed"),
        "RoleBinding/kubeflow/rb": ("update", "wrote"),
        "CustomResourceDefinition/widgets.example.com": ("update", "wrote"),
        "ConfigMap/kubeflow/c-other": ("refuse", "failed"),
    }
    for ref, (diff_says, apply_does) in expected.items():
        assert (said[ref], did[ref]) == (diff_says, apply_does), ref
    messages = {e.obj: e.message for e in events if e.kind == ev.APPLIED}
    assert messages["RoleBinding/kubeflow/rb"].startswith("replaced")
    assert messages["CustomResourceDefinition/widgets.example.com"].startswith("taken back")


@pytest.mark.parametrize("live_owner, released, adopt, expected", [
    (None, None, False, Action.NEEDS_ADOPT),
    (None, SET, False, Action.TAKE_BACK),
    ("applyset-other", None, False, Action.NEEDS_ADOPT),
    ("applyset-other", None, True, Action.ADOPT),
    (None, None, True, Action.ADOPT),
])
def test_ownership_cases(live_owner, released, adopt, expected):
    manifest = cm("x", a="1")
    live = {**manifest, "metadata": {**manifest["metadata"], "labels": {PART_OF: live_owner} if live_owner else {}}}
    if released:
        live["metadata"]["annotations"] = {RELEASED_FROM: released}
    assert decide(label_member(manifest, set_id=SET, digest="d"), live, set_id=SET, adopt=adopt).action is expected


def test_own_objects_absent_unchanged_drifted_changed():
    desired = label_member(cm("x", a="1"), set_id=SET, digest="d1")
    assert decide(desired, None, set_id=SET).action is Action.CREATE
    assert decide(desired, desired, set_id=SET).action is Action.SKIP
    drifted = {**desired, "data": {"a": "2"}}
    decision = decide(desired, drifted, set_id=SET)
    assert decision.action is Action.CHECK_DRIFT and decision.force and "data.a" in decision.reason
    changed = label_member(cm("x", a="3"), set_id=SET, digest="d2")
    assert decide(changed, desired, set_id=SET).action is Action.PATCH
    assert decide(changed, desired, set_id=SET, force_conflicts=True).force


def Refusal(status: int, message: str) -> ApiError:
    return ApiError(message, status=status)


def test_refusals_turn_into_replace_or_conflict():
    live = label_member(binding("view"), set_id=SET, digest="d1")
    patch = decide(label_member(binding("edit"), set_id=SET, digest="d2"), live, set_id=SET)
    immutable = Refusal(422, "cannot change roleRef")
    then = after_refusal(patch, immutable, live, group="rbac.authorization.k8s.io", kind="RoleBinding", set_id=SET)
    assert then is not None and then.action is Action.REPLACE
    theirs = label_member(binding("view"), set_id="applyset-other", digest="d1")
    assert after_refusal(patch, immutable, theirs, group="rbac.authorization.k8s.io", kind="RoleBinding", set_id=SET) is None
    assert after_refusal(patch, Refusal(422, "field is immutable"), live, group="", kind="PersistentVolumeClaim",
                         set_id=SET) is None  # never replaced: holds data
    conflict = after_refusal(patch, Refusal(409, "Apply failed with 1 conflict"), live, group="", kind="ConfigMap", set_id=SET)
    assert conflict is not None and conflict.action is Action.CONFLICT
    assert after_refusal(patch, Refusal(403, "forbidden"), live, group="", kind="ConfigMap", set_id=SET) is None
