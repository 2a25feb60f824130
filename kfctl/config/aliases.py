"""The one table that maps kfctl 1.x application names onto this project's components.

kfctl 1.0-1.2 KfDefs name upstream kustomize packages (``istio-crds``,
``tf-job-operator``, ``pipelines-ui``, ...), several per component. An
application WITHOUT ``kustomizeConfig.repoRef`` is looked up here; one WITH a
repoRef is a repo application, built from that repo, and never aliased.

Every application name of kfctl 1.2's ``kfctl_k8s_istio.v1.2.0.yaml`` and of the
kfctl 1.x GCP IAP example (``kfctl_gcp_iap.yaml``: kfctl 1.2 moved GCP to
gcp-blueprints, so its last kfctl form is the 1.0/1.1 one), plus the AWS 1.2
example, has an entry. Each entry is one of:

``component``
    the application maps onto one or more components; several aliases may
    collapse onto one component (``tf-job-crds`` + ``tf-job-operator`` ->
    ``training-operator``), which is not a duplicate.
``platform``
    the platform provides it (GCP's ``iap-ingress``, ``cloud-endpoints``,
    ``gpu-driver``): accepted with a notice when the deployment's platform is
    that platform, an error naming the platform otherwise.
``dropped``
    kfctl does not need it (the app.k8s.io ``application`` controller: kfctl
    tracks what it installed itself; ``spartakus`` usage reporting): accepted
    with a notice.
``unsupported``
    no counterpart yet (KFServing, Knative, Seldon, Spark, Dex): every such
    name in a file is listed in one error, with the way out (keep a repoRef to
    build it from the upstream repo, or remove it).

This project's own component names need no entry: they map to themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Kind = Literal["component", "platform", "dropped", "unsupported"]


@dataclass(frozen=True)
class Alias:
    """Where a kfctl 1.x application name lands."""

    kind: Kind
    components: tuple[str, ...] = ()
    #: the platform that provides it (kind "platform")
    platform: str | None = None
    #: why it is dropped or unsupported, in a few words
    reason: str = ""


def _to(*components: str) -> Alias:
    return Alias("component", components=components)


def _platform(name: str) -> Alias:
    return Alias("platform", platform=name)


_ALL_APPS = ("kubeflow-core", "profiles", "central-dashboard", "notebooks", "training-operator", "katib",
             "pipelines", "tensorboard")

_UNSUPPORTED_SERVING = "KFServing/KServe and Knative are not in this kfctl yet"

ALIASES: MappingProxyType[str, Alias] = MappingProxyType({
    # kubeflow namespace, roles, shared Istio resources
    "namespaces": _to("kubeflow-core"),
    "kubeflow-roles": _to("kubeflow-core"),
    "kubeflow-istio-resources": _to("kubeflow-core"),
    # the whole kubeflow application stack of kfctl 1.1/1.2 (stacks/kubernetes, stacks/aws)
    "kubeflow-apps": _to(*_ALL_APPS),
    # cert-manager
    "cert-manager-crds": _to("cert-manager"),
    "cert-manager-kube-system-resources": _to("cert-manager"),
    # Istio
    "istio-stack": _to("istio"),
    "istio-crds": _to("istio"),
    "istio-install": _to("istio"),
    "cluster-local-gateway": _to("istio"),
    "add-anonymous-user-filter": _to("istio"),
    # training operators, one operator since Kubeflow 1.4
    "tf-job-crds": _to("training-operator"),
    "tf-job-operator": _to("training-operator"),
    "tf-training": _to("training-operator"),
    "pytorch-job-crds": _to("training-operator"),
    "pytorch-operator": _to("training-operator"),
    "mpi-operator": _to("training-operator"),
    "mxnet-operator": _to("training-operator"),
    "xgboost-operator": _to("training-operator"),
    # notebooks: controller, web app, PodDefaults admission webhook
    "notebook-controller": _to("notebooks"),
    "jupyter-web-app": _to("notebooks"),
    "jupyter": _to("notebooks"),
    "webhook": _to("notebooks"),
    "bootstrap": _to("notebooks"),
    "admission-webhook": _to("notebooks"),
    # dashboard, profiles
    "centraldashboard": _to("central-dashboard"),
    "default-install": _to("profiles"),
    "profile-controller": _to("profiles"),
    # Katib
    "katib-crds": _to("katib"),
    "katib-controller": _to("katib"),
    # Pipelines and what it runs on (Argo, metacontroller, MySQL, MinIO, ML Metadata)
    "api-service": _to("pipelines"),
    "argo": _to("pipelines"),
    "metacontroller": _to("pipelines"),
    "metadata": _to("pipelines"),
    "minio": _to("pipelines"),
    "mysql": _to("pipelines"),
    "persistent-agent": _to("pipelines"),
    "pipeline": _to("pipelines"),
    "kubeflow-pipelines": _to("pipelines"),
    "pipelines-runner": _to("pipelines"),
    "pipelines-ui": _to("pipelines"),
    "pipelines-viewer": _to("pipelines"),
    "pipeline-visualization-service": _to("pipelines"),
    "scheduledworkflow": _to("pipelines"),
    # Tensorboard and volumes
    "tensorboards": _to("tensorboard"),
    "tensorboard-controller": _to("tensorboard"),
    "tensorboards-web-app": _to("tensorboard"),
    "volumes": _to("volumes-web-app"),
    # provided by the platform
    "cloud-endpoints": _platform("gcp"),
    "gpu-driver": _platform("gcp"),
    "iap-ingress": _platform("gcp"),
    "basic-auth-ingress": _platform("gcp"),
    "istio-ingress": _platform("aws"),
    "aws-alb-ingress-controller": _platform("aws"),
    "nvidia-device-plugin": _platform("aws"),
    # not needed
    "application": Alias("dropped", reason="kfctl tracks what it installed itself; no app.k8s.io controller"),
    "application-crds": Alias("dropped", reason="kfctl tracks what it installed itself; no app.k8s.io CRD"),
    "spartakus": Alias("dropped", reason="kfctl does not report usage"),
    # no counterpart yet
    "knative": Alias("unsupported", reason=_UNSUPPORTED_SERVING),
    "knative-crds": Alias("unsupported", reason=_UNSUPPORTED_SERVING),
    "knative-install": Alias("unsupported", reason=_UNSUPPORTED_SERVING),
    "kfserving": Alias("unsupported", reason=_UNSUPPORTED_SERVING),
    "kfserving-crds": Alias("unsupported", reason=_UNSUPPORTED_SERVING),
    "kfserving-install": Alias("unsupported", reason=_UNSUPPORTED_SERVING),
    "kfserving-gateway": Alias("unsupported", reason=_UNSUPPORTED_SERVING),
    "seldon-core-operator": Alias("unsupported", reason="Seldon Core is not in this kfctl"),
    "spark-operator": Alias("unsupported", reason="the Spark operator is not in this kfctl"),
    "dex": Alias("unsupported", reason="authentication (Dex, OIDC) is not in this kfctl yet"),
    "oidc-authservice": Alias("unsupported", reason="authentication (Dex, OIDC) is not in this kfctl yet"),
    "basic-auth": Alias("unsupported", reason="authentication (Dex, OIDC) is not in this kfctl yet"),
})


def lookup(name: str, components: frozenset[str] | set[str]) -> Alias | None:
    """Where application ``name`` lands: itself if it is a component, else its alias entry."""
    if name in components:
        return _to(name)
    return ALIASES.get(name)
