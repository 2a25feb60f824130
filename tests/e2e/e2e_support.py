"""End-to-end helpers: real bundles, the real engine, a simulated cluster with its controllers."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from kfctl.cli.main import cli
from kfctl.cluster import connect
from kfctl.deploy import Deployment, load_deployment
from kfctl.engine.apply import ApplyEngine, ApplyOptions, ApplyResult
from kfctl.engine.delete import DeleteEngine, DeleteOptions, DeleteResult
from kfctl.engine.retry import Retrying
from kfctl.engine.observe import list_owned

WRITE_VERBS = ("create", "update", "patch", "apply", "delete", "deletecollection")


def write_kfdef(folder: Path, *, platform: str = "generic", components: str | None = None,
                version: str | None = None) -> Path:
    args = ["init", str(folder), "--platform", platform]
    if components:
        args += ["--components", components]
    if version:
        args += ["--version", version]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return folder / "kfdef.yaml"


def apply(sim, kfdef: Path, *, skip_invalid: bool = False, **options) -> tuple[Deployment, ApplyResult]:
    deployment = load_deployment(kfdef, skip_invalid=skip_invalid)
    cluster = connect(sim.kubeconfig_path, None)
    try:
        engine = ApplyEngine(cluster, deployment.plan, deployment=deployment.name, namespace=deployment.namespace,
                             options=ApplyOptions(**{"timeout": 120, "object_timeout": 60, **options}),
                             rules=deployment.rules,
                             status={**deployment.status(), "cluster": Retrying(cluster).identity()})
        return deployment, engine.run()
    finally:
        cluster.close()


def delete(sim, name: str, namespace: str = "kubeflow", **options) -> DeleteResult:
    cluster = connect(sim.kubeconfig_path, None)
    try:
        engine = DeleteEngine(cluster, deployment=name, namespace=namespace,
                              options=DeleteOptions(**{"timeout": 60, **options}))
        return engine.run(engine.plan(engine.inventory()))
    finally:
        cluster.close()


def owned(sim, deployment: Deployment) -> dict:
    """Every live object labelled as a member of the deployment, over the kinds it renders."""
    cluster = connect(sim.kubeconfig_path, None)
    try:
        kinds = {(str(n.manifest["apiVersion"]), n.ref.kind) for n in deployment.plan.nodes.values()}
        return list_owned(cluster, deployment.name, deployment.namespace, kinds)
    finally:
        cluster.close()


def refused_writes(sim) -> list[dict]:
    """Writes the server refused for a kind it did not serve yet (404) or an unreachable webhook (5xx)."""
    return [e for e in sim.timeline() if e["verb"] in WRITE_VERBS and not e.get("dry_run")
            and (e["code"] == 404 and e["verb"] != "delete" or e["code"] >= 500)]


