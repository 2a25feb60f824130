"""What ``kubectl get`` prints for pods, events, endpoints and EndpointSlices.

kubectl prints the server's Table. Once pods have real status, the STATUS
column must be computed as the API server's pod printer does
(``ContainerCreating``, ``Init:0/1``, ``CrashLoopBackOff``, ``Completed``,
``Terminating``), RESTARTS shows ``3 (12s ago)``, and events print ``LAST
SEEN TYPE REASON OBJECT MESSAGE``. :func:`install` swaps these columns into
the type table and registers the computed cells with :mod:`kfctl.sim.tables`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from kfctl.sim import tables
from kfctl.sim.clock import parse_time
from kfctl.sim.types import Column, TypeRegistry

AGE = Column("Age", "date", "<age>", "CreationTimestamp is a timestamp representing the server time when "
             "this object was created.")


def _c(name: str, path: str, type_: str = "string", priority: int = 0) -> Column:
    return Column(name, type_, path, priority=priority)


COLUMNS: dict[tuple[str, str], tuple[Column, ...]] = {
    ("", "Pod"): (_c("Ready", "<podready>"), _c("Status", "<fn:podstatus>"), _c("Restarts", "<fn:restarts>"), AGE,
                  _c("IP", "<fn:podip>", priority=1), _c("Node", "<fn:nodename>", priority=1),
                  _c("Nominated Node", "<fn:nominated>", priority=1),
                  _c("Readiness Gates", "<fn:gates>", priority=1)),
    ("", "Event"): (_c("Last Seen", "<fn:lastseen>"), _c("Type", ".type"), _c("Reason", ".reason"),
                    _c("Object", "<fn:involved>"), _c("Subobject", ".involvedObject.fieldPath", priority=1),
                    _c("Source", "<fn:source>", priority=1), _c("Message", ".message"),
                    _c("First Seen", "<fn:firstseen>", priority=1), _c("Count", ".count", "integer", 1),
                    _c("Name", "<name>", priority=1)),
    ("", "Endpoints"): (_c("Endpoints", "<fn:endpoints>"), AGE),
    ("discovery.k8s.io", "EndpointSlice"): (_c("AddressType", ".addressType"), _c("Ports", "<fn:sliceports>"),
                                            _c("Endpoints", "<fn:sliceendpoints>"), AGE),
    ("", "PersistentVolumeClaim"): (_c("Status", ".status.phase"), _c("Volume", ".spec.volumeName"),
                                    _c("Capacity", "<fn:capacity>"), _c("Access Modes", "<fn:modes>"),
                                    _c("StorageClass", ".spec.storageClassName"),
                                    _c("VolumeAttributesClass", "<fn:unset>"), AGE),
}


def pod_status(pod: dict[str, Any], now: float = 0.0) -> str:
    """The STATUS column of ``kubectl get pods`` (the API server's pod printer)."""
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    reason = status.get("reason") or status.get("phase") or "Pending"
    initializing = False
    inits = status.get("initContainerStatuses") or []
    for i, cs in enumerate(inits):
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated and terminated.get("exitCode") == 0:
            continue
        if terminated:
            reason = "Init:" + (terminated.get("reason") or f"ExitCode:{terminated.get('exitCode')}")
        elif waiting and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(spec.get('initContainers') or [])}"
        initializing = True
        break
    if not initializing:
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            state = cs.get("state") or {}
            if (state.get("waiting") or {}).get("reason"):
                reason = state["waiting"]["reason"]
            elif state.get("terminated"):
                term = state["terminated"]
                reason = term.get("reason") or (f"Signal:{term['signal']}" if term.get("signal") else
                                                f"ExitCode:{term.get('exitCode')}")
            elif cs.get("ready") and state.get("running"):
                has_running = True
        if reason == "Completed" and has_running:
            ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
            reason = "Running" if ready else "NotReady"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return str(reason)


def restarts(pod: dict[str, Any], now: float) -> str:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    count = sum(int(c.get("restartCount", 0)) for c in statuses)
    last = None
    for cs in statuses:
        finished = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
        if finished:
            stamp = parse_time(finished)
            last = stamp if last is None else max(last, stamp)
    if count and last is not None:
        return f"{count} ({tables.human_age(now - last)} ago)"
    return str(count)


def _age_of(text: str | None, now: float) -> str:
    if not text:
        return "<unknown>"
    try:
        return tables.human_age(now - parse_time(text))
    except ValueError:
        return "<unknown>"


def _endpoints(ep: dict[str, Any], now: float) -> str:
    out = []
    for subset in ep.get("subsets") or []:
        ports = [p.get("port") for p in subset.get("ports") or []] or [None]
        for address in subset.get("addresses") or []:
            for port in ports:
                out.append(f"{address.get('ip')}:{port}" if port is not None else str(address.get("ip")))
    if not out:
        return "<none>"
    text = ",".join(out[:3])
    return text + (f" + {len(out) - 3} more..." if len(out) > 3 else "")


def _last_seen(event: dict[str, Any], now: float) -> str:
    """``96s``, or ``96s (x3 over 6m)`` for an aggregated Event, as the server's event printer writes it."""
    last = _age_of(event.get("lastTimestamp") or event.get("eventTime"), now)
    count = int(event.get("count") or 1)
    if count > 1:
        return f"{last} (x{count} over {_age_of(event.get('firstTimestamp') or event.get('eventTime'), now)})"
    return last


def _slice_ports(es: dict[str, Any], now: float) -> str:
    ports = [str(p.get("port")) for p in es.get("ports") or [] if p.get("port") is not None]
    return ",".join(ports) if ports else "<unset>"


def _slice_endpoints(es: dict[str, Any], now: float) -> str:
    addresses = [a for e in es.get("endpoints") or [] for a in e.get("addresses") or []]
    if not addresses:
        return "<unset>"
    return ",".join(addresses[:3]) + (f" + {len(addresses) - 3} more..." if len(addresses) > 3 else "")


def _involved(event: dict[str, Any], now: float) -> str:
    obj = event.get("involvedObject") or {}
    return f"{str(obj.get('kind', '')).lower()}/{obj.get('name', '')}"


def _source(event: dict[str, Any], now: float) -> str:
    source = event.get("source") or {}
    return ", ".join(v for v in (source.get("component"), source.get("host")) if v)


CELLS = {
    "podstatus": pod_status,
    "restarts": restarts,
    "podip": lambda p, now: (p.get("status") or {}).get("podIP") or "<none>",
    "nodename": lambda p, now: (p.get("spec") or {}).get("nodeName") or "<none>",
    "nominated": lambda p, now: (p.get("status") or {}).get("nominatedNodeName") or "<none>",
    "gates": lambda p, now: "<none>",
    "lastseen": lambda e, now: _last_seen(e, now),
    "firstseen": lambda e, now: _age_of(e.get("firstTimestamp") or e.get("eventTime"), now),
    "involved": _involved,
    "source": _source,
    "endpoints": _endpoints,
    "sliceports": _slice_ports,
    "sliceendpoints": _slice_endpoints,
    "capacity": lambda c, now: ((c.get("status") or {}).get("capacity") or {}).get("storage", ""),
    "modes": lambda c, now: ",".join({"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
                                      "ReadWriteOncePod": "RWOP"}.get(m, m)
                                     for m in (c.get("status") or {}).get("accessModes") or []),
    "unset": lambda c, now: "<unset>",
}


def install(registry: TypeRegistry) -> None:
    """Use these columns for the kinds above and register their computed cells."""
    tables.CELL_FUNCTIONS.update(CELLS)
    for (group, kind), columns in COLUMNS.items():
        for rtype in registry.all():
            if rtype.group == group and rtype.kind == kind and not rtype.custom:
                registry.add(dataclasses.replace(rtype, columns=columns))
