"""Moving from kubectl client-side apply to server-side apply, and entry times."""

from __future__ import annotations

import copy
import json

import pytest

from kfctl.sim.patch import ApplyConflictError, server_side_apply, update_managed_fields

ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"


def cm(data: dict, annotate: bool = False) -> dict:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "kf"}, "data": data}
    if annotate:
        obj["metadata"]["annotations"] = {ANNOTATION: json.dumps(obj, sort_keys=True, separators=(",", ":"))}
    return obj


def client_side_applied(data: dict) -> dict:
    """An object created by ``kubectl apply`` (client side): annotation plus an Update entry."""
    obj = cm(data, annotate=True)
    obj["metadata"]["managedFields"] = update_managed_fields(
        None, obj, manager="kubectl-client-side-apply", api_version="v1", now="T0")
    return obj


def ssa(live, config, manager, force=False, now="T1"):
    return server_side_apply(live, config, manager=manager, force=force, api_version="v1", now=now)


def test_kubectl_takes_over_fields_still_equal_to_the_annotation():
    live = client_side_applied({"a": "1"})
    out = ssa(live, cm({"a": "2"}), "kubectl")
    assert out["data"] == {"a": "2"}
    owners = {e["manager"]: e["fieldsV1"] for e in out["metadata"]["managedFields"]}
    assert owners["kubectl"] == {"f:data": {"f:a": {}}}
    assert "f:a" not in owners.get("kubectl-client-side-apply", {}).get("f:data", {})


def test_kubectl_keeps_the_annotation_in_step():
    live = client_side_applied({"a": "1"})
    out = ssa(live, cm({"a": "2"}), "kubectl")
    assert json.loads(out["metadata"]["annotations"][ANNOTATION]) == cm({"a": "2"})


def test_other_appliers_still_conflict_with_client_side_apply():
    live = client_side_applied({"a": "1"})
    with pytest.raises(ApplyConflictError) as caught:
        ssa(live, cm({"a": "2"}), "kfctl")
    assert str(caught.value) == 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .data.a'


def test_fields_changed_since_the_annotation_still_conflict_for_kubectl():
    live = client_side_applied({"a": "1"})
    edited = copy.deepcopy(live)
    edited["data"]["a"] = "edited"
    edited["metadata"]["managedFields"] = update_managed_fields(live, edited, manager="kubectl-edit",
                                                                api_version="v1", now="T1")
    with pytest.raises(ApplyConflictError) as caught:
        ssa(edited, cm({"a": "2"}), "kubectl")
    assert [c.field for c in caught.value.conflicts] == [".data.a"]


def test_entry_time_moves_only_when_the_object_changes():
    live = ssa(None, cm({"a": "1"}), "kfctl", now="T1")
    shared = ssa(live, cm({"a": "1"}), "other", now="T2")
    other = next(e for e in shared["metadata"]["managedFields"] if e["manager"] == "other")
    assert "time" not in other  # nothing changed: the apiserver records no time
    changed = ssa(shared, cm({"a": "1", "b": "2"}), "kfctl", now="T3")
    kfctl = next(e for e in changed["metadata"]["managedFields"] if e["manager"] == "kfctl")
    assert kfctl["time"] == "T3"
