"""The apply/delete engine: walks a plan against a cluster and reports events.

Its public face, for the CLI and for anyone driving kfctl from Python::

    from kfctl.engine import ApplyEngine, ApplyOptions
    result = ApplyEngine(cluster, plan, deployment="kubeflow", namespace="kubeflow",
                         options=ApplyOptions(), sink=print).run()

The parts, each a module of its own: :mod:`.decide` (the one write decision
apply and diff share), :mod:`.schedule` (which object starts next),
:mod:`.gates` (webhook endpoints, progress deadlines), :mod:`.pods` (what pods
say), :mod:`.inventory` (the ApplySet parent), :mod:`.prune` and :mod:`.keep`
(what goes, what stays), :mod:`.readiness` (per-kind health rules),
:mod:`.clusterapi` (what the engine needs of a cluster). Submodules are
imported on first use, so ``import kfctl.engine`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ApplyEngine": "kfctl.engine.apply",
    "ApplyOptions": "kfctl.engine.results",
    "ApplyResult": "kfctl.engine.results",
    "ObjectOutcome": "kfctl.engine.results",
    "DeleteEngine": "kfctl.engine.delete",
    "DeleteOptions": "kfctl.engine.delete",
    "DeleteResult": "kfctl.engine.delete",
    "Change": "kfctl.engine.diff",
    "compute_diff": "kfctl.engine.diff",
    "Action": "kfctl.engine.decide",
    "Decision": "kfctl.engine.decide",
    "decide": "kfctl.engine.decide",
    "ClusterAPI": "kfctl.engine.clusterapi",
    "Retrying": "kfctl.engine.retry",
    "Event": "kfctl.engine.events",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kfctl.engine' has no attribute {name!r}")
    attr = "compute" if name == "compute_diff" else name
    return getattr(importlib.import_module(module), attr)
