"""The kubelet: run bound pods through mounts, init containers, pulls, starts and readiness.

Each bound pod follows what a real kubelet reports, on the sim clock with the
profile's delays:

1. volumes: a missing non-optional Secret or ConfigMap volume, or a claim
   that is missing or not Bound, keeps the pod in ``ContainerCreating`` with a
   ``FailedMount`` event. The volume manager retries a failed mount with its
   exponential back-off (0.5 s doubling to 2m2s, goroutinemap
   exponentialbackoff), so a Secret that appears late is mounted at the next
   try, not at once; a claim is looked at again on every change of it (the
   scheduler and attach controllers watch claims). A missing Secret/ConfigMap
   read through ``env``/``envFrom`` gives ``CreateContainerConfigError`` and a
   ``Failed`` event, as a real kubelet does once volumes are mounted, and the
   pod sync is retried every 10 s (the kubelet's ``backOffPeriod``).
2. init containers run one at a time (``Init:0/2`` ...), each pulled then run
   for ``init_run`` seconds to ``Completed``.
3. app containers are started in order, each pulled (``Pulling``/``Pulled``)
   just before it is ``Created`` and ``Started`` (the kubelet's ``SyncPod``
   does not start container *i+1* before container *i* is started); the
   application serves after the start delay. Images: see "Image pulls"
   below. A container
   with a readiness or startup probe is ready from then; one without is
   ready as soon as it runs (the Kubernetes default), whatever the
   application is doing. The pod is ``Running`` and, once every container
   is ready, ``Ready``. Job pods (restartPolicy Never/OnFailure) run for
   ``job_run`` seconds after that and end ``Succeeded``.
4. failures come from the profile's image rules: ``ImagePullBackOff``
   (``ErrImagePull`` then ``ImagePullBackOff``) or ``CrashLoopBackOff``
   (exit 1 after ``crash_after`` s, ``restartCount`` growing; optionally
   recovering after N crashes).
5. an application whose image has a ``ServiceNeed`` and that starts while
   a Service it dials (read from its env, ConfigMap-sourced values and flags
   at that start, :func:`.needs.dials`) is not serving (no ready endpoint
   whose pod's application serves the dialled port) tries again on its own
   schedule and connects at the first try that finds it serving; it exits
   when it gives up or a probe kills it first (:mod:`.needs`).

Every exit is restarted with the kubelet's back-off (:class:`.backoff.CrashBackoff`:
at once, then 10 s doubling to 300 s, reset after 10 minutes).

Image pulls follow the kubelet's image manager. The pull policy is the
container's ``imagePullPolicy`` or the API server's default for it
(``Always`` for a ``:latest`` or untagged image, else ``IfNotPresent``).
Each node keeps the images it pulled: ``IfNotPresent`` skips the pull
("already present on machine"); ``Never`` without the image is
``ErrImageNeverPull``; ``Always`` asks the registry again (the profile's
``image_check``). With the cluster shape's ``serialize_image_pulls`` (the
kubelet default) a node pulls one image at a time, first come first
served, so a pod created behind others waits for their pulls ("Successfully
pulled image ... in 4s (31s including waiting)"); without it pulls run side
by side and a second pull of an image already on its way finishes with it.
Images are never garbage-collected.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kfctl.sim.behaviour import mounts, needs
from kfctl.sim.behaviour.backoff import ControllerRateLimiter, CrashBackoff, mount_back_off
from kfctl.sim.behaviour.events import NORMAL, WARNING
from kfctl.sim.behaviour.nodes import node_ip
from kfctl.sim.behaviour.pods import is_terminal, qos_class
from kfctl.sim.behaviour.profiles import CRASH_LOOP_BACKOFF, IMAGE_PULL_BACKOFF, has_readiness_gate
from kfctl.sim.store import DELETED, Event

if TYPE_CHECKING:
    from kfctl.sim.behaviour import Behaviours

COMPONENT = "kubelet"
RETRY = 120.0  # a pod waiting on a claim repeats its FailedMount event: "(x3 over 6m)"
SYNC_BACKOFF = 10.0  # a pod sync that failed (CreateContainerConfigError) is retried after backOffPeriod


@dataclass
class Container:
    """What the kubelet knows of one container."""

    name: str
    image: str
    init: bool = False
    state: dict[str, Any] = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: dict[str, Any] = field(default_factory=dict)
    ready: bool = False
    started: bool = False
    #: a readiness or startup probe decides readiness (else: ready while running)
    gated: bool = True
    startup_probe: bool = False
    #: the application answers (after its start delay, and once connected to what it needs)
    serving: bool = False
    tries: int = 0
    gives_up_at: float = 0.0
    killer: str = ""
    #: the Services its application dials, read from its settings at the last start (needs.dials)
    dials: list[Any] = field(default_factory=list)
    restarts: int = 0
    pulled: bool = False
    policy: str = "IfNotPresent"
    #: the last pull: seconds of pulling, and seconds from asking to having the image
    pull_took: float = 0.0
    pull_waited: float = 0.0
    container_id: str = ""
    backoff: CrashBackoff = field(default_factory=CrashBackoff)


@dataclass
class PodRun:
    """One pod's lifecycle on its node."""

    uid: str
    node: str
    stage: str = "mount"          # mount -> config -> init -> run -> done
    start_time: str = ""
    pod_ip: str = ""
    init_index: int = 0
    init: list[Container] = field(default_factory=list)
    containers: list[Container] = field(default_factory=list)
    blocked: str = ""             # message of the current FailedMount / config error
    retry_at: float | None = None  # when the blocked step is tried again, if it is scheduled
    mounts: ControllerRateLimiter = field(default_factory=mount_back_off)
    waiting_claim: bool = False   # blocked on a claim (woken by its changes) rather than a Secret/ConfigMap
    reason: str = ""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def pull_policy(container: dict[str, Any]) -> str:
    """``imagePullPolicy``, or what the API server defaults it to: Always for ``:latest``/no tag, else IfNotPresent."""
    policy = container.get("imagePullPolicy")
    if policy:
        return str(policy)
    image = str(container.get("image") or "")
    if "@" in image:
        return "IfNotPresent"
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    return "Always" if tag in ("", "latest") else "IfNotPresent"


@dataclass
class NodeImages:
    """One node's images: those on disk, those on their way, and when its serial puller is free."""

    present: set[str] = field(default_factory=set)
    arriving: dict[str, float] = field(default_factory=dict)  # image -> sim time its queued pull completes
    free_at: float = 0.0


class Kubelet:
    """Every node's kubelet in one controller (pods carry their node name)."""

    def __init__(self, behaviours: Behaviours) -> None:
        self.b = behaviours
        self.profile = behaviours.profile
        rt = behaviours.runtime
        self._runs: dict[tuple[str, str], PodRun] = {}
        self._waiting_on: dict[tuple[str, str, str], set[tuple[str, str]]] = {}
        self._ips = itertools.count(2)
        self._images: dict[str, NodeImages] = {}
        self._serial = behaviours.shape.serialize_image_pulls
        self._cids = itertools.count(1)
        rt.reconciler("kubelet", self.reconcile)
        rt.watch("", "pods", self._on_pod)
        for plural in ("secrets", "configmaps", "persistentvolumeclaims"):
            rt.watch("", plural, self._on_dependency)

    def preload(self, nodes: list[str], images: list[str]) -> None:
        """Images already on these nodes' disks (a cluster that has been running pre-installed components)."""
        for node in nodes:
            self._images.setdefault(node, NodeImages()).present.update(images)

    # -- triggers -------------------------------------------------------------
    def _on_pod(self, event: Event) -> None:
        key = (event.namespace, event.name)
        pod = event.obj
        if event.type == DELETED:
            self._runs.pop(key, None)
            return
        node = (pod.get("spec") or {}).get("nodeName")
        run = self._runs.get(key)
        if not node or pod["metadata"].get("deletionTimestamp"):
            return
        if run is None or run.uid != pod["metadata"]["uid"]:
            if is_terminal(pod):
                return
            self._runs[key] = self._new_run(pod, node)
            self.b.runtime.mark("kubelet", *key)

    def _on_dependency(self, event: Event) -> None:
        if event.type == DELETED:
            return
        waiting = self._waiting_on.pop((event.namespace, event.plural, event.name), set())
        for key in waiting:
            self.b.runtime.mark("kubelet", *key)

    def _new_run(self, pod: dict[str, Any], node: str) -> PodRun:
        spec = pod.get("spec") or {}
        return PodRun(uid=pod["metadata"]["uid"], node=node, start_time=self.b.runtime.clock.now_rfc3339(),
                      init=[Container(c["name"], str(c.get("image", "")), init=True, policy=pull_policy(c),
                                      state={"waiting": {"reason": "PodInitializing"}})
                            for c in spec.get("initContainers") or []],
                      containers=[Container(c["name"], str(c.get("image", "")), gated=has_readiness_gate(c),
                                            startup_probe=bool(c.get("startupProbe")), policy=pull_policy(c))
                                  for c in spec.get("containers") or []])

    # -- the state machine ----------------------------------------------------
    def reconcile(self, namespace: str, name: str) -> None:
        key = (namespace, name)
        run = self._runs.get(key)
        pod = self.b.runtime.get("", "pods", namespace, name)
        if run is None or pod is None or pod["metadata"]["uid"] != run.uid:
            return
        if run.stage == "mount":
            problem = self._mount_problem(pod, key)
            if problem:
                if problem != run.blocked:
                    run.blocked = problem
                    self._publish(pod, run)
                self.b.events.record(pod, WARNING, "FailedMount", problem, COMPONENT, host=run.node)
                if run.waiting_claim:
                    self._retry_later(key, run, RETRY)
                else:
                    self._retry_later(key, run, run.mounts.when("mount", self.b.runtime.clock.now()))
                return
            run.blocked = ""
            run.stage = "config"
            n = next(self._ips)
            run.pod_ip = f"10.244.{n // 250}.{n % 250 + 2}"
        if run.stage == "config":
            problem = self._config_problem(pod, key)
            if problem:
                if problem != run.blocked:
                    run.blocked = problem
                    for c in run.containers:
                        c.state = {"waiting": {"reason": "CreateContainerConfigError", "message": problem}}
                    self._publish(pod, run)
                self.b.events.record(pod, WARNING, "Failed", f"Error: {problem}", COMPONENT, host=run.node)
                self._retry_later(key, run, SYNC_BACKOFF)
                return
            run.blocked = ""
            run.stage = "init"
            for c in run.containers:
                c.state = {"waiting": {"reason": "PodInitializing" if run.init else "ContainerCreating"}}
            self._next_init(pod, run)
        self._publish(pod, run)

    def _retry_later(self, key: tuple[str, str], run: PodRun, delay: float) -> None:
        """A blocked pod is tried again (and its event repeated, counted) ``delay`` sim seconds later."""
        at = self.b.runtime.clock.now() + delay
        if run.retry_at is not None and run.retry_at <= at:
            return
        run.retry_at = at
        self.b.runtime.after(delay, self._retry, key, run, at)

    def _retry(self, key: tuple[str, str], run: PodRun, at: float) -> None:
        if run.retry_at != at:  # superseded by a sooner retry
            return
        run.retry_at = None
        if self._runs.get(key) is run and run.blocked:
            self.reconcile(*key)

    def _next_init(self, pod: dict[str, Any], run: PodRun) -> None:
        if run.init_index < len(run.init):
            c = run.init[run.init_index]
            self._pull(pod, run, c, then="init-run")
            return
        run.stage = "run"
        if run.containers:
            self._pull(pod, run, run.containers[0], then="start")

    def _start_next(self, pod: dict[str, Any], run: PodRun, c: Container) -> None:
        """The pod's first start of its containers goes on with the next one (pulled, then started)."""
        i = run.containers.index(c) + 1
        if i < len(run.containers):
            self._pull(pod, run, run.containers[i], then="start")

    def _pull(self, pod: dict[str, Any], run: PodRun, c: Container, *, then: str) -> None:
        images = self._images.setdefault(run.node, NodeImages())
        if c.policy != "Always" and c.image in images.present:
            c.pulled = True
            self._event(pod, run, c, NORMAL, "Pulled", f'Container image "{c.image}" already present on machine')
            self._start(pod, run, c, then)
            return
        if c.policy == "Never":
            text = f'Container image "{c.image}" is not present with pull policy of Never'
            c.state = {"waiting": {"reason": "ErrImageNeverPull", "message": text}}
            self._event(pod, run, c, WARNING, "ErrImageNeverPull", text)
            return
        self._event(pod, run, c, NORMAL, "Pulling", f'Pulling image "{c.image}"')
        now = self.b.runtime.clock.now()
        on_its_way = c.image in images.present or c.image in images.arriving
        work = self.profile.image_check if on_its_way else self.profile.pull_delay(c.image)
        if self._serial:  # first come first served: an earlier pull of this image is done by our turn
            begin = max(now, images.free_at)
            done = images.free_at = begin + work
        else:  # side by side; the runtime shares an image's layers between concurrent pulls
            begin = now
            done = min(now + self.profile.pull_delay(c.image), max(images.arriving.get(c.image, now), now) + work)
        failing = self.profile.failure(c.image)
        if failing is None or failing.fail != IMAGE_PULL_BACKOFF:
            images.arriving[c.image] = min(images.arriving.get(c.image, done), done)
        c.pull_took, c.pull_waited = done - begin, done - now
        self._later(done - now, pod, run, c, "pulled", then)

    def _later(self, delay: float, pod: dict[str, Any], run: PodRun, c: Container, step: str, arg: str = "") -> None:
        self.b.runtime.after(delay, self._step, (pod["metadata"]["namespace"], pod["metadata"]["name"]), run.uid,
                             c.name, c.init, step, arg)

    def _event(self, pod: dict[str, Any], run: PodRun, c: Container, type_: str, reason: str, message: str) -> None:
        kind = "initContainers" if c.init else "containers"
        self.b.events.record(pod, type_, reason, message, COMPONENT, field_path=f"spec.{kind}{{{c.name}}}",
                             host=run.node)

    def _step(self, key: tuple[str, str], uid: str, name: str, init: bool, step: str, arg: str) -> None:
        run = self._runs.get(key)
        pod = self.b.runtime.get("", "pods", *key)
        if run is None or pod is None or run.uid != uid or pod["metadata"]["uid"] != uid:
            return
        c = next(x for x in (run.init if init else run.containers) if x.name == name)
        getattr(self, "_on_" + step.replace("-", "_"))(pod, run, c, arg)
        self._publish(self.b.runtime.get("", "pods", *key) or pod, run)

    def _on_pulled(self, pod: dict[str, Any], run: PodRun, c: Container, then: str) -> None:
        rule = self.profile.failure(c.image)
        if rule is not None and rule.fail == IMAGE_PULL_BACKOFF:
            text = (f'failed to pull and unpack image "{c.image}": failed to resolve reference "{c.image}": '
                    f"{c.image}: not found")
            c.state = {"waiting": {"reason": "ErrImagePull", "message": f"rpc error: code = NotFound desc = {text}"}}
            self._event(pod, run, c, WARNING, "Failed", f'Failed to pull image "{c.image}": rpc error: code = '
                                                         f"NotFound desc = {text}")
            self._event(pod, run, c, WARNING, "Failed", "Error: ErrImagePull")
            self._later(1.0, pod, run, c, "pull-backoff")
            return
        c.pulled = True
        images = self._images.setdefault(run.node, NodeImages())
        images.present.add(c.image)
        images.arriving.pop(c.image, None)
        self._event(pod, run, c, NORMAL, "Pulled", f'Successfully pulled image "{c.image}" in {c.pull_took:.3g}s '
                                                   f"({c.pull_waited:.3g}s including waiting)")
        self._start(pod, run, c, then)

    def _on_pull_backoff(self, pod: dict[str, Any], run: PodRun, c: Container, _: str) -> None:
        c.state = {"waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{c.image}"'}}
        self._event(pod, run, c, NORMAL, "BackOff", f'Back-off pulling image "{c.image}"')
        self._event(pod, run, c, WARNING, "Failed", "Error: ImagePullBackOff")

    def _start(self, pod: dict[str, Any], run: PodRun, c: Container, then: str) -> None:
        c.container_id = f"containerd://{_digest(f'{run.uid}/{c.name}/{next(self._cids)}')}"
        c.state = {"running": {"startedAt": self.b.runtime.clock.now_rfc3339()}}
        c.started = True
        created = "Created container: " + c.name
        self._event(pod, run, c, NORMAL, "Created", created)
        self._event(pod, run, c, NORMAL, "Started", f"Started container {c.name}")
        if then == "init-run":
            self._later(self.profile.init_run, pod, run, c, "init-done")
            return
        if then == "start":
            self._start_next(pod, run, c)
        if not c.gated:
            c.ready = True  # no probe: ready while it runs
        rule = self.profile.failure(c.image)
        if rule is not None and rule.fail == CRASH_LOOP_BACKOFF and (not rule.crashes or c.restarts < rule.crashes):
            self._later(rule.crash_after, pod, run, c, "crash")
            return
        need = self.profile.service_need(c.image)
        # the application reads its settings at each start: the Services it dials come from them
        c.dials = needs.dials(need, self._spec_of(pod, c), pod, self.b.runtime.get) if need is not None else []
        if need is not None and self._missing(c):
            delay, c.killer = needs.exit_after(need, self._spec_of(pod, c))
            c.tries, c.gives_up_at = 0, self.b.runtime.clock.now() + delay
            self._try_later(pod, run, c)
            return
        self._later(self.profile.start_delay(c.image), pod, run, c, "ready")

    def _missing(self, c: Container) -> list[str]:
        return needs.unreachable(c.dials, self.serving_addresses)

    def _try_later(self, pod: dict[str, Any], run: PodRun, c: Container) -> None:
        """The application's next connection attempt, or its giving up if that comes first."""
        need = self.profile.service_need(c.image)
        wait = need.retry_after(c.tries) if need is not None else float("inf")
        left = c.gives_up_at - self.b.runtime.clock.now()
        if wait >= left:
            self._later(max(left, 0.0), pod, run, c, "gave-up", c.killer)
        else:
            self._later(wait, pod, run, c, "retry")

    def _on_retry(self, pod: dict[str, Any], run: PodRun, c: Container, _: str) -> None:
        c.tries += 1
        if not self._missing(c):  # connected
            self._later(self.profile.start_delay(c.image), pod, run, c, "ready")
            return
        self._try_later(pod, run, c)

    def serving_addresses(self, namespace: str, name: str, port: int | None = None) -> int:
        """Ready endpoints of the Service whose server answers on ``port`` (default: its first port).

        The server is the container declaring the Service port's ``targetPort`` (by number or
        name); a pod's other containers (a probe-less sidecar still starting) do not matter.
        When no container declares it, every container of the pod must serve. An address whose
        pod this kubelet does not run (written by hand) counts as serving.
        """
        svc = self.b.runtime.get("", "services", namespace, name)
        ports = ((svc or {}).get("spec") or {}).get("ports") or [{}]
        chosen = next((p for p in ports if port is not None and p.get("port") == port), ports[0])
        target = chosen.get("targetPort", chosen.get("port"))
        ep = self.b.runtime.get("", "endpoints", namespace, name)
        count = 0
        for subset in (ep or {}).get("subsets") or []:
            for address in subset.get("addresses") or []:
                ref = address.get("targetRef") or {}
                key = (ref.get("namespace", namespace), ref.get("name", ""))
                run = self._runs.get(key)
                if run is None:
                    count += 1
                    continue
                server = self._listening_on(self.b.runtime.get("", "pods", *key), run, target)
                if all(c.serving for c in ([server] if server is not None else run.containers)):
                    count += 1
        return count

    @staticmethod
    def _listening_on(pod: dict[str, Any] | None, run: PodRun, target: Any) -> Container | None:
        """The container declaring ``target`` (a port number or name) among its ports, if one does."""
        if target is None:
            return None
        for spec in ((pod or {}).get("spec") or {}).get("containers") or []:
            for declared in spec.get("ports") or []:
                if target in (declared.get("containerPort"), declared.get("name")):
                    return next((c for c in run.containers if c.name == spec.get("name")), None)
        return None

    @staticmethod
    def _spec_of(pod: dict[str, Any], c: Container) -> dict[str, Any]:
        kind = "initContainers" if c.init else "containers"
        return next((x for x in (pod.get("spec") or {}).get(kind) or [] if x.get("name") == c.name), {})

    def _on_gave_up(self, pod: dict[str, Any], run: PodRun, c: Container, killer: str) -> None:
        """The retry window of an application started without a needed Service is over."""
        missing = self._missing(c)
        if not missing:  # the Service came up while the application was still retrying
            self._later(self.profile.start_delay(c.image), pod, run, c, "ready")
            return
        if killer:
            # the application is still retrying (here: Service missing[0]) and not serving its probe endpoint yet
            self._event(pod, run, c, WARNING, "Unhealthy", f"{killer.capitalize()} probe failed: dial tcp "
                                                           f"{run.pod_ip}: connect: connection refused")
            self._event(pod, run, c, NORMAL, "Killing", f"Container {c.name} failed {killer} probe, will be "
                                                        "restarted")
        self._on_crash(pod, run, c, "")

    def _on_init_done(self, pod: dict[str, Any], run: PodRun, c: Container, _: str) -> None:
        self._terminate(c, 0, "Completed")
        run.init_index += 1
        self._next_init(pod, run)

    def _on_ready(self, pod: dict[str, Any], run: PodRun, c: Container, _: str) -> None:
        c.ready = c.serving = True
        if (pod.get("spec") or {}).get("restartPolicy", "Always") != "Always":
            self._later(self.profile.job_run, pod, run, c, "complete")

    def _on_complete(self, pod: dict[str, Any], run: PodRun, c: Container, _: str) -> None:
        self._terminate(c, 0, "Completed")

    def _on_crash(self, pod: dict[str, Any], run: PodRun, c: Container, _: str) -> None:
        self._terminate(c, 1, "Error")
        if (pod.get("spec") or {}).get("restartPolicy", "Always") == "Never":
            return
        c.last_state = {"terminated": c.state["terminated"]}
        c.restarts += 1
        backoff = c.backoff.restart_delay(self.b.runtime.clock.now())
        c.started = False
        if backoff <= 0:  # the first exit (or the first after 10 quiet minutes) restarts at once
            self._on_restart(pod, run, c, "")
            return
        c.state = {"waiting": {"reason": CRASH_LOOP_BACKOFF, "message": f"back-off {int(backoff)}s restarting "
                               f"failed container={c.name} pod={pod['metadata']['name']}_"
                               f"{pod['metadata']['namespace']}({run.uid})"}}
        self._event(pod, run, c, WARNING, "BackOff", f"Back-off restarting failed container {c.name} in pod "
                                                     f"{pod['metadata']['name']}_{pod['metadata']['namespace']}"
                                                     f"({run.uid})")
        self._later(backoff, pod, run, c, "restart")

    def _on_restart(self, pod: dict[str, Any], run: PodRun, c: Container, _: str) -> None:
        self._event(pod, run, c, NORMAL, "Pulled", f'Container image "{c.image}" already present on machine')
        self._start(pod, run, c, "restart")

    def _terminate(self, c: Container, code: int, reason: str) -> None:
        started = (c.state.get("running") or {}).get("startedAt")
        c.state = {"terminated": {"exitCode": code, "reason": reason, "startedAt": started,
                                  "finishedAt": self.b.runtime.clock.now_rfc3339(), "containerID": c.container_id}}
        c.ready = c.serving = False

    # -- checks -----------------------------------------------------------------
    def _wait_for(self, ns: str, plural: str, name: str, key: tuple[str, str]) -> None:
        self._waiting_on.setdefault((ns, plural, name), set()).add(key)

    def _mount_problem(self, pod: dict[str, Any], key: tuple[str, str]) -> str:
        message, missing = mounts.mount_problem(pod, self.b.runtime.get)
        run = self._runs[key]
        run.waiting_claim = bool(missing) and missing[1] == "persistentvolumeclaims"
        if run.waiting_claim:
            self._wait_for(*missing, key)  # Secrets and ConfigMaps wait for the volume manager's next try
        return message

    def _config_problem(self, pod: dict[str, Any], key: tuple[str, str]) -> str:
        message, _ = mounts.config_problem(pod, self.b.runtime.get)
        return message  # tried again at the next pod sync

    # -- status -----------------------------------------------------------------
    def _publish(self, pod: dict[str, Any], run: PodRun) -> None:
        rt = self.b.runtime
        meta = pod["metadata"]
        now = rt.clock.now_rfc3339()
        old = pod.get("status") or {}
        spec = pod.get("spec") or {}
        node = rt.get("", "nodes", "", run.node)
        host_ip = node_ip(node) if node is not None else ""
        conds_old = {c.get("type"): c for c in old.get("conditions") or []}

        def cond(type_: str, ok: bool, reason: str = "", message: str = "") -> dict[str, Any]:
            prior = conds_old.get(type_)
            value = "True" if ok else "False"
            stamp = prior.get("lastTransitionTime") if prior and prior.get("status") == value else now
            out: dict[str, Any] = {"type": type_, "status": value, "lastProbeTime": None, "lastTransitionTime": stamp}
            if not ok and reason:
                out["reason"], out["message"] = reason, message
            return out
        inits_done = run.init_index >= len(run.init)
        finished = run.containers and all("terminated" in c.state for c in run.containers)
        succeeded = finished and all(c.state["terminated"]["exitCode"] == 0 for c in run.containers)
        failed_never = finished and not succeeded and spec.get("restartPolicy") == "Never"
        unready = [c.name for c in run.containers if not c.ready]
        ready = not unready and bool(run.containers)
        phase = "Pending"
        if succeeded:
            phase = "Succeeded"
        elif failed_never:
            phase = "Failed"
        elif run.stage == "run" and any(c.started or c.restarts for c in run.containers):
            phase = "Running"
        sandbox = run.stage not in ("mount",)
        conditions = [cond("PodReadyToStartContainers", sandbox)]
        conditions.append(cond("Initialized", inits_done, "ContainersNotInitialized",
                               f"containers with incomplete status: [{' '.join(c.name for c in run.init if 'terminated' not in c.state)}]"))
        if finished:
            conditions.append(cond("Ready", False, "PodCompleted", ""))
            conditions.append(cond("ContainersReady", False, "PodCompleted", ""))
        else:
            msg = f"containers with unready status: [{' '.join(unready)}]"
            conditions.append(cond("Ready", ready, "ContainersNotReady", msg))
            conditions.append(cond("ContainersReady", ready, "ContainersNotReady", msg))
        conditions.append(conds_old.get("PodScheduled") or cond("PodScheduled", True))
        status: dict[str, Any] = {"phase": phase, "conditions": conditions}
        if host_ip:
            status["hostIP"] = host_ip
            status["hostIPs"] = [{"ip": host_ip}]
        if run.pod_ip and sandbox:
            status["podIP"] = run.pod_ip
            status["podIPs"] = [{"ip": run.pod_ip}]
        status["startTime"] = run.start_time
        if run.init:
            status["initContainerStatuses"] = [self._container_status(c) for c in run.init]
        status["containerStatuses"] = [self._container_status(c) for c in run.containers]
        status["qosClass"] = qos_class(spec)
        if status != old:
            rt.write_status("v1", "Pod", meta["namespace"], meta["name"], status)

    @staticmethod
    def _container_status(c: Container) -> dict[str, Any]:
        out: dict[str, Any] = {"name": c.name, "image": c.image, "imageID": "", "ready": c.ready,
                               "restartCount": c.restarts,
                               "started": "running" in c.state and (c.serving or not c.startup_probe),
                               "state": copy.deepcopy(c.state), "lastState": copy.deepcopy(c.last_state)}
        if c.pulled:
            out["imageID"] = f"{c.image.split(':')[0]}@sha256:{_digest(c.image)}"
        if c.container_id:
            out["containerID"] = c.container_id
        return out

