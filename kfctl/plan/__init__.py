"""Plan: the dependency graph over every rendered object, built before anything is applied.

An object is applied as soon as everything it depends on is healthy. The
edges are inferred (see :mod:`kfctl.plan.rules`) so that custom resources
never race their CRDs and objects never race the webhooks that admit them.
"""

from kfctl.plan.graph import Edge, Node, ObjectRef, Plan, PlanError
from kfctl.plan.build import DEPENDS_ON_ANNOTATION, build_plan

__all__ = ["DEPENDS_ON_ANNOTATION", "Edge", "Node", "ObjectRef", "Plan", "PlanError", "build_plan"]
