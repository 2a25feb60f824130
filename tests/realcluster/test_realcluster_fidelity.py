"""Differential fidelity: each scenario answers the same on the sim and the real API server, or differs as documented.

The real-tier test runs every scenario of ``kfctl/realcluster/scenarios.py`` on a
bare sim and on the real control plane, and fails on any difference that
``kfctl/realcluster/fidelity-allowances.yaml`` does not explain, and on any
allowance that explains nothing. The others check the comparison itself on the
sim alone (fast, no binaries).
"""

from __future__ import annotations

import json

import httpx
import pytest
from click.testing import CliRunner

from kfctl.cli.main import cli
from kfctl.deploy import load_deployment
from kfctl.engine.desired import desired_manifest

from kfctl.realcluster.fidelity import (ALLOWANCES, Allowance, Difference, Record, Session, compare, explain,
                                        load_allowances, real_client, report, run, sim_client)
from kfctl.realcluster.scenarios import SCENARIOS, replay

#: kfctl's own traffic: these components' rendered objects (no webhook intercepts them), as bench/fidelity.py does
REPLAYED = "training-operator,volumes-web-app"


def kfctl_objects(tmp_path) -> list[dict]:
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "kf"), "--components", REPLAYED])
    assert result.exit_code == 0, result.output
    plan = load_deployment(tmp_path / "kf" / "kfdef.yaml").plan
    # what kfctl sends: the desired manifest (controller-owned fields left out, ownership labels added)
    return [json.loads(json.dumps(desired_manifest(plan.nodes[ref].manifest, set_id="fidelity"), default=dict))
            for wave in plan.waves() for ref in wave]


def session() -> Session:
    return Session(httpx.Client(base_url="http://127.0.0.1:1"), "test")


def test_normalising_keeps_resource_version_behaviour_and_hides_values():
    s = session()
    a = s.normalise({"metadata": {"name": "x", "resourceVersion": "812", "uid": "0b8e2a8e-1d22-4c6f-9d9e-2f1d5c3b7a10",
                                  "creationTimestamp": "2026-12-06T05:00:00Z"}})
    b = s.normalise({"metadata": {"name": "x", "resourceVersion": "812"}})
    c = s.normalise({"metadata": {"name": "x", "resourceVersion": "900"}})
    assert a["metadata"] == {"name": "x", "resourceVersion": "<rv1>", "uid": "<uid1>", "creationTimestamp": "<time>"}
    assert b["metadata"]["resourceVersion"] == "<rv1>" and c["metadata"]["resourceVersion"] == "<rv2>"
    # a uid inside a message or a fieldsV1 key is the same token as the uid it repeats
    assert s.normalise({"message": "UID in object meta: 0b8e2a8e-1d22-4c6f-9d9e-2f1d5c3b7a10"}) == {
        "message": "UID in object meta: <uid1>"}
    # a list's own resourceVersion is only "present": other writers move it on a real cluster
    assert s.normalise({"kind": "ConfigMapList", "metadata": {"resourceVersion": "5"}, "items": []})["metadata"] == {
        "resourceVersion": "<rv>"}


def test_managed_fields_are_compared_in_a_stable_order():
    s = session()
    entries = [{"manager": "b", "operation": "Apply", "time": "t1"}, {"manager": "a", "operation": "Update",
                                                                      "time": "t2"}]
    out = s.normalise({"metadata": {"managedFields": entries}})["metadata"]["managedFields"]
    assert [e["manager"] for e in out] == ["a", "b"] and {e["time"] for e in out} == {"<time>"}


def test_compare_finds_code_body_warning_and_step_differences():
    sim = [Record("get", 200, {"data": {"x": "1"}}), Record("put", 409, {"reason": "Conflict"}, ("w",)),
           Record("extra", 200, {})]
    real = [Record("get", 200, {"data": {"x": "2"}, "more": 1}), Record("put", 422, {"reason": "Conflict"})]
    found = {(d.step, d.path): (d.sim, d.real) for d in compare("s", sim, real)}
    assert found == {("01-get", "body.data.x"): ("1", "2"), ("01-get", "body.more"): ("<missing>", 1),
                     ("02-put", "code"): (409, 422), ("02-put", "warnings"): (["w"], []),
                     ("extra", "(step)"): ("extra", None)}


def test_allowances_match_scenario_and_path_patterns():
    d = Difference("propagation-foreground", "03-delete-owner", "body.metadata.finalizers", None, ["x"])
    allow = [Allowance("propagation-*", "*-delete-owner:body.metadata.finalizers", "why")]
    assert explain([d], allow) == ([(d, allow[0])], [])
    assert explain([d], [Allowance("other", "*", "why")]) == ([], [d])


def test_every_allowance_has_a_reason():
    allowances = load_allowances()
    assert all(a.reason.strip() and a.scenario and a.path for a in allowances), ALLOWANCES
    # a short tag for the report, and the bullet of kfctl/sim/README.md that documents it
    assert [a.reason for a in allowances if ": " not in a.reason or "README" not in a.reason] == []
    assert len({(a.scenario, a.path) for a in allowances}) == len(allowances)


def test_two_sims_answer_every_scenario_identically(sim_factory, tmp_path):
    """The normalisation is complete: two servers of the same code show no difference (uids, times, RVs hidden)."""
    a, b = sim_factory(), sim_factory()
    picked = ["ssa-conflict-and-force", "propagation-orphan", "delete-answers", "dry-run", "kfctl-apply"]
    scenarios = {**SCENARIOS, "kfctl-apply": replay(kfctl_objects(tmp_path))}
    outcomes = run(scenarios, sim_client(a.url), sim_client(b.url), only=picked)
    assert sorted(o.scenario for o in outcomes) == sorted(picked)
    assert [str(d) for o in outcomes for d in o.differences] == []
    assert all(o.requests >= 5 for o in outcomes)


@pytest.mark.realcluster
def test_every_scenario_is_identical_on_the_real_api_server_or_a_documented_difference(
        sim_factory, real_factory, tmp_path):
    scenarios = {**SCENARIOS, "kfctl-apply": replay(kfctl_objects(tmp_path))}
    sim, real = sim_factory(), real_factory()
    s, r = sim_client(sim.url), real_client(real.url, *real.admin_credentials())
    try:
        outcomes = run(scenarios, s, r)
    finally:
        s.close()
        r.close()
    allowances = load_allowances()
    table, figures = report(outcomes, allowances)
    print(table, figures)
    unexplained = [str(d) for o in outcomes for d in explain(list(o.differences), allowances)[1]]
    assert unexplained == [], "\n".join(unexplained)
    used = {(a.scenario, a.path) for o in outcomes for _, a in explain(list(o.differences), allowances)[0]}
    assert [a for a in allowances if (a.scenario, a.path) not in used] == []  # no allowance explains nothing
    assert figures["scenarios"] == len(scenarios) and figures["requests"] > 250
