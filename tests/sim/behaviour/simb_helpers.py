"""Object builders shared by the sim behaviour tests (imported by name: tests have no packages)."""

from __future__ import annotations

from typing import Any


def deployment(name: str, *, replicas: int = 1, image: str = "nginx:1.27", namespace: str = "default",
               **pod_spec: Any) -> dict[str, Any]:
    container = {"name": name, "image": image, "ports": [{"containerPort": 80, "name": "http"}]}
    container.update(pod_spec.pop("container", {}))
    spec: dict[str, Any] = {"containers": [container], **pod_spec}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def pod(name: str, *, image: str = "nginx:1.27", namespace: str = "default", **spec: Any) -> dict[str, Any]:
    container = {"name": "main", "image": image}
    container.update(spec.pop("container", {}))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace,
                                                            "labels": spec.pop("labels", {"app": name})},
            "spec": {"containers": [container], **spec}}


def service(name: str, *, selector: dict[str, str], port: int = 443, target: Any = 80,
            namespace: str = "default") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": selector, "ports": [{"name": "https", "port": port, "targetPort": target}]}}


def condition(obj: Any, type_: str) -> Any:
    for cond in (obj.status.conditions or []) if obj.status else []:
        if cond.type == type_:
            return cond
    return None
