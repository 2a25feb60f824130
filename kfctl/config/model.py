"""The KfDef as an immutable value, and its construction from schema-checked data.

:class:`KfDef` is what the rest of kfctl reads; nothing downstream sees YAML.
Every part keeps the :class:`~kfctl.config.yamlread.Location` of its node so
later checks (catalog names, parameter types) can point at the user's line.

:func:`build` is deliberately tolerant: it runs after the JSON Schema check
even when that found problems, skips what is malformed, and adds the checks
that need the whole document (duplicate names, repoRef to an undeclared repo,
the platform inferred from plugins), so one run reports everything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kfctl.config.schema import closest
from kfctl.frozen import freeze
from kfctl.config.yamlread import JsonPath, Location, SourceMap
from kfctl.errors import Problem
from kfctl.imageref import ImagePolicy, Rewrite, prefix_problem

DEFAULT_NAMESPACE = "kubeflow"
#: namespaces Kubernetes owns: never a deployment's (prune, delete and --adopt would act on the cluster's own)
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
DEFAULT_PLATFORM = "generic"
#: kfctl 1.x plugin kinds that decide the platform when spec.platform is absent
PLATFORM_PLUGINS: Mapping[str, str] = MappingProxyType({"KfGcpPlugin": "gcp", "KfAwsPlugin": "aws"})
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class Parameter:
    """One name/value pair as written, with where its name and value are."""

    name: str
    value: Any
    #: "parameters" (this project's list) or "kustomizeConfig" (kfctl 1.x's list)
    source: str
    name_at: Location
    value_at: Location
    value_path: JsonPath
    has_value: bool = True
    #: ``valueFrom: {secret: NAME}``: the spec.secrets entry whose value this parameter takes
    secret: str | None = None
    secret_at: Location | None = None


@dataclass(frozen=True)
class RepoRef:
    name: str
    path: str
    location: Location


@dataclass(frozen=True)
class Application:
    """One entry of ``spec.applications``.

    ``parameters`` merges kustomizeConfig.parameters and then ``parameters``
    (later wins); ``parameter_sites`` keeps each pair with its location. An
    application with a ``repo_ref`` is a repo application, built by kustomize.
    """

    name: str
    index: int
    location: Location
    parameters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    parameter_sites: tuple[Parameter, ...] = ()
    repo_ref: RepoRef | None = None
    overlays: tuple[str, ...] = ()
    overlays_at: Location | None = None
    #: ``provided: true`` (or ``{revision: R}``): the cluster already runs this component (README, "Existing components")
    provided: bool = False
    #: ``provided.revision``: Istio's revision (``istio.io/rev``) the cluster's copy runs
    revision: str | None = None
    #: ``provided.gatewayServiceAccount``: the account the cluster's Istio ingress gateway runs as
    gateway_service_account: str | None = None
    provided_at: Location | None = None

    @property
    def is_repo_application(self) -> bool:
        return self.repo_ref is not None


@dataclass(frozen=True)
class Plugin:
    """A kfctl 1.x plugin; the spec of the platform's plugin may set platform parameters."""

    kind: str
    name: str | None
    spec: Mapping[str, Any]
    location: Location
    #: its position in spec.plugins
    index: int = 0


@dataclass(frozen=True)
class Repo:
    name: str
    uri: str
    sha256: str | None
    location: Location


@dataclass(frozen=True)
class Secret:
    """A secret from a literal or from an environment variable (read only when applying)."""

    name: str
    literal: str | None
    env: str | None
    location: Location
    env_at: Location | None = None


@dataclass(frozen=True)
class KfDef:
    """A parsed, structurally valid KfDef (kfctl v1 format)."""

    api_version: str
    name: str
    namespace: str
    version: str | None
    platform: str
    #: why this platform: "spec.platform", "plugin KfGcpPlugin" or "default"
    platform_reason: str
    platform_at: Location
    applications: tuple[Application, ...]
    plugins: tuple[Plugin, ...]
    repos: tuple[Repo, ...]
    secrets: tuple[Secret, ...]
    source: Path | None
    source_map: SourceMap
    #: ``spec.images``: registry rewrites and pull secrets for every workload
    images: ImagePolicy = ImagePolicy()
    #: ``spec.storageClass``: a StorageClass the cluster provides for Kubeflow's volumes
    storage_class: str | None = None
    storage_class_at: Location | None = None

    def repo(self, name: str) -> Repo | None:
        return next((r for r in self.repos if r.name == name), None)


def _items(data: Any, key: str) -> list[Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, list) else []


def _dict(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


class _Build:
    def __init__(self, data: dict[str, Any], source_map: SourceMap, source: Path | None,
                 default_name: str | None) -> None:
        self.data = data
        self.map = source_map
        self.source = source
        self.default_name = default_name
        self.problems: list[Problem] = []

    def at(self, *path: str | int, key: bool = False) -> Location:
        return self.map.locate(tuple(path), key=key)

    def kfdef(self) -> KfDef:
        meta = _dict(self.data, "metadata")
        spec = _dict(self.data, "spec")
        repos = self._repos(spec)
        applications = self._applications(spec, {r.name for r in repos})
        plugins = self._plugins(spec)
        platform, reason, platform_at = self._platform(spec, plugins)
        version = spec.get("version")
        secrets = self._secrets(spec)
        self._check_secret_refs(applications, secrets)
        storage_class = spec.get("storageClass")
        return KfDef(
            api_version=str(self.data.get("apiVersion", "")),
            name=self._name(meta),
            namespace=self._namespace(meta),
            version=version if isinstance(version, str) else None,
            platform=platform,
            platform_reason=reason,
            platform_at=platform_at,
            applications=applications,
            plugins=plugins,
            repos=repos,
            secrets=secrets,
            source=self.source,
            source_map=self.map,
            images=self._images(spec),
            storage_class=storage_class if isinstance(storage_class, str) and storage_class else None,
            storage_class_at=self.at("spec", "storageClass") if "storageClass" in spec else None,
        )

    def _namespace(self, meta: dict[str, Any]) -> str:
        namespace = meta["namespace"] if isinstance(meta.get("namespace"), str) else DEFAULT_NAMESPACE
        if namespace in RESERVED_NAMESPACES:
            self.problems.append(self.at("metadata", "namespace").problem(
                f"{namespace!r} is a namespace Kubernetes reserves for itself, not a deployment's",
                hint=f"use a namespace of its own (the default is {DEFAULT_NAMESPACE}): kfctl labels, prunes and "
                     "deletes what its deployment namespace holds"))
        return namespace

    def _name(self, meta: dict[str, Any]) -> str:
        if "name" in meta:  # a name that is not a string is the schema's complaint
            return str(meta["name"])
        name = self.default_name
        if name is None and self.source is not None:
            name = self.source.resolve().parent.name
        if name and _DNS_LABEL.match(name) and len(name) <= 63:
            return name
        where = self.at("metadata") if "metadata" in self.data else self.at()
        self.problems.append(Problem(
            "metadata.name is missing" + (f" and the folder name {name!r} is not a valid DNS-1123 label"
                                           if name else ""),
            file=where.file, line=where.line or 1, column=where.column or 1, path="metadata.name",
            hint="set metadata.name: lower-case letters, digits and '-'"))
        return name or "kubeflow"

    def _parameters(self, raw: list[Any], base: JsonPath, source: str) -> list[Parameter]:
        result = []
        for j, item in enumerate(raw):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            path = (*base, j)
            ref = _dict(item, "valueFrom").get("secret")
            secret = ref if isinstance(ref, str) and ref else None
            name_at = self.map.locate((*path, "name"))
            if secret is not None and "value" in item:
                self.problems.append(name_at.problem(
                    f"parameter {item['name']!r} has both value and valueFrom",
                    hint="keep one: valueFrom: {secret: NAME} takes the value of a spec.secrets entry"))
            result.append(Parameter(
                name=item["name"], value=item.get("value"), source=source,
                name_at=name_at, value_at=self.map.locate((*path, "value")),
                value_path=(*path, "value"), has_value="value" in item and secret is None, secret=secret,
                secret_at=self.map.locate((*path, "valueFrom", "secret")) if secret is not None else None))
            if secret is None and "value" not in item and source == "parameters":
                self.problems.append(name_at.problem(
                    f"parameter {item['name']!r} has neither value nor valueFrom",
                    hint="add value: ..., or valueFrom: {secret: NAME} naming an entry of spec.secrets"))
        return result

    def _applications(self, spec: dict[str, Any], repo_names: set[str]) -> tuple[Application, ...]:
        apps: list[Application] = []
        first: dict[str, Location] = {}
        for i, raw in enumerate(_items(spec, "applications")):
            if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
                continue
            name = raw["name"]
            base: JsonPath = ("spec", "applications", i)
            location = self.map.locate((*base, "name"))
            if name in first:
                self.problems.append(location.problem(
                    f"duplicate application {name!r} (first on line {first[name].line})",
                    hint="list each application once; merge their parameters"))
                continue
            first[name] = location
            kc = _dict(raw, "kustomizeConfig")
            sites = self._parameters(_items(kc, "parameters"), (*base, "kustomizeConfig", "parameters"),
                                     "kustomizeConfig")
            own = self._parameters(_items(raw, "parameters"), (*base, "parameters"), "parameters")
            seen: dict[str, Parameter] = {}
            for p in [*sites, *own]:
                if p.name in seen:
                    self.problems.append(p.name_at.problem(
                        f"parameter {p.name!r} is set twice (first on line {seen[p.name].name_at.line})",
                        hint="keep one of them"))
                seen[p.name] = p
            ref = None
            repo_ref = _dict(kc, "repoRef")
            if isinstance(repo_ref.get("name"), str) and isinstance(repo_ref.get("path"), str):
                ref = RepoRef(repo_ref["name"], repo_ref["path"],
                              self.map.locate((*base, "kustomizeConfig", "repoRef", "name")))
                if ref.name not in repo_names:
                    guess = closest(ref.name, repo_names)
                    known = f"declared: {', '.join(sorted(repo_names))}" if repo_names else "no repos are declared"
                    self.problems.append(ref.location.problem(
                        f"repoRef names repo {ref.name!r}, which spec.repos does not declare"
                        + (f" (did you mean {guess!r}?)" if guess else ""),
                        hint=f"add it to spec.repos as {{name: {ref.name}, uri: ...}}; {known}"))
                for p in sites:
                    if p.secret is not None:
                        self.problems.append((p.secret_at or p.name_at).problem(
                            f"parameter {p.name!r}: valueFrom works only for catalog components, not for a repo "
                            "application (kustomize would write the value into its output)",
                            hint="give the value in a Secret of your own, or deploy the catalog component"))
                if own:
                    self.problems.append(own[0].name_at.problem(
                        "a repo application takes kustomizeConfig.parameters, not parameters",
                        hint="move these under kustomizeConfig.parameters, or drop the repoRef to use "
                             "the catalog component"))
            overlays = tuple(o for o in _items(kc, "overlays") if isinstance(o, str))
            provided, revision = self._provided(raw, base, ref is not None)
            account = _dict(raw, "provided").get("gatewayServiceAccount")
            apps.append(Application(
                name=name, index=i, location=location,
                parameters=freeze({p.name: p.value for p in [*sites, *own] if p.has_value}),
                parameter_sites=tuple(seen.values()), repo_ref=ref, overlays=overlays,
                overlays_at=self.map.locate((*base, "kustomizeConfig", "overlays")) if overlays else None,
                provided=provided, revision=revision,
                gateway_service_account=account if provided and isinstance(account, str) and account else None,
                provided_at=self.map.locate((*base, "provided")) if "provided" in raw else None))
        return tuple(apps)

    def _provided(self, raw: dict[str, Any], base: JsonPath, repo_app: bool) -> tuple[bool, str | None]:
        """``provided: true | false | {revision: R}``; a repo application is built, never provided."""
        value = raw.get("provided")
        if isinstance(value, dict):
            revision = value.get("revision")
            provided, revision = True, revision if isinstance(revision, str) and revision else None
        else:
            provided, revision = value is True, None
        if provided and repo_app:
            self.problems.append(self.map.locate((*base, "provided")).problem(
                "a repo application (kustomizeConfig.repoRef) cannot be provided: kfctl builds it from the repo",
                hint="drop the repoRef to name the catalog component the cluster provides, or drop provided"))
            return False, None
        return provided, revision

    def _plugins(self, spec: dict[str, Any]) -> tuple[Plugin, ...]:
        plugins = []
        for i, raw in enumerate(_items(spec, "plugins")):
            if not isinstance(raw, dict) or not isinstance(raw.get("kind"), str):
                continue
            meta = _dict(raw, "metadata")
            plugins.append(Plugin(kind=raw["kind"], name=meta.get("name") if isinstance(meta.get("name"), str)
                                  else None, spec=freeze(_dict(raw, "spec")),
                                  location=self.map.locate(("spec", "plugins", i, "kind")), index=i))
        return tuple(plugins)

    def _platform(self, spec: dict[str, Any], plugins: tuple[Plugin, ...]) -> tuple[str, str, Location]:
        implied = [(PLATFORM_PLUGINS[p.kind], p) for p in plugins if p.kind in PLATFORM_PLUGINS]
        if len({name for name, _ in implied}) > 1:
            second = implied[1][1]
            self.problems.append(second.location.problem(
                f"plugins {implied[0][1].kind} and {second.kind} imply different platforms "
                f"({implied[0][0]} and {implied[1][0]})", hint="keep the plugin of the platform you deploy to"))
        if isinstance(spec.get("platform"), str) and spec["platform"]:
            platform = spec["platform"]
            for name, plugin in implied:
                if name != platform:
                    self.problems.append(plugin.location.problem(
                        f"plugin {plugin.kind} is for platform {name}, but spec.platform is {platform!r}",
                        hint=f"set spec.platform: {name}, or remove the plugin"))
            return platform, "spec.platform", self.at("spec", "platform")
        if implied:
            name, plugin = implied[0]
            return name, f"plugin {plugin.kind}", plugin.location
        return DEFAULT_PLATFORM, "default", self.at("spec") if "spec" in self.data else self.at()

    def _repos(self, spec: dict[str, Any]) -> tuple[Repo, ...]:
        repos: list[Repo] = []
        for i, raw in enumerate(_items(spec, "repos")):
            if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) \
                    or not isinstance(raw.get("uri"), str):
                continue
            location = self.map.locate(("spec", "repos", i, "name"))
            before = next((r for r in repos if r.name == raw["name"]), None)
            if before is not None:
                self.problems.append(location.problem(
                    f"duplicate repo {raw['name']!r} (first on line {before.location.line})",
                    hint="give each repo its own name"))
                continue
            sha = raw.get("sha256")
            repos.append(Repo(raw["name"], raw["uri"], sha if isinstance(sha, str) else None, location))
        return tuple(repos)

    def _check_secret_refs(self, applications: tuple[Application, ...], secrets: tuple[Secret, ...]) -> None:
        """Every ``valueFrom: {secret: NAME}`` names an entry of spec.secrets."""
        names = [s.name for s in secrets]
        for app in applications:
            for p in app.parameter_sites:
                if p.secret is None or p.secret in names:
                    continue
                guess = closest(p.secret, names)
                where = p.secret_at or p.name_at
                self.problems.append(where.problem(
                    f"parameter {p.name!r} of {app.name!r} takes secret {p.secret!r}, which spec.secrets does "
                    "not declare" + (f" (did you mean {guess!r}?)" if guess else ""),
                    hint=(f"declared: {', '.join(names)}" if names else "spec.secrets declares none")
                    + f"; add {{name: {p.secret}, secretSource: {{envSource: {{name: VARIABLE}}}}}} to spec.secrets"))

    def _images(self, spec: dict[str, Any]) -> ImagePolicy:
        """``spec.images``: each rewrite's ``from`` and ``to`` must be registry prefixes, each ``from`` listed once."""
        images = _dict(spec, "images")
        rewrites: list[Rewrite] = []
        for i, raw in enumerate(_items(images, "rewrite")):
            if not isinstance(raw, dict) or not isinstance(raw.get("from"), str) or not isinstance(raw.get("to"), str):
                continue
            bad = False
            for key in ("from", "to"):
                why = prefix_problem(raw[key])
                if why is not None:
                    bad = True
                    self.problems.append(self.at("spec", "images", "rewrite", i, key).problem(
                        f"{raw[key]!r} {why}",
                        hint="a registry prefix is host[:port][/path], e.g. ghcr.io/kubeflow -> "
                             "registry.internal/kubeflow"))
            source = raw["from"].replace("index.docker.io", "docker.io", 1)
            before = next((r for r in rewrites if r.source == source), None)
            if before is not None:
                self.problems.append(self.at("spec", "images", "rewrite", i, "from").problem(
                    f"{source!r} is rewritten twice", hint="keep one rewrite per prefix"))
            elif not bad:
                rewrites.append(Rewrite(source, raw["to"]))
        secrets = tuple(s for s in _items(images, "imagePullSecrets") if isinstance(s, str))
        return ImagePolicy(rewrites=tuple(rewrites), pull_secrets=tuple(dict.fromkeys(secrets)))

    def _secrets(self, spec: dict[str, Any]) -> tuple[Secret, ...]:
        secrets: list[Secret] = []
        for i, raw in enumerate(_items(spec, "secrets")):
            if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
                continue
            location = self.map.locate(("spec", "secrets", i, "name"))
            before = next((s for s in secrets if s.name == raw["name"]), None)
            if before is not None:
                self.problems.append(location.problem(
                    f"duplicate secret {raw['name']!r} (first on line {before.location.line})"))
                continue
            source = _dict(raw, "secretSource")
            literal = _dict(source, "literalSource").get("value")
            env = _dict(source, "envSource").get("name")
            secrets.append(Secret(
                name=raw["name"], literal=literal if isinstance(literal, str) else None,
                env=env if isinstance(env, str) else None, location=location,
                env_at=self.map.locate(("spec", "secrets", i, "secretSource", "envSource", "name"))
                if isinstance(env, str) else None))
        return tuple(secrets)


def build(data: dict[str, Any], source_map: SourceMap, *, source: Path | None = None,
          default_name: str | None = None) -> tuple[KfDef, list[Problem]]:
    """The KfDef value of schema-checked ``data`` and the cross-field problems found building it."""
    builder = _Build(data, source_map, source, default_name)
    kfdef = builder.kfdef()
    return kfdef, builder.problems
