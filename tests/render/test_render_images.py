"""kfctl's image table against the rendered objects: listed exactly, rewritten everywhere, pull secrets in every pod.

The expected images are found here independently of :mod:`kfctl.render.images`:
every ``containers``/``initContainers``/``ephemeralContainers`` list anywhere in
any rendered object, for the default set of each platform.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml

from kfctl.catalog import load_catalog
from kfctl.imageref import ImagePolicy, Rewrite, is_public
from kfctl.pipeline import render_kfdef
from kfctl.render.images import CONFIG_MAPS, LOCATIONS, POD_SPECS, apply_policy, image_uses, images, public_images
from kfctl.render.model import Bundle, Rendering, RenderRequest, Resource, freeze

PLATFORMS = ("generic", "local", "gcp", "aws", "azure")
#: one rule per public registry the bundles use, the most specific first in intent (order does not matter)
REWRITE = """\
  images:
    rewrite:
    - {from: ghcr.io/kubeflow, to: registry.internal/kubeflow}
    - {from: ghcr.io, to: registry.internal/ghcr}
    - {from: docker.io, to: registry.internal/hub}
    - {from: quay.io, to: registry.internal/quay}
    - {from: gcr.io, to: registry.internal/gcr}
    - {from: registry.k8s.io, to: registry.internal/k8s}
    - {from: nvcr.io, to: registry.internal/nvcr}
    - {from: public.ecr.aws, to: registry.internal/ecr}
    imagePullSecrets: [internal-registry, second]
"""
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
PUBLIC_IN_TEXT = re.compile(r"(?<![\w./-])(?:docker\.io|ghcr\.io|quay\.io|(?:[\w-]+\.)?gcr\.io|registry\.k8s\.io|"
                            r"nvcr\.io|public\.ecr\.aws|[\w-]+\.pkg\.dev)/[\w./-]+")


def kfdef(tmp_path, platform: str, release: str = "26.03", extra: str = ""):
    components = load_catalog(release=release).platform(platform).components
    text = (f"apiVersion: kfdef.apps.kubeflow.org/v1\nkind: KfDef\nmetadata: {{name: kf, namespace: kubeflow}}\n"
            f"spec:\n  version: \"{release}\"\n  platform: {platform}\n  applications:\n"
            + "".join(f"  - name: {c}\n" for c in components) + extra)
    path = tmp_path / "kfdef.yaml"
    path.write_text(text)
    return path


def walk(obj, found):
    """Every container image in ``obj``, wherever a container list stands."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in CONTAINER_LISTS and isinstance(value, list):
                found.update(c["image"] for c in value if isinstance(c, dict) and c.get("image"))
            walk(value, found)
    elif isinstance(obj, list):
        for value in obj:
            walk(value, found)
    return found


def strings(obj):
    if isinstance(obj, dict):
        for value in obj.values():
            yield from strings(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from strings(value)
    elif isinstance(obj, str):
        yield obj


def pod_holders(obj):
    """Every mapping holding a container list: a pod spec (or a ServingRuntime's spec)."""
    if isinstance(obj, dict):
        if any(isinstance(obj.get(k), list) for k in CONTAINER_LISTS):
            yield obj
        for value in obj.values():
            yield from pod_holders(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from pod_holders(value)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_images_are_exactly_the_workloads_plus_what_controllers_are_told(platform, tmp_path):
    _, rendering = render_kfdef(kfdef(tmp_path, platform))
    expected = set()
    for res in rendering.resources:
        walk(res.to_dict(), expected)
    listed = images(rendering)
    assert listed == sorted(set(listed))
    assert expected <= set(listed)
    pods = {u.image for u in image_uses(rendering) if u.where.split()[0] in ("container", "initContainer",
                                                                              "ephemeralContainer")}
    assert pods == expected  # nothing else is taken for a container
    # the rest is what controllers start later; each stands in its object (the explainer with its version apart)
    by_ref = {res.ref: json.dumps(res.to_dict()) for res in rendering.resources}
    for use in image_uses(rendering):
        if use.image not in expected:
            assert use.image.rsplit(":", 1)[0] in by_ref[use.object], use
    assert len(listed) > 60 and "mysql:8.0" in listed


def test_the_controller_images_are_found(tmp_path):
    _, rendering = render_kfdef(kfdef(tmp_path, "generic"))
    where = {(u.object.split("/")[-1], u.image) for u in image_uses(rendering)}
    for name, image in [
        ("jupyter-web-app-config", "ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter-scipy:v1.10.0"),
        ("jupyter-web-app-config", "ghcr.io/kubeflow/kubeflow/notebook-servers/rstudio-tidyverse:v1.10.0"),
        ("katib-config", "ghcr.io/kubeflow/katib/suggestion-hyperopt:v0.19.0"),
        ("trial-templates", "ghcr.io/kubeflow/katib/pytorch-mnist-cpu:v0.19.0"),
        ("inferenceservice-config", "kserve/storage-initializer:v0.16.0"),
        ("inferenceservice-config", "kserve/art-explainer:latest"),
        ("config-deployment", "gcr.io/knative-releases/knative.dev/serving/cmd/queue@sha256:"
                              "40957d3ced3b185b7a78bbd771be69b0a13137dcbee5ff7f82ae738b56037d9c"),
        ("istio-sidecar-injector", "gcr.io/istio-release/proxyv2:1.29.0"),
        ("ml-pipeline", "ghcr.io/kubeflow/kfp-launcher:2.16.0"),
        ("workflow-controller", "quay.io/argoproj/argoexec:v3.7.3"),
        ("cert-manager", "quay.io/jetstack/cert-manager-acmesolver:v1.19.4"),
        ("kserve-mlserver", "docker.io/seldonio/mlserver:1.5.0"),
        ("tensorboard-controller-config", "tensorflow/tensorflow:2.5.1"),
    ]:
        assert (name, image) in where


@pytest.mark.parametrize("platform, release", [(p, "26.03") for p in PLATFORMS] + [("generic", "1.10")])
def test_the_rewrite_leaves_no_public_image(platform, release, tmp_path):
    _, before = render_kfdef(kfdef(tmp_path, platform, release))
    _, rendering = render_kfdef(kfdef(tmp_path, platform, release, REWRITE))
    assert public_images(before) and public_images(rendering) == []
    found = set()
    for res in rendering.resources:
        body = res.to_dict()
        assert not any(is_public(image) for image in walk(body, found)), res.ref
        for text in strings(body):
            assert not PUBLIC_IN_TEXT.search(text), (res.ref, PUBLIC_IN_TEXT.search(text).group(0))
    assert found and all(i.startswith("registry.internal/") for i in images(rendering))
    # each rewritten image is known with its source, for mirroring
    sources = dict(rendering.image_sources)
    assert set(sources) == set(images(rendering)) and set(sources.values()) == set(images(before))
    if release == "26.03":
        assert sources["registry.internal/hub/library/mysql:8.0"] == "mysql:8.0"


@pytest.mark.parametrize("platform", ["generic", "aws"])
def test_pull_secrets_in_every_pod_spec_and_service_account(platform, tmp_path):
    _, rendering = render_kfdef(kfdef(tmp_path, platform, extra=REWRITE))
    holders = accounts = 0
    for res in rendering.resources:
        body = res.to_dict()
        if res.kind in ("ConfigMap", "CustomResourceDefinition"):
            continue  # templates inside configuration (Istio's injector, Katib's trial Jobs) are text or schemas
        for spec in pod_holders(body):
            if "containers" in spec:
                holders += 1
                assert spec.get("imagePullSecrets") == [{"name": "internal-registry"}, {"name": "second"}], res.ref
        if res.kind == "ServiceAccount":
            accounts += 1
            assert body["imagePullSecrets"] == [{"name": "internal-registry"}, {"name": "second"}], res.ref
    assert holders > 40 and accounts > 20


def test_the_rewrite_keeps_configuration_readable(tmp_path):
    _, rendering = render_kfdef(kfdef(tmp_path, "generic", extra=REWRITE))
    data = {(r.name, k): v for r in rendering.resources if r.kind == "ConfigMap" for k, v in
            (r.body.get("data") or {}).items()}
    spawner = data[("jupyter-web-app-config", "spawner_ui_config.yaml")]
    assert spawner.startswith("# Defaults and choices")  # comments kept: text is replaced in place
    assert yaml.safe_load(spawner)["spawnerFormDefaults"]["image"]["value"] == \
        "registry.internal/kubeflow/kubeflow/notebook-servers/jupyter-scipy:v1.10.0"
    istio = json.loads(data[("istio-sidecar-injector", "values")])["global"]
    assert istio["hub"] == "registry.internal/gcr/istio-release" and istio["proxy"]["image"] == "proxyv2"
    explainer = json.loads(data[("inferenceservice-config", "explainers")])["art"]
    assert explainer == {"image": "registry.internal/hub/kserve/art-explainer", "defaultImageVersion": "latest"}
    assert json.loads(data[("inferenceservice-config", "agent")])["image"] == "registry.internal/hub/kserve/agent:v0.16.0"
    katib = yaml.safe_load(data[("katib-config", "katib-config.yaml")])
    assert {c["image"].split("/")[0] for c in katib["runtime"]["suggestions"]} == {"registry.internal"}


def test_no_policy_and_unused_rules_change_nothing(tmp_path):
    _, rendering = render_kfdef(kfdef(tmp_path, "generic"))
    assert apply_policy(rendering, ImagePolicy()) is rendering
    unused = apply_policy(rendering, ImagePolicy(rewrites=(Rewrite("example.org/none", "registry.internal/x"),)))
    assert [r.body for r in unused.resources] == [r.body for r in rendering.resources]
    assert unused.image_sources == ()


def _one(body):
    return Rendering(RenderRequest("generic", ("c",)), (Bundle("c", "1", (Resource("c", "s", freeze(body)),)),))


def test_init_and_ephemeral_containers_and_cronjobs():
    cronjob = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj", "namespace": "n"},
               "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                   "initContainers": [{"name": "init", "image": "busybox:1.36"}],
                   "containers": [{"name": "main", "image": "ghcr.io/o/main:1",
                                   "args": ["--helper-image=quay.io/o/helper:2", "--x"],
                                   "env": [{"name": "SIDECAR_IMAGE", "value": "quay.io/o/side:3"},
                                           {"name": "OTHER", "value": "quay.io/o/not-an-image-setting:4"}]}],
                   "ephemeralContainers": [{"name": "debug", "image": "ghcr.io/o/debug:5"}],
                   "imagePullSecrets": [{"name": "mine"}]}}}}}}
    rendering = _one(cronjob)
    assert images(rendering) == ["busybox:1.36", "ghcr.io/o/debug:5", "ghcr.io/o/main:1", "quay.io/o/helper:2",
                                 "quay.io/o/side:3"]
    policy = ImagePolicy(rewrites=(Rewrite("docker.io", "r.internal/hub"), Rewrite("ghcr.io", "r.internal/ghcr"),
                                   Rewrite("quay.io/o", "r.internal/o")), pull_secrets=("pull", "mine"))
    out = apply_policy(rendering, policy).resources[0].to_dict()
    spec = out["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert spec["initContainers"][0]["image"] == "r.internal/hub/library/busybox:1.36"
    assert spec["containers"][0]["args"] == ["--helper-image=r.internal/o/helper:2", "--x"]
    assert spec["containers"][0]["env"][1]["value"] == "quay.io/o/not-an-image-setting:4"
    assert spec["ephemeralContainers"][0]["image"] == "r.internal/ghcr/o/debug:5"
    assert spec["imagePullSecrets"] == [{"name": "mine"}, {"name": "pull"}]  # the object's own kept, once


def test_the_readme_table_names_every_location(repo_root):
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Air-gapped images"):readme.index("**The registry rewrite**")]
    for location in LOCATIONS:
        assert f"| `{location.category}` |" in table
    for entry in CONFIG_MAPS:
        assert f"`{entry.name}`" in table
    for _group, kind in POD_SPECS:
        assert kind.removeprefix("Cluster") in table, kind
