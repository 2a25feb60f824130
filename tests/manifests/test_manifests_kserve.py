"""KServe's serving stack in 26.03: knative-serving, kserve and kserve-models-web-app.

The generic bundle checks (tests/manifests/test_manifests_bundles.py) render
each component alone on every platform. Here: the three with 26.03's default
set on every platform, what the deployment mode switches, that every KServe
webhook is backed by a cert-manager Certificate its server mounts, and that
Knative's self-managed webhooks select what they must validate.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from kfctl.catalog import load_releases
from kfctl.config import parse_kfdef, resolve
from kfctl.deploy import plan_rendering
from kfctl.errors import CatalogError
from kfctl.kinds import split_api_version
from kfctl.plan import ObjectRef
from kfctl.plan.index import labels_match
from kfctl.render import RenderRequest, render
from kfctl.render.checks import all_problems

CATALOG = load_releases().catalog("26.03")
SERVING = ["knative-serving", "kserve", "kserve-models-web-app"]
PLATFORMS = sorted(CATALOG.platforms)


def _render(components, *, platform="generic", namespace="kubeflow", parameters=None):
    order = CATALOG.resolve(components).order
    return render(RenderRequest(platform=platform, components=order, namespace=namespace,
                                parameters=parameters or {}), CATALOG)


def _objects(rendering, component=None, kind=None):
    return [r for r in rendering.resources
            if (component is None or r.component == component) and (kind is None or r.kind == kind)]


def _one(rendering, kind, name):
    found = [r for r in rendering.resources if r.kind == kind and r.name == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
    return found[0]


def _config(rendering, key):
    return json.loads(_one(rendering, "ConfigMap", "inferenceservice-config").to_dict()["data"][key])


@pytest.mark.parametrize("platform", PLATFORMS)
def test_serving_stack_with_the_default_set_renders_and_validates(platform):
    plat = CATALOG.platform(platform)
    rendering = _render([*plat.components, *SERVING], platform=platform)
    provided = [(split_api_version(k["apiVersion"])[0], k["kind"]) for k in plat.raw.get("providedKinds", ())]
    problems = list(all_problems(rendering.resources, version="1.32", provided=provided))
    assert not problems, "\n".join(problems)
    assert {r.component for r in rendering.resources} >= set(SERVING)


def test_kserve_brings_knative_serving_and_its_mesh():
    order = CATALOG.resolve(["kserve"]).order
    assert set(order) == {"kubeflow-core", "cert-manager", "istio", "knative-serving", "kserve"}
    assert order.index("knative-serving") < order.index("kserve")
    assert order.index("istio") < order.index("knative-serving")
    assert set(CATALOG.resolve(["kserve-models-web-app"]).order) >= {"kserve", "knative-serving"}


def _select(mode):
    kfdef = parse_kfdef(textwrap.dedent(f"""\
        apiVersion: kfdef.apps.kubeflow.org/v1
        kind: KfDef
        metadata: {{name: models}}
        spec:
          version: "26.03"
          applications:
          - name: kserve
            parameters: [{{name: deploymentMode, value: {mode}}}]
          - name: kserve-models-web-app
        """), file="kfdef.yaml")
    return resolve(kfdef, CATALOG, environ={})


def test_raw_deployment_mode_leaves_knative_out():
    serverless = _select("Serverless")
    assert "knative-serving" in serverless.names
    assert "kserve requires knative-serving: added" in serverless.notices
    raw = _select("RawDeployment")
    assert "knative-serving" not in raw.names
    assert {"kserve", "kserve-models-web-app", "cert-manager", "kubeflow-core"} <= set(raw.names)
    params = {c.name: dict(c.parameters) for c in raw.components}
    rendering = render(RenderRequest(platform="generic", components=raw.names, parameters=params), CATALOG)
    assert _config(rendering, "deploy") == {"defaultDeploymentMode": "RawDeployment"}
    assert not [r for r in rendering.resources if r.namespace == "knative-serving" or "knative" in r.name]
    plat = CATALOG.platform("generic")
    provided = [(split_api_version(k["apiVersion"])[0], k["kind"]) for k in plat.raw.get("providedKinds", ())]
    assert not list(all_problems(rendering.resources, version="1.32", provided=provided))
    # Serverless without Knative is refused with the reason
    with pytest.raises(CatalogError, match="'kserve' with deploymentMode Serverless requires 'knative-serving'"):
        render(RenderRequest(platform="generic", components=raw.names), CATALOG)


def test_deployment_mode_is_serverless_by_default_and_raw_without_knative_routing():
    serverless = _render(["kserve"])
    assert _config(serverless, "deploy") == {"defaultDeploymentMode": "Serverless"}
    raw = _render(["kserve"], parameters={"kserve": {"deploymentMode": "RawDeployment"}})
    assert _config(raw, "deploy") == {"defaultDeploymentMode": "RawDeployment"}
    # the mode changes nothing else of KServe's configuration
    body = lambda r: {k: v for k, v in _one(r, "ConfigMap", "inferenceservice-config").to_dict()["data"].items()  # noqa: E731
                      if k != "deploy"}
    assert body(raw) == body(serverless)
    ingress = _config(serverless, "ingress")
    assert ingress["ingressGateway"] == "kubeflow/kubeflow-gateway"
    assert ingress["localGateway"] == "knative-serving/knative-local-gateway"
    assert ingress["pathTemplate"] == "/serving/{{ .Namespace }}/{{ .Name }}"  # KServe's Go template, untouched
    assert ingress["domainTemplate"] == "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}"


def test_ingress_follows_the_kfdef_namespace_and_the_domain():
    rendering = _render(SERVING, namespace="kf-test", parameters={"kserve": {"ingressDomain": "models.example.org"},
                                                                  "knative-serving": {"domain": "models.example.org"}})
    ingress = _config(rendering, "ingress")
    assert ingress["ingressGateway"] == "kf-test/kubeflow-gateway"
    assert ingress["ingressDomain"] == "models.example.org"
    assert _one(rendering, "ConfigMap", "config-domain").to_dict()["data"] == {"models.example.org": ""}
    assert _one(rendering, "ConfigMap", "config-istio").to_dict()["data"] == {
        "gateway.kf-test.kubeflow-gateway": "istio-ingressgateway.istio-system.svc.cluster.local"}
    vs = _one(rendering, "VirtualService", "kserve-models-web-app").to_dict()["spec"]
    assert vs["gateways"] == ["kf-test/kubeflow-gateway"]
    assert vs["http"][0]["route"][0]["destination"]["host"] == "kserve-models-web-app.kf-test.svc.cluster.local"
    stray = [str(r.ref) for r in rendering.resources if r.component in SERVING and r.namespace == "kubeflow"]
    assert not stray


def _serving_pods(rendering, service):
    """The workloads whose pod templates the Service selects."""
    selector = service.to_dict()["spec"]["selector"]
    return [w for w in rendering.resources if w.kind == "Deployment" and w.namespace == service.namespace
            and labels_match({"matchLabels": selector}, w.to_dict()["spec"]["template"]["metadata"]["labels"])]


def test_every_kserve_webhook_is_served_with_a_cert_manager_certificate_its_server_mounts():
    rendering = _render(["kserve"])
    configs = [r for r in _objects(rendering, "kserve")
               if r.kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")]
    assert {c.name for c in configs} == {
        "inferenceservice.serving.kserve.io", "clusterservingruntime.serving.kserve.io",
        "inferencegraph.serving.kserve.io", "localmodelcache.serving.kserve.io", "servingruntime.serving.kserve.io",
        "trainedmodel.serving.kserve.io", "llminferenceservice.serving.kserve.io"}
    assert len([c for c in configs if c.kind == "ValidatingWebhookConfiguration"]) == 7
    issuer = _one(rendering, "Issuer", "selfsigned-issuer")
    for config in configs:
        ns, _, cert_name = config.to_dict()["metadata"]["annotations"]["cert-manager.io/inject-ca-from"].partition("/")
        cert = _one(rendering, "Certificate", cert_name)
        assert cert.namespace == ns == "kubeflow"
        assert cert.to_dict()["spec"]["issuerRef"] == {"kind": "Issuer", "name": issuer.name}
        for hook in config.to_dict()["webhooks"]:
            assert hook["failurePolicy"] == "Fail" and hook["sideEffects"] == "None"
            svc_ref = hook["clientConfig"]["service"]
            assert f"{svc_ref['name']}.{svc_ref['namespace']}.svc" in cert.to_dict()["spec"]["dnsNames"], hook["name"]
            pods = _serving_pods(rendering, _one(rendering, "Service", svc_ref["name"]))
            assert len(pods) == 1, hook["name"]
            volumes = pods[0].to_dict()["spec"]["template"]["spec"]["volumes"]
            assert {"name": "cert", "secret": {"secretName": cert.to_dict()["spec"]["secretName"], "defaultMode": 420}} \
                in volumes, f"{hook['name']}: its server does not mount {cert.to_dict()['spec']['secretName']}"


def test_kserve_webhook_rules_cover_the_kinds_the_bundle_defines():
    rendering = _render(["kserve"])
    served = {(c.to_dict()["spec"]["group"], v["name"], c.to_dict()["spec"]["names"]["plural"])
              for c in _objects(rendering, "kserve", "CustomResourceDefinition") for v in c.to_dict()["spec"]["versions"]}
    rules = {}
    for config in _objects(rendering, "kserve"):
        for hook in config.to_dict().get("webhooks", ()):
            for rule in hook["rules"]:
                for group in rule["apiGroups"]:
                    for version in rule["apiVersions"]:
                        for plural in rule["resources"]:
                            rules[(group, version, plural)] = (config.kind, rule["operations"])
    assert rules.pop(("", "v1", "pods")) == ("MutatingWebhookConfiguration", ["CREATE"])
    assert set(rules) <= served, set(rules) - served
    assert rules[("serving.kserve.io", "v1beta1", "inferenceservices")][1] == ["CREATE", "UPDATE"]
    assert rules[("serving.kserve.io", "v1alpha1", "localmodelcaches")][1] == ["CREATE", "UPDATE", "DELETE"]
    # upstream Kubeflow deletes the LLMInferenceServiceConfig validator, whose server does not run
    assert ("serving.kserve.io", "v1alpha1", "llminferenceserviceconfigs") not in rules
    mutator = _one(rendering, "MutatingWebhookConfiguration", "inferenceservice.serving.kserve.io")
    pod_hook = next(h for h in mutator.to_dict()["webhooks"] if h["name"].endswith("pod-mutator"))
    kubeflow_ns = _one(rendering, "Namespace", "kubeflow").to_dict()["metadata"]["labels"]
    assert not labels_match(pod_hook["namespaceSelector"], kubeflow_ns), "the pod mutator must skip Kubeflow's namespace"


def test_optional_controllers_take_their_webhooks_and_certificates_with_them():
    rendering = _render(["kserve"], parameters={"kserve": {"llmInferenceService": False, "localModelController": False,
                                                           "servingRuntimes": False}})
    names = {(r.kind, r.name) for r in _objects(rendering, "kserve")}
    assert ("Deployment", "kserve-controller-manager") in names
    for gone in [("Deployment", "llmisvc-controller-manager"), ("Certificate", "llmisvc-serving-cert"),
                 ("ValidatingWebhookConfiguration", "llminferenceservice.serving.kserve.io"),
                 ("Service", "llmisvc-webhook-server-service"), ("Deployment", "kserve-localmodel-controller-manager"),
                 ("ClusterRoleBinding", "kserve-localmodel-manager-rolebinding")]:
        assert gone not in names
    assert not [r for r in _objects(rendering, "kserve") if r.kind in ("ClusterServingRuntime", "ClusterStorageContainer")]
    # the CRDs stay: removing them would delete users' objects
    assert ("CustomResourceDefinition", "llminferenceservices.serving.kserve.io") in names


def test_runtimes_wait_for_the_webhook_that_validates_them():
    rendering = _render(["kserve"])
    deps = {c.name: [d.name for d in c.depends_on if d.required] for c in CATALOG.components.values()}
    plan = plan_rendering(rendering, {n: [d for d in deps[n] if d in CATALOG.resolve(["kserve"]).order]
                                      for n in CATALOG.resolve(["kserve"]).order})
    runtime = ObjectRef("serving.kserve.io", "ClusterServingRuntime", "", "kserve-sklearnserver")
    waits = {str(d) for d in plan.dependencies(runtime)}
    assert "Deployment/kubeflow/kserve-controller-manager" in waits
    assert "ValidatingWebhookConfiguration/clusterservingruntime.serving.kserve.io" in waits
    controller = ObjectRef("apps", "Deployment", "kubeflow", "kserve-controller-manager")
    assert "Certificate.cert-manager.io/kubeflow/serving-cert" in {str(d) for d in plan.dependencies(controller)}


def test_knative_webhooks_are_self_managed_and_select_what_they_validate():
    rendering = _render(["knative-serving"])
    configs = [r for r in _objects(rendering, "knative-serving")
               if r.kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")]
    assert len(configs) == 5
    config_maps = _objects(rendering, "knative-serving", "ConfigMap")
    assert len(config_maps) == 13
    for config in configs:
        # Knative's webhooks write their own CA; cert-manager must not be asked to
        assert not (config.to_dict()["metadata"].get("annotations") or {})
        for hook in config.to_dict()["webhooks"]:
            assert "caBundle" not in hook["clientConfig"]
            # Knative's reconcilers write the rules; rules of ours would be taken back at once and every
            # re-apply would see drift
            assert "rules" not in hook, hook["name"]
            service = _one(rendering, "Service", hook["clientConfig"]["service"]["name"])
            assert service.namespace == "knative-serving"
            https = next(p for p in service.to_dict()["spec"]["ports"] if p["port"] == 443)
            pods = _serving_pods(rendering, service)
            assert len(pods) == 1, hook["name"]
            container = pods[0].to_dict()["spec"]["template"]["spec"]["containers"][0]
            assert {"name": "WEBHOOK_PORT", "value": "8443"} in container["env"]
            assert https["targetPort"] in (8443, "https-webhook")
        if config.name.startswith("config."):
            # the ConfigMap validators' selectors must match the bundle's ConfigMaps as kfctl labels
            # them (app.kubernetes.io/component is kfctl's)
            selected = {c.name for c in config_maps
                        if labels_match(config.to_dict()["webhooks"][0]["objectSelector"], c.to_dict()["metadata"]["labels"])}
            if "istio" in config.name:
                assert selected == {"config-istio"}
            else:
                assert selected == {c.name for c in config_maps} - {"config-istio"}
    secrets = {r.name for r in _objects(rendering, "knative-serving", "Secret")}
    assert secrets == {"webhook-certs", "net-istio-webhook-certs"}
    assert not _objects(rendering, "knative-serving", "Certificate") or all(
        r.to_dict()["apiVersion"].startswith("networking.internal.knative.dev")
        for r in _objects(rendering, "knative-serving", "Certificate"))


def test_knative_serving_switches():
    full = _render(["knative-serving"])
    assert {r.name for r in full.resources if r.kind == "HorizontalPodAutoscaler"} == {
        "activator", "webhook", "cluster-local-gateway"}
    gateway = _one(full, "Deployment", "cluster-local-gateway")
    assert gateway.namespace == "istio-system"
    local_svc = _one(full, "Service", "knative-local-gateway")
    assert labels_match({"matchLabels": local_svc.to_dict()["spec"]["selector"]},
                        gateway.to_dict()["spec"]["template"]["metadata"]["labels"])
    assert _one(full, "ConfigMap", "config-deployment").to_dict()["data"]["progressDeadline"] == "600s"
    lean = _render(["knative-serving"], parameters={"knative-serving": {
        "autoscaling": False, "clusterLocalGateway": False, "networkPolicies": False}})
    kinds = {(r.kind, r.name) for r in _objects(lean, "knative-serving")}
    assert not [k for k in kinds if k[0] in ("HorizontalPodAutoscaler", "NetworkPolicy")]
    assert ("Deployment", "cluster-local-gateway") not in kinds
    assert ("Service", "knative-local-gateway") in kinds  # Knative's own, selecting whatever gateway is installed


def test_models_web_app_is_reached_only_through_the_ingress_gateway():
    rendering = _render(["kserve-models-web-app"])
    policy = _one(rendering, "AuthorizationPolicy", "kserve-models-web-app").to_dict()["spec"]
    app = _one(rendering, "Deployment", "kserve-models-web-app").to_dict()
    assert labels_match(policy["selector"], app["spec"]["template"]["metadata"]["labels"])
    assert policy["rules"] == [{"from": [{"source": {"principals": [
        "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"]}}]}]
    service = _one(rendering, "Service", "kserve-models-web-app")
    assert _serving_pods(rendering, service) == [_one(rendering, "Deployment", "kserve-models-web-app")]
    config = _one(rendering, "ConfigMap", "kserve-models-web-app-config").to_dict()["data"]
    assert config["APP_PREFIX"] == "/kserve-endpoints" and config["USERID_HEADER"] == "kubeflow-userid"


def test_knative_eventing_is_optional_and_keeps_upstreams_versions_and_conversion():
    for platform in PLATFORMS:
        assert "knative-eventing" not in CATALOG.resolve(CATALOG.platform(platform).components).order
    rendering = _render(["knative-eventing"])
    crds = {r.name: r.to_dict()["spec"] for r in _objects(rendering, "knative-eventing", "CustomResourceDefinition")}
    assert len(crds) == 17
    versions = {name: [(v["name"], v["served"], v["storage"], v.get("deprecated", False)) for v in spec["versions"]]
                for name, spec in crds.items()}
    assert versions["eventtypes.eventing.knative.dev"] == [
        ("v1beta3", True, False, False), ("v1beta2", True, True, False), ("v1beta1", True, False, True)]
    assert versions["pingsources.sources.knative.dev"] == [("v1", True, True, False), ("v1beta2", True, False, True)]
    converted = {name for name, spec in crds.items() if spec.get("conversion", {}).get("strategy") == "Webhook"}
    assert converted == {"eventtypes.eventing.knative.dev", "pingsources.sources.knative.dev",
                         "requestreplies.eventing.knative.dev"}
    for name in converted:
        webhook = crds[name]["conversion"]["webhook"]
        assert webhook["clientConfig"] == {"service": {"name": "eventing-webhook", "namespace": "knative-eventing"}}
        assert "caBundle" not in webhook["clientConfig"]  # eventing-webhook writes it
    configs = [r for r in _objects(rendering, "knative-eventing") if r.kind.endswith("WebhookConfiguration")]
    assert len(configs) == 4
    for config in configs:
        hook = config.to_dict()["webhooks"][0]
        assert "rules" not in hook and not config.to_dict()["metadata"].get("annotations")
        assert hook["failurePolicy"] == ("Ignore" if config.name.startswith("config.") else "Fail")
        pods = _serving_pods(rendering, _one(rendering, "Service", hook["clientConfig"]["service"]["name"]))
        assert [p.name for p in pods] == ["eventing-webhook"]
    # the PingSource adapter is scaled by the controller; every pod template's image is declared
    assert _one(rendering, "Deployment", "pingsource-mt-adapter").to_dict()["spec"]["replicas"] == 0


def test_serving_pods_meet_the_pod_security_level_of_their_namespace():
    """knative-serving and the Kubeflow namespace enforce "restricted": a pod breaking it never starts."""
    from test_manifests_bundles import restricted_violations
    rendering = _render([*SERVING, "knative-eventing"])
    restricted = {r.name for r in rendering.resources if r.kind == "Namespace" and
                  (r.to_dict()["metadata"].get("labels") or {}).get("pod-security.kubernetes.io/enforce") == "restricted"}
    assert {"kubeflow", "knative-serving", "istio-system"} <= restricted
    problems, checked = [], set()
    for res in rendering.resources:
        if res.component in (*SERVING, "knative-eventing") and res.kind in ("Deployment", "StatefulSet"):
            pod = res.to_dict()["spec"]["template"]["spec"]
            if res.namespace in restricted:
                checked.add(res.name)
                problems += [f"{res.ref}: {p}" for p in restricted_violations(pod)]
    assert not problems, "\n".join(problems)
    assert {"activator", "webhook", "net-istio-webhook", "cluster-local-gateway", "kserve-controller-manager",
            "llmisvc-controller-manager", "kserve-models-web-app"} <= checked


def test_kserve_and_the_models_web_app_ship_upstreams_network_policies():
    """Upstream 26.03's common/kubeflow-namespace policies `kserve` and `kserve-models-web-app`."""
    rendering = _render(["kserve", "kserve-models-web-app"])
    for policy_name, workload in (("kserve", "kserve-controller-manager"),
                                  ("kserve-models-web-app", "kserve-models-web-app")):
        policy = _one(rendering, "NetworkPolicy", policy_name).to_dict()
        pod_labels = _one(rendering, "Deployment", workload).to_dict()["spec"]["template"]["metadata"]["labels"]
        assert labels_match(policy["spec"]["podSelector"], pod_labels), policy_name
        assert {"podSelector": {}} in [p for rule in policy["spec"]["ingress"] for p in rule.get("from", [])]
    webhook = _one(rendering, "NetworkPolicy", "kserve").to_dict()["spec"]["ingress"]
    assert {"protocol": "TCP", "port": 9443} in webhook[0]["ports"] and "from" not in webhook[0]
    gateway = _one(rendering, "NetworkPolicy", "kserve-models-web-app").to_dict()["spec"]["ingress"][0]["from"][0]
    assert gateway["namespaceSelector"]["matchExpressions"][0]["values"] == ["istio-system"]
    off = _render(["kserve", "kserve-models-web-app"], parameters={
        "kserve": {"networkPolicies": False}, "kserve-models-web-app": {"networkPolicies": False}})
    assert not [r for r in off.resources if r.kind == "NetworkPolicy" and r.component.startswith("kserve")]
