"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902) with kube-apiserver's errors."""

from __future__ import annotations

import copy

import pytest

from kfctl.sim.patch import PatchError, json_patch, merge_patch

OBJ = {"metadata": {"name": "c", "labels": {"a": "1", "b": "2"}}, "data": {"k": "v"}, "list": [1, 2]}


def test_merge_patch_null_deletes_and_maps_merge():
    out = merge_patch(OBJ, {"metadata": {"labels": {"a": None, "c": "3"}}, "data": None})
    assert out == {"metadata": {"name": "c", "labels": {"b": "2", "c": "3"}}, "list": [1, 2]}


def test_merge_patch_replaces_lists_and_leaves_inputs_alone():
    target = copy.deepcopy(OBJ)
    patch = {"list": [3], "new": {"x": None, "y": 1}}
    out = merge_patch(target, patch)
    assert out["list"] == [3] and out["new"] == {"y": 1}
    out["list"].append(4)
    assert target == OBJ and patch["list"] == [3]


def test_merge_patch_must_be_an_object():
    with pytest.raises(PatchError) as caught:
        merge_patch(OBJ, [1])
    assert caught.value.code == 400 and caught.value.reason == "BadRequest"


def test_json_patch_operations():
    ops = [{"op": "add", "path": "/metadata/labels/c", "value": "3"},
           {"op": "remove", "path": "/metadata/labels/a"},
           {"op": "replace", "path": "/data/k", "value": "w"},
           {"op": "copy", "from": "/data/k", "path": "/data/k2"},
           {"op": "move", "from": "/list", "path": "/moved"},
           {"op": "test", "path": "/moved/1", "value": 2}]
    out = json_patch(OBJ, ops)
    assert out == {"metadata": {"name": "c", "labels": {"b": "2", "c": "3"}}, "data": {"k": "w", "k2": "w"},
                   "moved": [1, 2]}
    assert OBJ["list"] == [1, 2]


def test_json_patch_failed_test_is_invalid_with_the_server_wording():
    with pytest.raises(PatchError) as caught:
        json_patch(OBJ, [{"op": "test", "path": "/data/k", "value": "other"},
                         {"op": "remove", "path": "/data"}])
    err = caught.value
    assert (err.code, err.reason, err.message) == (422, "Invalid", "testing value /data/k failed: test failed")


@pytest.mark.parametrize(("op", "message"), [
    ({"op": "remove", "path": "/data/nope"},
     "error in remove for path: '/data/nope': Unable to remove nonexistent key: nope: missing value"),
    ({"op": "replace", "path": "/nope/x", "value": 1},
     "replace operation does not apply: doc is missing path: /nope/x: missing value"),
    ({"op": "replace", "path": "/data/nope", "value": 1},
     "replace operation does not apply: doc is missing key: /data/nope: missing value"),
    ({"op": "add", "path": "/nope/x", "value": 1},
     'add operation does not apply: doc is missing path: "/nope/x": missing value'),
    ({"op": "frobnicate", "path": "/x"}, "Unexpected kind: frobnicate"),
])
def test_json_patch_operations_that_do_not_apply(op, message):
    with pytest.raises(PatchError) as caught:
        json_patch(OBJ, [op])
    assert caught.value.code == 422 and caught.value.message == message


def test_json_patch_must_be_a_list():
    with pytest.raises(PatchError) as caught:
        json_patch(OBJ, {"op": "add"})  # type: ignore[arg-type]
    assert caught.value.code == 400
