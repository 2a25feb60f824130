"""Every shipped bundle and platform renders, and every object would be accepted by Kubernetes 1.32.

Parametrized over every release in ``manifests/`` and what is in it and in
``platforms/`` when the tests run, so each new bundle is checked as soon as it
lands, in every release that has it. A failure lists one
line per problem: ``component: template: Kind/namespace/name: problem``.

Checks: strict OpenAPI validation of built-in kinds (kubernetes-validate,
1.32), custom objects against the CRDs the bundles ship, structural CRD
schemas, names valid per kind, platform overlays that apply to something.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kfctl.catalog import load_releases
from kfctl.errors import KfctlError
from kfctl.kinds import split_api_version
from kfctl.render import RenderRequest, render
from kfctl.render.checks import all_problems
from kfctl.render.writer import write

K8S_VERSION = "1.32"

try:
    RELEASES = load_releases()
    LOAD_ERROR = None
except KfctlError as exc:  # reported by test_catalog_loads, not as a collection error
    RELEASES = None
    LOAD_ERROR = exc

#: every release's catalog, oldest first
CATALOGS = {name: RELEASES.catalog(name) for name in RELEASES.names} if RELEASES else {}
CATALOG = CATALOGS[RELEASES.default] if RELEASES else None
RELEASE_PLATFORMS = [(r, p) for r, cat in CATALOGS.items() for p in sorted(cat.platforms)]
RELEASE_COMPONENTS = [(r, c) for r, cat in CATALOGS.items() for c in sorted(cat.components)]
COMPONENTS = sorted(CATALOG.components) if CATALOG else []
PLATFORMS = sorted(CATALOG.platforms) if CATALOG else []


def _provided(platform):
    return [(split_api_version(k["apiVersion"])[0], k["kind"]) for k in platform.raw.get("providedKinds", ())]


def _default_set(platform, catalog=None):
    """The platform's default components of the release, with their dependencies."""
    catalog = catalog or CATALOG
    return catalog.resolve(platform.components).order


def _render_and_check(platform_name, components, catalog=None):
    catalog = catalog or CATALOG
    platform = catalog.platform(platform_name)
    try:
        rendering = render(RenderRequest(platform=platform_name, components=components), catalog)
    except KfctlError as exc:
        pytest.fail(f"release {catalog.release}, platform {platform_name}, components {', '.join(components)}:\n"
                    f"{exc.render()}")
    problems = list(all_problems(rendering.resources, version=K8S_VERSION, provided=_provided(platform)))
    assert not problems, f"release {catalog.release}, platform {platform_name}: {len(problems)} problems:\n" + \
        "\n".join(problems)
    return rendering


def test_catalog_loads():
    assert LOAD_ERROR is None, LOAD_ERROR.render()
    assert set(PLATFORMS) >= {"generic", "local", "gcp", "aws", "azure"}


def test_every_release_is_covered():
    assert {"1.10", "26.03"} <= set(CATALOGS)
    assert RELEASES.default == "26.03"
    assert {r for r, _ in RELEASE_PLATFORMS} == set(CATALOGS)


@pytest.mark.parametrize(("release", "platform"), RELEASE_PLATFORMS)
def test_platform_default_set_renders_and_validates(release, platform):
    catalog = CATALOGS[release]
    rendering = _render_and_check(platform, _default_set(catalog.platform(platform), catalog), catalog)
    assert rendering.bundles, f"release {release}: platform {platform} renders nothing by default"


@pytest.mark.parametrize(("release", "platform"), RELEASE_PLATFORMS)
def test_platform_lists_only_components_of_its_release(release, platform):
    catalog = CATALOGS[release]
    plat = catalog.platform(platform)
    assert plat.components, f"platform {platform} has no default set for release {release}"
    assert len(set(plat.components)) == len(plat.components), "duplicate component in the default set"
    missing = [c for c in plat.components if c not in catalog.components]
    assert not missing, f"platform {platform} lists {missing} for release {release}, which it does not have"
    every = {c for cat in CATALOGS.values() for c in cat.components}
    raw = dict(plat.raw.get("componentParameters") or {})
    stray = sorted(set(raw) - every)
    assert not stray, f"platform {platform}: componentParameters for {stray}, which no release has"
    assert set(plat.component_parameters) == set(raw) & set(catalog.components)


@pytest.mark.parametrize(("release", "component"), RELEASE_COMPONENTS)
@pytest.mark.parametrize("platform", PLATFORMS)
def test_component_alone_renders_and_validates(platform, release, component):
    catalog = CATALOGS[release]
    _render_and_check(platform, catalog.resolve([component]).order, catalog)


@pytest.mark.parametrize(("release", "platform"), RELEASE_PLATFORMS)
def test_every_platform_patch_applies_to_something(release, platform):
    """On the full default set, each patch whose component is present changes at least one object."""
    catalog = CATALOGS[release]
    rendering = render(RenderRequest(platform=platform, components=_default_set(catalog.platform(platform), catalog)),
                       catalog)
    idle = [f"{u.source}: patches[{u.index}] ({u.target})" for u in rendering.patches if u.matched == 0]
    assert not idle, f"release {release}: patches that change nothing:\n" + "\n".join(idle)


#: platform parameter choices beyond the defaults, so every overlay branch meets the real bundles
VARIANTS = {
    "gcp-iap": ("gcp", {"ingress": "iap", "hostname": "kubeflow.example.com", "staticIpName": "kf-ip"}),
    "aws-nlb-irsa": ("aws", {"ingress": "nlb", "albScheme": "internal", "createStorageClass": False,
                             "serviceAccountRoles": {"kubeflow/ml-pipeline": "arn:aws:iam::123456789012:role/kfp"}}),
    "aws-alb-https": ("aws", {"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/"
                                                "0a1b2c3d-1111-2222-3333-444455556666"}),
    "azure-internal": ("azure", {"internalLoadBalancer": True, "dnsLabel": "my-kubeflow"}),
    "local-requests": ("local", {"containerRequests": {"cpu": "50m", "memory": "64Mi"}}),
}


@pytest.mark.parametrize("release", sorted(CATALOGS))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_platform_parameter_variants_render_validate_and_patch(variant, release):
    platform, params = VARIANTS[variant]
    if platform not in PLATFORMS:
        pytest.fail(f"platform {platform} is missing")
    catalog = CATALOGS[release]
    plat = catalog.platform(platform)
    rendering = render(RenderRequest(platform=platform, components=_default_set(plat, catalog),
                                     platform_parameters=params), catalog)
    problems = list(all_problems(rendering.resources, version=K8S_VERSION, provided=_provided(plat)))
    assert not problems, "\n".join(problems)
    idle = [f"{u.source}: patches[{u.index}] ({u.target})" for u in rendering.patches if u.matched == 0]
    assert not idle, "patches that change nothing:\n" + "\n".join(idle)


@pytest.mark.parametrize(("release", "component"), RELEASE_COMPONENTS)
def test_bundle_declares_what_it_runs(release, component):
    """component.yaml lists every image its objects run, and templates label nothing with the version."""
    catalog = CATALOGS[release]
    comp = catalog.component(component)
    rendering = render(RenderRequest(platform="generic", components=catalog.resolve([component]).order), catalog)
    used = set()
    for res in rendering.bundle(component).resources:
        spec = res.body.get("spec") or {}
        pod = ((spec.get("jobTemplate") or {}).get("spec") or spec).get("template", {}).get("spec") or {}
        for container in (*(pod.get("initContainers") or ()), *(pod.get("containers") or ())):
            used.add(container["image"])
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        assert "app.kubernetes.io/version" not in selector, f"{res.source}: {res.ref}: selector uses the version label"
    missing = sorted(used - set(comp.images))
    assert not missing, f"{comp.path}/component.yaml (release {release}): images does not list {missing}"


@pytest.mark.parametrize(("release", "component"), RELEASE_COMPONENTS)
def test_bundle_declares_supported_kubernetes_versions(release, component):
    k8s = CATALOGS[release].component(component).kubernetes
    assert set(k8s) == {"min", "max"}, f"{component} in {release}: kubernetes {{min, max}} (own or the release's)"


def test_real_kubectl_kustomize_builds_the_full_default_set(tmp_path):
    """The generated tree of the largest real deployment builds, with real kubectl, into the same objects."""
    rendering = render(RenderRequest(platform="aws", components=_default_set(CATALOG.platform("aws"))), CATALOG)
    write(rendering, tmp_path / "out")
    kubectl = Path(sys.executable).parent / "kubectl"
    proc = subprocess.run([str(kubectl), "kustomize", str(tmp_path / "out")], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    built = [d for d in yaml.safe_load_all(proc.stdout) if d]
    expected = [r.to_dict() for r in rendering.resources]
    assert len(built) == len(expected)
    for got, want in zip(built, expected, strict=True):
        assert got == want, f"kustomize changed {want['kind']}/{want['metadata']['name']}"


def test_gcp_offers_gpu_nodes_in_the_notebook_spawner():
    if "notebooks" not in COMPONENTS:
        pytest.fail("the notebooks bundle is missing")
    order = CATALOG.resolve(["notebooks"]).order
    spawner = {}
    for platform, params in (("gcp", {}), ("gcp", {"gpuAccelerators": []}), ("generic", {})):
        rendering = render(RenderRequest(platform=platform, components=order, platform_parameters=params), CATALOG)
        config = next(r for r in rendering.resources if r.kind == "ConfigMap" and r.name == "jupyter-web-app-config")
        spawner[(platform, bool(params))] = yaml.safe_load(config.body["data"]["spawner_ui_config.yaml"])
    gcp = spawner[("gcp", False)]["spawnerFormDefaults"]
    keys = [o["configKey"] for o in gcp["affinityConfig"]["options"]]
    assert keys == ["gke-gpu-nvidia-tesla-t4", "gke-gpu-nvidia-l4"]
    term = gcp["affinityConfig"]["options"][1]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"][0]
    assert term == {"key": "cloud.google.com/gke-accelerator", "operator": "In", "values": ["nvidia-l4"]}
    assert gcp["tolerationGroup"]["options"][0]["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    # everything else in the form is untouched, and without accelerators nothing changes
    plain = spawner[("generic", False)]["spawnerFormDefaults"]
    assert {k: v for k, v in gcp.items() if k not in ("affinityConfig", "tolerationGroup")} == \
        {k: v for k, v in plain.items() if k not in ("affinityConfig", "tolerationGroup")}
    assert spawner[("gcp", True)] == spawner[("generic", False)]


@pytest.mark.parametrize("release", sorted(CATALOGS))
def test_the_kfdef_namespace_is_honoured_everywhere(release):
    """With metadata.namespace kf-test, nothing may still live in or point into "kubeflow"."""
    catalog = CATALOGS[release]
    order = _default_set(catalog.platform("generic"), catalog)
    rendering = render(RenderRequest(platform="generic", components=order, namespace="kf-test"), catalog)
    stray = [f"{r.component}: {r.source}: {r.ref}" for r in rendering.resources
             if r.namespace == "kubeflow" or (r.kind == "Namespace" and r.name == "kubeflow")]
    assert not stray, "hard-coded kubeflow namespace (use {{ namespace }}):\n" + "\n".join(stray)
    pointers = [f"{r.component}: {r.source}: {r.ref}" for r in rendering.resources
                if any(p in json.dumps(r.to_dict()) for p in ('.kubeflow.svc', '"kubeflow/'))]
    assert not pointers, "references into the kubeflow namespace (use {{ namespace }}):\n" + "\n".join(pointers)


_RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                       "projected", "secret", "name"}


def restricted_violations(pod: dict) -> list[str]:
    """Why a pod spec breaks the Pod Security Standard "restricted" (the checks a namespace labelled
    pod-security.kubernetes.io/enforce=restricted makes), one text per problem."""
    out = []
    pod_ctx = pod.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            out.append(f"{key}: true")
    for vol in pod.get("volumes") or ():
        if set(vol) - _RESTRICTED_VOLUMES:
            out.append(f"volume {vol['name']}: type {sorted(set(vol) - _RESTRICTED_VOLUMES)} not allowed")
    for c in (*(pod.get("initContainers") or ()), *(pod.get("containers") or ())):
        ctx = c.get("securityContext") or {}
        where = f"container {c['name']}"
        if ctx.get("privileged"):
            out.append(f"{where}: privileged")
        if ctx.get("allowPrivilegeEscalation") is not False:
            out.append(f"{where}: allowPrivilegeEscalation must be false")
        caps = ctx.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or ()):
            out.append(f"{where}: capabilities must drop ALL")
        if set(caps.get("add") or ()) - {"NET_BIND_SERVICE"}:
            out.append(f"{where}: adds capabilities {sorted(caps['add'])}")
        if not ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")):
            out.append(f"{where}: runAsNonRoot must be true")
        if ctx.get("runAsUser", pod_ctx.get("runAsUser")) == 0:
            out.append(f"{where}: runAsUser 0")
        seccomp = (ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            out.append(f"{where}: seccompProfile must be RuntimeDefault or Localhost")
    return out


@pytest.mark.parametrize(("release", "platform"), [(r, "generic") for r in CATALOGS])
def test_pods_in_restricted_namespaces_meet_the_restricted_pod_security_standard(release, platform):
    """A namespace that enforces "restricted" refuses any pod breaking it: on a real cluster the
    workload would never start (the simulated cluster does not enforce Pod Security)."""
    catalog = CATALOGS[release]
    rendering = render(RenderRequest(platform=platform, components=_default_set(catalog.platform(platform), catalog)),
                       catalog)
    restricted = {r.name for r in rendering.resources if r.kind == "Namespace" and
                  (r.body["metadata"].get("labels") or {}).get("pod-security.kubernetes.io/enforce") == "restricted"}
    if catalog.component("kubeflow-core").defaults()["podSecurityEnforce"] == "restricted":
        assert "kubeflow" in restricted
    problems = []
    for res in rendering.resources:
        if res.namespace not in restricted:
            continue
        spec = res.body.get("spec") or {}
        pod = ((spec.get("jobTemplate") or {}).get("spec") or spec).get("template", {}).get("spec")
        if pod is None:
            continue
        problems += [f"{res.component}: {res.source}: {res.ref}: {p}" for p in restricted_violations(pod)]
    assert not problems, f"release {release}: pods the restricted namespaces {sorted(restricted)} would refuse:\n" \
        + "\n".join(problems)


def test_the_restricted_check_finds_what_a_restricted_namespace_refuses():
    good = {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": False,
                                                             "capabilities": {"drop": ["ALL"]}}}],
            "volumes": [{"name": "v", "configMap": {"name": "x"}}]}
    assert restricted_violations(good) == []
    bad = {**good, "hostNetwork": True, "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
           "containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]}
    assert restricted_violations(bad) == [
        "hostNetwork: true", "volume h: type ['hostPath'] not allowed",
        "container c: allowPrivilegeEscalation must be false", "container c: capabilities must drop ALL",
        "container c: adds capabilities ['NET_ADMIN']"]


#: upstream 26.03's versions of components 26.03 extends from 1.10 (kubeflow/manifests 26.03)
UPSTREAM_26_03 = {
    "cert-manager": ("v1.19.4", {"quay.io/jetstack/cert-manager-controller:v1.19.4"}),
    "katib": ("v0.19.0", {"ghcr.io/kubeflow/katib/katib-controller:v0.19.0", "mysql:8.0"}),
    "notebooks": (None, {"ghcr.io/kubeflow/kubeflow/notebook-controller:v1.10.0"}),
    "training-operator": (None, {"ghcr.io/kubeflow/training-v1/training-operator:v1-3f15cb8"}),
}


@pytest.mark.parametrize("component", sorted(UPSTREAM_26_03))
def test_26_03_runs_upstream_26_03_versions(component):
    version, images = UPSTREAM_26_03[component]
    new, old = CATALOGS["26.03"].component(component), CATALOGS["1.10"].component(component)
    assert new.extends == old.path, f"{component}: 26.03 should extend 1.10's bundle"
    if version:
        assert new.version == version and old.version != version
    rendering = render(RenderRequest(platform="generic", components=CATALOGS["26.03"].resolve([component]).order),
                       CATALOGS["26.03"])
    running = {c["image"] for r in rendering.bundle(component).resources
               for c in ((r.body.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers", ())}
    assert images <= running


def test_26_03_katib_runs_trainjob_trials_only_beside_trainer():
    catalog = CATALOGS["26.03"]
    rendering = render(RenderRequest(platform="generic", components=catalog.resolve(["katib"]).order), catalog)
    config = next(r for r in rendering.resources if r.kind == "ConfigMap" and r.name == "katib-config")
    assert "TrainJob" not in config.body["data"]["katib-config.yaml"]  # no trainer component selected
    role = next(r for r in rendering.resources if r.kind == "ClusterRole" and r.name == "katib-controller")
    assert {"resources": ("trainjobs",), "apiGroups": ("trainer.kubeflow.org",),
            "verbs": ("create", "get", "list", "watch", "delete")} in [dict(rule) for rule in role.body["rules"]]
