"""When an application started without a Service it needs gives up: its own retry window or a probe's kill.

The kubelet asks this module, for a container whose image has a
:class:`~kfctl.sim.behaviour.profiles.ServiceNeed`, which needed Services
have no ready endpoint (a Service that does not exist is unreachable too:
its DNS name does not resolve) and how long the container keeps running
before it exits: the application's own ``gives_up_after``, or earlier when a
startup probe (checked first, as the kubelet does) or else a liveness probe
fails ``failureThreshold`` times in a row while the application is not
serving yet. Probe defaults are the API's: ``periodSeconds`` 10,
``failureThreshold`` 3, ``initialDelaySeconds`` 0.
"""

from __future__ import annotations

from typing import Any, Callable

from kfctl.sim.behaviour.profiles import ServiceNeed


def unreachable(need: ServiceNeed, namespace: str, ready_addresses: Callable[[str, str], int]) -> list[str]:
    """The needed Services of ``namespace`` without a ready endpoint, in the rule's order."""
    return [name for name in need.services if ready_addresses(namespace, name) <= 0]


def probe_kill_after(container: dict[str, Any]) -> tuple[float, str] | None:
    """Seconds after start at which a failing startup (else liveness) probe kills the container, and which."""
    for kind in ("startupProbe", "livenessProbe"):
        probe = container.get(kind)
        if isinstance(probe, dict) and probe:
            delay = float(probe.get("initialDelaySeconds") or 0)
            period = float(probe.get("periodSeconds") or 10)
            threshold = int(probe.get("failureThreshold") or 3)
            return delay + period * threshold, kind[: -len("Probe")]
    return None


def exit_after(need: ServiceNeed, container: dict[str, Any]) -> tuple[float, str]:
    """Seconds the container runs before it exits, and ``""`` (the app gave up) or the probe that killed it."""
    kill = probe_kill_after(container)
    if kill is not None and kill[0] < need.gives_up_after:
        return kill
    return need.gives_up_after, ""
