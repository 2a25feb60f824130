"""Resolve a KfDef against the component catalog into a Deployment selection.

This is the hand-off to the renderer. :class:`Selection` holds, in dependency
order, every component to deploy with its *effective* parameters::

    component schema defaults  <  platform componentParameters  <  KfDef values

plus the platform name, the repo applications (built by kustomize from a
declared repo), the dependencies that were added (``katib requires
cert-manager: added``), and notices/warnings for the user. It is immutable.

Checks made here, all reported together: unknown component names (closest
name suggested), kfctl 1.x names with no counterpart (one error listing them,
see :mod:`kfctl.config.aliases`), platform-provided applications on another
platform, unknown platform, parameters unknown to a component, values that
fail the component's parameter schema (located at the value's YAML node), and
values the platform plugin's spec gives to parameters the platform declares.

Leniency, decided for kfctl 1.x users: on a catalog application (no repoRef),
``kustomizeConfig.parameters`` and ``kustomizeConfig.overlays`` are kfctl 1.x's
kustomize knobs. Parameters the component declares apply; the rest, and all
overlays, are ignored with a warning (kfctl 1.x files set upstream knobs such
as ``userid-header`` even on ``istio`` or ``profiles``). This project's own
``parameters`` list is strict: an unknown name there is an error. String
values in ``kustomizeConfig.parameters`` (kfctl 1.x wrote only strings) are
converted to the declared boolean/integer/number type when they read as one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from kfctl.catalog import Catalog, Component, Platform
from kfctl.catalog.model import thaw
from kfctl.config import aliases
from kfctl.config.versions import choose_release
from kfctl.config.model import PLATFORM_PLUGINS, Application, KfDef, Parameter, Repo
from kfctl.config.schema import check, closest, validator_for
from kfctl.errors import CatalogError, ConfigError, Problem
from kfctl.frozen import freeze


@dataclass(frozen=True)
class SelectedComponent:
    """A component to deploy and the parameters its templates get."""

    name: str
    parameters: Mapping[str, Any]
    #: the KfDef applications that chose it; empty when added as a dependency
    applications: tuple[str, ...] = ()
    #: the component that required it, when it was added automatically
    required_by: str | None = None
    #: parameter -> the spec.secrets entry it takes its value from (``valueFrom: {secret: NAME}``); its
    #: value is put in at render time (:func:`kfctl.pipeline.request_for`), never kept here
    secrets: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: the cluster already runs it (``provided``): only Kubeflow's own objects of it are rendered
    provided: bool = False
    #: ``provided: {revision: R}`` (Istio's istio.io/rev)
    revision: str | None = None
    #: ``provided: {gatewayServiceAccount: NAME}`` (Istio's ingress gateway)
    gateway_service_account: str | None = None


@dataclass(frozen=True)
class RepoApplication:
    """An application built by kustomize from ``repo`` at ``path`` (not from the catalog)."""

    name: str
    repo: Repo
    path: str
    overlays: tuple[str, ...]
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class Selection:
    """Everything the renderer needs to know about what to deploy, and how."""

    kfdef: KfDef
    platform: str
    components: tuple[SelectedComponent, ...]
    repo_applications: tuple[RepoApplication, ...] = ()
    #: (dependency, component that required it), in the order they were added
    added: tuple[tuple[str, str], ...] = ()
    notices: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    #: the catalog release spec.version selected ("" for a flat test catalog)
    release: str = ""
    #: ``spec.storageClass``: the StorageClass the cluster provides for Kubeflow's volumes
    storage_class: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.components)

    @property
    def gateway_service_account(self) -> str | None:
        """The service account a provided Istio's ingress gateway runs as, when the KfDef names one."""
        return next((c.gateway_service_account for c in self.components if c.gateway_service_account), None)

    @property
    def provided(self) -> tuple[str, ...]:
        """The components the cluster provides (rendered only for Kubeflow's own objects of them)."""
        return tuple(c.name for c in self.components if c.provided)

    def component(self, name: str) -> SelectedComponent:
        for comp in self.components:
            if comp.name == name:
                return comp
        raise KeyError(name)


def provided_spelling(component: str, *, revision: str | None = None,
                      gateway_service_account: str | None = None) -> str:
    """How a KfDef says the cluster already runs ``component`` (``kfctl check`` names it when it finds one).

    ``provided_spelling("cert-manager")`` -> ``spec.applications: - {name: cert-manager, provided: true}``;
    for Istio, the revision and the ingress gateway's service account found, when not the defaults.
    """
    settings = [f"revision: {revision}"] if revision and revision != "default" else []
    if gateway_service_account and gateway_service_account != "istio-ingressgateway-service-account":
        settings.append(f"gatewayServiceAccount: {gateway_service_account}")
    value = f"{{{', '.join(settings)}}}" if settings else "true"
    return f"spec.applications: - {{name: {component}, provided: {value}}}"


def storage_class_spelling(name: str) -> str:
    """How a KfDef says the cluster provides StorageClass ``name`` for Kubeflow's volumes."""
    return f"spec.storageClass: {name}"


def providable(catalog: Catalog) -> tuple[str, ...]:
    """The components a KfDef may declare provided (their component.yaml says how a cluster's copy is used)."""
    return tuple(sorted(n for n, c in catalog.components.items() if c.provided is not None))


_TRUE = {"true", "yes", "on"}
_FALSE = {"false", "no", "off"}


def _coerce(value: Any, spec: Mapping[str, Any]) -> Any:
    """kfctl 1.x wrote every parameter as a string: read 'true' or '3' as the declared type."""
    if not isinstance(value, str):
        return value
    types = spec.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    text = value.strip().lower()
    if "boolean" in types and text in _TRUE | _FALSE:
        return text in _TRUE
    if "integer" in types:
        try:
            return int(value.strip())
        except ValueError:
            pass
    if "number" in types:
        try:
            return float(value.strip())
        except ValueError:
            pass
    return value


class _Resolver:
    def __init__(self, kfdef: KfDef, catalog: Catalog, environ: Mapping[str, str]) -> None:
        self.kfdef = kfdef
        self.catalog = catalog
        self.environ = environ
        self.problems: list[Problem] = []
        self.notices: list[str] = []
        self.warnings: list[str] = []
        #: component -> application names that chose it
        self.chosen: dict[str, list[str]] = {}
        #: component -> parameter name -> (value, the Parameter it came from)
        self.values: dict[str, dict[str, tuple[Any, Parameter]]] = {}
        #: component -> parameter name -> spec.secrets entry (valueFrom)
        self.secret_refs: dict[str, dict[str, str]] = {}
        #: component -> (revision, the application that declared it provided)
        self.provided: dict[str, tuple[str | None, Application]] = {}
        #: component -> provided.gatewayServiceAccount
        self.gateway_accounts: dict[str, str] = {}
        #: components some application lists without provided
        self.installed: dict[str, Application] = {}

    def run(self) -> Selection | None:
        if not self._release():
            return None
        platform = self._platform()
        unsupported: list[tuple[Application, aliases.Alias]] = []
        for app in self.kfdef.applications:
            if app.is_repo_application:
                continue
            entry = aliases.lookup(app.name, set(self.catalog.components))
            if entry is None:
                hint = self.catalog.suggest(app.name, self.catalog.components)
                self.problems.append(app.location.problem(
                    f"unknown component {app.name!r}",
                    hint=hint + "; kfctl 1.x application names are accepted too"))
            elif entry.kind == "unsupported":
                unsupported.append((app, entry))
            elif entry.kind == "platform":
                self._platform_app(app, entry)
            elif entry.kind == "dropped":
                self.notices.append(f"application {app.name!r} is not needed: {entry.reason}")
                self._stray_settings(app, unused="nothing of this application is deployed")
            else:
                self._choose(app, entry.components)
        if unsupported:
            self._unsupported(unsupported)
        self._check_secrets()
        for plugin in self.kfdef.plugins:
            if plugin.kind not in PLATFORM_PLUGINS:
                self.warnings.append(f"plugin {plugin.kind} (line {plugin.location.line}) has no effect in kfctl")
        if self.kfdef.applications and not self.chosen and not self.problems \
                and not any(a.is_repo_application for a in self.kfdef.applications):
            self.problems.append(self.kfdef.platform_at.problem(
                "no component to deploy: every application was dropped or is provided by the platform"))
        if platform is not None:
            self._check_platform_parameters(platform)
        if self.problems or platform is None:
            return None
        try:
            resolution = self.catalog.resolve(self.chosen, parameters=lambda name: self._values(
                self.catalog.components[name], platform.component_parameters.get(name, {})))
        except CatalogError as exc:
            raise CatalogError(f"the component catalog is broken: {exc.message}", hint=exc.hint) from exc
        for dep, by in resolution.added:
            self.notices.append(f"{by} requires {dep}: added")
        required_by = dict(resolution.added)
        components = []
        for name in resolution.order:
            params = self._effective(self.catalog.components[name], platform.component_parameters.get(name, {}))
            components.append(SelectedComponent(name=name, parameters=freeze(params),
                                                applications=tuple(self.chosen.get(name, ())),
                                                required_by=required_by.get(name),
                                                secrets=freeze(self.secret_refs.get(name, {})),
                                                provided=name in self.provided,
                                                revision=self.provided.get(name, (None, None))[0],
                                                gateway_service_account=self.gateway_accounts.get(name)))
        if self.problems:
            return None
        return Selection(kfdef=self.kfdef, platform=platform.name, components=tuple(components),
                         repo_applications=self._repo_applications(), added=resolution.added,
                         notices=tuple(self.notices), warnings=tuple(self.warnings), release=self.catalog.release,
                         storage_class=self.kfdef.storage_class)

    def _release(self) -> bool:
        """Switch to the catalog release spec.version selects; False (a problem recorded) if it names none."""
        version_at = self.kfdef.source_map.locate(("spec", "version"))
        written = ("spec", "version") in self.kfdef.source_map.values
        if written and self.kfdef.version is None:
            return True  # not a string: the schema check reports it; keep checking the rest
        choice = choose_release(self.kfdef.version, self.catalog.releases, self.catalog.default_release,
                                where=f"spec.version (line {version_at.line})" if written else "spec.version")
        if self.kfdef.applications and all(a.is_repo_application for a in self.kfdef.applications):
            # only repo applications: spec.version describes the repo, no catalog bundle is rendered
            self.catalog = self.catalog.for_release(choice.release or self.catalog.default_release)
            return True
        if choice.release is None:
            self.problems.append(version_at.problem(choice.error or "unknown release", hint=choice.hint))
            return False
        if choice.warning:
            self.warnings.append(choice.warning)
        self.catalog = self.catalog.for_release(choice.release)
        return True

    def _platform(self) -> Platform | None:
        name = self.kfdef.platform
        if name in self.catalog.platforms:
            return self.catalog.platforms[name]
        what = f"unknown platform {name!r}"
        if self.kfdef.platform_reason.startswith("plugin"):
            what += f" (implied by {self.kfdef.platform_reason})"
        self.problems.append(self.kfdef.platform_at.problem(
            what, hint=self.catalog.suggest(name, self.catalog.platforms)))
        return None

    def _check_platform_parameters(self, platform: Platform) -> None:
        """Values a platform plugin's spec gives to parameters the platform declares must fit their schema."""
        declared = platform.parameters.get("properties", {})
        for plugin in self.kfdef.plugins:
            if PLATFORM_PLUGINS.get(plugin.kind) != platform.name:
                continue
            values = {k: thaw(v) for k, v in plugin.spec.items() if k in declared}
            if not values:
                continue
            schema = {"type": "object", "properties": {k: thaw(declared[k]) for k in values}}
            base = ("spec", "plugins", plugin.index, "spec")
            source_map = self.kfdef.source_map
            self.problems.extend(check(values, validator_for(schema),
                                       lambda path, key: source_map.locate((*base, *path), key=key),
                                       noun="parameter"))

    def _platform_app(self, app: Application, entry: aliases.Alias) -> None:
        if entry.platform == self.kfdef.platform:
            self.notices.append(f"application {app.name!r} is provided by platform {entry.platform}")
            self._stray_settings(app, unused=f"platform {entry.platform} provides it; platform parameters go in "
                                             "the spec of its plugin")
        else:
            self.problems.append(app.location.problem(
                f"{app.name!r} is provided by platform {entry.platform}, "
                f"but this deployment's platform is {self.kfdef.platform}",
                hint=f"set spec.platform: {entry.platform}, or remove {app.name!r}"))

    def _unsupported(self, apps: list[tuple[Application, aliases.Alias]]) -> None:
        reasons: dict[str, list[str]] = {}
        for app, entry in apps:
            reasons.setdefault(entry.reason, []).append(f"{app.name} (line {app.location.line})")
        text = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in reasons.items())
        first = apps[0][0]
        self.problems.append(first.location.problem(
            f"kfctl 1.x application{'s' if len(apps) > 1 else ''} with no counterpart in this kfctl: {text}",
            hint="remove them, or give each a kustomizeConfig.repoRef to build it from that repo"))

    def _stray_settings(self, app: Application, *, unused: str | None = None) -> None:
        """Overlays, and (when ``unused`` says why) parameters, that nothing will use."""
        if app.overlays:
            self.warnings.append(f"application {app.name!r}: kustomizeConfig.overlays ({', '.join(app.overlays)}) "
                                 "apply only to repo applications; ignored (platform overlays follow "
                                 "spec.platform)")
        if unused:
            for p in app.parameter_sites:
                self.warnings.append(f"application {app.name!r}: parameter {p.name!r} ignored ({unused})")

    def _choose(self, app: Application, targets: tuple[str, ...]) -> None:
        present = []
        for comp in targets:
            if comp not in self.catalog.components:
                self.problems.append(app.location.problem(
                    f"{app.name!r} maps to component {comp!r}, which this kfctl's catalog does not have",
                    hint=self.catalog.suggest(comp, self.catalog.components)))
                continue
            present.append(self.catalog.components[comp])
            self.chosen.setdefault(comp, [])
            if app.name not in self.chosen[comp]:
                self.chosen[comp].append(app.name)
            self._mark_provided(app, self.catalog.components[comp])
        self._stray_settings(app)
        for p in app.parameter_sites:
            owner = next((c for c in present if p.name in c.parameter_names), None)
            if owner is None:
                self._unknown_parameter(app, p, present)
                continue
            spec = owner.parameters.get("properties", {}).get(p.name, {})
            if p.secret is not None:
                self._secret_ref(owner, p, spec)
                continue
            if not p.has_value:
                continue
            value = _coerce(p.value, spec) if p.source == "kustomizeConfig" else p.value
            before = self.values.setdefault(owner.name, {}).get(p.name)
            if before is not None and before[0] != value:
                self.problems.append(p.value_at.problem(
                    f"parameter {p.name!r} of {owner.name} is set to {value!r} here and to {before[0]!r} "
                    f"at {before[1].value_at.path} (line {before[1].value_at.line})",
                    hint="set it once"))
                continue
            self.values[owner.name][p.name] = (value, p)

    def _mark_provided(self, app: Application, comp: Component) -> None:
        """Record whether ``app`` installs ``comp`` or says the cluster provides it; both at once is an error."""
        where = app.provided_at or app.location
        if app.provided and comp.provided is None:
            names = providable(self.catalog)
            self.problems.append(where.problem(
                f"{comp.name} cannot be provided by the cluster: kfctl only uses a cluster's own "
                f"{', '.join(names) or 'nothing'}",
                hint=f"drop provided from {app.name!r}, or let kfctl install {comp.name}"))
            return
        other = self.installed.get(comp.name) if app.provided else self.provided.get(comp.name, (None, None))[1]
        if other is not None and other is not app:
            self.problems.append(where.problem(
                f"{comp.name} is both installed (application {(other if app.provided else app).name!r}) and "
                f"provided by the cluster (application {(app if app.provided else other).name!r})",
                hint="keep one: provided: true on every application of it, or on none"))
            return
        if app.provided:
            self.provided[comp.name] = (app.revision, app)
            for setting, value in (("revision", app.revision), ("gatewayServiceAccount", app.gateway_service_account)):
                if value is not None and comp.name != "istio":
                    self.problems.append(where.problem(f"provided.{setting} is Istio's setting, not {comp.name}'s",
                                                       hint="write provided: true"))
            if app.gateway_service_account is not None:
                self.gateway_accounts[comp.name] = app.gateway_service_account
            if app.parameter_sites:
                self.warnings.append(f"application {app.name!r}: the cluster provides {comp.name}, so its "
                                     "parameters only shape Kubeflow's own objects of it")
        else:
            self.installed[comp.name] = app

    def _secret_ref(self, owner: Component, p: Parameter, spec: Mapping[str, Any]) -> None:
        """``valueFrom: {secret: NAME}`` is for parameters the component marks ``x-kfctl-secret``."""
        assert p.secret is not None
        where = p.secret_at or p.name_at
        if not spec.get("x-kfctl-secret"):
            marked = sorted(n for n, s in (owner.parameters.get("properties") or {}).items() if s.get("x-kfctl-secret"))
            self.problems.append(where.problem(
                f"parameter {p.name!r} of {owner.name} is not a secret: valueFrom works only for secret parameters",
                hint=f"secret parameters of {owner.name}: {', '.join(marked)}" if marked
                else f"{owner.name} has no secret parameters; give {p.name} a value"))
            return
        before = self.secret_refs.setdefault(owner.name, {}).get(p.name)
        if before is not None and before != p.secret:
            self.problems.append(where.problem(f"parameter {p.name!r} of {owner.name} takes secret {p.secret!r} "
                                               f"here and {before!r} elsewhere", hint="set it once"))
            return
        self.secret_refs[owner.name][p.name] = p.secret

    def _unknown_parameter(self, app: Application, p: Parameter, present: list[Component]) -> None:
        names = sorted({n for c in present for n in c.parameter_names})
        comps = ", ".join(c.name for c in present) or app.name
        if p.source == "kustomizeConfig":
            self.warnings.append(f"application {app.name!r}: kfctl 1.x kustomize parameter {p.name!r} has no "
                                 f"counterpart in {comps}; ignored")
            return
        guess = closest(p.name, names)
        message = f"unknown parameter {p.name!r} for {comps}" + (f" (did you mean {guess!r}?)" if guess else "")
        self.problems.append(p.name_at.problem(
            message, hint=f"parameters of {comps}: {', '.join(names)}" if names else f"{comps} takes no parameters"))

    def _values(self, component: Component, platform_values: Mapping[str, Any]) -> dict[str, Any]:
        """Schema defaults < platform < KfDef, unchecked (what conditional dependencies look at)."""
        params = component.defaults()
        params.update({k: v for k, v in thaw(platform_values).items()})
        if self.kfdef.storage_class and "storageClassName" in params:
            params["storageClassName"] = self.kfdef.storage_class  # spec.storageClass: above the platform's
        for name, (value, _) in self.values.get(component.name, {}).items():
            params[name] = thaw(value)
        return params

    def _effective(self, component: Component, platform_values: Mapping[str, Any]) -> dict[str, Any]:
        params = self._values(component, platform_values)
        user = self.values.get(component.name, {})
        try:
            validator = validator_for(component.parameters)
        except Exception as exc:  # jsonschema.SchemaError: the bundle is broken, not the KfDef
            raise CatalogError(f"{component.path / 'component.yaml'}: parameters is not a valid JSON Schema: "
                               f"{getattr(exc, 'message', exc)}") from exc
        source_map = self.kfdef.source_map

        def locate(path: tuple[str | int, ...], key: bool) -> Any:
            if path and path[0] in user:
                site = user[path[0]][1]
                return source_map.locate((*site.value_path, *path[1:]), key=key)
            raise CatalogError(f"{component.path / 'component.yaml'}: default or platform value of "
                               f"{'.'.join(map(str, path)) or 'parameters'} fails its own schema")

        for problem in check(params, validator, locate, noun="parameter"):
            self.problems.append(problem)
        return params

    def _repo_applications(self) -> tuple[RepoApplication, ...]:
        result = []
        for app in self.kfdef.applications:
            if app.repo_ref is None:
                continue
            repo = self.kfdef.repo(app.repo_ref.name)
            if repo is not None:
                result.append(RepoApplication(app.name, repo, app.repo_ref.path, app.overlays, app.parameters))
        return tuple(result)

    def _check_secrets(self) -> None:
        for secret in self.kfdef.secrets:
            if secret.literal is not None:
                self.warnings.append(f"secret {secret.name!r} (line {secret.location.line}) is a literalSource: its "
                                     "value is plain text in the KfDef; prefer envSource and keep the value out "
                                     "of files")
            if secret.env is not None and secret.env not in self.environ:
                self.warnings.append(f"secret {secret.name!r}: environment variable {secret.env} is not set "
                                     "(kfctl apply will need it)")


def resolve_problems(kfdef: KfDef, catalog: Catalog, *,
                     environ: Mapping[str, str] | None = None) -> tuple[Selection | None, list[Problem]]:
    """The selection, or None with every problem found (for callers that merge problem lists)."""
    resolver = _Resolver(kfdef, catalog, os.environ if environ is None else environ)
    selection = resolver.run()
    return selection, resolver.problems


def resolve(kfdef: KfDef, catalog: Catalog, *, environ: Mapping[str, str] | None = None) -> Selection:
    """Resolve ``kfdef`` against ``catalog``; every problem found is raised as one ConfigError."""
    selection, problems = resolve_problems(kfdef, catalog, environ=environ)
    if problems or selection is None:
        raise ConfigError(sorted(problems, key=_order))
    return selection


def _order(p: Problem) -> tuple[int, int]:
    return (p.line or 0, p.column or 0)
