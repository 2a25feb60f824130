"""The pipeline from a KfDef file to a plan, shared by apply, diff and status.

KfDef file -> :class:`~kfctl.config.Selection` -> :class:`~kfctl.render.Rendering`
-> :class:`~kfctl.plan.Plan`, plus what the engine needs from the catalog:
component dependencies (ordering), readiness overrides from ``component.yaml``
and the status recorded with the inventory. Everything here happens before
kfctl contacts a cluster, so a bad KfDef never causes a request.
"""

from __future__ import annotations

import hashlib
import sys
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfctl import __version__
from kfctl.catalog import Catalog, load_catalog
from kfctl.config import KfDef, Selection
from kfctl.engine.provided import Provided
from kfctl.engine.readiness import Rule, rule_for_override
from kfctl.plan import ObjectRef, Plan, build_plan
from kfctl.render import Rendering
from kfctl.pipeline import render_kfdef


@dataclass(frozen=True)
class Deployment:
    """A rendered, planned deployment, ready for the engine."""

    path: Path
    selection: Selection
    rendering: Rendering
    plan: Plan
    overrides: Mapping[ObjectRef, tuple[Rule | None, float | None]]
    #: digest of every rendered object: what was applied, independent of comments in the KfDef
    kfdef_digest: str
    #: the components the cluster provides, with what its copy must have (checked before the first write)
    provided: tuple[Provided, ...] = ()

    @property
    def storage_class(self) -> str | None:
        """``spec.storageClass``: the StorageClass the cluster provides."""
        return self.selection.storage_class

    @property
    def name(self) -> str:
        return self.selection.kfdef.name

    @property
    def namespace(self) -> str:
        return self.selection.kfdef.namespace

    def rules(self, ref: ObjectRef) -> tuple[Rule | None, float | None]:
        return self.overrides.get(ref, (None, None))

    def component_sizes(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for node in self.plan.nodes.values():
            sizes[node.component] = sizes.get(node.component, 0) + 1
        return sizes

    def kubernetes_ranges(self, catalog: Catalog | None = None) -> dict[str, Mapping[str, str]]:
        """Each chosen catalog component's supported Kubernetes versions (``{"min", "max"}``), for ``kfctl check``."""
        catalog = (catalog or load_catalog()).for_release(self.selection.release or None)
        return {c: catalog.component(c).kubernetes for c in self.selection.names}

    def status(self, catalog: Catalog | None = None) -> dict[str, Any]:
        """What the inventory records: deterministic (no timestamps), so a no-op apply writes nothing."""
        catalog = (catalog or load_catalog()).for_release(self.selection.release or None)
        return {
            "kfdef": self.name,
            "renderDigest": self.kfdef_digest,
            "release": self.selection.release,
            "platform": self.selection.platform,
            "components": {
                **{c: "provided" if c in self.selection.provided else catalog.component(c).version
                   for c in self.selection.names},
                **{a.name: f"{a.repo.name}:{a.path}" for a in self.selection.repo_applications},
            },
            "kfctlVersion": __version__,
        }


def _overrides(rendering: Rendering, catalog: Catalog, plan: Plan) -> dict[ObjectRef, tuple[Rule | None, float | None]]:
    out: dict[ObjectRef, tuple[Rule | None, float | None]] = {}
    for bundle in rendering.bundles:
        if bundle.component not in catalog.components:
            continue
        for entry in catalog.component(bundle.component).readiness:
            for ref, node in plan.nodes.items():
                if node.component != bundle.component or ref.kind != entry.get("kind") or ref.name != entry.get("name"):
                    continue
                if entry.get("namespace") and ref.namespace != entry["namespace"]:
                    continue
                timeout = entry.get("timeoutSeconds")
                out[ref] = (rule_for_override(entry), float(timeout) if timeout else None)
    return out


def component_dependencies(selection: Selection, catalog: Catalog) -> dict[str, tuple[str, ...]]:
    """Each component's *required* dependencies in this deployment.

    Optional dependencies (``istio`` for most apps) change what a bundle renders, and
    the objects that need them get inferred edges (CRDs, webhooks); ordering every
    workload after all of, say, Istio's would only delay them.
    """
    chosen = set(selection.names)
    return {
        name: tuple(d.name for d in catalog.component(name).depends_on if d.name in chosen and d.required)
        for name in selection.names
        if name in catalog.components
    }


def provided_checks(selection: Selection, rendering: Rendering, catalog: Catalog) -> tuple[Provided, ...]:
    """What :mod:`kfctl.engine.provided` checks of each component the cluster provides."""
    out = []
    for comp in selection.components:
        if not comp.provided:
            continue
        spec = catalog.component(comp.name).provided or {}
        out.append(Provided(component=comp.name, kinds=tuple(rendering.provided_kinds.get(comp.name, ())),
                            workloads=tuple(spec.get("workloads", ())), webhooks=tuple(spec.get("webhooks", ())),
                            revision=comp.revision, service_account=comp.gateway_service_account))
    return tuple(out)


def plan_rendering(rendering: Rendering, deps: Mapping[str, Iterable[str]]) -> Plan:
    return build_plan([(r.component, r.to_dict()) for r in rendering.resources],
                      component_deps={k: tuple(v) for k, v in deps.items()})


def load_deployment(path: Path, *, overlays: tuple[Path, ...] = (), display: str | None = None,
                    catalog: Catalog | None = None, offline: bool = False, skip_invalid: bool = False,
                    secrets: Mapping[str, str] | Callable[[KfDef], Mapping[str, str]] | None = None) -> Deployment:
    """Validate, render and plan a KfDef file (InputError, exit 2, on any problem, also an object the
    API server would refuse; ``skip_invalid`` leaves those out instead; ``offline``: repos from the cache only).

    ``secrets``: the KfDef's secret values, or what reads them (apply, diff); without them, placeholders and withheld Secrets
    (``--dry-run``). The digests below cover the values only as SHA-256: nothing stores them in plain text."""
    catalog = catalog or load_catalog()
    selection, rendering = render_kfdef(path, catalog, overlays=overlays, display=display,
                                        progress=sys.stderr.isatty(), offline=offline, skip_invalid=skip_invalid,
                                        secrets=secrets)
    catalog = catalog.for_release(selection.release or None)  # the release spec.version selected
    plan = plan_rendering(rendering, component_dependencies(selection, catalog))
    text = json.dumps([r.to_dict() for r in rendering.resources], sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Deployment(path=Path(path), selection=selection, rendering=rendering, plan=plan,
                      overrides=_overrides(rendering, catalog, plan), kfdef_digest=digest,
                      provided=provided_checks(selection, rendering, catalog))
