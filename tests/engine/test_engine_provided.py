"""kfctl.engine.provided: what the cluster provides, read (never written) before the first write."""

from __future__ import annotations

from kfctl.catalog import load_catalog
from kfctl.engine.provided import Provided, look, verify
from kfctl.plan import build_plan

ISTIO = load_catalog().component("istio").provided


class FakeCluster:
    """Objects by (kind, namespace, name); the kinds it serves. Any write would fail: it has no write method."""

    def __init__(self, objects, served=()):
        self.objects = list(objects)
        self.served = set(served)

    def list(self, api_version, kind, *, namespace=None, label_selector=None, field_selector=None):
        out = [o for o in self.objects if o["kind"] == kind
               and (namespace is None or o["metadata"].get("namespace") == namespace)]
        if label_selector:
            key, value = label_selector.split("=")
            out = [o for o in out if o["metadata"].get("labels", {}).get(key) == value]
        return out, "1"

    def get(self, api_version, kind, namespace, name):
        return next((o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name
                     and o["metadata"].get("namespace") == namespace), None)

    def serves(self, api_version, kind):
        return (api_version, kind) in self.served


def deployment(namespace, name, labels, *, account=None, ready=True):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"namespace": namespace, "name": name, "generation": 1},
            "spec": {"replicas": 1, "template": {"metadata": {"labels": labels},
                                                  "spec": {"serviceAccountName": account or name}}},
            "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                       "readyReplicas": int(ready), "availableReplicas": int(ready),
                       "conditions": [{"type": "Available", "status": "True" if ready else "False"}]}}


def injector(rev_label=None, ca="Q0E=", selector=None):
    labels = {"istio.io/rev": rev_label} if rev_label else {}
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": "istio-sidecar-injector", "labels": labels},
            "webhooks": [{"name": "namespace.sidecar-injector.istio.io",
                          "namespaceSelector": selector or {"matchLabels": {"istio-injection": "enabled"}},
                          "clientConfig": {"caBundle": ca,
                                           "service": {"namespace": "istio-system", "name": "istiod"}}}]}


def endpoints(ready=True):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"namespace": "istio-system", "name": "istiod-x",
                         "labels": {"kubernetes.io/service-name": "istiod"}},
            "endpoints": [{"conditions": {"ready": ready}}]}


def mesh(providers=("oauth2-proxy",)):
    text = "extensionProviders:\n" + "".join(f"- name: {p}\n" for p in providers) if providers else "{}"
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "istio-system", "name": "istio"},
            "data": {"mesh": text}}


PLAN = build_plan([
    ("kubeflow-core", {"apiVersion": "v1", "kind": "Namespace",
                       "metadata": {"name": "kubeflow", "labels": {"istio-injection": "enabled"}}}),
    ("istio", {"apiVersion": "networking.istio.io/v1beta1", "kind": "Gateway",
               "metadata": {"namespace": "kubeflow", "name": "kubeflow-gateway"}}),
    ("oauth2-proxy", {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                      "metadata": {"namespace": "istio-system", "name": "login"},
                      "spec": {"action": "CUSTOM", "provider": {"name": "oauth2-proxy"}}}),
])
SERVED = {("networking.istio.io/v1beta1", "Gateway"), ("security.istio.io/v1", "AuthorizationPolicy")}


def istio(revision=None):
    return Provided("istio", kinds=(("networking.istio.io", "Gateway"), ("security.istio.io", "AuthorizationPolicy")),
                    workloads=tuple(ISTIO["workloads"]), webhooks=tuple(ISTIO["webhooks"]), revision=revision)


def healthy(**changes):
    objects = {
        "istiod": deployment("istio-system", "istiod", {"app": "istiod", "istio.io/rev": "default"}),
        "gateway": deployment("istio-system", "istio-ingressgateway", {"istio": "ingressgateway"},
                              account="istio-ingressgateway-service-account"),
        "injector": injector(), "endpoints": endpoints(), "mesh": mesh(),
    }
    objects.update(changes)
    return FakeCluster([o for o in objects.values() if o is not None], SERVED)


def test_a_healthy_helm_istio_passes():
    found = look(healthy(), PLAN, [istio()])
    assert (found.refuse, found.waiting) == ([], [])


def test_a_kind_served_at_another_version_is_refused():
    cluster = healthy()
    cluster.served = {("networking.istio.io/v1", "Gateway"), ("security.istio.io/v1", "AuthorizationPolicy")}
    assert look(cluster, PLAN, [istio()]).refuse == [
        "istio: the cluster does not serve Gateway networking.istio.io/v1beta1 (used by "
        "Gateway.networking.istio.io/kubeflow/kubeflow-gateway); upgrade the cluster's istio to a version serving it"]


def test_a_gateway_running_as_another_account_is_refused_with_the_helm_setting():
    cluster = healthy(gateway=deployment("istio-system", "istio-ingressgateway", {"istio": "ingressgateway"}))
    [problem] = look(cluster, PLAN, [istio()]).refuse
    assert "runs as service account 'istio-ingressgateway'" in problem
    assert "--set serviceAccount.name=istio-ingressgateway-service-account" in problem


def test_a_missing_login_provider_is_refused():
    [problem] = look(healthy(mesh=mesh(providers=())), PLAN, [istio()]).refuse
    assert "no extension provider 'oauth2-proxy'" in problem and "ConfigMap istio-system/istio" in problem


def test_an_injector_that_does_not_select_kubeflow_s_namespaces_is_refused():
    revisioned = injector(selector={"matchLabels": {"istio.io/rev": "1-29"}})
    [problem] = look(healthy(injector=revisioned), PLAN, [istio()]).refuse
    assert "selects namespaces labelled istio-injection=enabled" in problem and "istioctl tag set default" in problem


def test_a_named_revision_must_be_the_one_running():
    found = look(healthy(), PLAN, [istio(revision="1-29")])
    assert any("istiod not found" in p and "istio.io/rev=1-29" in p for p in found.refuse)
    cluster = healthy(istiod=deployment("istio-system", "istiod-1-29", {"app": "istiod", "istio.io/rev": "1-29"}),
                      injector=injector(rev_label="1-29"),
                      mesh={**mesh(), "metadata": {"namespace": "istio-system", "name": "istio-1-29"}})
    assert look(cluster, PLAN, [istio(revision="1-29")]).refuse == []


def test_what_is_starting_is_waited_for_and_then_reported():
    cluster = healthy(endpoints=endpoints(ready=False), injector=injector(ca=""))
    found = look(cluster, PLAN, [istio()])
    assert found.refuse == [] and len(found.waiting) == 1 and "has no CA bundle yet" in found.waiting[0]
    now = [0.0]
    problems = verify(cluster, PLAN, [istio()], wait=3, poll=1, sleep=lambda s: now.__setitem__(0, now[0] + s),
                      clock=lambda: now[0])
    assert now[0] == 3 and problems and problems[0].endswith("(still, after 3s)")


def test_waiting_ends_as_soon_as_it_is_healthy():
    cluster = healthy(gateway=deployment("istio-system", "istio-ingressgateway", {"istio": "ingressgateway"},
                                         account="istio-ingressgateway-service-account", ready=False))
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds
        cluster.objects = healthy().objects   # the gateway's pod turned ready

    assert verify(cluster, PLAN, [istio()], wait=30, poll=1, sleep=sleep, clock=lambda: now[0]) == []
    assert now[0] == 1


def test_a_missing_storage_class_is_named_with_those_there():
    cluster = FakeCluster([{"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                            "metadata": {"name": "standard"}}])
    assert look(cluster, PLAN, [], "fast-ssd").refuse == [
        "spec.storageClass: the cluster has no StorageClass 'fast-ssd' (it has: standard)"]
    assert look(cluster, PLAN, [], "standard").refuse == []


def test_the_gateway_account_the_kfdef_names_is_the_one_checked():
    cluster = healthy(gateway=deployment("istio-system", "istio-ingressgateway", {"istio": "ingressgateway"}))
    named = Provided(**{**istio().__dict__, "service_account": "istio-ingressgateway"})
    assert look(cluster, PLAN, [named]).refuse == []
    [problem] = look(healthy(), PLAN, [named]).refuse
    assert "provided: {gatewayServiceAccount: istio-ingressgateway-service-account}" in problem
