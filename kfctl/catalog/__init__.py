"""The component catalog: what can be deployed, read from ``manifests/`` and ``platforms/``.

A :class:`Catalog` is an immutable index of :class:`Component` bundles and
:class:`Platform` definitions. The KfDef validator asks it whether names and
parameters exist; the renderer asks it for templates. The on-disk format is
documented in ``manifests/README.md``.
"""

from kfctl.catalog.model import Catalog, Component, Dependency, Platform, load_catalog

__all__ = ["Catalog", "Component", "Dependency", "Platform", "load_catalog"]
