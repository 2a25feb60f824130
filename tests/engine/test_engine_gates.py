"""Readiness gates, alone: webhook endpoints, and progress deadlines that are stale or only slow."""

from __future__ import annotations

import time

from kfctl.engine import gates
from kfctl.engine.gates import ENDPOINT_POLL, ENDPOINT_SETTLE, DeadlineGate, WebhookGate
from kfctl.plan import ObjectRef

HOOKS = ObjectRef("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", "", "hooks")


class Slices:
    def __init__(self) -> None:
        self.ready: dict[str, bool] = {}
        self.calls = 0

    def list(self, api_version, kind, *, namespace=None, label_selector=None, field_selector=None):
        self.calls += 1
        name = label_selector.split("=", 1)[1]
        if name not in self.ready:
            return [], "1"
        return [{"endpoints": [{"conditions": {"ready": self.ready[name]}}]}], "1"


def config(*services: str, policy: str = "Fail", kind: str = "ValidatingWebhookConfiguration") -> dict:
    return {"kind": kind, "webhooks": [{"name": f"{s}.example.com", "failurePolicy": policy,
                                        "clientConfig": {"service": {"namespace": "ns", "name": s}}} for s in services]}


def test_a_webhook_waits_for_a_ready_endpoint_of_every_service_it_calls():
    slices = Slices()
    gate = WebhookGate(slices)
    assert gate.check(HOOKS, config("a", "b")) == "waiting for ready endpoints of service ns/a"
    assert HOOKS in gate.waiting
    slices.ready["a"] = True
    slices.ready["b"] = False
    gate.workload_healthy()  # what makes endpoints worth listing again
    assert gate.check(HOOKS, config("a", "b")) == "waiting for the API server to see the ready endpoints of service ns/a"
    time.sleep(ENDPOINT_SETTLE)
    assert gate.check(HOOKS, config("a", "b")) == "waiting for ready endpoints of service ns/b"
    slices.ready["b"] = True
    gate.workload_healthy()
    # b was seen without an endpoint: its first ready one is given time to reach the API server's view
    assert gate.check(HOOKS, config("a", "b")) == "waiting for the API server to see the ready endpoints of service ns/b"
    time.sleep(ENDPOINT_SETTLE)
    assert gate.check(HOOKS, config("a", "b")) is None and not gate.waiting
    assert gate.unreachable(config("down", policy="Ignore")) is None  # not called when down
    assert gate.unreachable(config("down", policy="Ignore", kind="MutatingWebhookConfiguration")) is not None


def test_checks_between_looks_share_one_list_per_service_until_a_look_or_a_healthy_workload():
    slices = Slices()
    gate = WebhookGate(slices)
    others = [ObjectRef(HOOKS.group, HOOKS.kind, "", f"hooks-{i}") for i in range(7)]  # KServe: seven, one Service
    for ref in others:
        gate.check(ref, config("a"))  # as each is written, and again as its watch event arrives
        gate.check(ref, config("a"))
    assert slices.calls == 1
    with gate.look(0.0) as due:
        assert sorted(due) == sorted(others)
        for ref in due:
            gate.check(ref, config("a"))
    assert slices.calls == 2
    slices.ready["a"] = True
    gate.check(others[0], config("a"))
    assert slices.calls == 2 and gate.waiting  # not yet looked at again
    gate.workload_healthy()
    assert gate.check(others[0], config("a")).startswith("waiting for the API server") and slices.calls == 3
    time.sleep(ENDPOINT_SETTLE)
    assert gate.check(others[0], config("a")) is None and slices.calls == 3  # settled: the same list


def test_a_first_ready_endpoint_settles_before_the_webhook_is_called_and_the_look_comes_soon(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(gates.time, "monotonic", lambda: clock[0])
    slices = Slices()
    gate = WebhookGate(slices)
    assert gate.check(HOOKS, config("a")) == "waiting for ready endpoints of service ns/a"
    with gate.look(clock[0]):
        pass
    with gate.look(clock[0] + ENDPOINT_POLL[0]):  # the interval is now twice the first
        pass
    slices.ready["a"] = True
    gate.workload_healthy()
    assert gate.check(HOOKS, config("a")).startswith("waiting for the API server")
    with gate.look(clock[0] + ENDPOINT_SETTLE / 2) as due:
        assert due == [HOOKS]  # looks at once after a healthy workload
        assert gate.check(HOOKS, config("a")).startswith("waiting for the API server")
    clock[0] += ENDPOINT_SETTLE
    with gate.look(clock[0]) as due:  # the next look comes when the settling ends, not after the back-off
        assert due == [HOOKS]
        assert gate.check(HOOKS, config("a")) is None
    # a Service that was ready at the first look needs no settling
    other = WebhookGate(slices)
    assert other.check(HOOKS, config("a")) is None


def test_looks_back_off_and_share_one_list_per_service():
    slices = Slices()
    gate = WebhookGate(slices)
    gate.check(HOOKS, config("a", "a", "a"))
    with gate.look(0.0) as due:
        assert due == [HOOKS]
        before = slices.calls
        gate.unreachable(config("a", "a", "a"))
        assert slices.calls == before + 1
    with gate.look(ENDPOINT_POLL[0] / 2) as due:
        assert due == []  # not yet
    with gate.look(ENDPOINT_POLL[0]) as due:
        assert due == [HOOKS]
    with gate.look(ENDPOINT_POLL[0] + ENDPOINT_POLL[0]) as due:
        assert due == []  # the interval doubled
    gate.workload_healthy()
    with gate.look(ENDPOINT_POLL[0] + ENDPOINT_POLL[0]) as due:
        assert due == [HOOKS]


def deployment(transition: str) -> dict:
    return {"status": {"conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                       "lastTransitionTime": transition, "lastUpdateTime": transition}]}}


WEB = ObjectRef("apps", "Deployment", "ns", "web")
STALLED = "rollout stalled: ProgressDeadlineExceeded"


def test_a_deadline_is_stale_only_if_found_at_the_first_look_at_an_object_that_existed():
    gate = DeadlineGate(lambda ref: "", recheck=15)
    gate.preexisting.add(WEB)
    gate.first_look(WEB, deployment("t1"), STALLED)
    assert gate.stale(WEB, deployment("t1"), STALLED)
    gate.first_look(WEB, deployment("t2"), STALLED)  # only the first look counts
    assert not gate.stale(WEB, deployment("t2"), STALLED)  # exceeded anew during this run
    created = ObjectRef("apps", "Deployment", "ns", "new")
    gate.first_look(created, deployment("t1"), STALLED)
    assert not gate.stale(created, deployment("t1"), STALLED)


def test_slow_not_stuck_asks_the_pods_once_per_recheck():
    asked: list[ObjectRef] = []
    gate = DeadlineGate(lambda ref: asked.append(ref) or "pod web-1 is still waiting for its images", recheck=3600)
    assert gate.slow_not_stuck(WEB, STALLED).startswith("pod web-1")
    assert gate.slow_not_stuck(WEB, STALLED).startswith("pod web-1")
    assert asked == [WEB]
    assert gate.slow_not_stuck(WEB, "0 of 1 replicas available") == ""
