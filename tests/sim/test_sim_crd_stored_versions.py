"""A CRD's status.storedVersions as the API server keeps it: a new storage version is added, none forgotten,
and a spec that leaves out a stored version is refused until the status no longer lists it."""

from __future__ import annotations

import httpx

from test_sim_crds import CRDS, crd, establish

CRD = f"{CRDS}/gizmos.example.com"


def put_spec(http: httpx.Client, body: dict) -> httpx.Response:
    live = http.get(CRD).json()
    return http.put(CRD, json={**body, "metadata": {**body["metadata"], "resourceVersion": live["metadata"]["resourceVersion"]}})


def test_stored_versions_grow_and_a_stored_version_cannot_be_dropped(sim_cluster):
    with httpx.Client(base_url=sim_cluster.url, timeout=10) as http:
        establish(http, crd(("v1beta1", "v1"), storage="v1beta1"))
        assert http.get(CRD).json()["status"]["storedVersions"] == ["v1beta1"]

        moved = put_spec(http, crd(("v1beta1", "v1"), storage="v1"))  # storage v1beta1 -> v1, both served
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"]["storedVersions"] == ["v1beta1", "v1"]
        # the controller's re-establishment keeps the list
        sim_cluster.sync()
        assert http.get(CRD).json()["status"]["storedVersions"] == ["v1beta1", "v1"]

        dropped = put_spec(http, crd(("v1",), storage="v1"))
        assert dropped.status_code == 422
        assert dropped.json()["message"] == ('CustomResourceDefinition.apiextensions.k8s.io "gizmos.example.com" is '
                                             'invalid: status.storedVersions[0]: Invalid value: "v1beta1": must '
                                             "appear in spec.versions")

        # once the objects are migrated, whoever did it trims the status; then the version may go
        live = http.get(CRD).json()
        live["status"]["storedVersions"] = ["v1"]
        assert http.put(f"{CRD}/status", json=live).status_code == 200
        assert put_spec(http, crd(("v1",), storage="v1")).status_code == 200
        assert http.get(CRD).json()["status"]["storedVersions"] == ["v1"]
