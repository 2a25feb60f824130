"""Two checks of what the KfDef says comes from elsewhere: components the cluster provides, and image registries.

* ``provided``: cert-manager, Istio or a StorageClass the KfDef declares the
  cluster's own (README, "Existing components") is present, healthy and
  compatible, by :func:`kfctl.engine.provided.verify` with no waiting (apply
  waits for what is only starting; check says what it sees now).
* ``images``: which images the plan still pulls from public registries after
  the KfDef's ``spec.images`` rewrites: a warning when it rewrites and some
  are left (an air-gapped cluster cannot pull them), otherwise a count and how
  to mirror them.
"""

from __future__ import annotations

from typing import Any

from kfctl.engine.checks.model import FAIL, PASS, WARN, Facts, Finding, counted
from kfctl.engine.provided import verify
from kfctl.plan import Plan


def check_provided(cluster: Any, plan: Plan, facts: Facts) -> list[Finding]:
    if not facts.provided and not facts.storage_class:
        return []
    names = [p.component for p in facts.provided] + ([f"StorageClass {facts.storage_class}"]
                                                      if facts.storage_class else [])
    problems = verify(cluster, plan, facts.provided, facts.storage_class, wait=0)
    if not problems:
        return [Finding("provided", PASS, f"what the cluster provides is present and ready: {', '.join(names)}")]
    return [Finding("provided", FAIL, f"{counted(len(problems), 'problem')} with what the KfDef says the cluster "
                    "provides", fix="fix the cluster's own installation, or drop `provided` to let kfctl install "
                    "the component (README: Existing components)", details=tuple(problems))]


def check_images(facts: Facts) -> list[Finding]:
    public = facts.public_images
    if not public:
        return [Finding("images", PASS, "no image of the plan is pulled from a public registry")]
    if facts.rewrites:
        return [Finding("images", WARN, f"spec.images leaves {counted(len(public), 'image')} on public registries",
                        fix="add a rewrite for their registries (kfctl images --public lists them)",
                        details=tuple(public))]
    return [Finding("images", PASS, f"{counted(len(public), 'image')} from public registries; for a cluster "
                    "without internet access mirror them (kfctl images) and set spec.images.rewrite")]
