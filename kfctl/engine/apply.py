"""The apply engine: one pass over the plan, each object as soon as what it needs is healthy.

Loop (kapp's shape, without waves): start every object whose dependencies are
healthy, on a bounded worker pool -> follow health through watches ->
unblock dependents -> repeat; a failure blocks only its own dependents. Then
prune what the deployment owned before and no longer renders, once the new
set is healthy, and record the inventory and status in the cluster.

Writes are avoided when nothing would change: each member carries a hash of
its applied manifest, and the live object (listed, not fetched one by one)
must contain every desired field. When only the comparison is unsure (server
normalisation), a server-side dry run decides. So a no-op re-apply makes zero
writes.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kfctl.engine.clusterapi import ClusterAPI
from kfctl.engine import events as ev
from kfctl.engine.compare import same_object
from kfctl.engine.decide import Action, after_refusal, decide
from kfctl.engine.desired import desired_manifest
from kfctl.engine.observe import list_whole
from kfctl.engine.prune import PruneResult, hand_over, prune, stale_members
from kfctl.engine.inventory import (
    PART_OF,
    Inventory,
    Member,
    applyset_id,
    read_inventory,
    ready_condition,
    write_inventory,
)
from kfctl.engine.gates import DeadlineGate, WebhookGate
from kfctl.engine.pods import pods_of, pods_say, still_pulling
from kfctl.engine.readiness import Rule, Status, Verdict, assess
from kfctl.engine.objects import (
    CLEAR_CONVERSION_WEBHOOK,
    dropped_stored_versions,
    resource_version,
    stale_conversion_webhook,
    stored_version_refusal,
)
from kfctl.engine.results import (  # noqa: F401  (re-exported: the engine's public values)
    BLOCKED,
    FAILED,
    HEALTHY,
    PENDING,
    RUNNING,
    WAITING,
    ApplyOptions,
    ApplyResult,
    ObjectOutcome,
)
from kfctl.engine.retry import Retrying, call_with_retry
from kfctl.engine.schedule import Schedule
from kfctl.engine.teardown import Target, wait_all_gone
from kfctl.engine.tracker import Tracker
from kfctl.errors import ApiError, KfctlError
from kfctl.plan import ObjectRef, Plan
from kfctl.plan.index import WORKLOAD_KINDS

#: seconds a workload waits before kfctl looks at its pods to say why, and how often after that
PROBE_AFTER, PROBE_EVERY = 5.0, 15.0
#: seconds between looks at the waiting objects' timeouts
TIMERS_EVERY = 0.25


class OwnershipError(Exception):
    """An object exists and belongs to someone else."""


def _said(exc: Exception) -> str:
    """What the API server said (without the object prefix), or the error's own text."""
    return exc.api_message if isinstance(exc, ApiError) else str(exc)


def _what(exc: Exception) -> str:
    """``object: what the server said`` for an error outside one object's apply."""
    return f"{exc.obj}: {exc.api_message}" if isinstance(exc, ApiError) else f": {exc}"


class ApplyEngine:
    def __init__(
        self,
        cluster: ClusterAPI,
        plan: Plan,
        *,
        deployment: str,
        namespace: str,
        options: ApplyOptions = ApplyOptions(),
        sink: ev.Sink = lambda e: None,
        rules: Callable[[ObjectRef], tuple[Rule | None, float | None]] = lambda ref: (None, None),
        status: Mapping[str, Any] | None = None,
    ) -> None:
        self.cluster = cluster
        self.plan = plan
        self.deployment = deployment
        self.namespace = namespace
        self.options = options
        self.sink = sink
        self.rules = rules
        self.status_extra = dict(status or {})
        self.set_id = applyset_id(deployment, namespace)
        self.clock = ev.Clock()
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.live: dict[ObjectRef, dict[str, Any]] = {}
        self.live_lock = threading.Lock()
        self.state: dict[ObjectRef, str] = {ref: PENDING for ref in plan.nodes}
        self.members_of: dict[str, list[ObjectRef]] = {}
        for ref, node in plan.nodes.items():
            self.members_of.setdefault(node.component, []).append(ref)
        self.schedule = Schedule(plan)
        #: objects applied and waiting to be healthy, and how many of each component's are healthy
        self.waiting: set[ObjectRef] = set()
        self.healthy_in: dict[str, int] = {c: 0 for c in self.members_of}
        self.message: dict[ObjectRef, str] = {}
        self.wrote: dict[ObjectRef, bool] = {}
        self.deadline: dict[ObjectRef, float] = {}
        self.next_probe: dict[ObjectRef, float] = {}
        self.webhooks = WebhookGate(cluster)
        self.deadlines = DeadlineGate(self._still_pulling, recheck=PROBE_EVERY)
        self.writes = 0
        self.writes_lock = threading.Lock()
        self.fresh_namespaces: set[str] = set()
        #: (apiVersion, kind) -> name -> object, for kinds listed whole before applying (see _prefetch)
        self.existing: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self.manifests = {ref: desired_manifest(node.manifest, set_id=self.set_id) for ref, node in plan.nodes.items()}
        self.tracker = Tracker(cluster, f"{PART_OF}={self.set_id}", self._on_object)
        #: for calls outside one object's apply (inventory, prune): retried, reported without an object
        self.retrying = Retrying(cluster, backoff=options.backoff, on_retry=lambda exc, attempt, delay: self.emit(
            ev.RETRY, None, f"{_what(exc)} (retry {attempt} in {delay:.1f}s)"))

    def _api_version(self, ref: ObjectRef) -> str:
        return str(self.manifests[ref].get("apiVersion"))

    # -- events -------------------------------------------------------------------
    def emit(self, kind: str, ref: ObjectRef | None = None, message: str = "", **data: Any) -> None:
        component = self.plan.nodes[ref].component if ref is not None and ref in self.plan.nodes else data.pop("component", "")
        self.sink(ev.Event(kind=kind, obj=str(ref) if ref else "", component=component, message=message,
                           elapsed=self.clock(), data=data))

    def _on_object(self, event_type: str, obj: dict[str, Any]) -> None:
        ref = ObjectRef.of(obj, namespaced=bool((obj.get("metadata") or {}).get("namespace")))
        manifest = self.manifests.get(ref)
        if manifest is not None and obj.get("apiVersion") != manifest.get("apiVersion"):
            return  # the same object seen through another served version: compare like with like
        with self.live_lock:
            if event_type == "DELETED":
                self.live.pop(ref, None)
            elif resource_version(obj) >= resource_version(self.live.get(ref)):
                self.live[ref] = obj
        self.events.put(("object", ref))

    # -- the cluster side of one object ---------------------------------------------
    def _count_write(self) -> None:
        with self.writes_lock:
            self.writes += 1

    def _call_with_retry(self, ref: ObjectRef, fn: Callable[[], Any], deadline: float) -> Any:
        def report(exc: Exception, attempt: int, delay: float) -> None:
            self.emit(ev.RETRY, ref, f"{_said(exc)} (retry {attempt} in {delay:.1f}s)")

        return call_with_retry(fn, backoff=self.options.backoff, deadline=deadline, on_retry=report)

    def _apply_one(self, ref: ObjectRef) -> tuple[dict[str, Any], bool, str]:
        """Apply one object if needed; returns (live object, wrote, message)."""
        manifest = self.manifests[ref]
        api_version = self._api_version(ref)
        deadline = time.monotonic() + self.options.object_timeout
        with self.live_lock:
            live = self.live.get(ref)
        known = self.existing.get((api_version, ref.kind))
        if live is None and known is not None:
            live = known.get(ref.name)  # listed once for the whole kind: no GET per object
        elif live is None and not (ref.namespace and ref.namespace in self.fresh_namespaces):
            live = self._call_with_retry(
                ref, lambda: self.cluster.get(api_version, ref.kind, ref.namespace or None, ref.name), deadline
            )
        if live is not None:
            self.deadlines.preexisting.add(ref)
        decision = decide(manifest, live, set_id=self.set_id, adopt=self.options.adopt,
                          force_conflicts=self.options.force_conflicts)
        if decision.action is Action.NEEDS_ADOPT:
            raise OwnershipError(decision.reason)
        if decision.action is Action.SKIP:
            assert live is not None
            return live, False, decision.reason
        if decision.action is Action.CHECK_DRIFT:
            assert live is not None
            dry = self._call_with_retry(ref, lambda: self.cluster.apply(manifest, force=True, dry_run=True), deadline)
            if same_object(dry, live):
                return live, False, "unchanged"
        message = decision.reason
        force = decision.force
        if live is not None and (dropped := dropped_stored_versions(manifest, live)):
            raise stored_version_refusal(manifest, live, dropped)  # refused by the API server anyway: say why
        if stale_conversion_webhook(manifest, live):
            # the injected caBundle is not ours, so apply alone cannot drop the webhook: clear it first
            self._call_with_retry(ref, lambda: self.cluster.merge_patch(
                api_version, ref.kind, None, ref.name, CLEAR_CONVERSION_WEBHOOK), deadline)
            self._count_write()
            message += " (conversion webhook removed)"

        def write() -> dict[str, Any]:
            written = self.cluster.apply(manifest, force=force)
            self._count_write()  # counted once it succeeded: refused attempts are retries, not writes
            return written

        try:
            result = self._call_with_retry(ref, write, deadline)
        except Exception as exc:
            then = after_refusal(decision, exc, live, group=ref.group, kind=ref.kind, set_id=self.set_id)
            if then is None or then.action is not Action.REPLACE:
                raise
            # An upgrade changed a field the API server will not update (a binding's roleRef, a
            # workload's selector): replace the object, which this deployment owns.
            self.emit(ev.RETRY, ref, f"replacing it: {_said(exc)}")
            self._count_write()
            answer = self.cluster.delete(api_version, ref.kind, ref.namespace or None, ref.name,
                                         propagation="Foreground")
            if answer is not None and wait_all_gone(self.cluster, {Target(api_version, ref): answer}, deadline,
                                                    lambda target: None):
                raise
            with self.live_lock:
                self.live.pop(ref, None)
            result = self._call_with_retry(ref, write, deadline)
            message = then.reason
        if ref.group == "" and ref.kind == "Namespace" and live is None:
            self.fresh_namespaces.add(ref.name)
        return result, True, message

    def _worker(self, ref: ObjectRef) -> None:
        try:
            obj, wrote, message = self._apply_one(ref)
        except OwnershipError as exc:
            self.events.put(("failed", (ref, str(exc))))
        except Exception as exc:
            hint = exc.hint if isinstance(exc, KfctlError) else None
            text = _said(exc)
            self.events.put(("failed", (ref, f"{text}" + (f" (hint: {hint})" if hint else ""))))
        else:
            with self.live_lock:
                if resource_version(obj) >= resource_version(self.live.get(ref)):
                    self.live[ref] = obj
            self.events.put(("done", (ref, wrote, message)))

    # -- the plan side ---------------------------------------------------------------
    def _startable(self) -> list[ObjectRef]:
        """Pending objects whose dependencies are all met (kept up to date by :meth:`_set`)."""
        return [ref for ref in self.schedule.newly_ready() if self.state[ref] == PENDING]

    def _assess(self, ref: ObjectRef) -> None:
        if self.state[ref] != WAITING:
            return
        with self.live_lock:
            live = self.live.get(ref)
        if live is None:
            return
        rule, _ = self.rules(ref)
        verdict = assess(live, rule=rule)
        self.deadlines.first_look(ref, live, verdict.message)
        if verdict.ready and ref.group == "admissionregistration.k8s.io" and ref.kind.endswith("WebhookConfiguration"):
            unreachable = self.webhooks.check(ref, live)
            if unreachable:
                verdict = Verdict(Status.IN_PROGRESS, unreachable)
        if verdict.ready:
            self._set(ref, HEALTHY, verdict.message)
            self.emit(ev.HEALTHY, ref, verdict.message)
            self._component_check(self.plan.nodes[ref].component)
        elif verdict.status is Status.FAILED:
            if self.deadlines.stale(ref, live, verdict.message):
                self._say_waiting(ref, "its progress deadline was exceeded before this apply; waiting for the "
                                       f"rollout to progress again (until --object-timeout): {verdict.message}")
            elif why := self.deadlines.slow_not_stuck(ref, verdict.message):
                self._say_waiting(ref, f"past its progress deadline, but {why}")
            else:
                self._fail(ref, verdict.message)
        else:
            self._say_waiting(ref, verdict.message)

    def _say_waiting(self, ref: ObjectRef, text: str) -> None:
        """Record and report what an object is waiting for, once per change of it."""
        if self.message.get(ref) != text:
            self.message[ref] = text
            self.emit(ev.WAITING, ref, text)

    def _set(self, ref: ObjectRef, state: str, message: str) -> None:
        before = self.state[ref]
        self.state[ref] = state
        self.message[ref] = message
        # counts kept as states change, so that no event costs a scan of every object
        if state == WAITING:
            self.waiting.add(ref)
        else:
            self.waiting.discard(ref)
        if state == HEALTHY and before != HEALTHY:
            self.healthy_in[self.plan.nodes[ref].component] += 1
        elif before == HEALTHY and state != HEALTHY:
            self.healthy_in[self.plan.nodes[ref].component] -= 1
        if state not in (WAITING, HEALTHY):
            return
        self.schedule.met(ref, healthy=state == HEALTHY)

    def _still_pulling(self, ref: ObjectRef) -> str:
        try:
            return still_pulling(self.cluster, ref, pods_of(self.cluster, ref, self.manifests[ref]))
        except Exception:  # cannot tell: treat as stuck
            return ""

    def _pods_say(self, ref: ObjectRef) -> str:
        """What the pods of a waiting or failed workload report, or "" (never hiding the failure itself)."""
        try:
            return pods_say(pods_of(self.cluster, ref, self.manifests[ref]))
        except Exception:
            return ""

    def _probe_pods(self, ref: ObjectRef, now: float) -> None:
        """A workload waiting for a while: say what its pods report (unschedulable, pulling, crashing)."""
        self.next_probe[ref] = now + PROBE_EVERY
        said = self._pods_say(ref)
        if said and not self.message.get(ref, "").endswith(said):
            message = self.message.get(ref, "").split("; pod ")[0] + said
            self.message[ref] = message
            self.emit(ev.WAITING, ref, message)

    def _fail(self, ref: ObjectRef, message: str) -> None:
        if "; pod " not in message:
            message += self._pods_say(ref)
        self._set(ref, FAILED, message)
        self.emit(ev.FAILED, ref, message)
        stack = [ref]
        while stack:
            cause = stack.pop()
            for dep in self.plan.dependents(cause):
                if self.state[dep] == PENDING:
                    why = f"waits for {cause}, which " + ("failed" if cause == ref else f"is blocked by {ref}")
                    self._set(dep, BLOCKED, why)
                    self.emit(ev.BLOCKED, dep, why)
                    stack.append(dep)

    def _component_check(self, component: str) -> None:
        refs = self.members_of[component]
        if self.healthy_in[component] == len(refs):
            self.emit(ev.COMPONENT_READY, None, f"{len(refs)} objects healthy", component=component)

    # -- run -----------------------------------------------------------------------
    def _prefetch(self) -> None:
        """List this deployment's objects of every planned kind (and start following them).

        Small cluster-scoped kinds are also listed whole, once, so that finding out whether an
        object someone else made is in the way costs one request per kind, not one per object.
        """
        kinds = {(self._api_version(r), r.kind) for r in self.plan.nodes}
        self.existing = list_whole(self.retrying, kinds)
        watchers = [self.tracker.ensure(api, kind) for api, kind in sorted(kinds)]
        for watcher in watchers:
            watcher.attempted.wait(30)
        while not self.events.empty():
            self.events.get_nowait()

    def run(self) -> ApplyResult:
        self.emit(ev.SUMMARY, None, f"applying {len(self.plan)} objects", phase="start")
        old = read_inventory(self.retrying, self.deployment, self.namespace, refuse_foreign=True,
                             require_namespace=ObjectRef("", "Namespace", "", self.namespace) not in self.plan.nodes)
        self._prefetch()
        workers = max(1, self.options.concurrency)
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apply")
        running = 0
        total_deadline = time.monotonic() + self.options.timeout
        next_timers = 0.0
        parent_written = False
        try:
            while True:
                if not parent_written and self._parent_namespace_ready():
                    self._write_parent(old, final=False)
                    parent_written = True
                elif not parent_written and self._parent_namespace_lost():
                    for ref, state in self.state.items():
                        if state == PENDING:
                            why = f"the deployment's namespace {self.namespace} failed, so its inventory cannot be recorded"
                            self._set(ref, BLOCKED, why)
                            self.emit(ev.BLOCKED, ref, why)
                held: list[ObjectRef] = []
                for ref in self._startable():
                    if not parent_written and not self._is_parent_namespace(ref):
                        held.append(ref)
                        continue
                    self.state[ref] = RUNNING
                    self.schedule.enqueue(ref)
                self.schedule.hold(held)
                while self.schedule.queued and running < workers:
                    running += 1
                    pool.submit(self._worker, self.schedule.next())
                if running == 0 and not self.waiting:
                    if not self.schedule.holding:
                        break
                try:
                    kind, payload = self.events.get(timeout=0.25)
                except queue.Empty:
                    kind, payload = "tick", None
                now = time.monotonic()
                if kind == "done":
                    ref, wrote, message = payload
                    running -= 1
                    self.wrote[ref] = wrote
                    self.emit(ev.APPLIED if wrote else ev.UNCHANGED, ref, message)
                    self._set(ref, WAITING, message)
                    _, timeout = self.rules(ref)
                    self.deadline[ref] = now + (timeout or self.options.object_timeout)
                    self.next_probe[ref] = now + PROBE_AFTER
                    api = self._api_version(ref)
                    self.tracker.ensure(api, ref.kind)
                    self._assess(ref)
                elif kind == "failed":
                    ref, message = payload
                    running -= 1
                    self._fail(ref, message)
                elif kind == "object":
                    if payload in self.state:
                        self._assess(payload)
                        if self.state[payload] == HEALTHY and (payload.group, payload.kind) in WORKLOAD_KINDS:
                            self.webhooks.workload_healthy()
                with self.webhooks.look(now) as due:  # endpoints are not ours to watch: look again
                    for ref in due:
                        self._assess(ref)
                if now >= next_timers:  # timeouts and pod probes: a few looks a second, not one per event
                    next_timers = now + TIMERS_EVERY
                    for ref in list(self.waiting):
                        limit = self.deadline.get(ref, float("inf"))
                        if now > limit and (why := self._still_pulling(ref)):
                            self.deadline[ref] = now + PROBE_EVERY  # slow, not stuck: look again later
                            self._say_waiting(ref, f"past --object-timeout, but {why}")
                        elif now > limit:
                            self._fail(ref, f"timed out waiting: {self.message.get(ref, 'not healthy')}")
                        elif now > self.next_probe.get(ref, now + PROBE_AFTER):
                            self._probe_pods(ref, now)
                if now > total_deadline:
                    for ref in self.schedule.drain():  # never started
                        self.state[ref] = PENDING
                    for ref, state in self.state.items():
                        if state in (PENDING, WAITING):
                            self._fail(ref, f"apply timed out after {self.options.timeout:.0f}s: {self.message.get(ref, 'not started')}")
                    if running == 0:
                        break
        finally:
            pool.shutdown(wait=True)
        pruned = PruneResult()
        pending_prune: list[str] = []
        ok = all(s == HEALTHY for s in self.state.values())
        stale = stale_members(self.plan.nodes, old)
        handed = [m for m in stale if m.component in self.options.handed_over]
        stale = [m for m in stale if m.component not in self.options.handed_over] if self.options.prune else []
        def report(kind: str, message: str, component: str, obj: str) -> None:
            self.emit(kind, None, message, component=component, **({"object": obj} if obj else {}))

        if ok and stale:
            pruned = prune(self.retrying, stale, set_id=self.set_id, purge_crds=self.options.purge_crds,
                           timeout=self.options.object_timeout, concurrency=self.options.concurrency,
                           report=report, count_write=self._count_write)
        elif stale:
            pending_prune = [str(m.ref) for m in stale]
            self.emit(ev.SUMMARY, None, f"{len(pending_prune)} objects no longer rendered wait to be pruned: "
                      "prune runs once every object is healthy", phase="pending-prune", objects=pending_prune)
        if handed:
            released = hand_over(self.retrying, handed, set_id=self.set_id, report=report,
                                 count_write=self._count_write)
            pruned = PruneResult(pruned.pruned, pruned.kept + released, pruned.gone)
        if parent_written:
            if pending_prune:  # recorded for `kfctl status`; gone again after the next healthy apply
                self.status_extra["pendingPrune"] = pending_prune
            self._write_parent(old, final=True, released=pruned.released)
        self.tracker.close()
        outcomes = tuple(
            ObjectOutcome(ref, self.plan.nodes[ref].component, self.state[ref], self.message.get(ref, ""), self.wrote.get(ref, False))
            for ref in self.plan.nodes
        )
        result = ApplyResult(outcomes, pruned.pruned, pruned.kept, self.clock(), self.writes, tuple(pending_prune))
        self.emit(ev.SUMMARY, None, "healthy" if result.ok else "failed", phase="end", writes=self.writes,
                  healthy=sum(o.state == HEALTHY for o in outcomes), failed=sum(o.state == FAILED for o in outcomes),
                  blocked=sum(o.state == BLOCKED for o in outcomes), pruned=len(pruned.pruned))
        return result

    # -- inventory -------------------------------------------------------------------
    def _is_parent_namespace(self, ref: ObjectRef) -> bool:
        return ref.group == "" and ref.kind == "Namespace" and ref.name == self.namespace

    def _parent_namespace_lost(self) -> bool:
        return self.state.get(ObjectRef("", "Namespace", "", self.namespace)) in (FAILED, BLOCKED)

    def _parent_namespace_ready(self) -> bool:
        ns_ref = ObjectRef("", "Namespace", "", self.namespace)
        if ns_ref in self.state:
            return self.state[ns_ref] == HEALTHY
        return True  # not ours: it must exist already (read_inventory refuses it otherwise)

    def members(self) -> list[Member]:
        return [
            Member(self._api_version(ref), ref.kind, ref.namespace, ref.name, node.component)
            for ref, node in self.plan.nodes.items()
        ]

    def _write_parent(self, old: Inventory | None, *, final: bool, released: frozenset[str] = frozenset()) -> None:
        """Record the inventory. Before applying: widened to old + new members (only if that adds any).
        After: the new members plus old ones not yet pruned or released, and the final status."""
        healthy = sum(s == HEALTHY for s in self.state.values())
        condition = ready_condition(final=final, healthy=healthy, total=len(self.state))
        write_inventory(self.retrying, deployment=self.deployment, namespace=self.namespace, members=self.members(),
                        old=old, status={**self.status_extra, "conditions": [condition]}, released=released,
                        widen_only=not final, count_write=self._count_write)
