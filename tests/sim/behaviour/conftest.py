"""Fixtures of the sim behaviour tests: a behaving sim, its API as clients see it, kubectl, waiting.

Every test drives the sim over real HTTP with the official ``kubernetes``
client (or kubectl) and waits on what a client can observe; nothing reads
controller internals.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
from kubernetes import client, config, dynamic
from polling import wait

KUBECTL = Path(sys.executable).parent / "kubectl"
if not KUBECTL.exists():
    KUBECTL = Path(shutil.which("kubectl") or KUBECTL)


class Client:
    """The official client's APIs for one sim, plus waiting and kubectl."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.api = config.new_client_from_config(config_file=sim.kubeconfig_path)
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.batch = client.BatchV1Api(self.api)
        self.storage = client.StorageV1Api(self.api)
        self.discovery = client.DiscoveryV1Api(self.api)
        self.admission = client.AdmissionregistrationV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)
        self.dynamic = dynamic.DynamicClient(self.api)

    def create(self, *objs: dict[str, Any], namespace: str = "default") -> None:
        """Create objects of any kind, as ``kubectl create`` would."""
        for obj in objs:
            resource = self.dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
            ns = obj["metadata"].get("namespace", namespace) if resource.namespaced else None
            resource.create(body=obj, namespace=ns)

    def wait(self, check: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
        """Poll ``check`` until it returns something truthy; its last value is returned."""
        return wait(check, what or str(check), timeout)

    def slack(self) -> float:
        """How late (sim s) the controllers have run behind their clock so far: a timestamp they wrote is at
        most that late. At 100x, 10 ms of a busy machine is 1 sim s; an idle one keeps this near 0."""
        lag = self.sim.behaviours.lag()
        return max(lag["timers"]["max"], lag["events"]["max"])

    def events(self, namespace: str = "default", *, name: str = "", reason: str = "") -> list[Any]:
        items = self.core.list_namespaced_event(namespace).items
        return [e for e in items if (not name or e.involved_object.name.startswith(name)) and
                (not reason or e.reason == reason)]

    def kubectl(self, *args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(KUBECTL), "--kubeconfig", self.sim.kubeconfig_path, *args], capture_output=True,
                              text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        return proc


@pytest.fixture
def behaving(sim_factory: Callable[..., Any]) -> Callable[..., Client]:
    """``behaving(**settings)`` -> a Client of a fresh sim with the simulated controllers on (profile instant)."""
    def make(**settings: Any) -> Client:
        settings.setdefault("behaviour", True)
        settings.setdefault("profile", "instant")
        settings.setdefault("crd_establish_delay", 0.0)
        return Client(sim_factory(**settings))
    return make


@pytest.fixture
def kube(behaving: Callable[..., Client]) -> Client:
    """A behaving sim (instant profile, one 8-cpu node, a default StorageClass)."""
    return behaving()
