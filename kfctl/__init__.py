"""kfctl: install, upgrade and tear down Kubeflow on Kubernetes.

The pipeline reads as the package's folders, data flowing one way as immutable
values: ``config`` (KfDef) -> ``catalog`` (components and platforms) ->
``render`` (Bundle of Resources) -> ``plan`` (dependency graph) ->
``engine`` (apply/delete) -> events -> ``cli`` output. ``cluster`` is the only
module that talks to Kubernetes; ``sim`` is a simulated cluster that never
imports the engine.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
