"""The overlay strategic merge: maps, keyed lists, replaced lists, deletions."""

from __future__ import annotations

import pytest

from kfctl.render.merge import merge

POD = {
    "containers": [
        {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}],
         "args": ["--one"], "ports": [{"containerPort": 80}]},
        {"name": "b", "image": "b:1"},
    ],
    "tolerations": [{"key": "k"}],
}


def test_containers_and_env_merge_by_name():
    out = merge(POD, {"containers": [{"name": "a", "env": [{"name": "Y", "value": "3"}, {"name": "Z", "value": "4"}]}]})
    assert out["containers"][0]["env"] == [{"name": "X", "value": "1"}, {"name": "Y", "value": "3"},
                                           {"name": "Z", "value": "4"}]
    assert out["containers"][0]["image"] == "a:1"
    assert out["containers"][1] == {"name": "b", "image": "b:1"}


def test_unknown_item_is_appended_and_delete_directive_removes():
    out = merge(POD, {"containers": [{"name": "c", "image": "c:1"}, {"name": "b", "$patch": "delete"}]})
    assert [c["name"] for c in out["containers"]] == ["a", "c"]
    assert "$patch" not in str(out)


def test_lists_without_merge_key_are_replaced():
    out = merge(POD, {"tolerations": [{"key": "gpu"}], "containers": [{"name": "a", "args": ["--two"]}]})
    assert out["tolerations"] == [{"key": "gpu"}]
    assert out["containers"][0]["args"] == ["--two"]


def test_null_deletes_and_replace_directive():
    out = merge({"a": {"b": 1, "c": 2}, "d": 1}, {"a": {"$patch": "replace", "z": 9}, "d": None})
    assert out == {"a": {"z": 9}}


def test_star_merges_into_every_item():
    out = merge(POD, {"containers": [{"name": "*", "resources": {"requests": {"cpu": "1m"}}}]})
    assert all(c["resources"] == {"requests": {"cpu": "1m"}} for c in out["containers"])
    assert [c["name"] for c in out["containers"]] == ["a", "b"]


def test_ports_merge_on_container_port_or_service_port():
    svc = {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}
    assert merge(svc, {"ports": [{"port": 80, "nodePort": 30080}]})["ports"][0] == {
        "port": 80, "targetPort": 8080, "nodePort": 30080}
    out = merge(POD, {"containers": [{"name": "a", "ports": [{"containerPort": 80, "name": "http"}]}]})
    assert out["containers"][0]["ports"] == [{"containerPort": 80, "name": "http"}]


def test_inputs_are_not_changed():
    before = repr(POD)
    merge(POD, {"containers": [{"name": "a", "image": "new"}], "tolerations": None})
    assert repr(POD) == before


def test_patch_item_without_merge_key_is_an_error():
    with pytest.raises(ValueError, match="merge key 'name'"):
        merge(POD, {"containers": [{"image": "x"}]})
