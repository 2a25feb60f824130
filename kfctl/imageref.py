"""Container image references: their grammar, Docker Hub's implicit names, public registries, and rewriting.

Shared by two stages that may not import each other: ``kfctl.config`` checks a
KfDef's ``spec.images`` with :func:`prefix_problem` and builds an
:class:`ImagePolicy`; ``kfctl.render.images`` applies it to the rendered
objects. Everything here is pure string work on references as the container
runtime reads them (``[registry/]path[:tag][@digest]``).

* :func:`normalize` spells out what a runtime assumes for a short name:
  ``mysql:8.0`` is ``docker.io/library/mysql:8.0`` and ``kserve/agent:v0.16.0``
  ``docker.io/kserve/agent:v0.16.0``. The first path component is a registry
  host only when it holds a ``.`` or a ``:`` or is ``localhost``, as in
  Docker's reference grammar.
* :meth:`ImagePolicy.rewrite` maps the normalized image through the longest
  matching ``from`` prefix (matched at a ``/``, ``:`` or ``@`` boundary, so
  ``ghcr.io/kubeflow`` does not match ``ghcr.io/kubeflowx/...``) onto its ``to``;
  an image no rule matches is left exactly as written.
* :func:`is_public` says whether an image is pulled from a well-known public
  registry (:data:`PUBLIC_REGISTRIES`), for ``kfctl images --public`` and
  ``kfctl check``.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

#: Docker Hub: the registry a reference without a host names, and its official images' namespace
DOCKER_HUB = "docker.io"
DOCKER_LIBRARY = "library"
#: other spellings of Docker Hub that runtimes accept
_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io", "registry.hub.docker.com")

#: Registries anyone on the internet can pull from (fnmatch patterns over the registry host).
#: An air-gapped cluster reaches none of them; a rewrite should leave no image here.
PUBLIC_REGISTRIES: tuple[str, ...] = (
    "docker.io", "ghcr.io", "quay.io", "gcr.io", "*.gcr.io", "k8s.gcr.io", "registry.k8s.io",
    "*.pkg.dev", "public.ecr.aws", "nvcr.io", "mcr.microsoft.com", "registry.gitlab.com",
    "cgr.dev", "docker.elastic.co", "registry.access.redhat.com", "registry.redhat.io", "icr.io",
)

_HOST = r"(?:localhost|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PREFIX = re.compile(rf"^(?P<host>{_HOST})(?:/{_COMPONENT})*$")
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"^(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::{_TAG})?(?:@{_DIGEST})?$")


def _is_host(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost"


def split(image: str) -> tuple[str | None, str]:
    """``(registry host or None, the rest)``: ``ghcr.io/a/b:1`` -> ``("ghcr.io", "a/b:1")``; ``mysql:8`` -> ``(None, ...)``."""
    first, sep, rest = image.partition("/")
    if sep and _is_host(first):
        return first, rest
    return None, image


def registry(image: str) -> str:
    """The registry host an image is pulled from (``docker.io`` for a short name)."""
    host, _ = split(image)
    if host is None or host in _HUB_ALIASES:
        return DOCKER_HUB
    return host


def repository_path(image: str) -> str:
    """The image's repository without registry host, tag or digest: ``ghcr.io/kubeflow/kfp-api-server``
    -> ``kubeflow/kfp-api-server`` (a short official name keeps no ``library/``)."""
    _, rest = split(image)
    rest = rest.partition("@")[0]
    head, _, last = rest.rpartition("/")
    last = last.partition(":")[0]
    return f"{head}/{last}" if head else last


def normalize(image: str) -> str:
    """The fully qualified spelling of ``image``: its registry host written out, Docker Hub's official images
    under ``library/``, Docker Hub's other host names as ``docker.io``. Anything else is returned unchanged."""
    host, rest = split(image)
    if host is not None and host not in _HUB_ALIASES:
        return image
    if "/" not in rest.partition("@")[0].partition(":")[0]:
        rest = f"{DOCKER_LIBRARY}/{rest}"
    return f"{DOCKER_HUB}/{rest}"


def is_reference(image: str) -> bool:
    """True when ``image`` follows the container image reference grammar."""
    return bool(_REFERENCE.match(image))


def is_public(image: str) -> bool:
    """True when ``image`` is pulled from a well-known public registry (:data:`PUBLIC_REGISTRIES`)."""
    host = registry(image).lower().partition(":")[0]
    return any(fnmatch.fnmatchcase(host, pattern) for pattern in PUBLIC_REGISTRIES)


def prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` is not a registry prefix (``host[:port][/path...]``, no tag or digest), or None."""
    if not prefix or prefix != prefix.strip():
        return "is empty or has blanks around it"
    if prefix.endswith("/"):
        return "ends with '/'"
    if "@" in prefix or "://" in prefix:
        return "holds a scheme or digest; a registry prefix is host[:port][/path], e.g. registry.internal/kubeflow"
    first = prefix.partition("/")[0]
    if not _is_host(first):
        return (f"does not start with a registry host ({first!r} would be read as a Docker Hub namespace); "
                f"write the host, e.g. docker.io/{prefix} or registry.internal/{prefix}")
    if not _PREFIX.match(prefix):
        return ("is not host[:port][/path]: path components are lower-case letters and digits, separated by "
                "'.', '_', '__' or '-'; a tag (':...') belongs to images, not to prefixes")
    return None


def _matches(image: str, prefix: str) -> bool:
    return image == prefix or (image.startswith(prefix) and image[len(prefix)] in "/:@")


@dataclass(frozen=True)
class Rewrite:
    """One rule: images under registry prefix ``source`` are pulled from ``target`` instead."""

    source: str
    target: str

    def applies(self, normalized: str) -> bool:
        return _matches(normalized, self.source)


@dataclass(frozen=True)
class ImagePolicy:
    """A KfDef's ``spec.images``: registry rewrites and the pull secrets every workload names."""

    rewrites: tuple[Rewrite, ...] = ()
    pull_secrets: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rewrites or self.pull_secrets)

    def rule_for(self, image: str) -> Rewrite | None:
        """The most specific rule (the longest ``source``) matching ``image``, or None."""
        normalized = normalize(image)
        found = [r for r in self.rewrites if r.applies(normalized)]
        return max(found, key=lambda r: len(r.source)) if found else None

    def rewrite(self, image: str) -> str:
        """``image`` as pulled under this policy: through its most specific rule, else unchanged."""
        rule = self.rule_for(image)
        if rule is None:
            return image
        return rule.target + normalize(image)[len(rule.source):]
