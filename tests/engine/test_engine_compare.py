"""Containment of desired manifests in live objects."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kfctl.engine.compare import first_difference, manifest_hash, quantity, same_object


@pytest.mark.parametrize(("text", "value"), [("500m", Decimal("0.5")), ("1Gi", Decimal(2**30)), ("2", Decimal(2)), ("1e3", Decimal(1000)), (1, Decimal(1))])
def test_quantity(text, value):
    assert quantity(text) == value


def test_quantity_rejects_non_quantities():
    assert quantity("abc") is None and quantity(True) is None and quantity("1Zi") is None


def test_server_defaults_and_normalised_quantities_are_contained():
    desired = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x", "labels": {"a": "1"}},
               "spec": {"template": {"spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "0.5", "memory": "1024Mi"}}}]}}}}
    live = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "labels": {"a": "1", "b": "2"}, "resourceVersion": "7", "uid": "u"},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c", "imagePullPolicy": "Always",
                     "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]}}}}
    assert first_difference(desired, live) is None


def test_drift_is_named_by_path():
    desired = {"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "image": "a:1"}]}}}}
    assert first_difference(desired, {"spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "c", "image": "a:1"}]}}}}) == ".spec.replicas"
    assert first_difference(desired, {"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "image": "a:2"}]}}}}) == ".spec.template.spec.containers[0].image"
    assert first_difference({"metadata": {"labels": {"x": "1"}}}, {"metadata": {"labels": {}}}) == ".metadata.labels.x"
    assert first_difference({"data": {"k": "1"}}, {"data": {"k": 1}}) == ".data.k"


def test_hash_and_same_object():
    assert manifest_hash({"a": 1, "b": [1, 2]}) == manifest_hash({"b": [1, 2], "a": 1})
    assert manifest_hash({"a": 1}) != manifest_hash({"a": 2})
    a = {"metadata": {"name": "x", "resourceVersion": "1", "managedFields": [{"manager": "kfctl", "time": "t1"}]}}
    b = {"metadata": {"name": "x", "resourceVersion": "2", "managedFields": [{"manager": "kfctl", "time": "t2"}]}}
    assert same_object(a, b)
    assert not same_object(a, {"metadata": {"name": "y"}})


def test_secret_string_data_compares_as_stored_data():
    desired = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "pw"}}
    live = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "cHc="}, "type": "Opaque"}
    assert first_difference(desired, live) is None
    live["data"]["password"] = "b3RoZXI="
    assert first_difference(desired, live) == ".data.password"


def test_injected_ca_bundles_are_left_to_the_injector():
    from kfctl.engine.desired import desired_manifest

    hook = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": "h", "annotations": {"cert-manager.io/inject-ca-from": "ns/cert"}},
            "webhooks": [{"name": "a.b.c", "clientConfig": {"caBundle": "Cg==", "service": {"name": "s", "namespace": "ns"}}}]}
    out = desired_manifest(hook, set_id="id")
    assert "caBundle" not in out["webhooks"][0]["clientConfig"]
    assert hook["webhooks"][0]["clientConfig"]["caBundle"] == "Cg=="  # the rendered object is not touched
    plain = dict(hook, metadata={"name": "h"})
    assert desired_manifest(plain, set_id="id")["webhooks"][0]["clientConfig"]["caBundle"] == "Cg=="


def test_rules_of_an_aggregated_cluster_role_are_left_to_the_aggregation_controller():
    from kfctl.engine.desired import desired_manifest

    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "kubeflow-edit"},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"aggregate-to-kubeflow-edit": "true"}}]},
            "rules": []}
    assert "rules" not in desired_manifest(role, set_id="id")
    assert role["rules"] == []  # the rendered object is not touched
    plain = {key: value for key, value in role.items() if key != "aggregationRule"}
    assert desired_manifest(plain, set_id="id")["rules"] == []
