"""Which Services an application dials at start, read from its own objects, and when it gives up without them.

Which application waits for which Service changes with every release
(Pipelines 2.5 stores artifacts in ``minio-service``, 2.16 in
``seaweedfs.kubeflow:9000``), but the pod spec says it: the addresses an
application connects to are in its container's settings. The kubelet asks
this module, for a container whose image has a
:class:`~kfctl.sim.behaviour.profiles.ServiceNeed` (the part that cannot be
read from objects: how the application retries and for how long), which
Services it dials (:func:`dials`), which of those have no ready endpoint
(:func:`unreachable`; a Service that does not exist is unreachable too: its
DNS name does not resolve) and how long the container keeps running before
it exits (:func:`exit_after`).

The rules, applied to the container as the kubelet builds it at each start:

- its environment: ``env`` values (``$(VAR)`` expanded against the variables
  before it), ``valueFrom`` a ConfigMap or Secret key or the pod's own
  fields, and ``envFrom`` ConfigMaps/Secrets (with their prefix);
- a setting names a host when it is an env var ending in ``_HOST`` or
  ``_HOST_NAME`` (``DBCONFIG_MYSQLCONFIG_HOST``, ``OBJECTSTORECONFIG_HOST``,
  ``DBCONFIG_HOST_NAME``), or a flag in ``args``/``command`` ending in
  ``host`` (``--mysql_config_host=$(MYSQL_HOST)``, ``--db_host value``); its
  port is the sibling setting ending in ``PORT``/``port``
  (``OBJECTSTORECONFIG_PORT``, ``--db_port``);
- any env value or flag value that is a URL (``http://seaweedfs.kubeflow:8333``)
  or holds a Go MySQL DSN (``user:pw@tcp(mysql:3306)/db``, model registry's
  ``--embedmd-database-dsn``) names its host and port;
- a host is a Service when it is one DNS label (``mysql``: the pod's
  namespace), ``<service>.<namespace>`` or ``<service>.<namespace>.svc[...]``;
  IP addresses, ``localhost`` and other names (``storage.googleapis.com``) are
  outside the cluster and never waited for;
- a Service whose selector selects the pod itself is not waited for (an API
  server told its own address does not dial itself at start);
- settings the container leaves unset fall back to the application's
  built-in defaults, the one thing read from the rule (``defaults``: the
  persistence agent's ``--mlPipelineAPIServerName`` is ``ml-pipeline``).

The port decides which server must answer: the container declaring the
Service port's ``targetPort`` (see ``Kubelet.serving_addresses``).
"""

from __future__ import annotations

import base64
import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Callable

from kfctl.sim.behaviour.profiles import ServiceNeed

Getter = Callable[[str, str, str, str], "dict[str, Any] | None"]

_ENV_HOST = re.compile(r"^(?P<prefix>[A-Za-z0-9_]*_)HOST(?:_NAME)?$", re.IGNORECASE)
_FLAG = re.compile(r"^--?(?P<name>[A-Za-z0-9_.-]+?)(?:=(?P<value>.*))?$", re.DOTALL)
_FLAG_HOST = re.compile(r"^(?P<prefix>[A-Za-z0-9_.-]*[_.-])?host$", re.IGNORECASE)
_DSN = re.compile(r"@tcp\((?P<host>[^:()]+)(?::(?P<port>\d+))?\)")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/@]*@)?(?P<host>[^/:?#\[\]]+)(?::(?P<port>\d+))?")
_REF = re.compile(r"\$\$|\$\((?P<name>[A-Za-z_][A-Za-z0-9_.-]*)\)")
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class Dial:
    """One Service an application connects to at start, and the setting that says so."""

    namespace: str
    name: str
    port: int | None
    via: str  # e.g. "env OBJECTSTORECONFIG_HOST", "arg --db_host", "default --mlPipelineAPIServerName"


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: known variables replaced, ``$$`` escapes, unknown ones left as written."""
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group("name"), m.group(0))
    return _REF.sub(sub, text)


def _decoded(value: Any) -> str:
    try:
        return base64.b64decode(str(value), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return ""


def environment(container: dict[str, Any], pod: dict[str, Any], get: Getter) -> dict[str, str]:
    """The variables the kubelet gives the container: ``envFrom`` first, then ``env`` in order."""
    ns = pod["metadata"]["namespace"]
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = str(source.get("prefix") or "")
        if source.get("configMapRef"):
            cm = get("", "configmaps", ns, str(source["configMapRef"].get("name") or "")) or {}
            env.update({prefix + k: str(v) for k, v in (cm.get("data") or {}).items()})
        if source.get("secretRef"):
            secret = get("", "secrets", ns, str(source["secretRef"].get("name") or "")) or {}
            env.update({prefix + k: _decoded(v) for k, v in (secret.get("data") or {}).items()})
            env.update({prefix + k: str(v) for k, v in (secret.get("stringData") or {}).items()})
    for item in container.get("env") or []:
        name = str(item.get("name") or "")
        if "value" in item:
            env[name] = expand(str(item.get("value") or ""), env)
            continue
        source = item.get("valueFrom") or {}
        value: Any = None
        if source.get("configMapKeyRef"):
            ref = source["configMapKeyRef"]
            value = ((get("", "configmaps", ns, str(ref.get("name") or "")) or {}).get("data") or {}).get(ref.get("key"))
        elif source.get("secretKeyRef"):
            ref = source["secretKeyRef"]
            secret = get("", "secrets", ns, str(ref.get("name") or "")) or {}
            raw = (secret.get("data") or {}).get(ref.get("key"))
            value = _decoded(raw) if raw is not None else (secret.get("stringData") or {}).get(ref.get("key"))
        elif source.get("fieldRef"):
            path = str(source["fieldRef"].get("fieldPath") or "")
            value = {"metadata.namespace": ns, "metadata.name": pod["metadata"].get("name")}.get(path)
        if value is not None:
            env[name] = str(value)
    return env


def _flags(words: list[str]) -> dict[str, str]:
    """``--name=value`` and ``--name value`` of a command line (the last one of a name wins)."""
    out: dict[str, str] = {}
    for i, word in enumerate(words):
        m = _FLAG.match(word)
        if not m:
            continue
        value = m.group("value")
        if value is None:
            following = words[i + 1] if i + 1 < len(words) else ""
            value = following if following and not following.startswith("-") else ""
        out[m.group("name")] = value
    return out


def service_of(host: str, namespace: str) -> tuple[str, str] | None:
    """(namespace, name) of the in-cluster Service a host name stands for, None for anything else."""
    host = host.strip().rstrip(".").lower()
    if not host or host == "localhost" or "$(" in host:
        return None
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    labels = host.split(".")
    if not all(_LABEL.match(label) for label in labels):
        return None
    if len(labels) == 1:
        return namespace, labels[0]
    if len(labels) == 2 or labels[2] == "svc":
        return labels[1], labels[0]
    return None


def _port(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _split(address: str) -> tuple[str, int | None]:
    """``host``, ``host:port`` or a URL -> (host, port)."""
    m = _URL.match(address)
    if m:
        return m.group("host"), _port(m.group("port"))
    host, _, port = address.partition(":")
    return host, _port(port)


def dials(need: ServiceNeed, container: dict[str, Any], pod: dict[str, Any], get: Getter) -> list[Dial]:
    """The in-cluster Services the container's application connects to at start, in the order found."""
    ns = pod["metadata"]["namespace"]
    env = environment(container, pod, get)
    words = [expand(str(w), env) for w in [*(container.get("command") or []), *(container.get("args") or [])]]
    flags = _flags(words)
    found: list[tuple[str, int | None, str]] = []
    for name, value in env.items():
        m = _ENV_HOST.match(name)
        if m and value:
            found.append((value, _port(env.get(m.group("prefix") + "PORT")), f"env {name}"))
        elif _URL.match(value):
            found.append((value, None, f"env {name}"))
        elif dsn := _DSN.search(value):
            found.append((dsn.group("host"), _port(dsn.group("port")), f"env {name}"))
    for name, value in flags.items():
        m = _FLAG_HOST.match(name)
        if m and value:
            prefix = m.group("prefix") or ""
            found.append((value, _port(flags.get(prefix + "port") or flags.get(prefix + "PORT")), f"arg --{name}"))
        elif _URL.match(value):
            found.append((value, None, f"arg --{name}"))
        elif dsn := _DSN.search(value):
            found.append((dsn.group("host"), _port(dsn.group("port")), f"arg --{name}"))
    for setting, default in need.defaults:
        given = env.get(setting) or flags.get(setting)
        if given:
            found.append((given, None, f"setting {setting}"))
        else:
            found.append((default, None, f"default {setting}"))
    out: list[Dial] = []
    seen: set[tuple[str, str]] = set()
    for address, port, via in found:
        host, inline = _split(address)
        target = service_of(host, ns)
        if target is None or target in seen or _selects_itself(target, pod, get):
            continue
        seen.add(target)
        out.append(Dial(target[0], target[1], inline if inline is not None else port, via))
    return out


def _selects_itself(target: tuple[str, str], pod: dict[str, Any], get: Getter) -> bool:
    if target[0] != pod["metadata"]["namespace"]:
        return False
    selector = ((get("", "services", *target) or {}).get("spec") or {}).get("selector") or {}
    labels = pod["metadata"].get("labels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def unreachable(targets: list[Dial], ready_addresses: Callable[[str, str, int | None], int]) -> list[str]:
    """The dialled Services without a ready endpoint serving their port, as ``name`` or ``name.namespace``."""
    return [d.name for d in targets if ready_addresses(d.namespace, d.name, d.port) <= 0]


def probe_kill_after(container: dict[str, Any]) -> tuple[float, str] | None:
    """Seconds after start at which a failing startup (else liveness) probe kills the container, and which.

    Probe defaults are the API's: ``periodSeconds`` 10, ``failureThreshold`` 3,
    ``initialDelaySeconds`` 0.
    """
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
