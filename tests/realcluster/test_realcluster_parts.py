"""The harness's parts that need no control plane: KWOK stages, certificates, the audit timeline, reviews."""

from __future__ import annotations

import json
import shutil
import ssl

import pytest
import yaml

from kfctl.realcluster import files
from kfctl.realcluster.cluster import RealCluster
from kfctl.realcluster.pki import PKI
from kfctl.realcluster.webhooks import Responder


def test_kwok_config_is_one_configuration_and_the_stages_the_harness_documents():
    docs = list(yaml.safe_load_all(files.kwok_config(create_ms=200, running_ms=300, ready_ms=800, jitter_ms=400)))
    assert docs[0]["kind"] == "KwokConfiguration" and docs[0]["options"]["nodeLeaseDurationSeconds"] == 40
    stages = {d["metadata"]["name"]: d["spec"] for d in docs[1:]}
    assert set(stages) == {"node-initialize", "pod-create", "pod-running", "pod-ready", "pod-complete", "pod-delete",
                           "pvc-provision", "pv-release"}
    assert stages["pod-ready"]["delay"] == {"durationMilliseconds": 800, "jitterDurationMilliseconds": 1200}
    assert "Running" in stages["pod-running"]["next"]["statusTemplate"]
    assert files.PROVISIONED_BY in stages["pvc-provision"]["steps"][0]["apply"]["template"]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the harness makes its certificates with openssl")
def test_certificates_verify_against_the_ca_for_their_service_name(tmp_path):
    pki = PKI(tmp_path)
    pair = pki.issue("webhook", cn="svc.ns.svc", dns=("svc.ns.svc",), server=True)
    assert pki.issue("webhook", cn="ignored") == pair  # cached by name
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(pair.cert), str(pair.key))
    client = ssl.create_default_context(cafile=str(pki.ca.cert))
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    c_in, c_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    s = server.wrap_bio(incoming, outgoing, server_side=True)
    c = client.wrap_bio(c_in, c_out, server_hostname="svc.ns.svc")
    for _ in range(10):  # drive the handshake through memory
        for side in (c, s):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                pass
        incoming.write(c_out.read())
        c_in.write(outgoing.read())
    assert c.getpeercert()["subjectAltName"] == (("DNS", "svc.ns.svc"),)


def test_the_timeline_reads_the_audit_log_leaving_out_the_control_plane_and_sentinels(tmp_path):
    cluster = RealCluster.__new__(RealCluster)  # only the audit reader: no processes
    cluster.workdir = tmp_path

    def event(user, verb, resource, name, code, uri="/x", namespace="kubeflow", sub=None, body=None):
        ref = {"resource": resource, "namespace": namespace, "name": name, **({"subresource": sub} if sub else {})}
        return json.dumps({"user": {"username": user}, "verb": verb, "objectRef": ref, "requestURI": uri,
                           "responseStatus": {"code": code}, "stageTimestamp": "2026-12-06T02:00:00.5Z",
                           **({"requestObject": body} if body else {})})

    (tmp_path / "audit.log").write_text("\n".join([
        event("kfctl-admin", "patch", "configmaps", "a", 201, "/api/v1/x?fieldManager=kfctl",
              body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}),
        event("kfctl-admin", "patch", "namespaces", "n", 200, body={"metadata": {"labels": {"x": None}}}, namespace="n"),
        event("system:kube-controller-manager", "update", "deployments", "d", 200),
        event("kfctl-admin", "patch", "deployments", "d", 200, "/apis/x?dryRun=All"),
        event("kfctl-admin", "get", "deployments", "d", 200, sub="status"),
        event("kfctl-admin", "get", "configmaps", "kfctl-realcluster-sync-1", 404, namespace="default"),
        '{"partial',
    ]) + "\n")
    records, seen = cluster._read_audit("kfctl-realcluster-sync-1")
    assert seen
    assert [(r["verb"], r["resource"], r["namespace"], r["name"], r["code"], r["dry_run"]) for r in records] == [
        ("apply", "configmaps", "kubeflow", "a", 201, False), ("patch", "namespaces", "", "n", 200, False),
        ("patch", "deployments", "kubeflow", "d", 200, True),
        ("get", "deployments/status", "kubeflow", "d", 200, False)]
    assert records[0]["time"] == pytest.approx(1796522400.5)


def test_the_responder_admits_and_converts_and_records_each_review():
    responder = Responder("/nonexistent.sock", api=None, pki=None)  # type: ignore[arg-type]
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u1", "operation": "CREATE", "resource": {"group": "kubeflow.org", "resource": "notebooks"},
        "name": "nb", "dryRun": True}}
    answer = responder.answer(("kubeflow", "notebook-webhook"), "/mutate", review)
    assert answer["response"] == {"uid": "u1", "allowed": True}
    converted = responder.answer(("kubeflow", "conv"), "/convert", {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview", "request": {
            "uid": "u2", "desiredAPIVersion": "kubeflow.org/v1", "objects": [{"apiVersion": "kubeflow.org/v1beta1",
                                                                              "kind": "Notebook"}]}})
    assert converted["response"]["convertedObjects"] == [{"apiVersion": "kubeflow.org/v1", "kind": "Notebook"}]
    assert [(r.service, r.operation, r.resource, r.dry_run) for r in responder.reviews] == [
        ("notebook-webhook", "CREATE", "kubeflow.org/notebooks", True), ("conv", "CONVERT", "kubeflow.org/v1", False)]
