"""The component catalog: what can be deployed, per Kubeflow release, read from ``manifests/`` and ``platforms/``.

A :class:`Catalog` is an immutable index of one release's :class:`Component`
bundles and the :class:`Platform` definitions as that release sees them;
:func:`load_catalog` returns the default release's (or ``release=``'s), and
:meth:`Catalog.for_release` any sibling. The KfDef validator asks it whether
names and parameters exist; the renderer asks it for templates. The on-disk
format is documented in ``manifests/README.md``.
"""

from kfctl.catalog.loader import deep_merge, load_catalog, load_releases
from kfctl.catalog.model import Catalog, Component, Dependency, Platform, Release, Releases

__all__ = ["Catalog", "Component", "Dependency", "Platform", "Release", "Releases", "deep_merge", "load_catalog",
           "load_releases"]
