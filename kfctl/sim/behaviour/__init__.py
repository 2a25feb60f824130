"""Cluster behaviour for the simulated API server: what makes objects become healthy, or fail.

A health-checked install can only be tested if objects become ready, or fail,
the way they do on a real cluster and for the same reasons: a webhook's pods
not ready, a certificate not issued, a claim without a StorageClass, pods
that do not fit. This package adds, on top of :mod:`kfctl.sim`'s API
machinery, the controllers that make that happen over simulated time:

========================  ====================================================
``workloads``             Deployment, ReplicaSet, StatefulSet, DaemonSet, Job
``scheduler``/``nodes``   nodes from the cluster shape; binding or Unschedulable
``kubelet``               mounts, init containers, pulls, readiness, crashes
``endpoints``             Endpoints and EndpointSlices of Services
``storage``               default StorageClass, provisioning, binding
``webhooks``              admission webhooks as an admission plugin
``certmanager``           issuers, certificates, the cert-manager webhook's own CA
``cainjector``            caBundles from cert-manager, or for self-managed webhooks
``istio``                 istiod's root certificate ConfigMap in every namespace
``loadbalancers``         addresses for LoadBalancer Services
``events``                core/v1 Events with aggregation
``profiles``              timing profiles (the cluster shape is :mod:`kfctl.sim.shape`)
``printing``              the kubectl columns of pods, events and endpoints
========================  ====================================================

Everything runs on one worker thread (:mod:`.runtime`) fed by store events
and clock timers. :func:`expected_ready_delay` and the profile's delays let a
benchmark compute the critical path of an install from the same numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kfctl.sim.behaviour import defaults, printing
from kfctl.sim.behaviour.cainjector import CAInjector
from kfctl.sim.behaviour.certmanager import CertManager
from kfctl.sim.behaviour.daemonsets import DaemonSetController
from kfctl.sim.behaviour.deployments import DeploymentController
from kfctl.sim.behaviour.endpoints import EndpointsController
from kfctl.sim.behaviour.events import EventRecorder
from kfctl.sim.behaviour.index import PodIndex
from kfctl.sim.behaviour.istio import IstioRootCert
from kfctl.sim.behaviour.jobs import JobController
from kfctl.sim.behaviour.kubelet import Kubelet
from kfctl.sim.behaviour.loadbalancers import LoadBalancers
from kfctl.sim.behaviour.nodes import register_nodes
from kfctl.sim.behaviour.profiles import (
    FLAKY, INSTANT, KUBEFLOW_NEEDS, PROFILES, REALISTIC, ClusterShape, ImageRule, NodeSpec, Profile, ServiceNeed,
    expected_ready_delay, profile_named,
)
from kfctl.sim.behaviour.replicasets import ReplicaSetController
from kfctl.sim.behaviour.runtime import Runtime
from kfctl.sim.behaviour.scheduler import Scheduler
from kfctl.sim.behaviour.statefulsets import StatefulSetController
from kfctl.sim.behaviour.storage import StorageController
from kfctl.sim.behaviour.webhooks import WebhookAdmission
from kfctl.sim.store import Event

if TYPE_CHECKING:
    from kfctl.sim.cluster import Cluster

__all__ = [
    "FLAKY", "INSTANT", "KUBEFLOW_NEEDS", "PROFILES", "REALISTIC", "Behaviours", "ClusterShape", "ImageRule", "NodeSpec",
    "Profile", "ServiceNeed",
    "expected_ready_delay", "profile_named",
]


class Behaviours:
    """Every simulated controller of one cluster, started together and stopped together."""

    def __init__(self, cluster: Cluster, *, profile: Profile = INSTANT, shape: ClusterShape | None = None) -> None:
        self.cluster = cluster
        self.profile = profile
        self.shape = shape or ClusterShape()
        self.runtime = Runtime(cluster)
        self.pods = PodIndex()
        self.runtime.watch("", "pods", self.pods.update)  # first: every controller sees an up-to-date index
        self.runtime.watch("", "pods", self._forget_events)
        self.events = EventRecorder(self.runtime)
        self.endpoints = EndpointsController(self)
        self.webhooks = WebhookAdmission(self)
        self.storage = StorageController(self, self.shape)
        self.scheduler = Scheduler(self)
        self.kubelet = Kubelet(self)
        self.replicasets = ReplicaSetController(self)
        self.deployments = DeploymentController(self)
        self.statefulsets = StatefulSetController(self)
        self.daemonsets = DaemonSetController(self)
        self.jobs = JobController(self)
        self.certmanager = CertManager(self)
        self.cainjector = CAInjector(self)
        self.istio = IstioRootCert(self)
        self.loadbalancers = LoadBalancers(self)
        printing.install(cluster.types)
        defaults.install(cluster.types)

    def start(self) -> Behaviours:
        """Register nodes and the default StorageClass, replay what is stored, then react to changes."""
        register_nodes(self.runtime, self.shape.nodes, self.shape.kubernetes_version)
        if self.shape.components:  # pre-installed components ran before: their images are on every node
            from kfctl.sim.components import images

            self.kubelet.preload([n.name for n in self.shape.nodes], images(self.shape.components))
        self.storage.install_default_class()
        self._replay()
        self.runtime.start()
        self.events.start_ttl()
        return self

    def _replay(self) -> None:
        """A persisted store: feed every stored object to the controllers as if just added."""
        for (group, plural) in list(self.runtime._watchers):
            items, rv = self.runtime.store.list(group, plural)
            for obj in items:
                self.runtime._on_event(Event("ADDED", rv, group, plural, obj))

    def _forget_events(self, event: Event) -> None:
        if event.type == "DELETED":
            self.events.forget(event.obj["metadata"]["uid"])

    def sync(self, timeout: float = 5.0) -> None:
        """Wait until the controllers have handled everything committed so far (tests)."""
        self.runtime.sync(timeout)

    def lag(self) -> dict[str, Any]:
        return self.runtime.lag()

    def close(self) -> None:
        self.webhooks.close()
        self.storage.close()
        self.runtime.close()
