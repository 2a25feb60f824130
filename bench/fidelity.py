"""Differential fidelity report: every scenario of kfctl/realcluster/scenarios.py on the sim and the real API server.

Besides the edge cases, the scenario ``kfctl-apply`` is kfctl's own traffic: the objects it
renders for ``REPLAYED``, server-side applied in its plan's order, then applied again.
Starts a bare sim (the API machinery, as the sim's own tests use it) and a real
control plane (``scripts/build-controlplane`` first), runs each scenario on both,
and prints a table (scenario, requests, verdict: same / documented / differs) and
the figures: requests compared, differences found, documented (explained by
``kfctl/realcluster/fidelity-allowances.yaml``) and unexplained.

Run: ``.venv/bin/python bench/fidelity.py [-k NAME ...] [--diff]`` (``--diff`` prints
every difference with the allowance explaining it, if any). Exit 1 on any
unexplained difference.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from kfctl.realcluster import RealCluster
from kfctl.realcluster.fidelity import explain, load_allowances, real_client, report, run, sim_client
from kfctl.realcluster.scenarios import SCENARIOS, replay
from kfctl.sim.testing import start_sim

#: the components whose rendered objects the ``kfctl-apply`` scenario applies (no webhook intercepts them)
REPLAYED = "training-operator,volumes-web-app"


def kfctl_objects(folder: Path, components: str = REPLAYED) -> list[dict]:
    """kfctl's rendered objects of ``components`` (kubeflow-core joins), in the order of its plan's waves."""
    from click.testing import CliRunner

    from kfctl.cli.main import cli
    from kfctl.deploy import load_deployment
    from kfctl.engine.desired import desired_manifest

    result = CliRunner().invoke(cli, ["init", str(folder / "kf"), "--components", components])
    assert result.exit_code == 0, result.output
    plan = load_deployment(folder / "kf" / "kfdef.yaml").plan
    # what kfctl sends: the desired manifest (controller-owned fields left out, ownership labels added)
    return [json.loads(json.dumps(desired_manifest(plan.nodes[ref].manifest, set_id="fidelity"), default=dict))
            for wave in plan.waves() for ref in wave]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", action="append", help="only this scenario (repeatable)")
    parser.add_argument("--diff", action="store_true", help="print every difference")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scenarios = {**SCENARIOS, "kfctl-apply": replay(kfctl_objects(Path(tmp)))}
    started = time.monotonic()
    sim = start_sim()
    with RealCluster() as real:
        up = time.monotonic() - started
        s, r = sim_client(sim.url), real_client(real.url, *real.admin_credentials())
        try:
            outcomes = run(scenarios, s, r, only=args.k)
        finally:
            s.close()
            r.close()
            sim.stop()
    allowances = load_allowances()
    table, figures = report(outcomes, allowances)
    print(table)
    if args.diff:
        for o in outcomes:
            documented, unexplained = explain(list(o.differences), allowances)
            for d in unexplained:
                print(f"UNEXPLAINED {d}")
            for d, a in documented:
                print(f"documented  {d}\n    ({a.reason})")
    used = {id(a) for o in outcomes for _, a in explain(list(o.differences), allowances)[0]}
    figures["allowances"] = len(allowances)
    figures["allowances_unused"] = sum(1 for a in allowances if id(a) not in used)
    figures["seconds_sim"] = round(sum(o.seconds[0] for o in outcomes), 1)
    figures["seconds_real"] = round(sum(o.seconds[1] for o in outcomes), 1)
    figures["seconds_start"] = round(up, 1)
    figures["seconds_total"] = round(time.monotonic() - started, 1)
    print(json.dumps(figures))
    return 1 if figures["differences_unexplained"] else 0


if __name__ == "__main__":
    sys.exit(main())
