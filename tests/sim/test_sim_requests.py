"""Request details: bodies, paths, subresources and the odd corners clients rely on."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from kfctl.sim import SimCluster
from kfctl.sim.protobuf import MAGIC, decode

CM = "/api/v1/namespaces/default/configmaps"
DEP = "/apis/apps/v1/namespaces/default/deployments"
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
def http(sim_cluster):
    with httpx.Client(base_url=sim_cluster.url, timeout=10) as c:
        yield c


def test_generate_name_and_yaml_bodies(http) -> None:
    made = http.post(CM, content="apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: job-}\n",
                     headers={"Content-Type": "application/yaml"})
    assert made.status_code == 201
    name = made.json()["metadata"]["name"]
    assert name.startswith("job-") and len(name) == len("job-") + 5


def test_create_refusals(http) -> None:
    with_rv = http.post(CM, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x",
                                                                                       "resourceVersion": "5"}})
    assert with_rv.status_code == 400 and "resourceVersion should not be set" in with_rv.json()["message"]
    wrong_kind = http.post(CM, json={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}})
    assert wrong_kind.status_code == 400 and "does not match the expected kind" in wrong_kind.json()["message"]
    wrong_ns = http.post(CM, json={"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": "x", "namespace": "kube-system"}})
    assert wrong_ns.status_code == 400
    bad_fv = http.post(f"{CM}?fieldValidation=Loose", json={"apiVersion": "v1", "kind": "ConfigMap",
                                                             "metadata": {"name": "x"}})
    assert bad_fv.status_code == 400
    assert http.put(f"{CM}/absent", json={"apiVersion": "v1", "kind": "ConfigMap",
                                          "metadata": {"name": "absent"}}).status_code == 404
    assert http.get("/api/v1/namespaces/default/nodes").status_code == 404, "cluster-scoped under a namespace"
    assert http.get(f"{CM}/x/bogus").status_code == 404
    not_json = http.post(CM, content=b"{not json", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["kind"] == "Status"


def test_legacy_watch_path_and_table_watch(http) -> None:
    rv = http.get(CM).json()["metadata"]["resourceVersion"]
    http.post(CM, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "tw"}})
    events = []
    accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    with http.stream("GET", "/api/v1/watch/namespaces/default/configmaps",
                     params={"resourceVersion": rv, "timeoutSeconds": "1"}, headers=accept) as r:
        for line in r.iter_lines():
            events.append(json.loads(line))
    assert [e["type"] for e in events] == ["ADDED"]
    table = events[0]["object"]
    assert table["kind"] == "Table" and table["rows"][0]["cells"][0] == "tw"


def test_scale_subresource(http) -> None:
    http.post(DEP, json={"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "s"},
                         "spec": {"selector": {"matchLabels": {"a": "b"}},
                                  "template": {"metadata": {"labels": {"a": "b"}},
                                               "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    scale = http.get(f"{DEP}/s/scale").json()
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 1 and scale["status"]["selector"] == "a=b"
    assert http.put(f"{DEP}/s/scale", json={**scale, "spec": {"replicas": 4}}).json()["spec"]["replicas"] == 4
    assert http.patch(f"{DEP}/s/scale", json={"spec": {"replicas": 2}}, headers=MERGE).json()["spec"]["replicas"] == 2
    scaled = http.get(f"{DEP}/s").json()
    assert scaled["metadata"]["generation"] == 3
    assert any(m.get("subresource") == "scale" for m in scaled["metadata"]["managedFields"])
    negative = http.put(f"{DEP}/s/scale", json={"spec": {"replicas": -1}})
    assert negative.status_code == 422


def test_namespace_finalize_subresource(http) -> None:
    http.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fin"},
                                          "spec": {"finalizers": ["kubernetes", "example.com/extra"]}})
    http.post("/api/v1/namespaces/fin/configmaps", json={"apiVersion": "v1", "kind": "ConfigMap",
                                                         "metadata": {"name": "c"}})
    http.delete("/api/v1/namespaces/fin")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        live = http.get("/api/v1/namespaces/fin").json()
        if live["spec"]["finalizers"] == ["example.com/extra"]:
            break
        time.sleep(0.02)
    assert live["spec"]["finalizers"] == ["example.com/extra"], "the namespace controller left its finalizer"
    r = http.put("/api/v1/namespaces/fin/finalize", json={**live, "spec": {"finalizers": []}})
    assert r.status_code == 200
    assert http.get("/api/v1/namespaces/fin").status_code == 404


def test_delete_collection_dry_run(http) -> None:
    http.post(CM, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stay"}})
    assert len(http.delete(CM, params={"dryRun": "All"}).json()["items"]) == 1
    assert http.get(f"{CM}/stay").status_code == 200


def test_protobuf_bodies_decode_like_json() -> None:
    def field(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2, len(payload)]) + payload

    meta = field(1, b"cfg") + field(3, b"") + field(11, field(1, b"app") + field(2, b"web"))
    cm = field(1, meta) + field(2, field(1, b"k") + field(2, b"v"))
    envelope = MAGIC + field(1, field(1, b"v1") + field(2, b"ConfigMap")) + field(2, cm)
    assert decode(envelope) == {"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": "cfg", "labels": {"app": "web"}}, "data": {"k": "v"}}
    pod = MAGIC + field(1, field(1, b"v1") + field(2, b"Pod")) + field(2, b"")
    with pytest.raises(Exception) as refused:
        decode(pod)
    assert getattr(refused.value, "code", None) == 415


def test_restart_resumes_unfinished_work(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with SimCluster(persist_path=db, time_scale=0.01) as first:
        with httpx.Client(base_url=first.url) as http:
            http.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace",
                                                  "metadata": {"name": "half"}})
            http.post("/api/v1/namespaces/half/configmaps",
                      json={"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "c", "finalizers": ["example.com/x"]}})
            http.delete("/api/v1/namespaces/half")
    with SimCluster(persist_path=db, time_scale=0.01) as second:
        with httpx.Client(base_url=second.url) as http:
            assert http.get("/api/v1/namespaces/half").json()["status"]["phase"] == "Terminating"
            http.patch("/api/v1/namespaces/half/configmaps/c", json={"metadata": {"finalizers": None}},
                       headers=MERGE)
            deadline = time.monotonic() + 5
            while http.get("/api/v1/namespaces/half").status_code != 404 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert http.get("/api/v1/namespaces/half").status_code == 404


def test_restart_establishes_a_crd_left_pending(tmp_path: Path) -> None:
    db = tmp_path / "crd.db"
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "later.example.com"},
           "spec": {"group": "example.com", "scope": "Cluster", "names": {"plural": "later", "kind": "Later"},
                    "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                        "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}
    with SimCluster(persist_path=db, crd_establish_delay=3600) as first:
        assert httpx.post(first.url + "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                          json=crd).status_code == 201
    with SimCluster(persist_path=db, time_scale=0.01) as second:
        deadline = time.monotonic() + 5
        while httpx.get(second.url + "/apis/example.com/v1/later").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert httpx.get(second.url + "/apis/example.com/v1/later").status_code == 200


def test_chunked_request_bodies(http) -> None:
    def body():
        yield b'{"apiVersion": "v1", "kind": "ConfigMap",'
        yield b' "metadata": {"name": "chunky"}}'

    r = http.post(CM, content=body(), headers={"Content-Type": "application/json"})
    assert r.status_code == 201 and r.json()["metadata"]["name"] == "chunky"
    assert http.get(f"{CM}/chunky").status_code == 200, "the connection stayed in step after a chunked body"


def test_subresources_allow_only_get_update_patch(http) -> None:
    http.post(DEP, json={"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "sub"},
                         "spec": {"selector": {"matchLabels": {"a": "b"}},
                                  "template": {"metadata": {"labels": {"a": "b"}},
                                               "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    assert http.delete(f"{DEP}/sub/status").status_code == 405
    assert http.get(f"{DEP}/sub").status_code == 200, "a DELETE on /status deleted the object"
    assert http.get(f"{DEP}/sub/status").json()["metadata"]["name"] == "sub"
