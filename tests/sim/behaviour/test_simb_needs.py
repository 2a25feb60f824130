"""Which Services an application dials is read from its container, not from a list of 1.10's names."""

from __future__ import annotations

import base64
from typing import Any

from kfctl.sim.behaviour import KUBEFLOW_NEEDS, Profile
from kfctl.sim.behaviour.needs import Dial, dials, environment, expand, service_of
from simb_helpers import condition, pod, service

NEEDY = Profile(name="needy", needs=KUBEFLOW_NEEDS)


def rule(image: str):
    return next(n for n in KUBEFLOW_NEEDS if n.matches(image))


def store(*objs: dict[str, Any]):
    """A getter over a few objects, as the kubelet reads the store."""
    index = {(o["kind"].lower() + "s", o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objs}
    return lambda group, plural, ns, name: index.get((plural, ns, name))


INSTALL_CONFIG = {"kind": "ConfigMap", "metadata": {"name": "pipeline-install-config", "namespace": "kubeflow"},
                  "data": {"dbHost": "mysql", "dbPort": "3306", "mysqlHost": "mysql", "mysqlPort": "3306"}}


def cm(key: str) -> dict[str, Any]:
    return {"configMapKeyRef": {"name": "pipeline-install-config", "key": key}}


def a_pod(name: str = "p", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "kubeflow", "labels": labels or {"app": name}}}


def test_kfp_2_5_api_server_dials_its_configmap_database_and_its_built_in_object_store() -> None:
    container = {"image": "ghcr.io/kubeflow/kfp-api-server:2.5.0",
                 "envFrom": [{"configMapRef": {"name": "pipeline-api-server-config"}}],
                 "env": [{"name": "DBCONFIG_HOST", "valueFrom": cm("dbHost")},
                         {"name": "DBCONFIG_PORT", "valueFrom": cm("dbPort")},
                         {"name": "DBCONFIG_MYSQLCONFIG_HOST", "valueFrom": cm("mysqlHost")},
                         {"name": "DBCONFIG_MYSQLCONFIG_PORT", "valueFrom": cm("mysqlPort")},
                         {"name": "V2_DRIVER_IMAGE", "value": "ghcr.io/kubeflow/kfp-driver:2.5.0"}]}
    api_config = {"kind": "ConfigMap", "metadata": {"name": "pipeline-api-server-config", "namespace": "kubeflow"},
                  "data": {"VISUALIZATIONSERVICE_NAME": "ml-pipeline-visualizationserver"}}
    got = dials(rule(container["image"]), container, a_pod(), store(INSTALL_CONFIG, api_config))
    assert got == [Dial("kubeflow", "mysql", 3306, "env DBCONFIG_HOST"),
                   Dial("kubeflow", "minio-service", None, "default OBJECTSTORECONFIG_HOST")]


def test_kfp_2_16_api_server_dials_seaweedfs_on_the_port_it_names_and_not_minio() -> None:
    container = {"image": "ghcr.io/kubeflow/kfp-api-server:2.16.0",
                 "env": [{"name": "OBJECTSTORECONFIG_HOST", "value": "seaweedfs.kubeflow"},
                         {"name": "OBJECTSTORECONFIG_PORT", "value": "9000"},
                         {"name": "DBCONFIG_MYSQLCONFIG_HOST", "valueFrom": cm("mysqlHost")},
                         {"name": "DBCONFIG_MYSQLCONFIG_PORT", "valueFrom": cm("mysqlPort")}]}
    got = dials(rule(container["image"]), container, a_pod(), store(INSTALL_CONFIG))
    assert [(d.namespace, d.name, d.port) for d in got] == [("kubeflow", "seaweedfs", 9000), ("kubeflow", "mysql", 3306)]


def test_flags_are_expanded_from_env_and_read_in_both_forms() -> None:
    container = {"image": "ghcr.io/kubeflow/kfp-cache-server:2.16.0",
                 "env": [{"name": "DBCONFIG_DRIVER", "value": "mysql"},  # a driver name, not a host
                         {"name": "DB", "valueFrom": cm("dbHost")}, {"name": "DB_P", "valueFrom": cm("dbPort")}],
                 "args": ["--db_driver=$(DBCONFIG_DRIVER)", "--db_host=$(DB).other", "--db_port=$(DB_P)"]}
    assert dials(rule(container["image"]), container, a_pod(), store(INSTALL_CONFIG)) == [
        Dial("other", "mysql", 3306, "arg --db_host")]
    spaced = {**container, "args": ["--db_host", "mysql-2", "--db_port", "3307"]}
    assert dials(rule(container["image"]), spaced, a_pod(), store(INSTALL_CONFIG)) == [
        Dial("kubeflow", "mysql-2", 3307, "arg --db_host")]
    unset = {**container, "args": []}  # the cache server's built-in --db_host
    assert [d.name for d in dials(rule(container["image"]), unset, a_pod(), store())] == ["mysql"]


def test_urls_name_services_but_outside_names_ips_and_unresolved_references_do_not() -> None:
    need = rule("ghcr.io/kubeflow/kfp-persistence-agent:2.16.0")
    container = {"env": [{"name": "S3_ENDPOINT_URL", "value": "http://seaweedfs.kubeflow:8333"},
                         {"name": "GCS", "value": "https://storage.googleapis.com/bucket"},
                         {"name": "DB_HOST", "value": "10.0.0.7"},
                         {"name": "CACHE_HOST", "value": "$(NOT_SET)"},
                         {"name": "LOCAL_HOST", "value": "localhost"}],
                 "args": ["--mlPipelineAPIServerName=ml-pipeline.kubeflow.svc.cluster.local"]}
    got = dials(need, container, a_pod(), store())
    assert [(d.namespace, d.name, d.port, d.via) for d in got] == [
        ("kubeflow", "seaweedfs", 8333, "env S3_ENDPOINT_URL"),
        ("kubeflow", "ml-pipeline", None, "setting mlPipelineAPIServerName")]
    assert [(d.name, d.port) for d in dials(need, {}, a_pod(), store())] == [("ml-pipeline", 8888)]
    dsn = {"args": ["--embedmd-database-dsn=root:pw@tcp(model-registry-db:3307)/metadb?charset=utf8mb4"]}
    assert dials(need, dsn, a_pod(), store())[0] == Dial("kubeflow", "model-registry-db", 3307,
                                                         "arg --embedmd-database-dsn")
    assert service_of("metadata-grpc-service.kubeflow.svc", "x") == ("kubeflow", "metadata-grpc-service")
    assert service_of("db.example.com", "x") is None


def test_a_service_that_selects_the_pod_itself_is_not_waited_for() -> None:
    container = {"env": [{"name": "ML_PIPELINE_SERVICE_HOST", "value": "ml-pipeline.kubeflow.svc.cluster.local"},
                         {"name": "DBCONFIG_HOST", "value": "mysql"}]}
    own = {"kind": "Service", "metadata": {"name": "ml-pipeline", "namespace": "kubeflow"},
           "spec": {"selector": {"app": "ml-pipeline"}}}
    got = dials(rule("ghcr.io/kubeflow/kfp-api-server:2.16.0"), container, a_pod("ml-pipeline-1", {"app": "ml-pipeline"}),
                store(own))
    assert [d.name for d in got] == ["mysql", "minio-service"]  # minio-service: 2.x's default when unset


def test_environment_follows_the_kubelet_envfrom_prefix_secrets_fields_and_expansion() -> None:
    secret = {"kind": "Secret", "metadata": {"name": "s", "namespace": "kubeflow"},
              "data": {"host": base64.b64encode(b"db").decode()}}
    container = {"envFrom": [{"configMapRef": {"name": "pipeline-install-config"}, "prefix": "KFP_"}],
                 "env": [{"name": "H", "valueFrom": {"secretKeyRef": {"name": "s", "key": "host"}}},
                         {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                         {"name": "ADDR", "value": "$(H).$(NS):$(KFP_dbPort) $$(H) $(MISSING)"}]}
    env = environment(container, a_pod(), store(INSTALL_CONFIG, secret))
    assert env["KFP_mysqlHost"] == "mysql" and env["H"] == "db" and env["NS"] == "kubeflow"
    assert env["ADDR"] == "db.kubeflow:3306 $(H) $(MISSING)"
    assert expand("$(A)$(B)", {"A": "x"}) == "x$(B)"


def test_an_api_server_configured_for_seaweedfs_waits_for_it_and_not_for_minio(behaving) -> None:
    """26.03's API server on the sim: no minio-service anywhere, seaweedfs late within the startup window."""
    kube = behaving(profile=NEEDY)
    for name in ("mysql", "seaweedfs"):
        kube.create(service(name, selector={"app": name}, port=9000 if name == "seaweedfs" else 3306))
    kube.create(pod("mysql-0", labels={"app": "mysql"}))
    env = [{"name": "OBJECTSTORECONFIG_HOST", "value": "seaweedfs.default"},
           {"name": "OBJECTSTORECONFIG_PORT", "value": "9000"}, {"name": "DBCONFIG_MYSQLCONFIG_HOST", "value": "mysql"}]
    startup = {"httpGet": {"path": "/apis/v1beta1/healthz", "port": 8888}, "periodSeconds": 5, "failureThreshold": 12}
    kube.create(pod("ml-pipeline", image="ghcr.io/kubeflow/kfp-api-server:2.16.0",
                    container={"env": env, "startupProbe": startup}))

    def status():
        p = kube.core.read_namespaced_pod("ml-pipeline", "default")
        return (p.status.container_statuses or [None])[0] if p.status else None
    kube.wait(lambda: (s := status()) and s.state.running)
    start = kube.sim.clock.now()
    kube.wait(lambda: kube.sim.clock.now() >= start + 20, timeout=5)
    assert not status().ready  # seaweedfs has no endpoint yet: the application keeps retrying
    kube.create(pod("seaweedfs-0", labels={"app": "seaweedfs"}))
    kube.wait(lambda: (c := condition(kube.core.read_namespaced_pod("ml-pipeline", "default"), "Ready"))
              and c.status == "True", timeout=5)
    assert status().restart_count == 0  # connected within its startup probe's 60 s


def _rendered(release: str) -> list[dict[str, Any]]:
    from kfctl.catalog import load_releases  # noqa: PLC0415 (only these tests render bundles)
    from kfctl.render import RenderRequest, render  # noqa: PLC0415

    catalog = load_releases().catalog(release)
    request = RenderRequest(platform="generic", components=catalog.resolve(["pipelines"]).order)
    return [dict(r.body) for r in render(request, catalog).resources]


def _dialled_by_image(objs: list[dict[str, Any]]) -> dict[str, list[tuple[str, int | None]]]:
    """What the sim reads from each tabulated container of a rendered bundle, as the kubelet would."""
    get = store(*objs)
    out = {}
    for obj in objs:
        if obj["kind"] != "Deployment":
            continue
        template = obj["spec"]["template"]
        pod_ = {"metadata": {**template["metadata"], "name": obj["metadata"]["name"] + "-x",
                             "namespace": obj["metadata"]["namespace"]}}
        for c in template["spec"]["containers"]:
            need = NEEDY.service_need(c["image"])
            if need is not None:
                out[c["image"].rsplit("/", 1)[-1].split(":")[0]] = [(d.name, d.port) for d in dials(need, c, pod_, get)]
    return out


def test_kfctls_26_03_bundle_dials_seaweedfs_and_1_10s_minio():
    assert _dialled_by_image(_rendered("26.03")) == {
        "kfp-api-server": [("seaweedfs", 9000), ("mysql", 3306)], "kfp-cache-server": [("mysql", 3306)],
        "ml_metadata_store_server": [("mysql", 3306)], "kfp-metadata-writer": [("metadata-grpc-service", None)],
        "kfp-persistence-agent": [("ml-pipeline", 8888)]}
    old = _dialled_by_image(_rendered("1.10"))
    assert old["kfp-api-server"] == [("mysql", 3306), ("minio-service", None)]
