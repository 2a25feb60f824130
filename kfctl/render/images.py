"""Where a rendering names container images, in one table; listing them, and rewriting them for a private registry.

``kfctl images`` lists what an air-gapped cluster must mirror, and a KfDef's
``spec.images`` (:class:`kfctl.imageref.ImagePolicy`) points them at the
mirror. Both walk the same places, :data:`LOCATIONS`, so that what is listed is
exactly what is rewritten. Two families:

* **pod specs** of every workload kind, built in (Pod, Deployment, StatefulSet,
  DaemonSet, ReplicaSet, ReplicationController, Job, CronJob) and the custom
  resources of the catalog whose specs hold pod templates or containers
  (Trainer's (Cluster)TrainingRuntime, KServe's (Cluster)ServingRuntime and
  ClusterStorageContainer, Knative's caching Image): every ``containers``,
  ``initContainers`` and ``ephemeralContainers`` entry's ``image``, plus the
  images a controller is told about in a container's arguments
  (``--executor-image X``, ``--acme-http01-solver-image=X``) or environment
  (``*_IMAGE`` variables: Pipelines' driver and launcher);
* **controller configuration** in ConfigMaps the catalog's components read:
  images that run later, in pods the controllers create (notebook servers the
  spawner offers, Katib's metrics collectors, suggestions and trial templates,
  KServe's agent, router and storage initializer, Knative's queue-proxy,
  Istio's sidecar proxy, Pipelines' cache and per-profile images, the
  Tensorboard image).

The pull secrets of the policy go into every pod spec above and every
ServiceAccount of the rendering (pods that controllers create later under
those accounts get them from the ServiceAccount admission plugin).

Everything happens after overlays and repo applications, on the whole
rendering: a user's overlay image is rewritten like a bundle's.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from kfctl.imageref import ImagePolicy, is_public, is_reference
from kfctl.render.model import Bundle, Rendering, Resource, freeze, thaw

#: a place holding one image; ``replace`` writes a new value for it into the (thawed) object
Replace = Callable[[str], None]


@dataclass(frozen=True)
class Site:
    where: str
    image: str
    replace: Replace


@dataclass(frozen=True)
class ImageUse:
    """One use of an image: which object of which component, where in it, of which :data:`LOCATIONS` category."""

    image: str
    component: str
    object: str
    where: str
    category: str


# -- pod specs --------------------------------------------------------------------------------------------------

#: (group, kind) -> the paths from the object to its pod specs ("*" walks a list)
POD_SPECS: Mapping[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("", "Pod"): (("spec",),),
    ("", "ReplicationController"): (("spec", "template", "spec"),),
    ("apps", "Deployment"): (("spec", "template", "spec"),),
    ("apps", "StatefulSet"): (("spec", "template", "spec"),),
    ("apps", "DaemonSet"): (("spec", "template", "spec"),),
    ("apps", "ReplicaSet"): (("spec", "template", "spec"),),
    ("batch", "Job"): (("spec", "template", "spec"),),
    ("batch", "CronJob"): (("spec", "jobTemplate", "spec", "template", "spec"),),
    ("trainer.kubeflow.org", "ClusterTrainingRuntime"):
        (("spec", "template", "spec", "replicatedJobs", "*", "template", "spec", "template", "spec"),),
    ("trainer.kubeflow.org", "TrainingRuntime"):
        (("spec", "template", "spec", "replicatedJobs", "*", "template", "spec", "template", "spec"),),
    ("jobset.x-k8s.io", "JobSet"): (("spec", "replicatedJobs", "*", "template", "spec", "template", "spec"),),
    ("serving.kserve.io", "ClusterServingRuntime"): (("spec",), ("spec", "workerSpec")),
    ("serving.kserve.io", "ServingRuntime"): (("spec",), ("spec", "workerSpec")),
}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_ARG_FLAG = re.compile(r"^--?[A-Za-z0-9-]*image$")
_ARG_FLAG_VALUE = re.compile(r"^(--?[A-Za-z0-9-]*image=)(.+)$")


def _at(obj: Any, path: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    if not path:
        if isinstance(obj, dict):
            yield obj
        return
    head, rest = path[0], path[1:]
    if head == "*":
        for item in obj if isinstance(obj, list) else []:
            yield from _at(item, rest)
    elif isinstance(obj, dict):
        yield from _at(obj.get(head), rest)


def pod_specs(resource: Resource, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The pod specs (mutable, inside ``body``) of an object of a kind in :data:`POD_SPECS`."""
    for path in POD_SPECS.get((resource.group, resource.kind), ()):
        yield from _at(body, path)


def _setter(holder: dict[str, Any] | list[Any], key: Any) -> Replace:
    def replace(new: str) -> None:
        holder[key] = new
    return replace


def _arg_setter(args: list[Any], i: int, flag: str) -> Replace:
    def replace(new: str) -> None:
        args[i] = flag + new
    return replace


def _container_sites(container: dict[str, Any], kind: str) -> Iterator[Site]:
    name = str(container.get("name", "?"))
    if isinstance(container.get("image"), str) and container["image"]:
        yield Site(f"{kind} {name}", container["image"], _setter(container, "image"))
    args = container.get("args")
    if isinstance(args, list):
        for i, arg in enumerate(args):
            if not isinstance(arg, str):
                continue
            flag_value = _ARG_FLAG_VALUE.match(arg)
            if flag_value and is_reference(flag_value.group(2)):
                yield Site(f"argument {flag_value.group(1)[:-1]} of {kind} {name}", flag_value.group(2),
                           _arg_setter(args, i, flag_value.group(1)))
            elif _ARG_FLAG.match(arg) and i + 1 < len(args) and isinstance(args[i + 1], str) \
                    and is_reference(args[i + 1]):
                yield Site(f"argument {arg} of {kind} {name}", args[i + 1], _setter(args, i + 1))
    for env in container.get("env") or []:
        if isinstance(env, dict) and str(env.get("name", "")).endswith("_IMAGE") \
                and isinstance(env.get("value"), str) and is_reference(env["value"]):
            yield Site(f"env {env['name']} of {kind} {name}", env["value"], _setter(env, "value"))


def pod_sites(resource: Resource, body: dict[str, Any]) -> Iterator[Site]:
    for spec in pod_specs(resource, body):
        for field in CONTAINER_LISTS:
            kind = field.removesuffix("s")
            for container in spec.get(field) or []:
                if isinstance(container, dict):
                    yield from _container_sites(container, kind)


def container_sites(resource: Resource, body: dict[str, Any]) -> Iterator[Site]:
    """Single containers and images of custom resources that are no pod spec."""
    spec: dict[str, Any] = body["spec"] if isinstance(body.get("spec"), dict) else {}
    if (resource.group, resource.kind) == ("serving.kserve.io", "ClusterStorageContainer"):
        if isinstance(spec.get("container"), dict):
            yield from _container_sites(spec["container"], "spec.container")
    elif (resource.group, resource.kind) == ("caching.internal.knative.dev", "Image"):
        if isinstance(spec.get("image"), str):
            yield Site("spec.image", spec["image"], _setter(spec, "image"))


# -- controller configuration in ConfigMaps ------------------------------------------------------------------------

_EDGE = r"A-Za-z0-9._/-"


def _text_setter(data: dict[str, Any], key: str, old: str) -> Replace:
    """Replace ``old`` wherever it stands as a whole image reference in ``data[key]`` (comments and layout kept)."""
    pattern = re.compile(rf"(?<![{_EDGE}]){re.escape(old)}(?![{_EDGE}:@])")

    def replace(new: str) -> None:
        data[key] = pattern.sub(lambda _m: new, data[key])
    return replace


def _yaml_images(doc: Any, keys: Callable[[str], bool]) -> Iterator[str]:
    """Strings under mapping keys that ``keys`` accepts, and in the lists and ``value``/``options`` below them."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            if keys(str(k)):
                if isinstance(v, str):
                    yield v
                elif isinstance(v, dict):
                    yield from (x for x in [v.get("value"), *(v.get("options") or [])] if isinstance(x, str))
            else:
                yield from _yaml_images(v, keys)
    elif isinstance(doc, list):
        for item in doc:
            yield from _yaml_images(item, keys)


def _embedded_yaml(keys: Callable[[str], bool]) -> Callable[[dict[str, Any], str], Iterator[Site]]:
    def find(data: dict[str, Any], key: str) -> Iterator[Site]:
        try:
            doc = yaml.safe_load(data[key])
        except yaml.YAMLError:
            return
        for image in dict.fromkeys(_yaml_images(doc, keys)):
            if image and is_reference(image):
                yield Site(f"data.{key}", image, _text_setter(data, key, image))
    return find


def _plain(data: dict[str, Any], key: str) -> Iterator[Site]:
    value = data[key]
    if isinstance(value, str) and value.strip() and is_reference(value.strip()):
        yield Site(f"data.{key}", value.strip(), _setter(data, key))


def _kserve_json(data: dict[str, Any], key: str) -> Iterator[Site]:
    """inferenceservice-config: JSON values whose ``image`` (with an explainer's ``defaultImageVersion``) or
    ``defaultJobImage`` name images; the explainers' value nests one level deeper."""
    try:
        doc = json.loads(data[key])
    except ValueError:
        return
    holders = [doc] + [v for v in doc.values() if isinstance(v, dict)] if isinstance(doc, dict) else []
    for holder in holders:
        for field in ("image", "defaultJobImage"):
            image = holder.get(field)
            if not isinstance(image, str) or not is_reference(image):
                continue
            version = holder.get("defaultImageVersion") if field == "image" else None
            shown = f"{image}:{version}" if isinstance(version, str) and ":" not in image.rpartition("/")[2] \
                and version else image

            def replace(new: str, holder: dict[str, Any] = holder, field: str = field, shown: str = shown,
                        image: str = image) -> None:
                holder[field] = new[:len(new) - (len(shown) - len(image))] if shown != image else new
                data[key] = json.dumps(doc)
            yield Site(f"data.{key} {field}", shown, replace)


def _istio_values(data: dict[str, Any], key: str) -> Iterator[Site]:
    """istio-sidecar-injector ``values``: ``global.hub`` + ``global.proxy.image`` + ``global.tag`` name the sidecar
    (and its init) image; a rewrite sets ``hub``, or the whole image when the new name does not end the same way."""
    try:
        doc = json.loads(data[key])
    except ValueError:
        return
    g = doc.get("global") if isinstance(doc, dict) else None
    if not isinstance(g, dict) or not isinstance(g.get("hub"), str):
        return
    for part in ("proxy", "proxy_init"):
        holder = g.get(part)
        name = holder.get("image") if isinstance(holder, dict) else None
        if not isinstance(name, str) or not name:
            continue
        image = name if "/" in name else f"{g['hub']}/{name}:{g.get('tag', '')}".rstrip(":")
        suffix = image[len(g["hub"]):] if "/" not in name else None

        def replace(new: str, holder: Any = holder, suffix: str | None = suffix) -> None:
            if suffix is not None and new.endswith(suffix):
                g["hub"] = new[:-len(suffix)]
            else:
                holder["image"] = new
            data[key] = json.dumps(doc)
        yield Site(f"data.{key} global.{part}.image", image, replace)


def _upper_image_keys(data: dict[str, Any], key: str) -> Iterator[Site]:
    if key.endswith("_IMAGE") or key.endswith("Image") or key.endswith("-image"):
        yield from _plain(data, key)


@dataclass(frozen=True)
class ConfigImages:
    """Images a component's controller reads from ConfigMap ``name`` (any namespace): ``find`` over each data key."""

    name: str
    find: Callable[[dict[str, Any], str], Iterator[Site]]


_image_key = _embedded_yaml(lambda k: k == "image")
CONFIG_MAPS: tuple[ConfigImages, ...] = (
    ConfigImages("jupyter-web-app-config", _embedded_yaml(lambda k: k.startswith("image") and k != "imagePullPolicy")),
    ConfigImages("katib-config", _image_key),
    ConfigImages("trial-templates", _image_key),
    ConfigImages("inferenceservice-config", _kserve_json),
    ConfigImages("config-deployment", _upper_image_keys),
    ConfigImages("istio-sidecar-injector", lambda data, key: _istio_values(data, key) if key == "values" else iter(())),
    ConfigImages("pipeline-install-config", _upper_image_keys),
    ConfigImages("kubeflow-pipelines-profile-controller-env", _upper_image_keys),
    ConfigImages("tensorboard-controller-config", _upper_image_keys),
)


def config_sites(resource: Resource, body: dict[str, Any]) -> Iterator[Site]:
    if (resource.group, resource.kind) != ("", "ConfigMap") or not isinstance(body.get("data"), dict):
        return
    data = body["data"]
    for entry in CONFIG_MAPS:
        if entry.name == resource.name:
            for key in list(data):
                if isinstance(data[key], str):
                    yield from entry.find(data, key)


# -- the table -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Location:
    """A category of places holding images: its name, what it covers (README's table), and its finder."""

    category: str
    covers: str
    sites: Callable[[Resource, dict[str, Any]], Iterator[Site]]


LOCATIONS: tuple[Location, ...] = (
    Location("pod", "containers, initContainers and ephemeralContainers of Pod, Deployment, StatefulSet, DaemonSet, "
             "ReplicaSet, ReplicationController, Job, CronJob, JobSet, (Cluster)TrainingRuntime and "
             "(Cluster)ServingRuntime; with their `--*-image` arguments and `*_IMAGE` environment variables",
             pod_sites),
    Location("container", "KServe's ClusterStorageContainer and Knative's caching Image", container_sites),
    Location("config", "controller ConfigMaps: " + ", ".join(c.name for c in CONFIG_MAPS), config_sites),
)


def _sites(resource: Resource, body: dict[str, Any]) -> Iterator[tuple[str, Site]]:
    for location in LOCATIONS:
        for site in location.sites(resource, body):
            yield location.category, site


def image_uses(resources: Any) -> list[ImageUse]:
    """Every use of an image in ``resources`` (a Rendering or Resources), in their order."""
    uses = []
    for resource in resources:
        body = thaw(resource.body)
        for category, site in _sites(resource, body):
            uses.append(ImageUse(site.image, resource.component, resource.ref, site.where, category))
    return uses


def images(resources: Any) -> list[str]:
    """The images ``resources`` name, sorted and unique."""
    return sorted({u.image for u in image_uses(resources)})


def public_images(resources: Any) -> list[str]:
    """The images of ``resources`` still pulled from a public registry (:data:`kfctl.imageref.PUBLIC_REGISTRIES`).

    For ``kfctl check`` on an air-gapped cluster: after ``spec.images`` rewrites, this should be empty. Give it the
    rendering of the KfDef (its rewrite applied, as :func:`kfctl.pipeline.render_kfdef` returns it).
    """
    return [image for image in images(resources) if is_public(image)]


def _with_pull_secrets(spec: dict[str, Any], names: tuple[str, ...]) -> None:
    have = [s for s in spec.get("imagePullSecrets") or [] if isinstance(s, dict)]
    known = {s.get("name") for s in have}
    spec["imagePullSecrets"] = have + [{"name": n} for n in names if n not in known]


def apply_policy(rendering: Rendering, policy: ImagePolicy) -> Rendering:
    """The rendering with ``policy``'s registry rewrites applied to every image site and its pull secrets added to
    every pod spec and ServiceAccount; ``image_sources`` maps each rewritten image back to what it was."""
    if not policy:
        return rendering
    sources: dict[str, str] = {}
    bundles = []
    for bundle in rendering.bundles:
        changed = []
        for resource in bundle.resources:
            body = thaw(resource.body)
            touched = False
            for _category, site in list(_sites(resource, body)):
                new = policy.rewrite(site.image)
                if new != site.image:
                    site.replace(new)
                    sources[new] = site.image
                    touched = True
            if policy.pull_secrets:
                targets = list(pod_specs(resource, body))
                if (resource.group, resource.kind) == ("", "ServiceAccount"):
                    targets.append(body)
                for spec in targets:
                    _with_pull_secrets(spec, policy.pull_secrets)
                    touched = True
            changed.append(dataclasses.replace(resource, body=freeze(body)) if touched else resource)
        bundles.append(Bundle(component=bundle.component, version=bundle.version, resources=tuple(changed)))
    return dataclasses.replace(rendering, bundles=tuple(bundles),
                               image_sources=tuple(sorted(sources.items())))
