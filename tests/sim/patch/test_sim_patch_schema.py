"""The built-in type table: generated from the real OpenAPI schema, and the public interface."""

from __future__ import annotations

import json
from pathlib import Path

import kfctl.sim.patch as patch
from kfctl.sim.patch import _generate, builtin_kinds, canonical_fields_v1, field_paths
from kfctl.sim.patch._schema import root_node


def test_shipped_table_equals_what_the_generator_makes_from_kubernetes_validate():
    shipped = Path(_generate.OUTPUT).read_text()
    assert shipped == _generate.render(_generate.build(_generate.load_upstream()))


def test_table_covers_the_kinds_the_sim_serves():
    wanted = {"v1/Pod", "v1/Service", "v1/ConfigMap", "v1/Secret", "v1/ServiceAccount", "v1/Namespace",
              "v1/PersistentVolumeClaim", "v1/PersistentVolume", "v1/Node", "v1/Endpoints", "v1/Event",
              "v1/ResourceQuota", "v1/LimitRange", "apps/v1/Deployment", "apps/v1/StatefulSet",
              "apps/v1/DaemonSet", "apps/v1/ReplicaSet", "apps/v1/ControllerRevision", "batch/v1/Job",
              "batch/v1/CronJob", "rbac.authorization.k8s.io/v1/Role", "rbac.authorization.k8s.io/v1/ClusterRole",
              "rbac.authorization.k8s.io/v1/RoleBinding", "rbac.authorization.k8s.io/v1/ClusterRoleBinding",
              "apiextensions.k8s.io/v1/CustomResourceDefinition",
              "admissionregistration.k8s.io/v1/MutatingWebhookConfiguration",
              "admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration", "networking.k8s.io/v1/Ingress",
              "networking.k8s.io/v1/IngressClass", "networking.k8s.io/v1/NetworkPolicy",
              "policy/v1/PodDisruptionBudget", "storage.k8s.io/v1/StorageClass",
              "scheduling.k8s.io/v1/PriorityClass", "autoscaling/v2/HorizontalPodAutoscaler",
              "discovery.k8s.io/v1/EndpointSlice", "coordination.k8s.io/v1/Lease",
              "apiregistration.k8s.io/v1/APIService"}
    assert wanted <= builtin_kinds()


def test_list_semantics_come_from_the_annotations():
    pod_spec = root_node("v1", "Pod").field("spec")
    containers = pod_spec.field("containers")
    assert (containers.list_type, containers.keys, containers.merge_key) == ("map", ("name",), "name")
    ports = containers.elem().field("ports")
    assert ports.keys == ("containerPort", "protocol") and ports.merge_key == "containerPort"
    assert pod_spec.field("tolerations").list_type == "atomic"
    assert pod_spec.field("volumes").patch_strategies() == ("merge", "retainKeys")
    role = root_node("rbac.authorization.k8s.io/v1", "ClusterRole")
    assert role.field("rules").list_type == "atomic"
    hooks = root_node("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration").field("webhooks")
    assert hooks.keys == ("name",)
    selector = root_node("apps/v1", "Deployment").field("spec").field("selector")
    assert selector.atomic


def test_public_names():
    assert sorted(patch.__all__) == sorted(
        ["STATUS_SUBRESOURCE_KINDS", "ApplyConflictError", "Conflict", "PatchError", "builtin_kinds",
         "canonical_fields_v1", "field_paths", "has_status_subresource", "json_patch", "merge_patch", "normalize",
         "server_side_apply", "strategic_merge_patch", "update_managed_fields"])
    for name in patch.__all__:
        assert hasattr(patch, name)


def test_fields_v1_helpers_spell_paths_and_order_like_the_server():
    raw = json.loads('{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\\"name\\":\\"app\\"}":'
                     '{"f:name":{},".":{},"f:image":{}}}}},"f:replicas":{}},"f:metadata":{"f:finalizers":'
                     '{"v:\\"x\\"":{}}}}')
    assert field_paths(raw) == ['.metadata.finalizers[="x"]', ".spec.replicas",
                                '.spec.template.spec.containers[name="app"]',
                                '.spec.template.spec.containers[name="app"].image',
                                '.spec.template.spec.containers[name="app"].name']
    canon = canonical_fields_v1(raw)
    assert list(canon) == ["f:metadata", "f:spec"]
    assert list(canon["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']) == [
        ".", "f:image", "f:name"]


def test_fields_v1_orders_fields_then_keys_then_values_with_values_by_type():
    raw = {'v:"b"': {}, "v:true": {}, "v:2": {}, 'k:{"name":"x"}': {}, "f:z": {}, "v:10": {}, 'v:"a"': {}}
    assert list(canonical_fields_v1(raw)) == ["f:z", 'k:{"name":"x"}', "v:2", "v:10", 'v:"a"', 'v:"b"', "v:true"]
