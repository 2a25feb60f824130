"""Helpers of the check tests: plans of a few objects, and the GPU node of the shaped sims."""

from __future__ import annotations

from kfctl.plan import build_plan
from kfctl.sim.behaviour.profiles import NodeSpec

GPU_NODE = NodeSpec("gpu-1", cpu="16", memory="64Gi", gpus=2, labels=(("nvidia.com/gpu.product", "A100"),),
                    taints=(("nvidia.com/gpu", "present", "NoSchedule"),))


def plan_of(*manifests: dict, component: str = "app"):
    return build_plan([(component, m) for m in manifests])


def deployment(name: str, namespace: str = "kubeflow", *, cpu: str = "100m", memory: str = "128Mi",
               replicas: int = 1, tolerations: list | None = None, limits: dict | None = None) -> dict:
    resources: dict = {"requests": {"cpu": cpu, "memory": memory}}
    if limits is not None:
        resources["limits"] = limits
    spec: dict = {"containers": [{"name": "main", "image": "example.com/app:1", "resources": resources}]}
    if tolerations:
        spec["tolerations"] = tolerations
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def gpu_offer(namespace: str = "kubeflow") -> dict:
    """A notebook spawner config that offers GPU vendors, as the notebooks bundle renders it."""
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "spawner", "namespace": namespace},
            "data": {"spawner_ui_config.yaml": "gpus:\n  value:\n    vendors:\n    - limitsKey: nvidia.com/gpu\n"}}
