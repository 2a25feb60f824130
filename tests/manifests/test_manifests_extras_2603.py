"""Kubeflow 26.03's trainer, spark-operator, model-registry, pvcviewer-controller and user-profile bundles.

What the generic bundle checks cannot see: every admission webhook reaches a
pod that serves it with a certificate that exists (cert-manager's, or one the
controller writes itself), the CRD versions upstream serves and stores, the
pods of kubeflow-system meeting its restricted Pod Security level, the
parameters doing what they say, and the five components rendering together
with 26.03's default set on every platform. Where ``../shared/upstream`` is
present, webhook rules and CRD versions are compared with upstream's own files.
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from kfctl.catalog import load_catalog
from kfctl.kinds import split_api_version
from kfctl.render import RenderRequest, Resource, render
from kfctl.render.checks import all_problems, quantity
from kfctl.render.crdschema import crd_index, custom_resource_problems
from tests.shared_data import shared_path, upstream_tarball

CATALOG = load_catalog(release="26.03")
EXTRAS = ("trainer", "spark-operator", "model-registry", "pvcviewer-controller", "user-profile")
WEBHOOK_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


def _render(components, platform="generic", parameters=None, namespace="kubeflow"):
    order = CATALOG.resolve(components).order
    return render(RenderRequest(platform=platform, components=order, parameters=parameters or {},
                                namespace=namespace), CATALOG)


def _objects(rendering, component=None):
    return [r.to_dict() for r in rendering.resources if component is None or r.component == component]


def _get(objs, kind, name):
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
    return found[0]


def _pods(objs):
    """(workload, pod template) of every Deployment/StatefulSet/DaemonSet."""
    return [(o, o["spec"]["template"]) for o in objs if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet")]


def _selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _serving_pod(objs, namespace, service_name, port):
    """The pod template behind Service ``namespace/service_name`` that declares (or may serve) its targetPort."""
    svc = next((o for o in objs if o["kind"] == "Service" and o["metadata"]["name"] == service_name
                and o["metadata"]["namespace"] == namespace), None)
    assert svc is not None, f"Service {namespace}/{service_name} is not rendered"
    ports = svc["spec"]["ports"]
    sport = next((p for p in ports if p["port"] == port), None) if port else (ports[0] if len(ports) == 1 else None)
    assert sport is not None, f"Service {service_name} has no port {port or 443}"
    target = sport.get("targetPort", sport["port"])
    behind = [(w, t) for w, t in _pods(objs) if w["metadata"]["namespace"] == namespace
              and _selects(svc["spec"]["selector"], t["metadata"].get("labels") or {})]
    assert len(behind) == 1, f"Service {service_name} selects {len(behind)} workloads, want exactly one"
    workload, template = behind[0]
    declared = [(c, p) for c in template["spec"]["containers"] for p in c.get("ports") or ()
                if p["containerPort"] == target or p.get("name") == target]
    if not declared:  # a container that declares no port may still listen (Trainer's manager does)
        assert isinstance(target, int), f"{service_name}: named targetPort {target!r} is declared by no container"
        assert not any(c.get("ports") for c in template["spec"]["containers"]), \
            f"{service_name}: targetPort {target} is declared by no container"
    return workload, template


def _webhook_problems(objs):
    """Every webhook of these bundles reaches a serving pod, whose certificate is cert-manager's or its own."""
    problems = []
    certs = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objs if o["kind"] == "Certificate"}
    for conf in (o for o in objs if o["kind"] in WEBHOOK_KINDS
                 and o["metadata"]["labels"]["app.kubernetes.io/component"] in EXTRAS):
        inject = (conf["metadata"].get("annotations") or {}).get("cert-manager.io/inject-ca-from")
        for hook in conf["webhooks"]:
            svc = hook["clientConfig"]["service"]
            _, template = _serving_pod(objs, svc["namespace"], svc["name"], svc.get("port", 443))
            volumes = {v["name"]: v for v in template["spec"].get("volumes") or ()}
            secrets = {v["secret"]["secretName"] for v in volumes.values() if "secret" in v}
            where = f"{conf['kind']}/{conf['metadata']['name']}: {hook['name']}"
            if inject:
                ns, name = inject.split("/")
                cert = certs.get((ns, name))
                if cert is None:
                    problems.append(f"{where}: inject-ca-from names Certificate {inject}, which is not rendered")
                    continue
                dns = f"{svc['name']}.{svc['namespace']}.svc"
                if dns not in cert["spec"]["dnsNames"]:
                    problems.append(f"{where}: Certificate {inject} does not name {dns}")
                if cert["spec"]["secretName"] not in secrets:
                    problems.append(f"{where}: the serving pod does not mount Secret {cert['spec']['secretName']}")
                if any(h.get("clientConfig", {}).get("caBundle") for h in conf["webhooks"]):
                    problems.append(f"{where}: sets a caBundle that the cainjector owns")
            elif not secrets and not any("emptyDir" in v for v in volumes.values()):
                problems.append(f"{where}: no cert-manager CA and the pod mounts nothing to keep its own certificate")
            if hook["failurePolicy"] != "Fail":
                problems.append(f"{where}: failurePolicy {hook['failurePolicy']}, upstream's are Fail")
    return problems


@pytest.mark.parametrize("component", EXTRAS)
def test_each_component_is_in_the_26_03_release_with_its_supported_kubernetes(component):
    comp = CATALOG.component(component)
    assert comp.path.parent.name == "26.03"
    assert comp.kubernetes == CATALOG.kubernetes or (comp.kubernetes["min"], comp.kubernetes["max"]) == ("1.31", "1.35")
    for name, spec in comp.parameters.get("properties", {}).items():
        assert "default" in spec and spec.get("description"), f"{component}: parameter {name}"


@pytest.mark.parametrize("component", EXTRAS)
def test_declared_requests_are_the_total_at_defaults(component):
    objs = _objects(_render([component]), component)
    total = {"cpu": 0, "memory": 0}
    for workload, template in _pods(objs):
        for c in template["spec"]["containers"]:
            for resource in total:
                value = (c.get("resources") or {}).get("requests", {}).get(resource)
                total[resource] += (quantity(value) or 0) * workload["spec"].get("replicas", 1)
    declared = CATALOG.component(component).requests
    assert {r: quantity(declared[r]) for r in total} == total


@pytest.mark.parametrize("parameters", [{}, {"trainer": {"dataCache": True}}], ids=["default", "dataCache"])
def test_every_webhook_has_a_serving_pod_and_a_certificate(parameters):
    objs = _objects(_render(list(EXTRAS), parameters=parameters))
    assert sum(o["kind"] in WEBHOOK_KINDS for o in objs) >= 7
    assert not _webhook_problems(objs)


def test_the_webhook_check_catches_a_certificate_for_the_wrong_service():
    objs = _objects(_render(["pvcviewer-controller"]))
    cert = _get(objs, "Certificate", "pvcviewer-serving-cert")
    cert["spec"]["dnsNames"] = ["elsewhere.kubeflow.svc"]
    assert any("does not name pvcviewer-webhook-service.kubeflow.svc" in p for p in _webhook_problems(objs))


def test_trainer_crds_webhooks_and_self_issued_certificates():
    objs = _objects(_render(["trainer"]), "trainer")
    versions = {o["metadata"]["name"]: [(v["name"], v["served"], v["storage"]) for v in o["spec"]["versions"]]
                for o in objs if o["kind"] == "CustomResourceDefinition"}
    assert versions == {
        "trainjobs.trainer.kubeflow.org": [("v1alpha1", True, True)],
        "trainingruntimes.trainer.kubeflow.org": [("v1alpha1", True, True)],
        "clustertrainingruntimes.trainer.kubeflow.org": [("v1alpha1", True, True)],
        "jobsets.jobset.x-k8s.io": [("v1alpha2", True, True)],
    }
    scopes = {o["spec"]["names"]["kind"]: o["spec"]["scope"] for o in objs if o["kind"] == "CustomResourceDefinition"}
    assert scopes["ClusterTrainingRuntime"] == "Cluster" and scopes["TrainingRuntime"] == "Namespaced"
    validator = _get(objs, "ValidatingWebhookConfiguration", "validator.trainer.kubeflow.org")
    hooks = [(h["name"], h["clientConfig"]["service"]["path"], h["rules"][0]["resources"])
             for h in validator["webhooks"]]
    assert hooks == [
        ("validator.clustertrainingruntime.trainer.kubeflow.org",
         "/validate-trainer-kubeflow-org-v1alpha1-clustertrainingruntime", ["clustertrainingruntimes"]),
        ("validator.trainingruntime.trainer.kubeflow.org",
         "/validate-trainer-kubeflow-org-v1alpha1-trainingruntime", ["trainingruntimes"]),
        ("validator.trainjob.trainer.kubeflow.org",
         "/validate-trainer-kubeflow-org-v1alpha1-trainjob", ["trainjobs"]),
    ]
    # certificates: no cert-manager; the controllers write the Secrets they mount, named in their config
    assert not [o for o in objs if o["kind"] in ("Certificate", "Issuer")]
    assert "cert-manager" not in {d.name for d in CATALOG.component("trainer").depends_on}
    config = _get(objs, "ConfigMap", "kubeflow-trainer-config")["data"]["controller_manager_config.yaml"]
    config = yaml.safe_load(config)
    assert config["certManagement"] == {"enable": True, "webhookServiceName": "kubeflow-trainer-controller-manager",
                                        "webhookSecretName": "kubeflow-trainer-webhook-cert"}
    secret = _get(objs, "Secret", "kubeflow-trainer-webhook-cert")
    assert "data" not in secret and "stringData" not in secret, "a re-apply would reset the controller's certificate"
    jobset = yaml.safe_load(_get(objs, "ConfigMap", "jobset-manager-config")["data"]["controller_manager_config.yaml"])
    assert jobset["internalCertManagement"] == {"enable": True}
    for o in objs:
        assert not (o["metadata"].get("annotations") or {}).get("cert-manager.io/inject-ca-from"), o["metadata"]["name"]
    # JobSet's conversion webhook is declared as upstream's (single version, never called)
    crd = _get(objs, "CustomResourceDefinition", "jobsets.jobset.x-k8s.io")
    assert crd["spec"]["conversion"]["webhook"]["clientConfig"]["service"] == {
        "name": "jobset-webhook-service", "namespace": "kubeflow-system", "path": "/convert"}
    # the JobSet pod webhooks only see JobSet pods
    for conf in ("jobset-mutating-webhook-configuration", "jobset-validating-webhook-configuration"):
        kind = "MutatingWebhookConfiguration" if "mutating" in conf else "ValidatingWebhookConfiguration"
        pods = [h for h in _get(objs, kind, conf)["webhooks"] if h["rules"][0]["resources"] == ["pods"]]
        assert [h["objectSelector"] for h in pods] == [
            {"matchExpressions": [{"key": "jobset.sigs.k8s.io/jobset-name", "operator": "Exists"}]}]


def test_trainer_runs_in_its_own_restricted_namespace():
    objs = _objects(_render(["trainer", "istio"]), "trainer")
    ns = _get(objs, "Namespace", "kubeflow-system")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert ns["metadata"]["labels"]["istio-injection"] == "enabled"
    assert {o["metadata"].get("namespace") for o in objs if o["kind"] not in (
        "Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "ClusterTrainingRuntime",
        "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")} == {"kubeflow-system"}
    without = _objects(_render(["trainer"]), "trainer")
    assert "istio-injection" not in _get(without, "Namespace", "kubeflow-system")["metadata"]["labels"]
    for workload, template in _pods(objs):
        assert template["metadata"]["annotations"]["traffic.sidecar.istio.io/excludeInboundPorts"] == "9443"


@pytest.mark.parametrize("parameters", [{}, {"trainer": {"dataCache": True}}], ids=["default", "dataCache"])
def test_every_pod_meets_the_restricted_pod_security_level(parameters):
    """kubeflow-system and (in 26.03) the Kubeflow namespace enforce restricted: these pods must pass it."""
    objs = _objects(_render(list(EXTRAS), parameters=parameters))
    assert _get(objs, "Namespace", "kubeflow")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == \
        "restricted"
    checked = 0
    for workload, template in _pods(objs):
        if workload["metadata"]["labels"]["app.kubernetes.io/component"] not in EXTRAS:
            continue
        checked += 1
        pod = template["spec"]
        for c in pod["containers"]:
            sc = c.get("securityContext") or {}
            where = f"{workload['metadata']['name']}/{c['name']}"
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            assert sc.get("runAsNonRoot", pod.get("securityContext", {}).get("runAsNonRoot")) is True, where
            seccomp = sc.get("seccompProfile") or pod.get("securityContext", {}).get("seccompProfile")
            assert seccomp == {"type": "RuntimeDefault"}, where
    assert checked >= 8


def test_trainer_ships_upstreams_default_runtimes_and_can_drop_them():
    objs = _objects(_render(["trainer"]), "trainer")
    runtimes = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ClusterTrainingRuntime"}
    assert sorted(runtimes) == ["deepspeed-distributed", "mlx-distributed", "torch-distributed",
                                "torchtune-llama3.2-1b", "torchtune-llama3.2-3b", "torchtune-qwen2.5-1.5b"]
    images = {c["image"] for r in runtimes.values() for j in r["spec"]["template"]["spec"]["replicatedJobs"]
              for c in j["template"]["spec"]["template"]["spec"]["containers"]}
    trainer_images = {i for i in images if i.startswith("ghcr.io/kubeflow/trainer/")}
    assert trainer_images and all(i.endswith(":v2.1.0") for i in trainer_images)
    assert "pytorch/pytorch:2.7.1-cuda12.8-cudnn9-runtime" in images
    qwen = runtimes["torchtune-qwen2.5-1.5b"]["spec"]["template"]["spec"]["replicatedJobs"]
    assert qwen[-1]["dependsOn"] == [{"name": "dataset-initializer", "status": "Complete"},
                                     {"name": "model-initializer", "status": "Complete"}]
    assert "tokenizer.merges_file=/workspace/model/merges.txt" in \
        qwen[-1]["template"]["spec"]["template"]["spec"]["containers"][0]["command"]
    only = _objects(_render(["trainer"], parameters={"trainer": {"runtimes": ["torch-distributed"]}}), "trainer")
    assert [o["metadata"]["name"] for o in only if o["kind"] == "ClusterTrainingRuntime"] == ["torch-distributed"]


def test_trainer_data_cache_adds_leaderworkerset_with_distinct_pod_labels():
    plain = _objects(_render(["trainer"]), "trainer")
    assert not [o for o in plain if "lws" in o["metadata"]["name"] or "leaderworkerset" in o["metadata"]["name"]]
    objs = _objects(_render(["trainer"], parameters={"trainer": {"dataCache": True, "dataCacheNamespace": "team-a"}}),
                    "trainer")
    crd = _get(objs, "CustomResourceDefinition", "leaderworkersets.leaderworkerset.x-k8s.io")
    assert [(v["name"], v["served"], v["storage"]) for v in crd["spec"]["versions"]] == [("v1", True, True)]
    deploy = _get(objs, "Deployment", "lws-controller-manager")
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.k8s.io/lws/lws:v0.7.0"
    assert "registry.k8s.io/lws/lws:v0.7.0" in CATALOG.component("trainer").images
    # each controller's Services select its own pods only, although both carry control-plane: controller-manager
    for svc, owner in (("jobset-webhook-service", "jobset-controller-manager"),
                       ("lws-webhook-service", "lws-controller-manager")):
        selector = _get(objs, "Service", svc)["spec"]["selector"]
        chosen = [w["metadata"]["name"] for w, t in _pods(objs) if _selects(selector, t["metadata"]["labels"])]
        assert chosen == [owner], svc
    account = _get(objs, "ServiceAccount", "kubeflow-trainer-cache-initializer")
    assert account["metadata"]["namespace"] == "team-a"
    runtimes = {o["metadata"]["name"] for o in objs if o["kind"] == "ClusterTrainingRuntime"}
    assert "torch-distributed-with-cache" in runtimes


def test_spark_operator_crds_and_webhooks():
    objs = _objects(_render(["spark-operator"]), "spark-operator")
    versions = {o["metadata"]["name"]: [(v["name"], v["served"], v["storage"]) for v in o["spec"]["versions"]]
                for o in objs if o["kind"] == "CustomResourceDefinition"}
    assert versions == {"sparkapplications.sparkoperator.k8s.io": [("v1beta2", True, True)],
                        "scheduledsparkapplications.sparkoperator.k8s.io": [("v1beta2", True, True)],
                        "sparkconnects.sparkoperator.k8s.io": [("v1alpha1", True, True)]}
    for o in objs:
        if o["kind"] == "CustomResourceDefinition":  # a *.k8s.io group is refused without it
            assert o["metadata"]["annotations"]["api-approved.kubernetes.io"].startswith("https://")
    mutating = _get(objs, "MutatingWebhookConfiguration", "spark-operator-webhook")
    pods = [h for h in mutating["webhooks"] if h["rules"][0]["resources"] == ["pods"]]
    assert [h["objectSelector"] for h in pods] == [
        {"matchLabels": {"sparkoperator.k8s.io/launched-by-spark-operator": "true"}}]
    assert {h["clientConfig"]["service"]["port"] for h in mutating["webhooks"]} == {9443}
    webhook = _get(objs, "Deployment", "spark-operator-webhook")
    args = webhook["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--webhook-secret-namespace=kubeflow" in args and "--mutating-webhook-name=spark-operator-webhook" in args
    role = _get(objs, "Role", "spark-operator-webhook")
    assert {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]} in role["rules"]
    # the namespace follows the KfDef's
    moved = _objects(_render(["spark-operator"], namespace="kf-test"), "spark-operator")
    args = _get(moved, "Deployment", "spark-operator-controller")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--leader-election-lock-namespace=kf-test" in args and '--namespaces=""' in args
    scoped = _objects(_render(["spark-operator"], parameters={"spark-operator": {"jobNamespaces": ["a", "b"]}}),
                      "spark-operator")
    assert "--namespaces=a,b" in _get(scoped, "Deployment", "spark-operator-controller")[
        "spec"]["template"]["spec"]["containers"][0]["args"]


def test_model_registry_routes_policies_and_database():
    objs = _objects(_render(["model-registry", "istio"]), "model-registry")
    routes = {o["metadata"]["name"]: o["spec"]["http"][0] for o in objs if o["kind"] == "VirtualService"}
    assert routes["model-registry"]["match"] == [{"uri": {"prefix": "/api/model_registry/"}}]
    assert routes["model-registry"]["route"][0]["destination"] == {
        "host": "model-registry-service.kubeflow.svc.cluster.local", "port": {"number": 8080}}
    assert routes["model-registry-ui"]["match"] == [{"uri": {"prefix": "/model-registry/"}}]
    assert routes["model-registry-ui"]["rewrite"] == {"uri": "/"}
    assert routes["model-registry-ui"]["headers"]["request"]["add"] == {"x-forwarded-prefix": "/model-registry"}
    for o in objs:
        if o["kind"] == "VirtualService":
            assert o["spec"]["gateways"] == ["kubeflow/kubeflow-gateway"]
    ui_policy = _get(objs, "AuthorizationPolicy", "model-registry-ui")["spec"]
    assert ui_policy["rules"] == [{"from": [{"source": {"principals": [
        "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"]}}]}]
    # each route's Service reaches the pod behind it
    _serving_pod(objs, "kubeflow", "model-registry-service", 8080)
    _serving_pod(objs, "kubeflow", "model-registry-ui-service", 80)
    _serving_pod(objs, "kubeflow", "model-registry-db", 3306)
    # without Istio: no Istio objects; the password and the claim follow the parameters
    plain = _objects(_render(["model-registry"], parameters={"model-registry": {
        "dbPassword": "s3cret", "dbStorageSize": "20Gi", "storageClassName": "fast", "ui": False}}), "model-registry")
    assert not [o for o in plain if split_api_version(o["apiVersion"])[0].endswith("istio.io")]
    assert not [o for o in plain if "model-registry-ui" in o["metadata"]["name"]]
    secret = _get(plain, "Secret", "model-registry-db-secrets")
    assert base64.b64decode(secret["data"]["MYSQL_ROOT_PASSWORD"]).decode() == "s3cret"
    claim = _get(plain, "PersistentVolumeClaim", "metadata-mysql")["spec"]
    assert claim["resources"]["requests"]["storage"] == "20Gi" and claim["storageClassName"] == "fast"
    assert CATALOG.component("model-registry").parameters["properties"]["dbPassword"]["x-kfctl-demo"] is True


def test_pvcviewer_certificate_is_injected_into_webhooks_and_crd():
    objs = _objects(_render(["pvcviewer-controller"]), "pvcviewer-controller")
    assert {d.name for d in CATALOG.component("pvcviewer-controller").depends_on if d.required} >= {"cert-manager"}
    crd = _get(objs, "CustomResourceDefinition", "pvcviewers.kubeflow.org")
    assert [(v["name"], v["served"], v["storage"]) for v in crd["spec"]["versions"]] == [("v1alpha1", True, True)]
    assert crd["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == "kubeflow/pvcviewer-serving-cert"
    cert = _get(objs, "Certificate", "pvcviewer-serving-cert")["spec"]
    assert cert["issuerRef"] == {"kind": "Issuer", "name": "pvcviewer-selfsigned-issuer"}
    assert cert["dnsNames"] == ["pvcviewer-webhook-service.kubeflow.svc",
                                "pvcviewer-webhook-service.kubeflow.svc.cluster.local"]
    for kind in WEBHOOK_KINDS:
        conf = _get(objs, kind, f"pvcviewer-{kind[:-len('WebhookConfiguration')].lower()}-webhook-configuration")
        assert conf["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == "kubeflow/pvcviewer-serving-cert"


def test_user_profile_is_one_profile_named_by_its_parameters():
    objs = _objects(_render(["user-profile"]), "user-profile")
    assert [(o["kind"], o["metadata"]["name"], o["spec"]["owner"]) for o in objs] == [
        ("Profile", "kubeflow-user-example-com", {"kind": "User", "name": "user@example.com"})]
    assert CATALOG.component("user-profile").parameters["properties"]["owner"]["x-kfctl-demo"] is True
    objs = _objects(_render(["user-profile"], parameters={"user-profile": {
        "name": "team-a", "owner": "alice@corp.example", "resourceQuota": {"cpu": "8", "requests.nvidia.com/gpu": 1}}}),
        "user-profile")
    profile = objs[0]
    assert profile["metadata"]["name"] == "team-a" and profile["spec"]["owner"]["name"] == "alice@corp.example"
    assert profile["spec"]["resourceQuotaSpec"] == {"hard": {"cpu": "8", "requests.nvidia.com/gpu": 1}}
    # with profiles in 26.03, exactly one Profile: user-profile's
    both = _render(["profiles", "user-profile"])
    assert [r.component for r in both.resources if r.kind == "Profile"] == ["user-profile"]
    # without user-profile (a 1.10 KfDef moved to 26.03), profiles keeps creating it: an upgrade never prunes it
    alone = _render(["profiles"])
    assert [(r.component, r.name) for r in alone.resources if r.kind == "Profile"] == [
        ("profiles", "kubeflow-user-example-com")]


def _with_extras(platform):
    listed = list(CATALOG.platform(platform).components)
    return listed + [c for c in EXTRAS if c not in listed]


@pytest.mark.parametrize("platform", sorted(CATALOG.platforms))
def test_extras_render_with_the_26_03_default_set(platform):
    plat = CATALOG.platform(platform)
    rendering = _render(_with_extras(platform), platform=platform)
    provided = [(split_api_version(k["apiVersion"])[0], k["kind"]) for k in plat.raw.get("providedKinds", ())]
    problems = list(all_problems(rendering.resources, version="1.32", provided=provided))
    assert not problems, "\n".join(problems)
    assert {b.component for b in rendering.bundles} >= set(EXTRAS)
    assert not _webhook_problems(_objects(rendering))


def test_extras_follow_the_kfdef_namespace():
    rendering = _render(_with_extras("generic"), namespace="kf-test")
    stray = [f"{r.component}: {r.ref}" for r in rendering.resources if r.component in EXTRAS and (
        r.namespace == "kubeflow" or any(p in json.dumps(r.to_dict()) for p in ('.kubeflow.svc', '"kubeflow/')))]
    assert not stray, "\n".join(stray)


# ---- upstream 26.03's own files, where ../shared is present ------------------------------------------------------

def _tar_docs(tarball, suffixes):
    docs = []
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            if member.isfile() and any(member.name.endswith(s) for s in suffixes):
                text = tar.extractfile(member).read().decode()
                docs += [d for d in yaml.safe_load_all(io.StringIO(text)) if isinstance(d, dict)]
    return docs


def _hooks(docs):
    """Webhook entries by (kind, entry name), without what kustomize renames (service name/namespace)."""
    out = {}
    for conf in (d for d in docs if d.get("kind") in WEBHOOK_KINDS):
        for hook in conf["webhooks"]:
            keep = {k: v for k, v in hook.items() if k not in ("clientConfig",)}
            keep["path"] = hook["clientConfig"]["service"]["path"]
            out[(conf["kind"], hook["name"])] = keep
    return out


def _crd_versions(docs):
    return {d["metadata"]["name"]: [(v["name"], v["served"], v["storage"]) for v in d["spec"]["versions"]]
            for d in docs if d.get("kind") == "CustomResourceDefinition"}


@pytest.mark.parametrize(("component", "source", "suffixes", "params"), [
    ("trainer", "26.03", ("applications/trainer/upstream/base/webhook/manifests.yaml",
                          "applications/trainer/upstream/base/crds/trainer.kubeflow.org_trainjobs.yaml",
                          "applications/trainer/upstream/base/crds/trainer.kubeflow.org_trainingruntimes.yaml",
                          "applications/trainer/upstream/base/crds/trainer.kubeflow.org_clustertrainingruntimes.yaml"),
     {}),
    ("trainer", "jobset", (), {}),
    ("trainer", "lws", (), {"dataCache": True}),
    ("spark-operator", "26.03", ("applications/spark/spark-operator/base/resources.yaml",), {}),
    ("pvcviewer-controller", "26.03", ("pvcviewer-controller/upstream/webhook/manifests.yaml",
                                       "pvcviewer-controller/upstream/crd/bases/kubeflow.org_pvcviewers.yaml"),
     {}),
])
def test_webhook_rules_and_crd_versions_match_upstream(component, source, suffixes, params, tmp_path):
    if source == "jobset":
        path = shared_path("upstream", "remote", "jobset-v0.10.1-manifests.yaml")
        upstream = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    elif source == "lws":  # its webhooks are patched by its own kustomization: build config/default for real
        with tarfile.open(shared_path("upstream", "remote", "lws-v0.7.0-config.tar.gz")) as tar:
            tar.extractall(tmp_path, filter="data")
        kubectl = Path(sys.executable).parent / "kubectl"
        proc = subprocess.run([str(kubectl), "kustomize", str(tmp_path / "lws-0.7.0" / "config" / "default")],
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        upstream = [d for d in yaml.safe_load_all(proc.stdout) if isinstance(d, dict)]
    else:
        upstream = _tar_docs(upstream_tarball("26.03"), suffixes)
    ours = _objects(_render([component], parameters={component: params}), component)
    theirs_hooks, theirs_crds = _hooks(upstream), _crd_versions(upstream)
    assert theirs_hooks or theirs_crds, f"nothing read from {source} {suffixes}"
    our_hooks, our_crds = _hooks(ours), _crd_versions(ours)
    for key, hook in theirs_hooks.items():
        if source in ("jobset", "lws"):  # both name their pod webhooks mpod/vpod.kb.io: compare within the source
            prefix = "jobset" if source == "jobset" else "lws"
            mine = _hooks([o for o in ours if o["metadata"]["name"].startswith(prefix)])
        else:
            mine = our_hooks
        assert key in mine, f"{component}: upstream webhook {key} is missing"
        assert mine[key] == hook, f"{component}: webhook {key} differs from upstream"
    for name, versions in theirs_crds.items():
        assert our_crds.get(name) == versions, f"{component}: CRD {name} versions differ from upstream"


def test_platforms_set_the_extras_storage_class_and_single_replicas():
    for platform, storage_class in (("aws", "gp3"), ("gcp", "standard-rwo"), ("azure", "managed-csi")):
        objs = _objects(_render(["model-registry"], platform=platform), "model-registry")
        assert _get(objs, "PersistentVolumeClaim", "metadata-mysql")["spec"]["storageClassName"] == storage_class
    objs = _objects(_render(list(EXTRAS), platform="local", parameters={"trainer": {"dataCache": True}}))
    replicas = {w["metadata"]["name"]: w["spec"]["replicas"] for w, _ in _pods(objs)
                if w["metadata"]["labels"]["app.kubernetes.io/component"] in EXTRAS}
    assert replicas["lws-controller-manager"] == 1 and set(replicas.values()) == {1}
    generic = _objects(_render(["trainer"], parameters={"trainer": {"dataCache": True}}), "trainer")
    assert _get(generic, "Deployment", "lws-controller-manager")["spec"]["replicas"] == 2


#: a TrainJob as Trainer's documentation writes one, and a JobSet with a pod template
HAND_WRITTEN = """
apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata: {name: mnist, namespace: team-a}
spec:
  runtimeRef: {name: torch-distributed}
  trainer:
    image: pytorch/pytorch:2.7.1-cuda12.8-cudnn9-runtime
    command: [torchrun, train.py]
    numNodes: 2
    numProcPerNode: 4
    resourcesPerNode: {limits: {nvidia.com/gpu: 1, memory: 8Gi}}
    env: [{name: EPOCHS, value: "3"}]
  podTemplateOverrides:
    - targetJobs: [{name: node}]
      spec: {nodeSelector: {pool: gpu}, tolerations: [{key: gpu, operator: Exists}]}
---
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata: {name: pi, namespace: team-a}
spec:
  failurePolicy: {maxRestarts: 3}
  replicatedJobs:
    - name: workers
      replicas: 2
      template:
        spec:
          parallelism: 1
          template:
            spec:
              restartPolicy: Never
              containers: [{name: pi, image: "perl:5.34", command: [perl, -e, print 1]}]
"""


def _validate(docs, rendering):
    index = crd_index(rendering.resources)
    problems = []
    for doc in docs:
        crd = index.get((split_api_version(doc["apiVersion"])[0], doc["kind"]))
        assert crd is not None, f"no CRD for {doc['kind']}"
        scoped = crd["spec"]["scope"] == "Namespaced"
        body = {**doc, "metadata": {"namespace": "team-a", **doc["metadata"]} if scoped else
                {k: v for k, v in doc["metadata"].items() if k != "namespace"}}
        problems += [f"{doc['kind']}/{doc['metadata']['name']}: {p}"
                     for p in custom_resource_problems(Resource(component="test", source="test", body=body), crd)]
    return problems


def test_trimmed_crds_accept_what_users_write():
    rendering = _render(["trainer", "spark-operator", "pvcviewer-controller"],
                        parameters={"trainer": {"dataCache": True}})
    docs = [d for d in yaml.safe_load_all(HAND_WRITTEN) if d]
    assert not _validate(docs, rendering)
    wrong = {**docs[0], "spec": {**docs[0]["spec"], "trainer": {"numNodes": "two"}}}
    assert _validate([wrong], rendering), "a typed field must still be checked"


def test_trimmed_crds_accept_upstreams_own_samples():
    rendering = _render(["trainer", "spark-operator", "pvcviewer-controller"],
                        parameters={"trainer": {"dataCache": True}})
    docs = _tar_docs(upstream_tarball("26.03"), (
        "applications/spark/sparkapplication_example.yaml",
        "applications/pvcviewer-controller/upstream/samples/_v1alpha1_pvcviewer.yaml",
        "applications/trainer/upstream/base/runtimes/torch_distributed.yaml",
        "applications/trainer/upstream/base/runtimes/deepspeed_distributed.yaml",
        "applications/trainer/upstream/base/runtimes/torchtune/qwen2_5/qwen2_5_1.5B.yaml",
        "applications/trainer/upstream/base/runtimes/data-cache/torch_distributed_with_cache.yaml"))
    docs += [d for d in _tar_docs(shared_path("upstream", "remote", "lws-v0.7.0-config.tar.gz"),
                                  ("config/samples/leaderworkerset_v1_leaderworkerset.yaml",
                                   "config/samples/leaderworkerset_multi_template.yaml",
                                   "config/samples/leaderworkerset_exclusiveplacement.yaml"))]
    docs = [d for d in docs if "." in split_api_version(d["apiVersion"])[0]]  # the samples' own claims aside
    kinds = {d["kind"] for d in docs}
    assert kinds >= {"SparkApplication", "PVCViewer", "ClusterTrainingRuntime", "LeaderWorkerSet"}
    assert not _validate(docs, rendering)
