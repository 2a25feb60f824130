"""Scheduling, alone: dependencies met by health or by application, and the longest chain first."""

from __future__ import annotations

from kfctl.engine.schedule import Schedule, expected_seconds, start_priority
from kfctl.plan import ObjectRef, build_plan


def cm(name: str, **annotations: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns", "annotations": annotations}}


def ref(name: str) -> ObjectRef:
    return ObjectRef("", "ConfigMap", "ns", name)


def after(*names: str) -> dict[str, str]:
    return {"config.kubernetes.io/depends-on": ",".join(f"/namespaces/ns/ConfigMap/{n}" for n in names)}


def test_an_object_starts_once_every_dependency_is_healthy():
    plan = build_plan([("c", cm("a")), ("c", cm("b")), ("c", cm("c", **after("a", "b")))])
    schedule = Schedule(plan)
    assert sorted(r.name for r in schedule.newly_ready()) == ["a", "b"]
    schedule.met(ref("a"), healthy=False)  # applied only: not enough for an ordinary edge
    schedule.met(ref("a"), healthy=True)
    assert schedule.newly_ready() == []
    schedule.met(ref("b"), healthy=True)
    schedule.met(ref("b"), healthy=True)  # told twice: released once
    assert schedule.newly_ready() == [ref("c")]


def test_held_objects_come_back_and_the_queue_drains():
    plan = build_plan([("c", cm("a")), ("c", cm("b"))])
    schedule = Schedule(plan)
    first = schedule.newly_ready()
    schedule.hold(first[1:])
    assert schedule.holding and schedule.newly_ready() == first[1:] and not schedule.holding
    for r in first:
        schedule.enqueue(r)
    assert schedule.queued and sorted(schedule.drain()) == sorted(first) and not schedule.queued


def test_the_longest_chain_goes_first_ties_in_render_order():
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"},
                  "spec": {"selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": {"containers": [{"name": "c", "image": "x"}]}}}}
    deployment["metadata"]["annotations"] = after("head")
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "ns"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    plan = build_plan([("c", cm("x1")), ("c", cm("x2")), ("c", cm("head")), ("c", deployment), ("c", service)])
    priority = start_priority(plan)
    assert priority[ref("head")] > priority[ref("x1")] == priority[ref("x2")]
    assert priority[ObjectRef("", "Service", "ns", "web")] == priority[ObjectRef("apps", "Deployment", "ns", "web")]
    assert expected_seconds(ObjectRef("apps", "Deployment", "ns", "web")) > expected_seconds(ref("x1"))
    schedule = Schedule(plan)
    for r in schedule.newly_ready():
        schedule.enqueue(r)
    order = [schedule.next() for _ in range(4)]
    assert order[0] == ref("head") or order[0].kind == "Service"
    assert order.index(ref("x1")) < order.index(ref("x2"))
