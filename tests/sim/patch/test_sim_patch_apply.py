"""Server-side apply: the cases kfctl meets against kube-apiserver."""

from __future__ import annotations

import copy

import pytest

from kfctl.sim.patch import ApplyConflictError, Conflict, PatchError, server_side_apply, update_managed_fields


def deployment(image: str = "nginx:1.27", replicas: int | None = 2, env: dict[str, str] | None = None) -> dict:
    container = {"name": "app", "image": image, "ports": [{"containerPort": 80}]}
    if env is None:
        env = {"A": "1", "B": "2"}
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    spec = {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "kf", "labels": {"app": "web"}}, "spec": spec}


def apply(live, applied, manager="kfctl", force=False, now="2026-01-01T00:00:00Z", **kw):
    return server_side_apply(live, applied, manager=manager, force=force, api_version="apps/v1", now=now, **kw)


def entries(obj: dict) -> dict[str, dict]:
    return {f"{e['manager']}/{e['operation']}": e for e in obj["metadata"]["managedFields"]}


def test_create_records_fields_in_the_apiserver_encoding():
    obj = apply(None, deployment(env={"A": "1"}))
    (entry,) = obj["metadata"]["managedFields"]
    assert {k: v for k, v in entry.items() if k != "fieldsV1"} == {
        "apiVersion": "apps/v1", "fieldsType": "FieldsV1", "manager": "kfctl", "operation": "Apply",
        "time": "2026-01-01T00:00:00Z"}
    assert entry["fieldsV1"] == {
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:containers": {'k:{"name":"app"}': {
                    ".": {}, "f:env": {'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}},
                    "f:image": {}, "f:name": {},
                    "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}},
                }}},
            },
        },
    }
    assert list(entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}'])[0] == "."
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"


def test_reapply_is_a_no_op_equal_to_live_including_managed_fields():
    live = apply(None, deployment())
    again = apply(live, deployment(), now="2026-02-02T00:00:00Z")
    assert again == live
    assert entries(again)["kfctl/Apply"]["time"] == "2026-01-01T00:00:00Z"


def test_inputs_are_not_mutated():
    config = deployment()
    frozen = copy.deepcopy(config)
    live = apply(None, config)
    live_frozen = copy.deepcopy(live)
    apply(live, deployment(image="nginx:2"))
    assert config == frozen and live == live_frozen


def test_changing_the_image_keeps_ownership_and_bumps_time():
    live = apply(None, deployment())
    changed = apply(live, deployment(image="nginx:1.28"), now="2026-03-03T00:00:00Z")
    assert changed["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    entry = entries(changed)["kfctl/Apply"]
    assert entry["fieldsV1"] == entries(live)["kfctl/Apply"]["fieldsV1"]
    assert entry["time"] == "2026-03-03T00:00:00Z"


def test_env_var_dropped_from_the_config_is_removed():
    live = apply(None, deployment(env={"A": "1", "B": "2"}))
    out = apply(live, deployment(env={"A": "1"}))
    assert out["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]
    env_fields = entries(out)["kfctl/Apply"]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"][
        'k:{"name":"app"}']["f:env"]
    assert list(env_fields) == ['k:{"name":"A"}']


def test_field_dropped_from_config_stays_when_another_manager_owns_it():
    live = apply(None, deployment())
    shared = apply(live, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                          "spec": {"replicas": 2}}, manager="hpa")
    out = apply(shared, deployment(replicas=None))
    assert out["spec"]["replicas"] == 2
    assert "f:replicas" not in entries(out)["kfctl/Apply"]["fieldsV1"]["f:spec"]
    assert entries(out)["hpa/Apply"]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}


def test_whole_subtree_dropped_from_config_is_removed():
    config = deployment()
    config["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}
    live = apply(None, config)
    out = apply(live, deployment())
    assert "strategy" not in out["spec"]


def test_client_side_apply_manager_conflicts_on_replicas_with_the_real_message():
    live = apply(None, deployment())
    edited = copy.deepcopy(live)
    edited["spec"]["replicas"] = 5
    edited["metadata"]["managedFields"] = update_managed_fields(
        live, edited, manager="kubectl-client-side-apply", api_version="apps/v1", now="2026-01-02T00:00:00Z")
    with pytest.raises(ApplyConflictError) as caught:
        apply(edited, deployment())
    err = caught.value
    assert str(err) == ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: '
                        ".spec.replicas")
    assert err.conflicts == [Conflict(manager="kubectl-client-side-apply", field=".spec.replicas",
                                      operation="Update", api_version="apps/v1")]
    assert err.conflicts[0].who == '"kubectl-client-side-apply" using apps/v1'
    assert err.status()["code"] == 409 and err.status()["reason"] == "Conflict"
    assert err.status()["details"]["causes"][0] == {
        "reason": "FieldManagerConflict", "message": 'conflict with "kubectl-client-side-apply" using apps/v1',
        "field": ".spec.replicas"}


def test_conflicts_with_an_applier_name_it_without_version_and_list_several():
    live = apply(None, deployment())
    with pytest.raises(ApplyConflictError) as caught:
        apply(live, deployment(image="busybox", replicas=3), manager="other")
    assert str(caught.value) == (
        'Apply failed with 2 conflicts: conflicts with "kfctl":\n- .spec.replicas\n'
        '- .spec.template.spec.containers[name="app"].image')


def test_force_transfers_ownership():
    live = apply(None, deployment())
    out = apply(live, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                       "spec": {"replicas": 7}}, manager="scaler", force=True)
    assert out["spec"]["replicas"] == 7
    assert "f:replicas" not in entries(out)["kfctl/Apply"]["fieldsV1"]["f:spec"]
    assert entries(out)["scaler/Apply"]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}


def test_equal_value_becomes_shared_ownership_without_conflict():
    live = apply(None, deployment())
    out = apply(live, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                       "spec": {"replicas": 2}}, manager="other")
    assert entries(out)["other/Apply"]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" in entries(out)["kfctl/Apply"]["fieldsV1"]["f:spec"]
    assert out["spec"] == live["spec"]


def test_labels_from_two_appliers_merge():
    live = apply(None, deployment())
    out = apply(live, {"apiVersion": "apps/v1", "kind": "Deployment",
                       "metadata": {"name": "web", "labels": {"team": "ml"}}}, manager="other")
    assert out["metadata"]["labels"] == {"app": "web", "team": "ml"}
    assert entries(out)["other/Apply"]["fieldsV1"] == {"f:metadata": {"f:labels": {"f:team": {}}}}


def test_live_only_list_items_keep_their_place():
    live = apply(None, deployment(env={"A": "1"}))
    other = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
             "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "envoy"}]}}}}
    both = apply(live, other, manager="injector")
    names = [c["name"] for c in both["spec"]["template"]["spec"]["containers"]]
    assert names == ["app", "sidecar"]
    again = apply(both, deployment(image="nginx:2", env={"A": "1"}))
    assert [c["name"] for c in again["spec"]["template"]["spec"]["containers"]] == ["app", "sidecar"]


def test_status_of_a_subresource_kind_is_neither_applied_nor_owned():
    config = deployment()
    config["status"] = {"replicas": 9}
    live = apply(None, deployment())
    live["status"] = {"replicas": 1}
    out = apply(live, config)
    assert out["status"] == {"replicas": 1}
    assert "f:status" not in entries(out)["kfctl/Apply"]["fieldsV1"]


def test_status_subresource_apply_owns_only_status():
    live = apply(None, deployment())
    out = apply(live, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                       "spec": {"replicas": 9}, "status": {"readyReplicas": 2}},
                manager="controller", subresource="status")
    assert out["spec"]["replicas"] == 2 and out["status"] == {"readyReplicas": 2}
    (entry,) = [e for e in out["metadata"]["managedFields"] if e["manager"] == "controller"]
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {"f:readyReplicas": {}}}


def test_managed_fields_in_the_applied_config_are_rejected():
    config = deployment()
    config["metadata"]["managedFields"] = [{"manager": "x"}]
    with pytest.raises(PatchError) as caught:
        apply(None, config)
    assert caught.value.code == 400 and caught.value.message == "metadata.managedFields must be nil"


def test_duplicate_list_keys_in_the_config_are_rejected():
    config = deployment()
    containers = config["spec"]["template"]["spec"]["containers"]
    containers.append(dict(containers[0]))
    with pytest.raises(PatchError) as caught:
        apply(apply(None, deployment()), config)
    assert 'duplicate entries for key [name="app"]' in caught.value.message


def test_list_item_without_its_key_is_rejected():
    config = deployment()
    del config["spec"]["template"]["spec"]["containers"][0]["name"]
    with pytest.raises(PatchError) as caught:
        apply(None, config)
    assert caught.value.code == 400
    assert "omits all key fields [\"name\"]" in caught.value.message and "apps/v1, Kind=Deployment" in caught.value.message


def test_untracked_live_object_gets_a_before_first_apply_owner():
    live = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "uid": "u1"},
            "data": {"a": "1", "b": "2"}}
    out = server_side_apply(live, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                                   "data": {"a": "1"}}, manager="kfctl", force=False, api_version="v1", now="T")
    assert out["data"] == {"a": "1", "b": "2"}
    owners = {e["manager"]: e for e in out["metadata"]["managedFields"]}
    assert owners["before-first-apply"]["operation"] == "Update"
    assert owners["before-first-apply"]["fieldsV1"]["f:data"] == {".": {}, "f:a": {}, "f:b": {}}
    assert owners["kfctl"]["fieldsV1"] == {"f:data": {"f:a": {}}}


def test_empty_config_leaves_no_apply_entry():
    out = server_side_apply(None, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
                            manager="kfctl", force=False, api_version="v1", now="T")
    assert "managedFields" not in out["metadata"]


def test_null_in_config_deletes_the_field():
    live = apply(None, deployment())
    config = deployment()
    config["spec"]["replicas"] = None
    out = apply(live, config)
    assert "replicas" not in out["spec"]


def test_map_emptied_by_removal_disappears():
    live = apply(None, deployment())
    config = deployment()
    del config["metadata"]["labels"]
    out = apply(live, config)
    assert "labels" not in out["metadata"]
    assert "f:metadata" not in entries(out)["kfctl/Apply"]["fieldsV1"]


def test_struct_applied_empty_survives_pruning_of_its_fields():
    config = deployment()
    config["spec"]["strategy"] = {"type": "Recreate"}
    live = apply(None, config)
    config["spec"]["strategy"] = {}
    out = apply(live, config)
    assert out["spec"]["strategy"] == {}
    assert apply(out, config) == out


def test_empty_lists_and_string_maps_are_not_stored_for_built_in_kinds():
    config = deployment()
    config["metadata"]["annotations"] = {}
    config["spec"]["template"]["spec"]["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    config["spec"]["template"]["spec"]["containers"][0]["args"] = []
    out = apply(None, config)
    assert "annotations" not in out["metadata"]
    assert "args" not in out["spec"]["template"]["spec"]["containers"][0]
    assert out["spec"]["template"]["spec"]["volumes"] == [{"name": "scratch", "emptyDir": {}}]
