"""The renderer: a catalog plus a :class:`RenderRequest` in, a :class:`Rendering` out.

Bundles' Jinja2 templates are rendered in a sandbox, namespaced, patched by the
platform's and the user's overlays, labelled and checked, deterministically.
``kfctl generate`` writes the result as a kustomize tree (:mod:`.writer`);
``kfctl show`` prints it. Parameters that take a KfDef secret get its value
only for apply and diff; everything else renders placeholders and withholds
the Secrets holding them (:mod:`.secretref`).
"""

from __future__ import annotations

from kfctl.render.model import Bundle, PatchUse, Rendering, RenderRequest, Resource
from kfctl.render.renderer import render, to_yaml

__all__ = ["Bundle", "PatchUse", "RenderRequest", "Rendering", "Resource", "render", "to_yaml"]
