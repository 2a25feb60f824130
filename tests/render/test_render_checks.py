"""The offline checks bundle authors rely on: structural CRDs, names, custom resources, OpenAPI."""

from __future__ import annotations

import copy

from kfctl.render import render
from kfctl.render.checks import (
    all_problems,
    custom_resource_problems,
    name_problems,
    openapi_problems,
    structural_problems,
)
from kfctl.render.model import Resource, freeze


def _res(body, component="c", source="s.yaml.j2"):
    return Resource(component, source, freeze(body))


CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.org"},
    "spec": {"group": "example.org", "scope": "Namespaced",
             "names": {"kind": "Widget", "plural": "widgets"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object",
                 "properties": {"spec": {"type": "object", "required": ["size"], "properties": {
                     "size": {"type": "integer"},
                     "port": {"x-kubernetes-int-or-string": True},
                     "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                     "tags": {"type": "array", "items": {"type": "string"}},
                 }}}}}}]},
}


def _schema(crd):
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def test_structural_crd_passes():
    assert structural_problems(CRD) == []


def test_structural_violations_are_each_reported():
    crd = copy.deepcopy(CRD)
    spec = _schema(crd)["properties"]["spec"]
    del spec["properties"]["size"]["type"]
    spec["additionalProperties"] = {"type": "string"}
    spec["properties"]["tags"] = {"type": "array"}
    spec["anyOf"] = [{"properties": {"ghost": {"type": "string"}}}, {"type": "object", "required": ["size"]}]
    _schema(crd)["properties"]["metadata"] = {"type": "object", "properties": {"labels": {"type": "object"}}}
    problems = "\n".join(structural_problems(crd))
    assert "properties.spec.properties.size: every node needs a type" in problems
    assert "properties.spec: properties and additionalProperties are mutually exclusive" in problems
    assert "properties.tags: an array node needs items" in problems
    del spec["additionalProperties"]
    problems = "\n".join(structural_problems(crd))
    assert "anyOf[0].properties.ghost: a field inside a junctor must also be specified outside it" in problems
    assert "anyOf[1]: 'type' is not allowed inside allOf/anyOf/oneOf/not" in problems
    assert "properties.metadata: only restrictions on name and generateName" in problems
    crd["spec"]["versions"][0]["storage"] = False
    assert "exactly one version must have storage: true" in structural_problems(crd)


def test_names_per_kind():
    assert name_problems(_res({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1svc"}}))
    assert name_problems(_res({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}}))
    assert not name_problems(_res({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a.b"}}))
    assert not name_problems(_res({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                   "metadata": {"name": "system:kf:Admin"}}))
    assert name_problems(_res({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Upper"}}))
    crd = copy.deepcopy(CRD)
    crd["metadata"]["name"] = "widget.example.org"
    assert "CRD name must be <plural>.<group> = 'widgets.example.org'" in name_problems(_res(crd))
    bad_labels = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "x", "namespace": "Bad_NS", "labels": {"a/b/c": "x", "ok": "no spaces"},
                               "annotations": {"n": 1}}}
    text = "\n".join(name_problems(_res(bad_labels)))
    assert "namespace 'Bad_NS'" in text and "'a/b/c'" in text and "label ok: value 'no spaces'" in text
    assert "annotation n: value must be a string" in text
    hook = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "v"}, "webhooks": [{"name": "short.io"}]}
    assert any("at least three segments" in p for p in name_problems(_res(hook)))


def test_custom_resource_against_its_crd():
    good = {"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "n"},
            "spec": {"size": 1, "port": "http", "free": {"any": {"thing": 1}}, "tags": ["a"]}}
    assert custom_resource_problems(_res(good), freeze(CRD)) == []
    bad = copy.deepcopy(good)
    bad["spec"] = {"size": "one", "port": 1.5, "extra": True}
    bad["metadata"].pop("namespace")
    text = "\n".join(custom_resource_problems(_res(bad), freeze(CRD)))
    assert "spec.size: 'one' is not of type 'integer'" in text
    assert "'extra' was unexpected" in text
    assert "lacks a namespace" in text
    other = copy.deepcopy(good)
    other["apiVersion"] = "example.org/v2"
    assert "version 'v2' is not defined by CRD widgets.example.org" in custom_resource_problems(
        _res(other), freeze(CRD))[0]


def test_openapi_strict():
    assert openapi_problems(_res({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})) == []
    problems = openapi_problems(_res({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
                                      "dta": {}}))
    assert problems and "'dta' was unexpected" in problems[0]
    assert openapi_problems(_res({"apiVersion": "example.org/v1", "kind": "Nope", "metadata": {"name": "x"}})) is None


def test_all_problems_name_component_source_and_object(fake_catalog, make_request):
    rendering = render(make_request("gcp", platform_parameters={"ingress": "iap"}), fake_catalog)
    assert list(all_problems(rendering.resources,
                             provided=[("cloud.google.com", "BackendConfig")])) == []
    bad = _res({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"},
                "spec": {"replicas": "1"}}, component="katib", source="manifests/katib/templates/x.yaml.j2")
    lines = list(all_problems([bad]))
    assert lines and lines[0].startswith("katib: manifests/katib/templates/x.yaml.j2: Deployment/n/d: ")
    unknown = _res({"apiVersion": "example.org/v1", "kind": "Gadget", "metadata": {"name": "g"}})
    assert "no schema" in next(iter(all_problems([unknown])))


def test_embedded_resources_may_carry_object_fields():
    crd = copy.deepcopy(CRD)
    _schema(crd)["properties"]["spec"]["properties"]["template"] = {
        "type": "object", "x-kubernetes-embedded-resource": True,
        "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    obj = {"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "n"},
           "spec": {"size": 1, "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                            "spec": {"anything": True}}}}
    assert structural_problems(crd) == []
    assert custom_resource_problems(_res(obj), freeze(crd)) == []
    obj["spec"]["template"]["status"] = {}
    assert "'status' was unexpected" in custom_resource_problems(_res(obj), freeze(crd))[0]


def test_workload_checks_the_api_server_would_make():
    from kfctl.render.checks import workload_problems

    container = {"name": "c", "image": "i", "ports": [{"name": "metrics-port-http", "containerPort": 1}]}
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"},
           "spec": {"selector": {"matchLabels": {"app": "d"}},
                    "template": {"metadata": {"labels": {"app": "e"}}, "spec": {"containers": [container]}}}}
    text = "\n".join(workload_problems(_res(dep)))
    assert "spec.selector.matchLabels {'app': 'd'} do not match" in text
    assert "name 'metrics-port-http' must be at most 15" in text
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"},
           "spec": {"ports": [{"port": 80}, {"port": 443, "name": "HTTPS"}]}}
    text = "\n".join(workload_problems(_res(svc)))
    assert "every port needs a name" in text and "'HTTPS' must be a DNS-1123 label" in text


def test_references_the_deployment_must_satisfy():
    pod = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"},
           "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
               "metadata": {"labels": {"a": "b"}},
               "spec": {"serviceAccountName": "ghost", "containers": [{"name": "c", "image": "i"}]}}}}
    hook = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "v", "annotations": {"cert-manager.io/inject-ca-from": "n/cert"}},
            "webhooks": [{"name": "v.example.org.io", "clientConfig": {"service": {"namespace": "n", "name": "hook"}},
                          "admissionReviewVersions": ["v1"], "sideEffects": "None"}]}
    cert = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "cert", "namespace": "n"},
            "spec": {"secretName": "s", "issuerRef": {"kind": "Issuer", "name": "selfsigned"}}}
    lines = "\n".join(all_problems([_res(pod), _res(hook)], provided=[("cert-manager.io", "Certificate")]))
    assert "serviceAccountName 'ghost': no ServiceAccount n/ghost" in lines
    assert "calls Service n/hook, which this deployment does not render" in lines
    assert "inject-ca-from 'n/cert': no such Certificate" in lines
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hook", "namespace": "n"},
           "spec": {"ports": [{"port": 443}]}}
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ghost", "namespace": "n"}}
    lines = list(all_problems([_res(o) for o in (pod, hook, cert, svc, sa)],
                              provided=[("cert-manager.io", "Certificate")]))
    assert lines == ["c: s.yaml.j2: Certificate/n/cert: issuerRef Issuer/selfsigned: not in this deployment"]


def test_quantities_and_requests_within_limits():
    from fractions import Fraction

    from kfctl.render.checks import quantity, workload_problems

    assert quantity("100m") == Fraction(1, 10) and quantity("1Gi") == 2**30 and quantity("1e3") == 1000
    assert quantity("0.5") == Fraction(1, 2) and quantity("12Mi") == 12 * 2**20 and quantity("lots") is None
    container = {"name": "c", "image": "i", "resources": {"requests": {"cpu": "2", "memory": "64Mi"},
                                                          "limits": {"cpu": "1500m", "memory": "1Gi"}}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"},
           "spec": {"containers": [container]}}
    assert workload_problems(_res(pod)) == ["containers[c].resources: cpu request 2 exceeds its limit 1500m"]
