"""CustomResourceDefinitions: establishment, discovery, schema validation and pruning, versions, cleanup."""

from __future__ import annotations

import time
from typing import Any, Callable

import httpx
import pytest

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
GIZMOS = "/apis/example.com/v1/namespaces/default/gizmos"
TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}


def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def crd(versions: tuple[str, ...] = ("v1",), storage: str = "v1") -> dict:
    schema = {"type": "object", "properties": {
        "spec": {"type": "object", "required": ["size"], "properties": {
            "size": {"type": "integer", "maximum": 10},
            "mode": {"type": "string", "enum": ["fast", "slow"], "default": "slow"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "port": {"x-kubernetes-int-or-string": True}}},
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "gizmos.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo", "categories": ["all"]},
                     "versions": [{"name": v, "served": True, "storage": v == storage,
                                   "schema": {"openAPIV3Schema": schema}, "subresources": {"status": {}},
                                   "additionalPrinterColumns": [
                                       {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                                       {"name": "Ready", "type": "boolean", "jsonPath": ".status.ready"}]}
                                  for v in versions]}}


def gizmo(name: str, **spec) -> dict:
    return {"apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": {"name": name}, "spec": {"size": 1, **spec}}


@pytest.fixture
def http(sim_cluster):
    with httpx.Client(base_url=sim_cluster.url, timeout=10) as c:
        yield c


def establish(http: httpx.Client, body: dict | None = None) -> None:
    assert http.post(CRDS, json=body or crd()).status_code == 201
    assert eventually(lambda: http.get(GIZMOS).status_code == 200)


def test_a_crd_serves_only_after_it_is_established(sim_factory) -> None:
    sim = sim_factory(crd_establish_delay=40.0)  # 0.4 real seconds at time_scale 0.01
    with httpx.Client(base_url=sim.url) as http:
        created = http.post(CRDS, json=crd()).json()
        assert "conditions" not in created["status"] and created["status"]["storedVersions"] == ["v1"]
        assert created["metadata"]["finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"]
        early = http.get(GIZMOS)
        assert early.status_code == 404
        assert early.json()["message"] == "the server could not find the requested resource"
        assert "example.com" not in str(http.get("/apis").json())
        assert eventually(lambda: http.get(GIZMOS).status_code == 200)
        live = http.get(f"{CRDS}/gizmos.example.com").json()
        types = {c["type"]: c["status"] for c in live["status"]["conditions"]}
        assert types == {"NamesAccepted": "True", "Established": "True"}
        assert live["status"]["acceptedNames"]["kind"] == "Gizmo"
        resources = http.get("/apis/example.com/v1").json()["resources"]
        assert {r["name"] for r in resources} == {"gizmos", "gizmos/status"}
        assert resources[0]["categories"] == ["all"] and resources[0]["singularName"] == "gizmo"


def test_invalid_crd_is_422(http) -> None:
    bad = crd()
    bad["metadata"]["name"] = "wrong.example.com"
    r = http.post(CRDS, json=bad)
    assert r.status_code == 422
    assert 'must be spec.names.plural+"."+spec.group' in r.json()["message"]


def test_schema_validation_defaults_and_pruning(http) -> None:
    establish(http)
    made = http.post(GIZMOS, json=gizmo("a", extra="dropped", free={"any": {"thing": 1}}, port="http")).json()
    assert made["spec"] == {"size": 1, "mode": "slow", "free": {"any": {"thing": 1}}, "port": "http"}
    strict = http.post(f"{GIZMOS}?fieldValidation=Strict", json=gizmo("b", extra=1))
    assert strict.status_code == 400 and 'strict decoding error: unknown field "spec.extra"' in strict.json()["message"]
    cases = [
        (gizmo("c", size="big"), 'spec.size: Invalid value: "string": spec.size in body must be of type integer: '
                                 '"string"'),
        (gizmo("d", size=11), "spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10"),
        (gizmo("e", mode="warp"), 'spec.mode: Unsupported value: "warp": supported values: "fast", "slow"'),
        ({**gizmo("f"), "spec": {}}, "spec.size: Required value"),
        (gizmo("g", tags=[1]), "spec.tags[0]: Invalid value"),
        (gizmo("h", labels={"a": 2}), "spec.labels.a: Invalid value"),
    ]
    for body, message in cases:
        r = http.post(GIZMOS, json=body)
        assert r.status_code == 422, body
        assert r.json()["reason"] == "Invalid"
        assert message in r.json()["message"], r.json()["message"]
        assert r.json()["message"].startswith(f'Gizmo.example.com "{body["metadata"]["name"]}" is invalid: ')


def test_strategic_merge_on_a_custom_resource_is_415(http) -> None:
    establish(http)
    http.post(GIZMOS, json=gizmo("s"))
    r = http.patch(f"{GIZMOS}/s", json={"spec": {"size": 2}},
                   headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert r.status_code == 415 and r.json()["reason"] == "UnsupportedMediaType"


def test_custom_resource_status_subresource_and_printer_columns(http) -> None:
    establish(http)
    http.post(GIZMOS, json={**gizmo("t", size=4), "status": {"ready": True}})
    live = http.get(f"{GIZMOS}/t").json()
    assert "status" not in live, "status was accepted on create despite the status subresource"
    merge = {"Content-Type": "application/merge-patch+json"}
    st = http.patch(f"{GIZMOS}/t/status", json={"status": {"ready": True}}, headers=merge).json()
    assert st["status"] == {"ready": True} and st["metadata"]["generation"] == 1
    table = http.get(GIZMOS, headers=TABLE).json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Size", "Ready"]
    assert table["rows"][0]["cells"] == ["t", 4, True]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_multiple_versions_are_served(http) -> None:
    establish(http, crd(versions=("v1", "v2"), storage="v2"))
    http.post(GIZMOS, json=gizmo("m"))
    v2 = http.get("/apis/example.com/v2/namespaces/default/gizmos/m").json()
    assert v2["apiVersion"] == "example.com/v2" and v2["spec"]["size"] == 1
    assert http.get("/apis/example.com").json()["preferredVersion"]["version"] == "v2"


def test_deleting_a_crd_deletes_its_resources_first(http) -> None:
    establish(http)
    http.post(GIZMOS, json={**gizmo("keep"), "metadata": {"name": "keep", "finalizers": ["example.com/f"]}})
    http.delete(f"{CRDS}/gizmos.example.com")
    assert eventually(lambda: http.get(f"{GIZMOS}/keep").json()["metadata"].get("deletionTimestamp"))
    crd_live = http.get(f"{CRDS}/gizmos.example.com").json()
    assert any(c["type"] == "Terminating" for c in crd_live["status"]["conditions"])
    http.patch(f"{GIZMOS}/keep", json={"metadata": {"finalizers": None}},
               headers={"Content-Type": "application/merge-patch+json"})
    assert eventually(lambda: http.get(f"{CRDS}/gizmos.example.com").status_code == 404)
    assert eventually(lambda: http.get(GIZMOS).status_code == 404)


def test_unknown_metadata_fields_of_custom_resources_are_pruned(http) -> None:
    establish(http)
    body = gizmo("meta")
    body["metadata"]["colour"] = "red"
    made = http.post(GIZMOS, json=body)
    assert made.status_code == 201 and "colour" not in made.json()["metadata"]
    assert made.headers["Warning"] == '299 - "unknown field \\"metadata.colour\\""'
    strict = http.post(f"{GIZMOS}?fieldValidation=Strict", json={**body, "metadata": {**body["metadata"],
                                                                                       "name": "meta2"}})
    assert strict.status_code == 400 and 'unknown field "metadata.colour"' in strict.json()["message"]


def test_a_crd_whose_kind_is_taken_is_not_established(http) -> None:
    establish(http)
    rival = crd()
    rival["metadata"]["name"] = "rivals.example.com"
    rival["spec"]["names"] = {"plural": "rivals", "singular": "rival", "kind": "Gizmo"}
    assert http.post(CRDS, json=rival).status_code == 201

    def refused():
        conditions = http.get(f"{CRDS}/rivals.example.com").json()["status"].get("conditions")
        return {c["type"]: c for c in conditions} if conditions else None
    conditions = eventually(refused)
    assert conditions["NamesAccepted"]["status"] == "False"
    assert conditions["NamesAccepted"]["reason"] == "KindConflict"
    assert conditions["NamesAccepted"]["message"] == '"Gizmo" is already in use'
    assert conditions["Established"]["status"] == "False"
    assert http.get("/apis/example.com/v1/namespaces/default/rivals").status_code == 404


def test_set_and_map_lists_refuse_duplicates(http) -> None:
    body = crd()
    props = body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    props["tags"]["x-kubernetes-list-type"] = "set"
    props["ports"] = {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                      "items": {"type": "object", "required": ["name"],
                                "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}}
    establish(http, body)
    tags = http.post(GIZMOS, json=gizmo("t", tags=["a", "b", "a"]))
    assert tags.status_code == 422 and 'spec.tags[2]: Duplicate value: "a"' in tags.json()["message"]
    ports = http.post(GIZMOS, json=gizmo("p", ports=[{"name": "http", "port": 80}, {"name": "http", "port": 81}]))
    assert ports.status_code == 422
    assert 'spec.ports[1]: Duplicate value: map[string]interface {}{"name":"http"}' in ports.json()["message"]
    assert http.post(GIZMOS, json=gizmo("ok", tags=["a", "b"], ports=[{"name": "a"}, {"name": "b"}])).status_code == 201
