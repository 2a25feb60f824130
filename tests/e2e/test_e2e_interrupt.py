"""SIGKILL at random points of apply and of delete, then run the command again: it must finish cleanly.

On the sim at 20 random points each; on the real control plane (``-m realcluster``) each at three.

The kill point is drawn per seed as a number of output events, below the number
a whole run prints, so kills land anywhere from the first write to the last
health check; each test asserts that the kill happened.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys

import pytest

from kfctl.cluster import connect
from kfctl.deploy import load_deployment
from kfctl.engine.inventory import parent_name
from kfctl.engine.inventory import read_inventory

from e2e_support import apply, delete, owned, write_kfdef

COMPONENTS = "kubeflow-core,cert-manager,katib"
SEEDS = range(20)


def run_and_kill(args: list[str], kill_after_events: int) -> int:
    """Run kfctl in a subprocess with JSON output and SIGKILL it after that many events.

    Asserts that the kill happened: kfctl had not finished (no closing summary
    among the events it printed) and it ended by SIGKILL, not by exiting.
    """
    proc = subprocess.Popen([sys.executable, "-m", "kfctl", *args, "-o", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seen: list[dict] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(json.loads(line))
        if len(seen) >= kill_after_events:
            proc.send_signal(signal.SIGKILL)
            break
    returncode = proc.wait(timeout=120)
    finished = [e for e in seen if e.get("kind") == "summary" and (e.get("data") or {}).get("phase") == "end"]
    assert not finished, f"kfctl finished after {len(seen)} events, before the kill point {kill_after_events}"
    assert returncode == -signal.SIGKILL, f"kfctl was not killed: it exited {returncode} after {len(seen)} events"
    return len(seen)


@pytest.mark.parametrize("seed", SEEDS)
def test_apply_killed_at_a_random_point_then_applied_again_converges(seed, tmp_path, kube_sim):
    rng = random.Random(seed)
    sim = kube_sim()
    kfdef = write_kfdef(tmp_path / "kf", components=COMPONENTS)
    # a first apply prints at least an "applied" and a "healthy" event per object before its closing summary
    objects = len(load_deployment(kfdef).plan.nodes)
    run_and_kill(["--kubeconfig", sim.kubeconfig_path, "apply", "-f", str(kfdef)], rng.randint(1, 2 * objects))
    deployment, result = apply(sim, kfdef)
    assert result.ok, result.problems[:5]
    assert set(owned(sim, deployment)) == set(deployment.plan.nodes)  # nothing missing, nothing orphaned
    cluster = connect(sim.kubeconfig_path, None)
    inventory = read_inventory(cluster, deployment.name, deployment.namespace)
    assert {m.ref for m in inventory.members} == set(deployment.plan.nodes)


def delete_killed_then_deleted_again(cluster_under_test, tmp_path, kill_point) -> None:
    """Apply, add a user's objects, kill ``kfctl delete`` at ``kill_point(objects)`` events, delete again: clean."""
    sim = cluster_under_test
    kfdef = write_kfdef(tmp_path / "kf", components=COMPONENTS)
    deployment, result = apply(sim, kfdef)
    assert result.ok
    cluster = connect(sim.kubeconfig_path, None)
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "alice"}})
    cluster.apply({"apiVersion": "kubeflow.org/v1beta1", "kind": "Experiment",
                   "metadata": {"name": "mine", "namespace": "alice"}, "spec": {}})
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "by-hand", "namespace": "kubeflow"}})
    # delete prints an event per object (deleted or kept) before its closing summary
    run_and_kill(["--kubeconfig", sim.kubeconfig_path, "delete", "--name", deployment.name, "--yes"],
                 kill_point(len(deployment.plan.nodes)))
    finished = delete(sim, deployment.name)
    assert finished.ok, finished.stuck
    assert owned(sim, deployment) == {}
    assert cluster.get("v1", "ConfigMap", "kubeflow", parent_name(deployment.name)) is None
    assert cluster.get("v1", "ConfigMap", "kubeflow", "by-hand") is not None
    assert cluster.get("kubeflow.org/v1beta1", "Experiment", "alice", "mine") is not None


@pytest.mark.parametrize("seed", SEEDS)
def test_delete_killed_at_a_random_point_then_deleted_again_is_clean(seed, tmp_path, kube_sim):
    rng = random.Random(1000 + seed)
    delete_killed_then_deleted_again(kube_sim(), tmp_path, lambda objects: rng.randint(1, objects))


@pytest.mark.realcluster
@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.9])
def test_delete_killed_on_the_real_control_plane_then_deleted_again_is_clean(fraction, tmp_path, real_factory):
    """The same as above at a few kill points (first webhooks, mid-way, among the last namespaces), on the real tier."""
    delete_killed_then_deleted_again(real_factory(), tmp_path, lambda objects: max(1, int(fraction * objects)))


@pytest.mark.realcluster
@pytest.mark.parametrize("kill_after", [3, 40, 150])
def test_apply_killed_on_the_real_control_plane_then_applied_again_converges(kill_after, tmp_path, real_factory):
    """The same as above at a few kill points (early, during writes, during health checks), on the real tier."""
    real = real_factory()
    kfdef = write_kfdef(tmp_path / "kf", components=COMPONENTS)
    run_and_kill(["--kubeconfig", real.kubeconfig_path, "apply", "-f", str(kfdef)], kill_after)
    deployment, result = apply(real, kfdef)
    assert result.ok, result.problems[:5]
    assert set(owned(real, deployment)) == set(deployment.plan.nodes)  # nothing missing, nothing orphaned
    cluster = connect(real.kubeconfig_path, None)
    inventory = read_inventory(cluster, deployment.name, deployment.namespace)
    assert {m.ref for m in inventory.members} == set(deployment.plan.nodes)
