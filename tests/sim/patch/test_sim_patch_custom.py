"""Server-side apply of custom resources: list and map semantics from the CRD schema."""

from __future__ import annotations

from kfctl.sim.patch import server_side_apply

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "owners": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                           "items": {"type": "object", "properties": {"name": {"type": "string"},
                                                                      "role": {"type": "string"}}}},
                "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "args": {"type": "array", "items": {"type": "string"}},
                "selector": {"type": "object", "x-kubernetes-map-type": "atomic",
                             "additionalProperties": {"type": "string"}},
            },
        },
    },
}


def profile(**spec) -> dict:
    return {"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": {"name": "alice"}, "spec": spec}


def apply(live, config, manager, schema=SCHEMA):
    return server_side_apply(live, config, manager=manager, force=False, api_version="kubeflow.org/v1",
                             now="T", schema=schema)


def fields(obj, manager):
    return next(e["fieldsV1"] for e in obj["metadata"]["managedFields"] if e["manager"] == manager)


def test_map_list_items_from_two_managers_merge_by_key():
    live = apply(None, profile(owners=[{"name": "alice", "role": "admin"}]), "kfctl")
    out = apply(live, profile(owners=[{"name": "bob", "role": "edit"}]), "ui")
    assert out["spec"]["owners"] == [{"name": "alice", "role": "admin"}, {"name": "bob", "role": "edit"}]
    assert fields(out, "ui") == {"f:spec": {"f:owners": {'k:{"name":"bob"}': {".": {}, "f:name": {}, "f:role": {}}}}}


def test_set_list_items_are_owned_one_by_one():
    live = apply(None, profile(tags=["a", "b"]), "kfctl")
    out = apply(live, profile(tags=["c"]), "ui")
    assert out["spec"]["tags"] == ["a", "b", "c"]
    assert fields(out, "ui") == {"f:spec": {"f:tags": {'v:"c"': {}}}}


def test_lists_without_list_type_are_atomic_and_conflict_whole():
    live = apply(None, profile(args=["x"]), "kfctl")
    assert fields(live, "kfctl") == {"f:spec": {"f:args": {}}}
    try:
        apply(live, profile(args=["y"]), "ui")
    except Exception as err:  # noqa: BLE001 - asserting the type below
        assert type(err).__name__ == "ApplyConflictError"
        assert str(err) == 'Apply failed with 1 conflict: conflict with "kfctl": .spec.args'
    else:
        raise AssertionError("atomic list changed by a second manager without conflict")


def test_atomic_map_is_replaced_and_owned_whole():
    live = apply(None, profile(selector={"a": "1"}), "kfctl")
    out = apply(live, profile(selector={"b": "2"}), "kfctl")
    assert out["spec"]["selector"] == {"b": "2"}
    assert fields(out, "kfctl") == {"f:spec": {"f:selector": {}}}


def test_without_a_schema_lists_are_atomic_and_maps_granular():
    live = apply(None, profile(owners=[{"name": "alice"}], extra={"x": 1}), "kfctl", schema=None)
    # undeclared map keys are members themselves, as in structured-merge-diff's deduced type
    assert fields(live, "kfctl") == {"f:spec": {".": {}, "f:extra": {".": {}, "f:x": {}}, "f:owners": {}}}
    out = apply(live, profile(owners=[{"name": "bob"}]), "kfctl", schema=None)
    assert out["spec"] == {"owners": [{"name": "bob"}]}


def test_custom_resource_metadata_is_typed_like_objectmeta():
    config = profile()
    del config["spec"]
    config["metadata"]["finalizers"] = ["a"]
    live = apply(None, config, "kfctl")
    assert fields(live, "kfctl") == {"f:metadata": {"f:finalizers": {'v:"a"': {}}}}


def test_each_schema_object_gets_its_own_semantics():
    atomic = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "owners": {"type": "array", "items": {"type": "object"}}}}}}
    keyed = SCHEMA
    for schema, expected in ((atomic, {}), (keyed, {'k:{"name":"a"}': {".": {}, "f:name": {}}}), (atomic, {})):
        live = apply(None, profile(owners=[{"name": "a"}]), "kfctl", schema=schema)
        assert fields(live, "kfctl")["f:spec"]["f:owners"] == expected
