"""API semantics over HTTP: writes, preconditions, dry run, status, names, selectors, paging, patches."""

from __future__ import annotations

import httpx
import pytest

CM = "/api/v1/namespaces/default/configmaps"
DEP = "/apis/apps/v1/namespaces/default/deployments"
APPLY = {"Content-Type": "application/apply-patch+yaml"}


@pytest.fixture
def http(sim_cluster):
    with httpx.Client(base_url=sim_cluster.url, timeout=10) as c:
        yield c


def cm(name: str, **extra) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **extra}, "data": {"k": "v"}}


def deployment(name: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}}


def test_resource_version_is_one_global_counter(http) -> None:
    a = http.post(CM, json=cm("a")).json()
    b = http.post("/api/v1/namespaces/kube-system/secrets", json={"apiVersion": "v1", "kind": "Secret",
                                                                  "metadata": {"name": "b"}}).json()
    assert int(b["metadata"]["resourceVersion"]) == int(a["metadata"]["resourceVersion"]) + 1
    assert b["type"] == "Opaque"


def test_invalid_names_are_422_with_causes(http) -> None:
    r = http.post(CM, json=cm("Bad_Name"))
    assert r.status_code == 422
    body = r.json()
    assert body["reason"] == "Invalid"
    assert body["message"].startswith('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
                                      "a lowercase RFC 1123 subdomain must consist of")
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    ns = http.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}})
    assert ns.status_code == 422 and "RFC 1123 label" in ns.json()["message"]
    svc = http.post("/api/v1/namespaces/default/services",
                    json={"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1svc"}, "spec": {}})
    assert svc.status_code == 422 and "DNS-1035 label" in svc.json()["message"]
    role = http.post("/apis/rbac.authorization.k8s.io/v1/clusterroles",
                     json={"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                           "metadata": {"name": "system:Odd.Name"}})
    assert role.status_code == 201


def test_annotation_size_limit(http) -> None:
    big = cm("big", annotations={"a": "x" * 262144})
    r = http.post(CM, json=big)
    assert r.status_code == 422
    assert "metadata.annotations: Too long: may not be more than 262144 bytes" in r.json()["message"]
    ok = cm("fits", annotations={"a": "x" * (262144 - 1)})
    assert http.post(CM, json=ok).status_code == 201


def test_dry_run_on_every_write_changes_nothing(http, sim_cluster) -> None:
    assert http.post(f"{CM}?dryRun=All", json=cm("dry")).status_code == 201
    assert http.get(f"{CM}/dry").status_code == 404
    live = http.post(CM, json=cm("real")).json()
    rv = live["metadata"]["resourceVersion"]
    assert http.put(f"{CM}/real?dryRun=All", json={**live, "data": {"k": "changed"}}).json()["data"] == {"k": "changed"}
    assert http.patch(f"{CM}/real?dryRun=All", json={"data": {"z": "1"}},
                      headers={"Content-Type": "application/merge-patch+json"}).status_code == 200
    assert http.patch(f"{CM}/real?dryRun=All&fieldManager=x", content="data: {q: '1'}", headers=APPLY).status_code == 200
    assert http.delete(f"{CM}/real?dryRun=All").status_code == 200
    after = http.get(f"{CM}/real").json()
    assert after["metadata"]["resourceVersion"] == rv and after["data"] == {"k": "v"}
    assert http.post(f"{CM}?dryRun=Some", json=cm("x")).status_code == 422  # CreateOptions is invalid, as on a real server
    counts = sim_cluster.metrics()
    assert counts["dryRunByVerb"] == {"create": 1, "update": 1, "patch": 1, "apply": 1, "delete": 1}


def test_update_preconditions_and_noop(http) -> None:
    live = http.post(CM, json=cm("u")).json()
    same = http.put(f"{CM}/u", json=live).json()
    assert same["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"], "no-op update wrote"
    changed = http.put(f"{CM}/u", json={**live, "data": {"k": "2"}}).json()
    stale = http.put(f"{CM}/u", json={**live, "data": {"k": "3"}})
    assert stale.status_code == 409 and stale.json()["reason"] == "Conflict"
    assert stale.json()["message"] == ('Operation cannot be fulfilled on configmaps "u": the object has been '
                                       "modified; please apply your changes to the latest version and try again")
    unconditional = {k: v for k, v in changed.items()}
    unconditional["metadata"] = {"name": "u"}
    assert http.put(f"{CM}/u", json=unconditional).status_code == 200
    wrong = http.put(f"{CM}/u", json={**live, "metadata": {"name": "other"}})
    assert wrong.status_code == 400 and "does not match the name on the URL" in wrong.json()["message"]


def test_status_subresource_and_generation(http) -> None:
    dep = http.post(DEP, json=deployment("g")).json()
    assert dep["metadata"]["generation"] == 1 and "status" not in dep
    merge = {"Content-Type": "application/merge-patch+json"}
    labelled = http.patch(f"{DEP}/g", json={"metadata": {"labels": {"x": "y"}}}, headers=merge).json()
    assert labelled["metadata"]["generation"] == 1, "a metadata change bumped generation"
    spec = http.patch(f"{DEP}/g", json={"spec": {"replicas": 5}, "status": {"replicas": 9}}, headers=merge).json()
    assert spec["metadata"]["generation"] == 2 and "status" not in spec
    st = http.patch(f"{DEP}/g/status", json={"status": {"replicas": 5}, "spec": {"replicas": 1}}, headers=merge).json()
    assert st["status"] == {"replicas": 5} and st["spec"]["replicas"] == 5
    assert st["metadata"]["generation"] == 2
    put = http.put(f"{DEP}/g/status", json={**st, "status": {"replicas": 4}}).json()
    assert put["status"] == {"replicas": 4}


def test_patch_types(http, sim_cluster) -> None:
    http.post(DEP, json=deployment("p"))
    smp = http.patch(f"{DEP}/p", json={"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "s"}]}}}},
                     headers={"Content-Type": "application/strategic-merge-patch+json"}).json()
    assert [c["name"] for c in smp["spec"]["template"]["spec"]["containers"]] == ["side", "c"]
    mp = http.patch(f"{DEP}/p", json={"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "o"}]}}}},
                    headers={"Content-Type": "application/merge-patch+json"}).json()
    assert [c["name"] for c in mp["spec"]["template"]["spec"]["containers"]] == ["only"]
    jp = http.patch(f"{DEP}/p", json=[{"op": "replace", "path": "/spec/replicas", "value": 7}],
                    headers={"Content-Type": "application/json-patch+json"}).json()
    assert jp["spec"]["replicas"] == 7
    failed = http.patch(f"{DEP}/p", json=[{"op": "test", "path": "/spec/replicas", "value": 1}],
                        headers={"Content-Type": "application/json-patch+json"})
    assert failed.status_code in (409, 422, 400) and failed.json()["kind"] == "Status"
    bad_type = http.patch(f"{DEP}/p", json={}, headers={"Content-Type": "text/plain"})
    assert bad_type.status_code == 415 and bad_type.json()["reason"] == "UnsupportedMediaType"
    no_manager = http.patch(f"{DEP}/p", content="spec: {replicas: 1}", headers=APPLY)
    assert no_manager.status_code == 422 and no_manager.json()["details"]["kind"] == "PatchOptions"
    missing = http.patch(f"{DEP}/none", json={"spec": {}}, headers={"Content-Type": "application/merge-patch+json"})
    assert missing.status_code == 404


def test_apply_creates_then_is_idempotent(http) -> None:
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {a: '1', b: '2'}\n"
    first = http.patch(f"{CM}/ssa?fieldManager=me", content=doc, headers=APPLY)
    assert first.status_code == 201
    second = http.patch(f"{CM}/ssa?fieldManager=me", content=doc, headers=APPLY).json()
    assert second["metadata"]["resourceVersion"] == first.json()["metadata"]["resourceVersion"]
    third = http.patch(f"{CM}/ssa?fieldManager=me", content=doc.replace(", b: '2'", ""), headers=APPLY).json()
    assert third["data"] == {"a": "1"}, "a field dropped from the manager's apply was kept"


def test_selectors_and_paging(http) -> None:
    for i in range(7):
        http.post(CM, json=cm(f"page-{i}", labels={"tier": "a" if i % 2 else "b", "n": str(i)}))
    http.post(CM, json=cm("plain"))
    names = [o["metadata"]["name"] for o in http.get(CM, params={"labelSelector": "tier=a"}).json()["items"]]
    assert names == ["page-1", "page-3", "page-5"]
    assert len(http.get(CM, params={"labelSelector": "tier in (a,b),n notin (0,1)"}).json()["items"]) == 5
    unlabelled = http.get(CM, params={"labelSelector": "!tier"}).json()["items"]
    assert [o["metadata"]["name"] for o in unlabelled] == ["plain"]
    by_field = http.get(CM, params={"fieldSelector": "metadata.name=page-4"}).json()["items"]
    assert [o["metadata"]["name"] for o in by_field] == ["page-4"]
    seen, token = [], None
    while True:
        params = {"limit": 3, "labelSelector": "tier"}
        if token:
            params["continue"] = token
        page = http.get(CM, params=params).json()
        seen += [o["metadata"]["name"] for o in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            break
    assert seen == [f"page-{i}" for i in range(7)]
    assert http.get(CM, params={"labelSelector": "a b"}).status_code == 400


def test_every_error_is_a_status(http) -> None:
    for response, code, reason in [
        (http.get("/api/v1/namespaces/default/configmaps/none"), 404, "NotFound"),
        (http.get("/apis/nothing.example.com/v1/things"), 404, "NotFound"),
        (http.post("/api/v1/namespaces/default/configmaps/x", json=cm("x")), 405, "MethodNotAllowed"),
        (http.get("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"), 405, "MethodNotAllowed"),
    ]:
        body = response.json()
        assert (response.status_code, body["kind"], body["code"], body["reason"]) == (code, "Status", code, reason)
    assert http.get("/apis/nothing.example.com/v1/things").json()["message"] == \
        "the server could not find the requested resource"
    review = http.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                       json={"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                             "spec": {"resourceAttributes": {"verb": "create", "resource": "deployments"}}})
    assert review.status_code == 201 and review.json()["status"]["allowed"] is True


def test_unknown_fields_follow_field_validation(http) -> None:
    body = {**cm("fv"), "extra": 1}
    strict = http.post(f"{CM}?fieldValidation=Strict", json=body)
    assert strict.status_code == 400
    assert strict.json()["message"] == ('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding '
                                        'error: unknown field "extra"')
    warned = http.post(f"{CM}?fieldValidation=Warn", json=body)
    assert warned.status_code == 201 and "extra" not in warned.json()
    assert warned.headers["Warning"] == '299 - "unknown field \\"extra\\""'
    typed = http.post(DEP, json={**deployment("typed"), "spec": {**deployment("typed")["spec"], "replicas": "two"}})
    assert typed.status_code == 400 and "cannot unmarshal string" in typed.json()["message"]


def test_apply_configurations_may_be_partial_but_not_undeclared(http) -> None:
    http.post(DEP, json=deployment("partial"))
    labels_only = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: partial, labels: {team: x}}\n"
    r = http.patch(f"{DEP}/partial?fieldManager=labeller", content=labels_only, headers=APPLY)
    assert r.status_code == 200 and r.json()["metadata"]["labels"] == {"team": "x"}
    typo = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: partial}\nspec: {replicaz: 2}\n"
    refused = http.patch(f"{DEP}/partial?fieldManager=x&fieldValidation=Ignore", content=typo, headers=APPLY)
    assert refused.status_code == 500 and "reason" not in refused.json()
    assert refused.json()["message"] == ("failed to create typed patch object (default/partial; apps/v1, "
                                         "Kind=Deployment): .spec.replicaz: field not declared in schema")


def test_concurrent_writers_and_a_watch_agree(sim_cluster) -> None:
    import json
    import threading

    writers, per_writer = 4, 25
    start = httpx.get(sim_cluster.url + CM).json()["metadata"]["resourceVersion"]
    seen: list[tuple[str, int]] = []

    def watch() -> None:
        with httpx.Client(base_url=sim_cluster.url, timeout=20) as c:
            with c.stream("GET", CM, params={"watch": "1", "resourceVersion": start, "timeoutSeconds": "10"}) as r:
                for line in r.iter_lines():
                    event = json.loads(line)
                    seen.append((event["type"], int(event["object"]["metadata"]["resourceVersion"])))
                    if len(seen) == writers * per_writer * 2:
                        return

    def write(index: int) -> None:
        with httpx.Client(base_url=sim_cluster.url, timeout=20) as c:
            for i in range(per_writer):
                name = f"w{index}-{i}"
                c.post(CM, json=cm(name)).raise_for_status()
                c.patch(f"{CM}/{name}", json={"data": {"n": str(i)}},
                        headers={"Content-Type": "application/merge-patch+json"}).raise_for_status()

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    watcher.join(15)
    versions = [rv for _, rv in seen]
    assert len(seen) == writers * per_writer * 2
    assert versions == sorted(set(versions)), "watch events out of order or repeated"
    assert [kind for kind, _ in seen].count("ADDED") == writers * per_writer


def test_label_and_annotation_keys_and_values_are_validated(http) -> None:
    bad_value = http.post(CM, json=cm("lv", labels={"app": "has space"}))
    assert bad_value.status_code == 422
    assert bad_value.json()["message"].startswith(
        'ConfigMap "lv" is invalid: metadata.labels: Invalid value: "has space": a valid label must be an empty '
        "string or consist of alphanumeric characters")
    long_value = http.post(CM, json=cm("ll", labels={"app": "x" * 64}))
    assert "must be no more than 63 bytes" in long_value.json()["message"]
    bad_key = http.post(CM, json=cm("lk", annotations={"example.com/bad key": "v"}))
    assert bad_key.status_code == 422
    assert 'metadata.annotations: Invalid value: "example.com/bad key": name part must consist of' in \
        bad_key.json()["message"]
    fine = cm("ok", labels={"app.kubernetes.io/name": "web", "empty": ""},
              annotations={"kubectl.kubernetes.io/last-applied-configuration": "{}"})
    assert http.post(CM, json=fine).status_code == 201


def test_immutable_fields_refuse_changes(http) -> None:
    merge = {"Content-Type": "application/merge-patch+json"}
    http.post(DEP, json=deployment("imm"))
    moved = http.patch(f"{DEP}/imm", json={"spec": {"selector": {"matchLabels": {"app": "other"}}}}, headers=merge)
    assert moved.status_code == 422
    assert moved.json()["message"] == ('Deployment.apps "imm" is invalid: spec.selector: Invalid value: '
                                       '{"matchLabels":{"app":"other"}}: field is immutable')
    assert http.patch(f"{DEP}/imm", json={"spec": {"replicas": 3}}, headers=merge).status_code == 200
    frozen = http.post(CM, json={**cm("frozen"), "immutable": True}).json()
    changed = http.put(f"{CM}/frozen", json={**frozen, "data": {"k": "other"}})
    assert changed.status_code == 422
    assert "data: Forbidden: field is immutable when `immutable` is set" in changed.json()["message"]
    rb = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings"
    http.post(rb, json={"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "b"},
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r1"}})
    swapped = http.patch(f"{rb}/b", json={"roleRef": {"name": "r2"}}, headers=merge)
    assert swapped.status_code == 422 and "cannot change roleRef" in swapped.json()["message"]


def test_secret_string_data_and_type(http) -> None:
    secrets = "/api/v1/namespaces/default/secrets"
    made = http.post(secrets, json={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                                    "stringData": {"user": "admin"}}).json()
    assert made["type"] == "Opaque" and made["data"] == {"user": "YWRtaW4="} and "stringData" not in made
    untyped = {k: v for k, v in made.items() if k != "type"}
    same = http.put(f"{secrets}/s", json=untyped).json()
    assert same["metadata"]["resourceVersion"] == made["metadata"]["resourceVersion"]
    retyped = http.put(f"{secrets}/s", json={**made, "type": "kubernetes.io/tls"})
    assert retyped.status_code == 422 and "type: Invalid value" in retyped.json()["message"]
    doc = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {user: admin}\n"
    applied = http.patch(f"{secrets}/s?fieldManager=me", content=doc, headers=APPLY).json()
    assert applied["data"] == {"user": "YWRtaW4="} and "stringData" not in applied


def test_an_old_continue_token_is_410(sim_factory) -> None:
    sim = sim_factory(watch_history=3)
    with httpx.Client(base_url=sim.url) as http:
        for i in range(3):
            http.post(CM, json=cm(f"c{i}"))
        token = http.get(CM, params={"limit": 1}).json()["metadata"]["continue"]
        assert http.get(CM, params={"limit": 1, "continue": token}).status_code == 200
        for i in range(5):
            http.post(CM, json=cm(f"later{i}"))
        expired = http.get(CM, params={"limit": 1, "continue": token})
        assert expired.status_code == 410 and expired.json()["reason"] == "Expired"
