"""kfctl.deploy: a KfDef file to a planned deployment (the offline pipeline plus the plan), nothing sent anywhere."""

from __future__ import annotations

from kfctl.cli.main import cli
from kfctl.deploy import load_deployment
from kfctl.plan import ObjectRef


def init(runner, folder, *args):
    assert runner.invoke(cli, ["init", str(folder), *args]).exit_code == 0
    return folder / "kfdef.yaml"


def test_status_digest_rules_and_sizes(runner, tmp_path):
    kfdef = init(runner, tmp_path / "site", "--components", "katib", "--version", "1.10")
    deployment = load_deployment(kfdef)
    assert deployment.name == "site" and deployment.namespace == "kubeflow"
    status = deployment.status()
    assert status["release"] == "1.10" and status["platform"] == "generic"
    assert status["components"]["katib"] == "v0.18.0" and "cert-manager" in status["components"]
    assert "renderDigest" in status and status["renderDigest"] == deployment.kfdef_digest
    # component.yaml's readiness override reaches the engine: katib's MySQL may take 15 minutes
    rule, timeout = deployment.rules(ObjectRef("apps", "Deployment", "kubeflow", "katib-mysql"))
    assert timeout == 900
    assert deployment.rules(ObjectRef("", "ConfigMap", "kubeflow", "nothing")) == (None, None)
    sizes = deployment.component_sizes()
    assert sum(sizes.values()) == len(deployment.plan) and sizes["katib"] > 10
    # katib requires cert-manager: its custom resources wait for cert-manager's workloads
    assert any(e.dependency.kind == "Deployment" and e.dependency.namespace == "cert-manager"
               for e in deployment.plan.edges if e.dependent.kind == "Certificate"
               and e.dependent.namespace == "kubeflow")


def test_the_digest_changes_with_the_rendering_only(runner, tmp_path):
    kfdef = init(runner, tmp_path / "site", "--components", "kubeflow-core")
    first = load_deployment(kfdef).kfdef_digest
    kfdef.write_text(kfdef.read_text() + "\n# a comment changes nothing that is applied\n")
    assert load_deployment(kfdef).kfdef_digest == first
    kfdef.write_text(kfdef.read_text().replace("  - name: kubeflow-core\n", "  - name: kubeflow-core\n    parameters:\n"
                                               "    - {name: podSecurityEnforce, value: baseline}\n", 1))
    assert load_deployment(kfdef).kfdef_digest != first
