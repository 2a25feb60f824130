"""The renderer leaves out what the cluster provides, on the real 26.03 and 1.10 catalogs."""

from __future__ import annotations

import pytest

from kfctl.catalog import load_catalog
from kfctl.render import RenderRequest, render

DEFAULT = ("kubeflow-core", "istio", "cert-manager", "oauth2-proxy", "dex", "profiles", "central-dashboard",
           "katib", "knative-serving")


def _render(release: str = "26.03", platform: str = "generic", components=DEFAULT, **settings):
    catalog = load_catalog(release=release)
    return render(RenderRequest(platform=platform, components=components, release=release, **settings), catalog)


@pytest.mark.parametrize("release", ["26.03", "1.10"])
def test_a_provided_istio_and_cert_manager_keep_only_kubeflow_s_own_objects(release):
    components = DEFAULT if release == "26.03" else ("kubeflow-core", "istio", "cert-manager", "katib")
    own = _render(release, components=components)
    provided = _render(release, components=components, provided=("istio", "cert-manager"))
    assert {(r.kind, r.name) for r in provided.resources if r.component in ("istio", "cert-manager")} == \
        {("Gateway", "kubeflow-gateway"), ("ClusterIssuer", "kubeflow-self-signing-issuer")}
    assert not [r for r in provided.resources if r.kind == "CustomResourceDefinition" and "istio" in r.name]
    # everything else renders as with kfctl's own copy: templates still see istio among the components
    rest = lambda rendering: {r.key for r in rendering.resources if r.component not in ("istio", "cert-manager")}
    assert rest(provided) == rest(own)
    assert ("networking.istio.io", "VirtualService") in {(r.group, r.kind) for r in provided.resources}
    kinds = provided.provided_kinds
    assert ("networking.istio.io", "Gateway") in kinds["istio"] and ("cert-manager.io", "Certificate") in \
        kinds["cert-manager"]


def test_objects_of_other_components_in_istio_system_stay():
    provided = _render(provided=("istio",))
    in_istio_system = {(r.component, r.kind, r.name) for r in provided.resources if r.namespace == "istio-system"}
    assert ("oauth2-proxy", "AuthorizationPolicy", "istio-ingressgateway-oauth2-proxy") in in_istio_system
    assert ("knative-serving", "Deployment", "cluster-local-gateway") in in_istio_system
    assert not {c for c, _, _ in in_istio_system} & {"istio"}


def test_a_provided_storage_class_is_not_rendered():
    aws = dict(platform="aws", components=("kubeflow-core", "cert-manager", "pipelines"), release="26.03")
    assert ("StorageClass", "gp3") in {(r.kind, r.name) for r in _render(**aws).resources}
    assert ("StorageClass", "gp3") not in {(r.kind, r.name) for r in _render(**aws, storage_class="gp3").resources}


def test_what_a_platform_overlay_adds_for_a_provided_istio_stays_and_its_patches_of_the_install_go():
    gcp = dict(platform="gcp", components=DEFAULT, release="26.03",
               platform_parameters={"ingress": "iap", "hostname": "kf.example.com"})
    own = _render(**gcp)
    provided = _render(**gcp, provided=("istio", "cert-manager"))
    added = {(r.kind, r.name) for r in own.resources if r.component == "istio" and r.overlay}
    assert ("BackendConfig", "kubeflow-iap") in added
    assert added <= {(r.kind, r.name) for r in provided.resources}
    assert ("Service", "istio-ingressgateway") not in {(r.kind, r.name) for r in provided.resources}


def test_kubeflow_s_policies_admit_the_gateway_account_named_and_istio_s_own_by_default():
    principal = "cluster.local/ns/istio-system/sa/"

    def principals(rendering):
        text = repr([r.to_dict() for r in rendering.resources if r.component != "istio"])
        return {p.split("'")[0] for p in text.split(principal)[1:]}

    assert principals(_render()) == {"istio-ingressgateway-service-account"}
    assert principals(_render(provided=("istio",), gateway_service_account="istio-ingressgateway")) == \
        {"istio-ingressgateway"}
