"""Strategic merge patch with the built-in kinds' patch strategies and the directives."""

from __future__ import annotations

import copy

import pytest

from kfctl.sim.patch import PatchError, strategic_merge_patch


def pod(containers=None, **spec) -> dict:
    containers = containers or [{"name": "app", "image": "nginx", "env": [{"name": "A", "value": "1"}]},
                                {"name": "proxy", "image": "envoy"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": ["x"]},
            "spec": {"containers": containers, **spec}}


def smp(target, patch, group="", version="v1", kind="Pod"):
    return strategic_merge_patch(target, patch, group=group, version=version, kind=kind)


def names(obj):
    return [c["name"] for c in obj["spec"]["containers"]]


def test_containers_merge_by_name():
    out = smp(pod(), {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}})
    assert out["spec"]["containers"][0] == {"name": "app", "image": "nginx:2", "env": [{"name": "A", "value": "1"}]}
    assert names(out) == ["app", "proxy"]


def test_patch_delete_removes_the_item_by_merge_key():
    out = smp(pod(), {"spec": {"containers": [{"name": "proxy", "$patch": "delete"}]}})
    assert names(out) == ["app"]


def test_env_merges_by_name_inside_a_merged_container():
    out = smp(pod(), {"spec": {"containers": [{"name": "app", "env": [{"name": "A", "value": "2"}]}]}})
    assert out["spec"]["containers"][0]["env"] == [{"name": "A", "value": "2"}]


def test_new_items_come_first_without_an_order_directive():
    out = smp(pod(), {"spec": {"containers": [{"name": "new", "image": "busybox"}]}})
    assert names(out) == ["new", "app", "proxy"]


def test_set_element_order_decides_the_order():
    patch = {"spec": {"$setElementOrder/containers": [{"name": "app"}, {"name": "proxy"}, {"name": "new"}],
                      "containers": [{"name": "new", "image": "busybox"}]}}
    assert names(smp(pod(), patch)) == ["app", "proxy", "new"]


def test_patch_replace_in_a_list_replaces_it():
    out = smp(pod(), {"spec": {"containers": [{"name": "only", "image": "x"}, {"$patch": "replace"}]}})
    assert out["spec"]["containers"] == [{"name": "only", "image": "x"}]


def test_patch_replace_on_a_map_replaces_it():
    target = pod(nodeSelector={"a": "1", "b": "2"})
    out = smp(target, {"spec": {"nodeSelector": {"c": "3", "$patch": "replace"}}})
    assert out["spec"]["nodeSelector"] == {"c": "3"}


def test_null_deletes_a_key():
    out = smp(pod(hostname="h"), {"spec": {"hostname": None}, "metadata": {"labels": {"gone": None}}})
    assert "hostname" not in out["spec"]
    # like apimachinery: the new map keeps no nulls (typed decoding later drops the empty map)
    assert out["metadata"] == {"name": "p", "finalizers": ["x"], "labels": {}}


def test_finalizers_merge_as_a_set_and_delete_from_primitive_list():
    merged = smp(pod(), {"metadata": {"finalizers": ["x", "y"]}})
    assert sorted(merged["metadata"]["finalizers"]) == ["x", "y"]
    out = smp(merged, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"]}})
    assert out["metadata"]["finalizers"] == ["y"]


def test_atomic_tolerations_are_replaced():
    target = pod(tolerations=[{"key": "a", "operator": "Exists"}])
    out = smp(target, {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}})
    assert out["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]


def test_retain_keys_clears_fields_not_listed():
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
    out = smp(dep, {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
              group="apps", kind="Deployment")
    assert out["spec"]["strategy"] == {"type": "Recreate"}


def test_retain_keys_must_list_every_patched_field():
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"strategy": {}}}
    with pytest.raises(PatchError) as caught:
        smp(dep, {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}},
            group="apps", kind="Deployment")
    assert caught.value.code == 400 and caught.value.message == "invalid patch format of retainKeys"


def test_service_ports_merge_by_port():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}
    out = smp(svc, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}, kind="Service")
    assert out["spec"]["ports"] == [{"port": 80, "targetPort": 9090}, {"port": 443}]


def test_unknown_kinds_merge_maps_and_replace_lists():
    cr = {"apiVersion": "x.io/v1", "kind": "Thing", "metadata": {"name": "t"},
          "spec": {"items": [{"name": "a"}], "m": {"a": 1}}}
    out = smp(cr, {"spec": {"items": [{"name": "b"}], "m": {"b": 2}}}, group="x.io", kind="Thing")
    assert out["spec"] == {"items": [{"name": "b"}], "m": {"a": 1, "b": 2}}


def test_item_without_the_merge_key_is_rejected():
    with pytest.raises(PatchError) as caught:
        smp(pod(), {"spec": {"containers": [{"image": "x"}]}})
    assert caught.value.code == 422
    assert caught.value.message == "map: map[image:x] does not contain declared merge key: name"


def test_unknown_directive_is_rejected():
    with pytest.raises(PatchError) as caught:
        smp(pod(), {"spec": {"containers": [{"name": "app", "$patch": "explode"}]}})
    assert caught.value.message.startswith("unknown patch type: explode in map:")


def test_directives_never_reach_the_stored_object_and_inputs_stay_unchanged():
    target = pod()
    frozen = copy.deepcopy(target)
    patch = {"spec": {"initContainers": [{"name": "init", "image": "x", "$patch": "merge"}], "dnsConfig":
                      {"$patch": "replace", "nameservers": ["1.1.1.1"]}}}
    out = smp(target, patch)
    assert "initContainers" in out["spec"] and all("$patch" not in c for c in out["spec"]["initContainers"])
    assert out["spec"]["dnsConfig"] == {"nameservers": ["1.1.1.1"]}
    assert target == frozen


def test_set_element_order_must_cover_the_patch_items_in_order():
    patch = {"spec": {"$setElementOrder/containers": [{"name": "app"}, {"name": "proxy"}],
                      "containers": [{"name": "proxy", "image": "a"}, {"name": "app", "image": "b"}]}}
    with pytest.raises(PatchError) as caught:
        smp(pod(), patch)
    assert caught.value.message.startswith("The order in patch list:")
