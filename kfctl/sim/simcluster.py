"""``SimCluster``: start and stop a simulated cluster from Python or the CLI.

It wires the clock, store, pipeline and HTTP server together, serves on a
loopback port in a background thread, and writes a kubeconfig for itself only
once the socket is accepting connections, so anything that finds the file can
use it at once.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kfctl.sim import discovery
from kfctl.sim.clock import SimClock
from kfctl.sim.cluster import Cluster
from kfctl.sim.faults import Faults
from kfctl.sim.rbac import User
from kfctl.sim.seed import seed
from kfctl.sim.server import APIServer, make_http_server
from kfctl.sim.store import Store

from kfctl.sim.shape import ClusterShape, load_shape

if TYPE_CHECKING:
    from collections.abc import Mapping

    from kfctl.sim.behaviour import Behaviours, Profile


class SimCluster:
    """A simulated Kubernetes API server.

    ::

        with SimCluster(time_scale=0.01) as sim:
            subprocess.run(["kubectl", "--kubeconfig", sim.kubeconfig_path, "get", "ns"])
            sim.metrics()["byVerb"]
    """

    def __init__(self, *, port: int = 0, host: str = "127.0.0.1", token: str | None = None,
                 kubeconfig_path: str | os.PathLike[str] | None = None, time_scale: float = 1.0,
                 crd_establish_delay: float | None = None, namespace_delete_delay: float = 1.0,
                 faults: Faults | None = None,
                 persist_path: str | os.PathLike[str] | None = None, bookmark_interval: float = 60.0,
                 watch_history: int = 20000, profile: str | Profile = "instant",
                 shape: ClusterShape | str | os.PathLike[str] | Mapping[str, Any] | None = None,
                 seed: int | None = None, behaviour: bool = True) -> None:
        """``profile``/``seed``: timing of the simulated controllers (:mod:`kfctl.sim.behaviour`);
        ``behaviour=False`` serves the bare API machinery. ``shape``: a :class:`ClusterShape`, a shape file's
        path or its parsed document (:mod:`kfctl.sim.shape`; raises :class:`~kfctl.sim.shape.ShapeError`):
        nodes and StorageClasses need the behaviour; version, namespaces, quotas, users and pre-installed
        components' objects are there either way.
        ``crd_establish_delay`` defaults to the profile's; a profile's faults apply unless ``faults`` is given."""
        from kfctl.sim.behaviour import profile_named

        self.profile = profile_named(profile, seed=seed)
        self.shape = load_shape(shape) if shape is not None else ClusterShape()
        if crd_establish_delay is None:
            crd_establish_delay = self.profile.crd_establish_delay()
        if faults is None and self.profile.faults:
            faults = Faults.from_dict({**self.profile.faults, "seed": seed or 0})
        self._port = port
        self._host = host
        self.token = token
        self._kubeconfig = Path(kubeconfig_path) if kubeconfig_path else None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self.clock = SimClock(time_scale=time_scale)
        self.store = Store(history=watch_history, path=str(persist_path) if persist_path else None)
        self.cluster = Cluster(clock=self.clock, store=self.store, crd_establish_delay=crd_establish_delay,
                               namespace_delete_delay=namespace_delete_delay)
        self.api = APIServer(self.cluster, token=token, faults=faults, bookmark_interval=bookmark_interval,
                             version=discovery.server_version(self.shape.kubernetes_version),
                             users={u.token: User(u.name, u.groups) for u in self.shape.users})
        self.behaviours: Behaviours | None = None
        if behaviour:
            from kfctl.sim.behaviour import Behaviours

            self.behaviours = Behaviours(self.cluster, profile=self.profile, shape=self.shape)
        self._http: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------
    def start(self) -> SimCluster:
        if self.behaviours is not None:
            self.behaviours.start()
        try:
            seed(self.cluster, self.shape)
        except Exception:
            self.stop()
            raise
        self._http = make_http_server(self.api, self._host, self._port)
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="sim-http", daemon=True)
        self._thread.start()
        self._write_kubeconfig()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http.close_connections()
            self._http = None
        if self.behaviours is not None:
            self.behaviours.close()
        self.cluster.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def wait(self) -> None:
        """Block until the server stops (the CLI waits here until interrupted)."""
        if self._thread is not None:
            while self._thread.is_alive():
                self._thread.join(0.5)

    def __enter__(self) -> SimCluster:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- addresses --------------------------------------------------------
    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("the sim is not serving; call start() first")
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def kubeconfig_path(self) -> str:
        if self._kubeconfig is None:
            raise RuntimeError("the sim is not serving; call start() first")
        return str(self._kubeconfig)

    def kubeconfig(self) -> dict[str, Any]:
        """The admin's context (current), and one context ``kfctl-sim-<user>`` per user of the shape.

        A user's cluster URL carries its token as a path prefix (``/_sim/token/<token>``) because kubectl
        and client-go send a token only over TLS; the user entry holds the token too, for clients that do.
        """
        user: dict[str, Any] = {"token": self.token} if self.token else {}
        clusters = [{"name": "kfctl-sim", "cluster": {"server": self.url}}]
        users = [{"name": "kfctl-sim", "user": user}]
        contexts = [{"name": "kfctl-sim", "context": {"cluster": "kfctl-sim", "user": "kfctl-sim",
                                                      "namespace": "default"}}]
        for spec in self.shape.users:
            name = f"kfctl-sim-{spec.name}"
            clusters.append({"name": name, "cluster": {"server": f"{self.url}/_sim/token/{spec.token}"}})
            users.append({"name": name, "user": {"token": spec.token}})
            contexts.append({"name": name, "context": {"cluster": name, "user": name,
                                                       "namespace": spec.namespace or "default"}})
        return {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": clusters, "users": users, "contexts": contexts,
            "current-context": "kfctl-sim",
        }

    def _write_kubeconfig(self) -> None:
        if self._kubeconfig is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="kfctl-sim-")
            self._kubeconfig = Path(self._tmpdir.name) / "kubeconfig"
        self._kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._kubeconfig.with_name(self._kubeconfig.name + ".tmp")
        tmp.write_text(yaml.safe_dump(self.kubeconfig(), sort_keys=False))
        tmp.chmod(0o600)
        tmp.replace(self._kubeconfig)  # atomic: readers never see a half-written file

    # -- accounting and faults ------------------------------------------
    def metrics(self) -> dict[str, Any]:
        return self.api.metrics.snapshot()

    def timeline(self) -> list[dict[str, Any]]:
        return self.api.metrics.timeline()

    def sync(self, timeout: float = 5.0) -> None:
        """Wait until the simulated controllers have handled every change committed so far."""
        if self.behaviours is not None:
            self.behaviours.sync(timeout)

    def set_faults(self, faults: Faults | None = None, **settings: Any) -> None:
        """Switch fault injection at run time: a :class:`Faults` or its fields as keywords."""
        self.api.faults.configure(faults or Faults.from_dict(settings))
