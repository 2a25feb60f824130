"""The kfctl 1.x alias table covers kfctl 1.2's example KfDefs and targets real components only."""

from __future__ import annotations

from kfctl.catalog import load_catalog
from kfctl.config.aliases import ALIASES, lookup

#: this project's component names (kserve may join later)
COMPONENTS = {"kubeflow-core", "cert-manager", "istio", "training-operator", "notebooks", "profiles", "katib",
              "pipelines", "central-dashboard", "tensorboard", "volumes-web-app"}

#: application names of kfctl 1.2's kfctl_k8s_istio.v1.2.0.yaml
K8S_ISTIO_1_2 = ["namespaces", "application", "istio-stack", "cluster-local-gateway", "istio", "cert-manager-crds",
                 "cert-manager-kube-system-resources", "cert-manager", "add-anonymous-user-filter", "metacontroller",
                 "bootstrap", "spark-operator", "kubeflow-apps", "knative", "kfserving", "spartakus", "tensorboard"]
#: application names of kfctl's GCP IAP example (kfctl_gcp_iap.yaml, its last kfctl form)
GCP_IAP = ["namespaces", "istio-crds", "istio-install", "cluster-local-gateway", "kfserving-gateway", "istio",
           "application-crds", "application", "cert-manager-crds", "cert-manager-kube-system-resources",
           "cert-manager", "kubeflow-roles", "metacontroller", "argo", "centraldashboard", "webhook", "bootstrap",
           "jupyter-web-app", "spark-operator", "metadata", "notebook-controller", "pytorch-job-crds",
           "pytorch-operator", "knative-crds", "knative-install", "kfserving-crds", "kfserving-install", "spartakus",
           "tensorboard", "tf-job-crds", "tf-job-operator", "katib-crds", "katib-controller", "api-service", "minio",
           "mysql", "persistent-agent", "pipelines-runner", "pipelines-ui", "pipelines-viewer", "scheduledworkflow",
           "pipeline-visualization-service", "cloud-endpoints", "profiles", "gpu-driver", "iap-ingress",
           "seldon-core-operator", "default-install"]
#: kfctl 1.2's AWS example adds these
AWS_1_2 = ["oidc-authservice", "dex", "istio-ingress"]


def test_every_kfctl_1x_example_application_has_a_decision():
    for name in [*K8S_ISTIO_1_2, *GCP_IAP, *AWS_1_2]:
        assert lookup(name, COMPONENTS) is not None, name


def test_aliases_target_only_real_component_names():
    for name, alias in ALIASES.items():
        assert name not in COMPONENTS, f"{name} is a component name; it needs no alias"
        assert set(alias.components) <= COMPONENTS, name
        if alias.kind == "component":
            assert alias.components, name
        elif alias.kind == "platform":
            assert alias.platform in {"gcp", "aws", "azure"}
        else:
            assert alias.reason, name


def test_well_known_collapses():
    assert {n: lookup(n, COMPONENTS).components for n in ["tf-job-crds", "tf-job-operator", "pytorch-operator"]} == {
        "tf-job-crds": ("training-operator",), "tf-job-operator": ("training-operator",),
        "pytorch-operator": ("training-operator",)}
    assert lookup("jupyter-web-app", COMPONENTS).components == ("notebooks",)
    assert lookup("centraldashboard", COMPONENTS).components == ("central-dashboard",)
    assert lookup("iap-ingress", COMPONENTS).platform == "gcp"
    assert lookup("kfserving", COMPONENTS).kind == "unsupported"
    assert lookup("katib", COMPONENTS).components == ("katib",)


def test_shipped_catalog_loads_and_has_every_alias_target():
    catalog = load_catalog()
    targets = {c for a in ALIASES.values() for c in a.components}
    assert targets <= set(catalog.components)
    assert "generic" in catalog.platforms
