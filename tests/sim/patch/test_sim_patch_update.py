"""Ownership after ordinary writes (create, PUT, PATCH): update_managed_fields."""

from __future__ import annotations

import copy

from kfctl.sim.patch import server_side_apply, update_managed_fields


def cm(**data) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "kf"}, "data": data}


def update(old, new, manager="kubectl-edit", now="T2"):
    return update_managed_fields(old, new, manager=manager, api_version="v1", now=now)


def test_create_owns_everything_with_dot_for_new_maps():
    (entry,) = update(None, cm(a="1"), manager="kubectl-create", now="T1")
    assert entry == {"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kubectl-create",
                     "operation": "Update", "time": "T1",
                     "fieldsV1": {"f:data": {".": {}, "f:a": {}}}}


def test_changed_field_moves_to_the_writer_and_removed_field_leaves_everyone():
    live = server_side_apply(None, cm(a="1", b="2"), manager="kfctl", force=False, api_version="v1", now="T1")
    new = copy.deepcopy(live)
    new["data"] = {"a": "changed"}
    result = {e["manager"]: e for e in update(live, new)}
    assert result["kubectl-edit"]["fieldsV1"] == {"f:data": {"f:a": {}}}
    assert "kfctl" not in result  # it owned a and b: a moved, b is gone


def test_write_without_changes_keeps_entries_and_times():
    live = server_side_apply(None, cm(a="1"), manager="kfctl", force=False, api_version="v1", now="T1")
    assert update(live, copy.deepcopy(live)) == live["metadata"]["managedFields"]


def test_updates_by_the_same_manager_accumulate():
    live = copy.deepcopy(cm(a="1"))
    live["metadata"]["managedFields"] = update(None, live, now="T1")
    new = copy.deepcopy(live)
    new["data"]["b"] = "2"
    (entry,) = update(live, new, now="T3")
    assert entry["fieldsV1"] == {"f:data": {".": {}, "f:a": {}, "f:b": {}}}
    assert entry["time"] == "T3"


def test_empty_managed_fields_in_a_write_resets_tracking():
    live = server_side_apply(None, cm(a="1"), manager="kfctl", force=False, api_version="v1", now="T1")
    live["metadata"]["uid"] = "u1"
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = []
    assert update(live, new) == []


def test_untracked_object_stays_untracked():
    live = cm(a="1")
    live["metadata"]["uid"] = "u1"
    new = copy.deepcopy(live)
    new["data"]["a"] = "2"
    assert update(live, new) == []


def test_status_writes_track_only_status_under_the_subresource():
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                    "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    live = server_side_apply(None, dep, manager="kfctl", force=False, api_version="apps/v1", now="T1")
    new = copy.deepcopy(live)
    new["status"] = {"readyReplicas": 1}
    result = update_managed_fields(live, new, manager="kube-controller-manager", api_version="apps/v1", now="T2",
                                   subresource="status")
    ctrl = next(e for e in result if e["manager"] == "kube-controller-manager")
    assert ctrl["subresource"] == "status"
    assert ctrl["fieldsV1"] == {"f:status": {".": {}, "f:readyReplicas": {}}}


def test_more_than_ten_updaters_fold_the_oldest_into_ancient_changes():
    live = cm()
    live["metadata"]["managedFields"] = update(None, live, manager="creator", now="T00")
    for i in range(1, 12):
        new = copy.deepcopy(live)
        new["data"][f"k{i}"] = "v"
        new["metadata"]["managedFields"] = update(live, new, manager=f"writer-{i:02d}", now=f"T{i:02d}")
        live = new
    managers = [e["manager"] for e in live["metadata"]["managedFields"]]
    assert len(managers) == 10 and "ancient-changes" in managers
    assert "creator" not in managers and "writer-01" not in managers and "writer-02" not in managers
    ancient = next(e for e in live["metadata"]["managedFields"] if e["manager"] == "ancient-changes")
    assert {"f:k1", "f:k2"} <= set(ancient["fieldsV1"]["f:data"])


def test_scale_writes_are_recorded_with_their_subresource_and_conflict_as_such():
    import pytest

    from kfctl.sim.patch import ApplyConflictError

    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                    "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    live = server_side_apply(None, dep, manager="kfctl", force=False, api_version="apps/v1", now="T1")
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 4
    scaled["metadata"]["managedFields"] = update_managed_fields(live, scaled, manager="kubectl", api_version="apps/v1",
                                                                now="T2", subresource="scale")
    with pytest.raises(ApplyConflictError) as caught:
        server_side_apply(scaled, dep, manager="kfctl", force=False, api_version="apps/v1", now="T3")
    assert str(caught.value) == ('Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" '
                                 "using apps/v1: .spec.replicas")
