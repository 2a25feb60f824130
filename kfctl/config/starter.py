"""The commented KfDef that ``kfctl init`` writes, generated from the catalog.

The file pins ``spec.version`` to the release (default: the catalog's default
release), lists the chosen components (default: the platform's default set)
and, as comments, each component's parameters with their effective defaults
(schema default, or the platform's value) and descriptions, so a user edits
rather than looks things up. It is rendered from ``kfdef.yaml.j2`` in a
sandboxed Jinja2 environment and checked with the same code ``kfctl validate``
runs before anyone sees it.
"""

from __future__ import annotations

import json
import re
import textwrap
from importlib import resources
from typing import Any

import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from kfctl import __version__
from kfctl.catalog import Catalog
from kfctl.config.load import parse_kfdef
from kfctl.config.selection import resolve
from kfctl.config.versions import choose_release
from kfctl.errors import InputError

TEMPLATE = "kfdef.yaml.j2"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def yaml_scalar(value: Any) -> str:
    """``value`` as one line of YAML: plain when that reads back the same, else JSON (valid YAML)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 20, allow_unicode=True)
    text = text.removesuffix("\n").removesuffix("\n...").strip()
    if "\n" in text or yaml.safe_load(text) != value:
        return json.dumps(value)
    return text


def _lines(text: str, width: int = 84) -> list[str]:
    """Comment text wrapped to fit the file's width."""
    return textwrap.wrap(" ".join(str(text).split()), width=width) or [""]


def check_dns_label(value: str, what: str, option: str) -> None:
    if not (_DNS_LABEL.match(value) and len(value) <= 63):
        raise InputError(f"{what} {value!r} is not a valid DNS-1123 label",
                         hint=f"pass {option} with at most 63 lower-case letters, digits and '-'")


def starter_release(catalog: Catalog, version: str | None) -> Catalog:
    """The catalog of the release ``kfctl init --version`` names (same forms as spec.version; no warning
    forms: a kfctl 1.x-era version is refused here), or the default release's."""
    if version is None:
        return catalog.for_release(catalog.default_release)
    choice = choose_release(version, catalog.releases, catalog.default_release, where="--version")
    if choice.release is None or choice.warning:
        raise InputError(f"--version {version!r}: {choice.error or 'not a release of this kfctl'}",
                         hint=f"known releases: {', '.join(catalog.releases)}")
    return catalog.for_release(choice.release)


def render_starter(catalog: Catalog, *, name: str, namespace: str = "kubeflow", platform: str = "generic",
                   components: list[str] | None = None, version: str | None = None) -> str:
    """The text of a starter KfDef for release ``version`` (default: the default release), with
    ``spec.version`` pinned to it; it validates against the catalog (checked here)."""
    catalog = starter_release(catalog, version)
    check_dns_label(name, "deployment name", "--name")
    check_dns_label(namespace, "namespace", "--namespace")
    plat = catalog.platform(platform)
    chosen = list(dict.fromkeys(components if components else plat.components))
    if not chosen:
        raise InputError(f"platform {platform!r} has no default components", hint="pass --components a,b,...")
    entries = []
    for comp_name in chosen:
        comp = catalog.component(comp_name)
        overrides = plat.component_parameters.get(comp_name, {})
        params = []
        for pname, spec in comp.parameters.get("properties", {}).items():
            note = f" (platform {platform} sets this)" if pname in overrides else ""
            if spec.get("x-kfctl-demo"):
                note += " (demo default: change it for production)"
            value = overrides[pname] if pname in overrides else spec.get("default")
            params.append({"name": pname, "description": _lines(spec.get("description", "") + note, 80),
                           "value": json.loads(json.dumps(value, default=dict))})
        entries.append({"name": comp_name, "description": _lines(f"{comp_name}: {comp.description}"),
                        "requires": [d.name + "".join(f" when {k} is {v}" for k, v in d.when.items())
                                     for d in comp.depends_on if d.required and d.name not in chosen],
                        "params": params, "providable": comp.provided is not None})
    env = SandboxedEnvironment(undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                               keep_trailing_newline=True, autoescape=False)
    env.filters["yaml"] = yaml_scalar
    source = resources.files("kfctl.config").joinpath(TEMPLATE).read_text(encoding="utf-8")
    text = env.from_string(source).render(
        kfctl_version=__version__, name=name, namespace=namespace, platform=platform, components=entries,
        available=sorted(catalog.components), platforms=sorted(catalog.platforms), release=catalog.release,
        releases=[r for r in catalog.releases if r])
    resolve(parse_kfdef(text, file="<kfctl init>"), catalog, environ={})
    return text
