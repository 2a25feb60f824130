"""Pipelines in 26.03: KFP 2.16 on SeaweedFS, and nothing left of MinIO, on every platform.

The 26.03 bundle extends 1.10's (``manifests/26.03/pipelines``, ``extends: true``),
so these tests also guard the base: a 1.10 template that hard-coded 2.5 or MinIO
again would show up here.
"""

from __future__ import annotations

import base64
import re

import pytest

from kfctl.catalog import load_releases
from kfctl.render import RenderRequest, render

RELEASES = load_releases()
CATALOG = RELEASES.catalog("26.03")
PLATFORMS = sorted(CATALOG.platforms)
#: names KFP 2.16 itself still reads, as upstream 26.03 keeps them: the artifact Secret (the driver, launcher
#: and UI look it up by that name) and the UI's env settings for its S3 client
KEPT_NAMES = ("mlpipeline-minio-artifact", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "MINIO_NAMESPACE")


def pipelines(platform: str, **params) -> list[dict]:
    components = CATALOG.resolve(["pipelines"]).order
    request = RenderRequest(platform=platform, components=components,
                            parameters={"pipelines": params} if params else {})
    return [dict(r.body) for r in render(request, CATALOG).resources if r.component == "pipelines"]


def strings(value, path=""):
    """(path, string) of every key and value, Secret data decoded."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield path, str(k)
            yield from strings(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from strings(v, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value


def by(objs: list[dict], kind: str, name: str) -> dict:
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


def env(container: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env") or []}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_nothing_references_minio(platform):
    objs = pipelines(platform)
    found = []
    for obj in objs:
        if obj["kind"] == "Secret":  # what the data says, not its base64
            obj = {**obj, "data": {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}}
        for path, text in strings(obj):
            rest = text
            for kept in KEPT_NAMES:
                rest = rest.replace(kept, "")
            if obj["kind"] == "Secret" and path.startswith(".data."):
                continue  # the demo credentials (x-kfctl-demo parameters), upstream's values
            if "minio" in rest.lower():
                found.append(f"{obj['kind']}/{obj['metadata']['name']} {path}: {text[:120]!r}")
    assert found == []
    names = {(o["kind"], o["metadata"]["name"]) for o in objs}
    assert not {n for n in names if "minio" in n[1] and n != ("Secret", "mlpipeline-minio-artifact")}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_kfp_2_16_dials_seaweedfs_and_argo_writes_artifacts_there(platform):
    objs = pipelines(platform)
    images = {c["image"] for o in objs if o["kind"] in ("Deployment", "StatefulSet")
              for c in o["spec"]["template"]["spec"]["containers"]}
    kfp = {i for i in images if i.startswith("ghcr.io/kubeflow/kfp-")}
    assert kfp and {i.rsplit(":", 1)[1] for i in kfp} == {"2.16.0"}
    assert {"chrislusf/seaweedfs:4.00", "mysql:8.4", "quay.io/argoproj/workflow-controller:v3.7.3"} <= images
    assert images <= set(CATALOG.component("pipelines").images)
    api = env(by(objs, "Deployment", "ml-pipeline")["spec"]["template"]["spec"]["containers"][0])
    assert (api["OBJECTSTORECONFIG_HOST"], api["OBJECTSTORECONFIG_PORT"]) == ("seaweedfs.kubeflow", "9000")
    assert api["V2_LAUNCHER_IMAGE"] == "ghcr.io/kubeflow/kfp-launcher:2.16.0"
    service = by(objs, "Service", "seaweedfs")
    compat = next(p for p in service["spec"]["ports"] if p["port"] == 9000)
    seaweed = by(objs, "Deployment", "seaweedfs")["spec"]["template"]["spec"]
    assert compat["targetPort"] in [p["containerPort"] for p in seaweed["containers"][0]["ports"]]
    assert seaweed["volumes"][0]["persistentVolumeClaim"]["claimName"] == "seaweedfs-pvc"
    repo = by(objs, "ConfigMap", "workflow-controller-configmap")["data"]["artifactRepository"]
    assert 'endpoint: "seaweedfs.kubeflow:9000"' in repo
    hook = by(objs, "ConfigMap", "kubeflow-pipelines-profile-controller-code")["data"]["sync.py"]
    assert "s3://%s/v2/artifacts" in hook and "forcePathStyle" in hook
    compile(hook, "sync.py", "exec")  # the hook is valid Python


def test_parameters_keep_their_1_10_names_and_meaning():
    objs = pipelines("generic", storageClassName="fast", minioStorageSize="50Gi", minioAccessKey="team",
                     minioSecretKey="a-long-secret", mysqlStorageSize="30Gi")
    claim = by(objs, "PersistentVolumeClaim", "seaweedfs-pvc")["spec"]
    assert claim["storageClassName"] == "fast" and claim["resources"]["requests"]["storage"] == "50Gi"
    assert by(objs, "PersistentVolumeClaim", "mysql-pv-claim")["spec"]["storageClassName"] == "fast"
    secret = by(objs, "Secret", "mlpipeline-minio-artifact")["data"]
    assert base64.b64decode(secret["accesskey"]).decode() == "team"
    schema = CATALOG.component("pipelines").parameters["properties"]
    base = RELEASES.catalog("1.10").component("pipelines").parameters["properties"]
    assert set(base) <= set(schema)
    assert schema["minioAccessKey"].get("x-kfctl-demo") and schema["minioSecretKey"].get("x-kfctl-demo")


def test_the_1_10_base_still_renders_minio():
    catalog = RELEASES.catalog("1.10")
    request = RenderRequest(platform="generic", components=catalog.resolve(["pipelines"]).order)
    objs = [dict(r.body) for r in render(request, catalog).resources if r.component == "pipelines"]
    assert {"minio", "mysql"} <= {o["metadata"]["name"] for o in objs if o["kind"] == "Deployment"}
    api = env(by(objs, "Deployment", "ml-pipeline")["spec"]["template"]["spec"]["containers"][0])
    assert "OBJECTSTORECONFIG_HOST" not in api and re.search(r":2\.5\.0$", api["V2_DRIVER_IMAGE"])
