"""Each shipped platform changes what it should and nothing else (on the fake catalog)."""

from __future__ import annotations

import pytest

from kfctl.errors import ConfigError
from kfctl.render import render

GATEWAY = ("Service", "istio-ingressgateway")


def _objects(rendering):
    return {(r.kind, r.name): r.to_dict() for r in rendering.resources}


def _diff(fake_catalog, make_request, platform, **params):
    base = _objects(render(make_request("generic"), fake_catalog))
    other = _objects(render(make_request(platform, platform_parameters=params), fake_catalog))
    changed = {k for k in base if k in other and base[k] != other[k]}
    return base, other, changed, set(other) - set(base), set(base) - set(other)


def test_generic_is_the_baseline(fake_catalog, make_request):
    assert render(make_request("generic"), fake_catalog).patches == ()


def test_local(fake_catalog, make_request):
    base, other, changed, added, removed = _diff(fake_catalog, make_request, "local")
    assert (changed, added, removed) == ({GATEWAY, ("Deployment", "alpha"), ("Deployment", "beta")}, set(), set())
    svc = other[GATEWAY]["spec"]
    assert svc["type"] == "NodePort"
    assert [(p["port"], p.get("nodePort")) for p in svc["ports"]] == [(15021, None), (80, 30080), (443, 30443)]
    for name in ("alpha", "beta"):
        for c in other[("Deployment", name)]["spec"]["template"]["spec"]["containers"]:
            assert c["resources"]["requests"] == {"cpu": "10m", "memory": "32Mi"}
    limits = other[("Deployment", "alpha")]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits == {"memory": "128Mi"}
    _, other, *_ = _diff(fake_catalog, make_request, "local", containerRequests={"cpu": "1", "memory": "1Gi"})
    assert other[("Deployment", "beta")]["spec"]["template"]["spec"]["containers"][1]["resources"] == {
        "requests": {"cpu": "1", "memory": "1Gi"}}


def test_gcp_load_balancer_and_iap(fake_catalog, make_request):
    _, other, changed, added, removed = _diff(fake_catalog, make_request, "gcp")
    assert (changed, added, removed) == ({GATEWAY}, set(), set())
    assert other[GATEWAY]["spec"]["type"] == "LoadBalancer"
    assert render(make_request("gcp"), fake_catalog).patches == ()  # done by istio's own parameter
    _, other, changed, added, _ = _diff(fake_catalog, make_request, "gcp", ingress="iap", hostname="kf.example.com",
                                        staticIpName="kf-ip")
    assert changed == {GATEWAY}
    assert added == {("BackendConfig", "kubeflow-iap"), ("Ingress", "kubeflow-iap"),
                     ("ManagedCertificate", "kubeflow-gateway-cert")}
    assert other[GATEWAY]["spec"]["type"] == "ClusterIP"  # nothing around IAP, even with a LoadBalancer asked
    _, forced, *_ = _diff(fake_catalog, make_request, "gcp", ingress="iap")
    assert forced[GATEWAY]["spec"]["type"] == "ClusterIP"
    assert other[GATEWAY]["metadata"]["annotations"]["cloud.google.com/backend-config"] == '{"default": "kubeflow-iap"}'
    ingress = other[("Ingress", "kubeflow-iap")]
    assert ingress["metadata"]["namespace"] == "istio-system"
    assert ingress["metadata"]["annotations"]["kubernetes.io/ingress.global-static-ip-name"] == "kf-ip"
    assert other[("BackendConfig", "kubeflow-iap")]["spec"]["iap"]["oauthclientCredentials"]["secretName"] == \
        "kubeflow-iap-oauth"
    _, _, _, added, _ = _diff(fake_catalog, make_request, "gcp", ingress="iap")
    assert ("ManagedCertificate", "kubeflow-gateway-cert") not in added


def test_aws(fake_catalog, make_request):
    _, other, changed, added, _ = _diff(fake_catalog, make_request, "aws")
    assert changed == set()
    assert added == {("StorageClass", "gp3"), ("Ingress", "kubeflow-alb")}
    assert other[("StorageClass", "gp3")]["provisioner"] == "ebs.csi.aws.com"
    assert "namespace" not in other[("StorageClass", "gp3")]["metadata"]
    annotations = other[("Ingress", "kubeflow-alb")]["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert "alb.ingress.kubernetes.io/certificate-arn" not in annotations

    arn = "arn:aws:iam::123456789012:role/kf-alpha"
    cert = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
    _, other, changed, added, _ = _diff(fake_catalog, make_request, "aws", ingress="nlb", createStorageClass=False,
                                        serviceAccountRoles={"kubeflow/alpha": arn}, certificateArn=cert)
    assert changed == {GATEWAY, ("ServiceAccount", "alpha")}
    assert added == set()
    assert other[("ServiceAccount", "alpha")]["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": arn}
    assert other[GATEWAY]["spec"]["type"] == "LoadBalancer"


def test_aws_irsa_for_a_missing_service_account_is_an_error(fake_catalog, make_request):
    with pytest.raises(ConfigError, match=r"platforms/aws/overlays/20-irsa.yaml.j2: patches\[0\].target: "
                                          r"target ServiceAccount/kubeflow/nobody matches no rendered object"):
        render(make_request("aws", platform_parameters={
            "serviceAccountRoles": {"kubeflow/nobody": "arn:aws:iam::123456789012:role/x"}}), fake_catalog)
    with pytest.raises(ConfigError, match="serviceAccountRoles"):
        render(make_request("aws", platform_parameters={"serviceAccountRoles": {"kubeflow/a": "not-an-arn"}}),
               fake_catalog)


def test_azure(fake_catalog, make_request):
    _, other, changed, added, _ = _diff(fake_catalog, make_request, "azure", internalLoadBalancer=True,
                                        dnsLabel="my-kf")
    assert (changed, added) == ({GATEWAY}, set())
    annotations = other[GATEWAY]["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/azure-load-balancer-internal"] == "true"
    assert annotations["service.beta.kubernetes.io/azure-dns-label-name"] == "my-kf"
    assert other[GATEWAY]["spec"]["type"] == "LoadBalancer"


def test_platform_component_parameters_rank_below_the_kfdef(fake_catalog, make_request):
    # local sets istio's gateway to NodePort; a KfDef value for the component wins over the platform's.
    # (It also sets notebooks/pipelines/profiles parameters: the fake catalog lacks them, and nothing breaks.)
    rendering = render(make_request("local", parameters={"istio": {"gatewayServiceType": "LoadBalancer"}}),
                       fake_catalog)
    svc = _objects(rendering)[GATEWAY]["spec"]
    assert svc["type"] == "LoadBalancer"
    assert svc["ports"][1]["nodePort"] == 30080  # the platform's other istio parameters still apply
