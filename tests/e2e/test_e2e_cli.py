"""The command line against both tiers: diff exit codes, a field-manager conflict, too few permissions.

Each scenario runs on the sim and on the real control plane (``kube`` fixture) with the same
assertions. The RBAC one makes its limited identity each tier's way: a ServiceAccount token on the
real control plane, a shaped user (``users:`` of a cluster shape) on the sim.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfctl.cli.main import cli

from kfctl.deploy import load_deployment

from e2e_support import WRITE_VERBS, owned, write_kfdef

KUBECTL = Path(sys.executable).parent / "kubectl"
ENFORCE = "pod-security.kubernetes.io/enforce"


def kfctl(cluster, *args: str, kubeconfig: str | None = None):
    return CliRunner().invoke(cli, ["--kubeconfig", kubeconfig or cluster.kubeconfig_path, *args])


def set_enforce(kfdef: Path, level: str) -> None:
    marker = "  - name: kubeflow-core\n"
    text = kfdef.read_text()
    assert marker in text
    kfdef.write_text(text.replace(marker, f"{marker}    parameters:\n    - {{name: podSecurityEnforce, value: {level}}}\n", 1))


def writes(cluster) -> list[dict]:
    return [e for e in cluster.timeline() if e["verb"] in WRITE_VERBS and not e.get("dry_run")]


def test_diff_exit_codes_before_and_after_apply_and_after_a_parameter_change(tmp_path, kube):
    cluster = kube()
    kfdef = write_kfdef(tmp_path / "kf", components="kubeflow-core")
    before = kfctl(cluster, "diff", "-f", str(kfdef), "-q")
    assert before.exit_code == 3, before.output
    assert "create   Namespace/kubeflow [kubeflow-core]" in before.output
    assert writes(cluster) == []  # diff changes nothing
    assert kfctl(cluster, "apply", "-f", str(kfdef), "-o", "plain").exit_code == 0
    same = kfctl(cluster, "diff", "-f", str(kfdef))
    assert same.exit_code == 0, same.output
    assert "no changes (7 unchanged)" in same.output
    mark = len(writes(cluster))
    set_enforce(kfdef, "baseline")  # 26.03's kubeflow namespace enforces restricted, as upstream's does
    changed = kfctl(cluster, "diff", "-f", str(kfdef))
    assert changed.exit_code == 3, changed.output
    assert "update   Namespace/kubeflow [kubeflow-core]" in changed.output
    assert f"-    {ENFORCE}: restricted" in changed.output and f"+    {ENFORCE}: baseline" in changed.output
    assert len(writes(cluster)) == mark


def test_a_field_another_manager_owns_is_a_conflict_until_forced(tmp_path, kube):
    cluster = kube()
    kfdef = write_kfdef(tmp_path / "kf", components="kubeflow-core")
    assert kfctl(cluster, "apply", "-f", str(kfdef), "-o", "plain").exit_code == 0
    # alice takes the label over (forced), then the KfDef changes it: kfctl must not silently take it back
    taken = subprocess.run([str(KUBECTL), "--kubeconfig", cluster.kubeconfig_path, "apply", "--server-side",
                            "--field-manager=alice", "--force-conflicts", "-f", "-"],
                           input=f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kubeflow\n  labels:\n"
                                 f"    {ENFORCE}: privileged\n", capture_output=True, text=True, timeout=60)
    assert taken.returncode == 0, taken.stderr
    set_enforce(kfdef, "baseline")  # a change of the KfDef (26.03's default is restricted)
    refused = kfctl(cluster, "apply", "-f", str(kfdef), "-o", "plain", "--timeout", "60")
    assert refused.exit_code == 1, refused.output
    assert "Namespace/kubeflow" in refused.output and 'conflict with "alice"' in refused.output
    assert "--force-conflicts" in refused.output
    forced = kfctl(cluster, "apply", "-f", str(kfdef), "-o", "plain", "--force-conflicts")
    assert forced.exit_code == 0, forced.output
    path = ENFORCE.replace(".", "\\.")
    namespace = subprocess.run([str(KUBECTL), "--kubeconfig", cluster.kubeconfig_path, "get", "namespace", "kubeflow",
                                "-o", f"jsonpath={{.metadata.labels.{path}}}"],
                               capture_output=True, text=True, timeout=60)
    assert namespace.stdout == "baseline"


LEGACY_KFDEF = """\
# kfctl 1.2's format (kfctl_k8s_istio.v1.2.0.yaml's application names, no repoRefs, a 1.x version)
apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata:
  name: legacy
  namespace: kubeflow
spec:
  applications:
  - name: namespaces
  - name: application
  - name: cert-manager-crds
  - name: cert-manager-kube-system-resources
  - name: cert-manager
  - name: katib-crds
  - name: katib-controller
  - name: spartakus
  version: v1.2-branch
"""


def test_a_kfctl_1x_kfdef_installs_its_components_then_reapplies_and_deletes(tmp_path, kube):
    """kfctl 1.x application names land on this project's components; the install converges and reverses."""
    cluster = kube()
    kfdef = tmp_path / "kfctl_k8s_istio.yaml"
    kfdef.write_text(LEGACY_KFDEF)
    applied = kfctl(cluster, "apply", "-f", str(kfdef), "-o", "plain")
    assert applied.exit_code == 0, applied.output
    assert "'v1.2-branch' is a kfctl 1.x-era version" in applied.output  # deploys 1.10, and says so
    deployment = load_deployment(kfdef)
    assert {c.name for c in deployment.selection.components} == {"cert-manager", "kubeflow-core", "katib"}
    assert set(owned(cluster, deployment)) == set(deployment.plan.nodes)
    def object_writes() -> list[dict]:  # apply's access review is a create, but no object of the cluster changes
        return [e for e in writes(cluster) if not e["resource"].endswith("reviews")]

    mark = len(object_writes())
    same = kfctl(cluster, "diff", "-f", str(kfdef))
    assert same.exit_code == 0, same.output
    again = kfctl(cluster, "apply", "-f", str(kfdef), "-o", "plain")
    assert again.exit_code == 0, again.output
    assert len(object_writes()) == mark  # a re-apply of the same 1.x KfDef writes nothing
    gone = kfctl(cluster, "delete", "-f", str(kfdef), "--yes", "-o", "plain")
    assert gone.exit_code == 0, gone.output
    assert owned(cluster, deployment) == {}


#: what the deployer may do: read everything, write only a few namespaced kinds (no ClusterRoles, no CRDs)
DEPLOYER_RULES = [
    {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["namespaces", "configmaps", "serviceaccounts", "services"],
     "verbs": ["create", "patch", "update", "delete"]},
]


def limited_on_real(tmp_path, real_factory):
    """The real control plane and a kubeconfig of ServiceAccount default/deployer bound to DEPLOYER_RULES."""
    cluster = real_factory()
    api = cluster.api
    api.create("v1", "serviceaccounts", "default", {"metadata": {"name": "deployer"}}, "test")
    api.create("rbac.authorization.k8s.io/v1", "clusterroles", None,
               {"metadata": {"name": "deployer"}, "rules": DEPLOYER_RULES}, "test")
    api.create("rbac.authorization.k8s.io/v1", "clusterrolebindings", None, {
        "metadata": {"name": "deployer"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "deployer"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "default"}]}, "test")
    token = api.request("POST", "/api/v1/namespaces/default/serviceaccounts/deployer/token",
                        body={"spec": {"expirationSeconds": 3600}})["status"]["token"]
    limited = cluster.kubeconfig_for_token(token, tmp_path / "deployer.kubeconfig")
    return cluster, ["--kubeconfig", str(limited)], "system:serviceaccount:default:deployer"


def limited_on_sim(sim_factory):
    """The sim shaped with user deployer (its own token and context) bound to DEPLOYER_RULES."""
    shape = {"apiVersion": "kfctl.sim/v1", "kind": "ClusterShape",
             "users": [{"name": "deployer", "token": "deployer-token", "rules": DEPLOYER_RULES}]}
    cluster = sim_factory(profile="realistic", behaviour=True, time_scale=0.01, shape=shape)
    return cluster, ["--kubeconfig", cluster.kubeconfig_path, "--context", "kfctl-sim-deployer"], "deployer"


@pytest.mark.parametrize("tier", ["sim", pytest.param("real", marks=pytest.mark.realcluster)])
def test_a_token_bound_to_a_limited_role_is_refused_before_anything_changes(tier, tmp_path, sim_factory,
                                                                           real_factory):
    cluster, options, user = (limited_on_sim(sim_factory) if tier == "sim"
                              else limited_on_real(tmp_path, real_factory))
    kfdef = write_kfdef(tmp_path / "kf", components="kubeflow-core")
    mark = len(writes(cluster))
    refused = CliRunner().invoke(cli, [*options, "apply", "-f", str(kfdef), "-o", "plain"])
    assert refused.exit_code == 2, refused.output
    assert "patch clusterroles.rbac.authorization.k8s.io" in refused.output
    assert user in refused.output
    reviews = ("selfsubjectaccessreviews", "selfsubjectreviews", "selfsubjectrulesreviews")  # questions, not changes
    assert [e for e in writes(cluster)[mark:] if e["resource"] not in reviews] == []  # nothing was changed
