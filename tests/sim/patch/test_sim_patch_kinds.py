"""Server-side apply across the built-in kinds kfctl installs: keys and atomic lists per kind."""

from __future__ import annotations

import pytest

from kfctl.sim.patch import ApplyConflictError, server_side_apply


def ssa(live, config, manager, api_version="v1", force=False):
    return server_side_apply(live, config, manager=manager, force=force, api_version=api_version, now="T")


def fields(obj, manager):
    return next(e["fieldsV1"] for e in obj["metadata"]["managedFields"] if e["manager"] == manager)


def test_service_ports_are_keyed_by_port_and_protocol():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 53, "protocol": "UDP"}]}}
    out = ssa(None, svc, "kfctl")
    assert set(fields(out, "kfctl")["f:spec"]["f:ports"]) == {'k:{"port":80,"protocol":"TCP"}',
                                                             'k:{"port":53,"protocol":"UDP"}'}


def test_rbac_rules_are_atomic():
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}
    live = ssa(None, role, "kfctl", "rbac.authorization.k8s.io/v1")
    assert fields(live, "kfctl") == {"f:rules": {}}
    changed = {**role, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]}
    with pytest.raises(ApplyConflictError) as caught:
        ssa(live, changed, "aggregator", "rbac.authorization.k8s.io/v1")
    assert [c.field for c in caught.value.conflicts] == [".rules"]


def test_webhooks_are_keyed_by_name():
    hook = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "w"},
            "webhooks": [{"name": "a.example.com", "clientConfig": {"caBundle": ""}, "sideEffects": "None",
                          "admissionReviewVersions": ["v1"]}]}
    live = ssa(None, hook, "kfctl", "admissionregistration.k8s.io/v1")
    # cert-manager's cainjector fills caBundle: a different manager, a different value -> it must force
    inject = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
              "metadata": {"name": "w"}, "webhooks": [{"name": "a.example.com", "clientConfig": {"caBundle": "Q0E="}}]}
    out = ssa(live, inject, "cainjector", "admissionregistration.k8s.io/v1", force=True)
    assert out["webhooks"][0]["clientConfig"]["caBundle"] == "Q0E="
    assert out["webhooks"][0]["sideEffects"] == "None"
    assert fields(out, "cainjector") == {"f:webhooks": {'k:{"name":"a.example.com"}': {
        ".": {}, "f:clientConfig": {"f:caBundle": {}}, "f:name": {}}}}


def test_configmap_data_keys_are_owned_one_by_one():
    live = ssa(None, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}, "kfctl")
    out = ssa(live, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"b": "2"}}, "user")
    assert out["data"] == {"a": "1", "b": "2"}
    assert fields(out, "user") == {"f:data": {"f:b": {}}}


def test_owner_references_are_keyed_by_uid():
    obj = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "c", "ownerReferences": [{"apiVersion": "v1", "kind": "Secret", "name": "s",
                                                           "uid": "u-1"}]}}
    out = ssa(None, obj, "kfctl")
    assert list(fields(out, "kfctl")["f:metadata"]["f:ownerReferences"]) == ['k:{"uid":"u-1"}']
