"""The KfDef: kfctl's input file, read strictly and resolved against the catalog.

A KfDef (``kfdef.apps.kubeflow.org/v1`` or ``v1beta1``, kfctl 1.x's format)
names the applications to deploy. This package reads one into an immutable
:class:`KfDef`, reporting every problem at once as ``FILE:LINE:COL: PATH:
MESSAGE`` (:class:`~kfctl.errors.ConfigError`, exit 2), and resolves it
against the component catalog into a :class:`Selection`: the components in
dependency order with their effective parameters, the renderer's input.

Typical use::

    from kfctl.catalog import load_catalog
    from kfctl.config import validate_file

    selection = validate_file("kfdef.yaml", load_catalog())   # any release's catalog
    selection.release                          # the release spec.version selected ("26.03")
    for comp in selection.components:          # dependency order
        comp.name, comp.parameters             # defaults < platform < KfDef

Modules: ``yamlread`` (safe YAML with line/column), ``schema`` (the shipped
JSON Schema and readable errors), ``model`` (the frozen values), ``aliases``
(kfctl 1.x application names), ``legacy`` (the v1alpha1 refusal),
``versions`` (the release ``spec.version`` selects), ``selection`` (catalog
resolution, against that release's catalog), ``secrets`` (secret values for apply),
``starter`` (the file ``kfctl init`` writes), ``load`` (the whole pipeline).
"""

from __future__ import annotations

from kfctl.config.aliases import ALIASES, Alias
from kfctl.config.load import DEFAULT_FILES, find_default_file, load_kfdef, parse_kfdef, validate_file
from kfctl.config.model import Application, KfDef, Parameter, Plugin, Repo, RepoRef, Secret
from kfctl.config.secrets import secret_values
from kfctl.config.selection import (RepoApplication, SelectedComponent, Selection, providable, provided_spelling,
                                    resolve, storage_class_spelling)
from kfctl.config.yamlread import Location

__all__ = [
    "ALIASES",
    "DEFAULT_FILES",
    "Alias",
    "Application",
    "KfDef",
    "Location",
    "Parameter",
    "Plugin",
    "Repo",
    "RepoApplication",
    "RepoRef",
    "Secret",
    "SelectedComponent",
    "Selection",
    "find_default_file",
    "load_kfdef",
    "parse_kfdef",
    "providable",
    "provided_spelling",
    "resolve",
    "secret_values",
    "storage_class_spelling",
    "validate_file",
]
