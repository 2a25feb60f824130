"""Error translation and connection failures of the cluster client (no server needed)."""

from __future__ import annotations

import json
import socket

import pytest
from kubernetes.client.exceptions import ApiException

from kfctl.cluster import ApplyConflict, ClusterUnreachable, KindNotServed, NotFound, connect
from kfctl.cluster.errors import translate
from kfctl.errors import ClusterConfigError


def api_exc(status: int, reason: str, message: str, headers=None, details=None) -> ApiException:
    exc = ApiException(status=status, reason=reason)
    exc.body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                           "message": message, "code": status, "details": details or {}})
    exc.headers = headers or {}
    return exc


def test_apply_conflict_is_permanent_with_hint():
    err = translate(api_exc(409, "Conflict", 'Apply failed with 1 conflict: conflict with "helm" using apps/v1: .spec.replicas'),
                    obj="Deployment/kubeflow/x")
    assert isinstance(err, ApplyConflict)
    assert not err.transient
    assert 'conflict with "helm"' in str(err) and "--force-conflicts" in err.hint


def test_throttling_honours_retry_after():
    err = translate(api_exc(429, "TooManyRequests", "slow down", headers={"Retry-After": "3"}))
    assert err.transient and err.retry_after == 3.0


def test_webhook_unreachable_is_transient():
    msg = ('Internal error occurred: failed calling webhook "webhook.cert-manager.io": failed to call webhook: '
           'Post "https://cert-manager-webhook.cert-manager.svc:443/validate?timeout=30s": dial tcp 10.96.0.1:443: connect: connection refused')
    err = translate(api_exc(500, "InternalError", msg))
    assert err.transient and err.status == 500


def test_unknown_kind_and_missing_object():
    assert isinstance(translate(api_exc(404, "NotFound", "the server could not find the requested resource"), obj="Foo/x"), KindNotServed)
    missing = translate(api_exc(404, "NotFound", 'deployments.apps "x" not found'), obj="Deployment/ns/x")
    assert isinstance(missing, NotFound) and not missing.transient


def test_invalid_and_forbidden_are_permanent():
    assert not translate(api_exc(422, "Invalid", "bad")).transient
    forbidden = translate(api_exc(403, "Forbidden", 'deployments.apps "x" is forbidden: User "bob" cannot delete '
                                                    'resource "deployments" in API group "apps" in the namespace "k"'))
    assert not forbidden.transient and "permission" in forbidden.hint
    terminating = translate(api_exc(403, "Forbidden", "unable to create new content in namespace x because it is being terminated"))
    assert terminating.transient


def test_no_kubeconfig_says_how_to_point_at_a_cluster(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ClusterConfigError) as err:
        connect(None, None)
    assert "no cluster configured" in str(err.value)
    assert "kfctl sim serve" in err.value.hint
    assert err.value.exit_code == 2


def test_missing_context_lists_known_ones(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text("""
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]
users: [{name: u, user: {}}]
contexts: [{name: sim, context: {cluster: c, user: u}}]
current-context: sim
""")
    with pytest.raises(ClusterConfigError) as err:
        connect(str(path), "nope")
    assert "contexts in" in err.value.hint and "sim" in err.value.hint


def test_unreachable_server_is_input_error(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = tmp_path / "kubeconfig"
    path.write_text(f"""
apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "http://127.0.0.1:{port}"}}}}]
users: [{{name: u, user: {{}}}}]
contexts: [{{name: sim, context: {{cluster: c, user: u}}}}]
current-context: sim
""")
    with pytest.raises(ClusterUnreachable) as err:
        connect(str(path), None)
    assert f"127.0.0.1:{port}" in str(err.value) and err.value.exit_code == 2


def test_forbidden_without_rbac_denial_does_not_blame_credentials():
    """Deleting kube-system is refused for everyone: the hint must not send the user after credentials."""
    protected = translate(api_exc(403, "Forbidden", 'namespaces "kube-system" is forbidden: this namespace may not '
                                                    'be deleted'), obj="Namespace/kube-system")
    assert "credentials" not in protected.hint and "permission" not in protected.hint
    assert "protects this object from every user" in protected.hint
    policy = translate(api_exc(403, "Forbidden", 'pods "p" is forbidden: violates PodSecurity "restricted:latest"'))
    assert "credentials" not in policy.hint.split("other credentials")[0]


def test_a_non_status_body_is_reduced_to_its_gist():
    exc = ApiException(status=502, reason="Bad Gateway")
    exc.body = "<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 4000 + "</body></html>"
    exc.headers = {}
    err = translate(exc, obj="Deployment/ns/x")
    assert err.api_message == "HTTP 502 Bad Gateway: 502 Bad Gateway" and err.transient


def test_tls_failure_is_permanent_and_has_no_traceback():
    exc = ApiException(status=0, reason="SSLError\n[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                        "certificate has expired (_ssl.c:1006)\nOriginal traceback: File x")
    err = translate(exc, obj="discovery")
    assert not err.transient and "certificate has expired" in str(err) and "traceback" not in str(err).lower()
