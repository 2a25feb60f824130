"""Refuse kfctl 0.5's ``kfdef.apps.kubeflow.org/v1alpha1`` with a map of its fields onto v1.

kfctl 0.5 (ksonnet era) described an app with ``components`` and
``componentParams`` plus GCP settings flat in ``spec``. This kfctl reads only
v1/v1beta1; rather than guess a conversion, it shows the user, field by field
and at the lines of their own file, where each setting goes.
"""

from __future__ import annotations

from typing import Any

from kfctl.config.yamlread import SourceMap
from kfctl.errors import ConfigError

LEGACY_API_VERSION = "kfdef.apps.kubeflow.org/v1alpha1"

#: v1alpha1 spec field -> where it goes in v1
FIELD_MAP: dict[str, str] = {
    "components": "spec.applications[].name (one application per component, e.g. `- name: katib`)",
    "componentParams": "spec.applications[].parameters[] {name, value} of the application with that name",
    "packages": "nothing: packages are gone, each application is one component",
    "repo": "spec.repos[] {name, uri} (and kustomizeConfig.repoRef to build an application from it)",
    "repos": "spec.repos[] {name, uri}",
    "version": "spec.version",
    "platform": "spec.platform (gcp, aws, generic, ...)",
    "appdir": "nothing: the app folder is where kfdef.yaml lives (`kfctl init APP_DIR`)",
    "useIstio": "list `istio` in spec.applications",
    "useBasicAuth": "spec.plugins[] KfGcpPlugin spec.useBasicAuth",
    "project": "spec.plugins[] KfGcpPlugin spec.project",
    "zone": "spec.plugins[] KfGcpPlugin spec.zone",
    "email": "spec.plugins[] KfGcpPlugin spec.email",
    "ipName": "spec.plugins[] KfGcpPlugin spec.ipName",
    "hostname": "spec.plugins[] KfGcpPlugin spec.hostname",
    "skipInitProject": "spec.plugins[] KfGcpPlugin spec.skipInitProject",
    "serverVersion": "nothing: kfctl asks the cluster",
    "deleteStorage": "nothing: `kfctl delete` keeps storage unless told otherwise",
    "enableApplications": "nothing: kfctl tracks what it installed itself",
    "applications": "spec.applications[]",
    "plugins": "spec.plugins[]",
    "secrets": "spec.secrets[]",
}

_ALWAYS = ("components", "componentParams")


def refuse_v1alpha1(data: dict[str, Any], source: SourceMap) -> ConfigError:
    """The error for a v1alpha1 file: where each of its fields goes in v1."""
    where = source.locate(("apiVersion",))
    problem = where.problem(
        f"{LEGACY_API_VERSION} is kfctl 0.5's format, which this kfctl no longer reads",
        hint="rewrite the file as kfdef.apps.kubeflow.org/v1 (`kfctl init DIR` writes a starter)")
    raw = data.get("spec")
    spec: dict[str, Any] = raw if isinstance(raw, dict) else {}
    present = [key for key in spec if key in FIELD_MAP]
    shown = list(dict.fromkeys([*present, *_ALWAYS]))
    lines = ["How its fields map to kfdef.apps.kubeflow.org/v1:"]
    width = max(len(k) for k in shown) + len("spec.")
    for key in shown:
        at = ""
        if key in spec:
            loc = source.locate(("spec", key), key=True)
            at = f"  (line {loc.line})"
        lines.append(f"  {('spec.' + key).ljust(width)} -> {FIELD_MAP[key]}{at}")
    unknown = [key for key in spec if key not in FIELD_MAP]
    if unknown:
        lines.append(f"  (no v1 counterpart: {', '.join(unknown)})")
    return ConfigError([problem], summary="\n".join(lines))

