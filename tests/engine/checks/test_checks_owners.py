"""The "already there" check: objects of the plan owned by Helm, OLM, another kfctl deployment or another tool."""

from __future__ import annotations

from checks_helpers import plan_of

from kfctl.engine.checks.model import Facts
from kfctl.engine.checks.owners import check_owners, owner
from kfctl.engine.inventory import PART_OF, applyset_id

FACTS = Facts("app", "kubeflow")
MINE = applyset_id("app", "kubeflow")


def service_account(name: str, namespace: str = "cert-manager", labels=None, annotations=None, refs=None) -> dict:
    meta: dict = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    if refs:
        meta["ownerReferences"] = refs
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}


HELM = {"labels": {"app.kubernetes.io/managed-by": "Helm"},
        "annotations": {"meta.helm.sh/release-name": "cert-manager", "meta.helm.sh/release-namespace": "cert-manager"}}


def test_helm_installed_objects_fail_with_what_apply_would_do_and_the_alternative(sim_cluster):
    from kfctl.cluster import connect

    cluster = connect(sim_cluster.kubeconfig_path, None)
    try:
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cert-manager"}})
        for name in ("cert-manager", "cert-manager-webhook"):
            cluster.apply(service_account(name, **HELM))
        plan = plan_of(service_account("cert-manager"), service_account("cert-manager-webhook"),
                       service_account("cainjector"), component="cert-manager")
        [finding] = check_owners(cluster, plan, FACTS)
        assert finding.status == "fail"
        assert finding.message == ("2 objects of cert-manager already exist, owned by Helm release cert-manager "
                                   "(namespace cert-manager): apply refuses them (they exist and are not this "
                                   "deployment's)")
        assert finding.fix.startswith("remove the other installation of cert-manager first")  # not providable here
        [named] = check_owners(cluster, plan, Facts("app", "kubeflow", providable={"cert-manager": "SPELLING"}))
        assert named.fix.startswith("use the cluster's own cert-manager: SPELLING (README: Existing components)")
        assert finding.details == ("ServiceAccount/cert-manager/cert-manager",
                                   "ServiceAccount/cert-manager/cert-manager-webhook")
        [adopting] = check_owners(cluster, plan, Facts("app", "kubeflow", adopt=True))
        assert adopting.status == "warn" and "apply --adopt takes them over from Helm release" in adopting.message
    finally:
        cluster.close()


def test_this_deployments_own_objects_pass(sim_cluster):
    from kfctl.cluster import connect

    cluster = connect(sim_cluster.kubeconfig_path, None)
    try:
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cert-manager"}})
        cluster.apply(service_account("cert-manager", labels={PART_OF: MINE}))
        [finding] = check_owners(cluster, plan_of(service_account("cert-manager")), FACTS)
        assert finding.status == "pass" and "1 already belong to this deployment" in finding.message
    finally:
        cluster.close()


def test_owners_are_told_apart():
    assert owner(service_account("a", labels={PART_OF: MINE}), MINE) is None
    assert owner(service_account("a", **HELM), MINE)[0] == "helm"
    csv = [{"apiVersion": "operators.coreos.com/v1alpha1", "kind": "ClusterServiceVersion", "name": "istio.v1",
            "uid": "1"}]
    assert owner(service_account("a", refs=csv), MINE) == ("olm", "OLM (ClusterServiceVersion istio.v1)")
    assert owner(service_account("a", labels={"olm.owner": "istio.v1"}), MINE)[0] == "olm"
    assert owner(service_account("a", labels={PART_OF: "applyset-other-v1"}), MINE) == (
        "kfctl", "another kfctl deployment (applyset applyset-other-v1)")
    by_hand = service_account("a")
    by_hand["metadata"]["managedFields"] = [{"manager": "kubectl-client-side-apply"}, {"manager": "kube-controller-manager"}]
    assert owner(by_hand, MINE) == ("manager", "field manager kubectl-client-side-apply")
    assert owner(service_account("a"), MINE)[0] == "unknown"
