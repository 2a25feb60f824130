"""``RealCluster``: a real Kubernetes control plane on loopback, with KWOK nodes.

What envtest and KWOK's ``kwokctl`` do, in one Python class: etcd,
kube-apiserver (TLS from a CA made for the run, client certificates, RBAC,
service-account signing keys, an audit log), kube-controller-manager (its
default controllers: garbage collector, namespace, deployment, replicaset,
statefulset, daemonset, job, endpoints, endpointslice, serviceaccount,
persistent volumes...), kube-scheduler and kwok, each in its own process
group on free loopback ports, plus the harness's players (:mod:`.players`)
and webhook responder (:mod:`.webhooks`). It writes a kubeconfig (kfctl's
user: a client certificate in ``system:masters``) once the API server is
ready and the nodes are Ready.

Everything is stopped by :meth:`stop`, by ``with``, at interpreter exit
(atexit), and, should the Python process be killed, by the kernel: each
child is started with ``PR_SET_PDEATHSIG`` (SIGKILL when its parent dies).
Logs and the audit log stay in :attr:`workdir`; ``stop(keep=True)`` keeps
the folder (the pytest fixture does so for a failed test).

Same surface as the sim where it matters to tests: ``kubeconfig_path``,
``url``, ``timeline()`` (kfctl's requests, read from the audit log) and
``stop()``.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from kfctl.realcluster import files
from kfctl.realcluster.api import API, APIError
from kfctl.realcluster.binaries import bin_dir
from kfctl.realcluster.pki import PKI
from kfctl.realcluster.players import Players
from kfctl.realcluster.webhooks import Responder

SERVICE_RANGE = "10.96.0.0/16"
POD_RANGE = "10.244.0.1/16"
#: users whose requests are not the test's (the audit policy drops most of them already)
CONTROL_PLANE_USERS = ("system:kube-controller-manager", "system:kube-scheduler", "system:apiserver", "kwok",
                       "kfctl-realcluster")
SYNC_PREFIX = "kfctl-realcluster-sync-"


class StartError(RuntimeError):
    """A process of the control plane did not come up; the message names it and quotes its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class RealCluster:
    """A real control plane: ``with RealCluster(nodes=1) as c: kfctl --kubeconfig c.kubeconfig_path ...``."""

    def __init__(self, *, nodes: int = 1, node_cpu: str = "32", node_memory: str = "128Gi", node_gpus: int = 0,
                 node_pods: int = 250, kubeconfig_path: str | os.PathLike[str] | None = None,
                 pod_ready_ms: int = 800, token: str | None = None, bin_folder: Path | None = None,
                 storage_classes: tuple[str, ...] = ()) -> None:
        self.bin = bin_folder or bin_dir()
        self.nodes, self.node_cpu, self.node_memory, self.node_gpus, self.node_pods = (
            nodes, node_cpu, node_memory, node_gpus, node_pods)
        self.pod_ready_ms = pod_ready_ms
        self.token = token
        self.storage_classes = storage_classes
        self._kubeconfig = Path(kubeconfig_path) if kubeconfig_path else None
        self.workdir = Path(tempfile.mkdtemp(prefix="kfrc-"))  # short: the egress socket's path must fit 108 bytes
        self.logs = self.workdir / "logs"
        self.logs.mkdir()
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.api: API | None = None
        self.players: Players | None = None
        self.responder: Responder | None = None
        self.port = 0
        self._sync = 0
        self._stopped = False

    # -- lifecycle ---------------------------------------------------------------
    def start(self, timeout: float = 90.0) -> RealCluster:
        atexit.register(self.stop)
        try:
            self._start(time.monotonic() + timeout)
        except BaseException:
            self.stop(keep=True)
            raise
        return self

    def _start(self, deadline: float) -> None:
        pki = self.pki = PKI(self.workdir / "pki")
        w = self.workdir
        serving = pki.issue("apiserver", cn="kube-apiserver", server=True, ips=("127.0.0.1", "10.96.0.1"),
                            dns=("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                 "kubernetes.default.svc.cluster.local"))
        users = {name: pki.issue(name, cn=cn, orgs=orgs, client=True) for name, cn, orgs in (
            ("admin", "kfctl-admin", ("system:masters",)),
            ("harness", "kfctl-realcluster", ("system:masters",)),
            ("kwok", "kwok", ("system:masters",)),
            ("controller-manager", "system:kube-controller-manager", ()),
            ("scheduler", "system:kube-scheduler", ()))}
        sa = pki.signing_keys()
        etcd_port, peer_port, self.port = free_port(), free_port(), free_port()
        (w / "audit-policy.yaml").write_text(files.AUDIT_POLICY)
        self.egress_socket = str(w / "egress.sock")
        (w / "egress.yaml").write_text(files.egress_config(self.egress_socket))
        (w / "kwok.yaml").write_text(files.kwok_config(create_ms=200, running_ms=300, ready_ms=self.pod_ready_ms,
                                                       jitter_ms=self.pod_ready_ms // 2))
        for name, pair in users.items():
            self._write_kubeconfig(w / f"{name}.kubeconfig", {"client-certificate": str(pair.cert),
                                                             "client-key": str(pair.key)}, inline=False)

        self._spawn("etcd", [
            "--name", "kfrc", "--data-dir", str(w / "etcd"), "--unsafe-no-fsync",
            "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-cluster", f"kfrc=http://127.0.0.1:{peer_port}",
            "--quota-backend-bytes", str(2 * 1024 ** 3), "--log-level", "warn"])
        self.responder = None  # the egress socket must exist before the API server dials anything
        self.api = API(self.url, str(pki.ca.cert), str(users["harness"].cert), str(users["harness"].key))
        self.responder = Responder(self.egress_socket, self.api, pki).start()
        self._spawn("kube-apiserver", [
            "--etcd-servers", f"http://127.0.0.1:{etcd_port}",
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", str(self.port),
            "--tls-cert-file", str(serving.cert), "--tls-private-key-file", str(serving.key),
            "--client-ca-file", str(pki.ca.cert),
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file", str(sa.cert), "--service-account-signing-key-file", str(sa.key),
            "--authorization-mode", "RBAC", "--service-cluster-ip-range", SERVICE_RANGE,
            "--allow-privileged=true", "--enable-aggregator-routing=true",
            "--egress-selector-config-file", str(w / "egress.yaml"),
            "--audit-policy-file", str(w / "audit-policy.yaml"), "--audit-log-path", str(w / "audit.log"),
            "--audit-log-format", "json", "--audit-log-mode", "blocking", "--audit-log-maxsize", "0",
            "--endpoint-reconciler-type", "none", "--profiling=false", "--v", "1"])
        self._wait("kube-apiserver", deadline, self._apiserver_ready)
        common = ["--kubeconfig", None, "--authentication-kubeconfig", None, "--authorization-kubeconfig", None,
                  "--bind-address", "127.0.0.1", "--secure-port", "0", "--leader-elect=false", "--v", "1"]

        def kube(name: str) -> list[str]:
            return [str(w / f"{name}.kubeconfig") if a is None else a for a in common]

        self._spawn("kube-controller-manager", [
            *kube("controller-manager"), "--controllers", "*",
            "--service-account-private-key-file", str(sa.key), "--root-ca-file", str(pki.ca.cert),
            "--cluster-signing-cert-file", str(pki.ca.cert), "--cluster-signing-key-file", str(pki.ca.key),
            "--use-service-account-credentials=true", "--concurrent-deployment-syncs", "10",
            "--concurrent-replicaset-syncs", "10", "--concurrent-gc-syncs", "20",
            # client-side rate limit: the default (20 per second, bursts of 30) spent 5 of a start's 9 s
            # making each controller's service-account client one throttled call at a time, and throttles
            # the controllers during a 700-object install; a test cluster has no other load to protect
            "--kube-api-qps", "1000", "--kube-api-burst", "2000",
            "--node-monitor-grace-period", "60s"])
        self._spawn("kube-scheduler", kube("scheduler"))
        self._spawn("kwok", ["--kubeconfig", str(w / "kwok.kubeconfig"), "--config", str(w / "kwok.yaml"),
                             "--manage-all-nodes=true", "--cidr", POD_RANGE, "--node-ip", "10.240.0.1",
                             "--server-address", f"127.0.0.1:{free_port()}"])
        self.players = Players(self.api, pki).start()
        self._seed()
        self._wait("the KWOK nodes", deadline, self._nodes_ready)
        self._wait("the default service account", deadline,
                   lambda: self.api.get("v1", "serviceaccounts", "default", "default") is not None)
        self._write_kubeconfig(self.kubeconfig_path_or_default(), self._user(users["admin"]), inline=True)

    def _seed(self) -> None:
        """Nodes with their declared capacity, and a default StorageClass (what a cluster comes with)."""
        assert self.api is not None
        capacity = {"cpu": self.node_cpu, "memory": self.node_memory, "pods": str(self.node_pods),
                    "ephemeral-storage": "500Gi"}
        if self.node_gpus:
            capacity["nvidia.com/gpu"] = str(self.node_gpus)
        for i in range(self.nodes):
            name = f"kwok-node-{i}"
            self.api.create("v1", "nodes", None, {
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "annotations": {"kwok.x-k8s.io/node": "fake"},
                             "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                        "kubernetes.io/arch": "amd64", "type": "kwok"}},
                "status": {"capacity": capacity, "allocatable": capacity}}, "kfctl-realcluster")
        classes = [("standard", "kfctl-realcluster/volume", True)] + [
            (name, "kfctl-realcluster/volume", False) for name in self.storage_classes]
        for name, provisioner, default in classes:
            self.api.create("storage.k8s.io/v1", "storageclasses", None, {
                "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": name, "annotations": {
                    "storageclass.kubernetes.io/is-default-class": "true" if default else "false"}},
                "provisioner": provisioner, "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"},
                "kfctl-realcluster")

    def stop(self, keep: bool = False) -> None:
        """Stop every process (SIGKILL to its group; with ``keep``, SIGTERM first and SIGKILL after 2 s)
        and remove the work folder unless ``keep``."""
        if self._stopped:
            return
        self._stopped = True
        if self.players is not None:
            self.players.stop()
        # a test cluster keeps nothing worth a graceful shutdown (the API server's takes over 2 s): killed
        # at once, unless its logs are kept, which the processes may still be writing
        first = signal.SIGTERM if keep else signal.SIGKILL
        for name in reversed(list(self._procs)):
            proc = self._procs[name]
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, first)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 2.0
        for name, proc in reversed(list(self._procs.items())):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(5)
        if self.responder is not None:
            self.responder.stop()
        if self.api is not None:
            self.api.close()
        atexit.unregister(self.stop)
        if not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> RealCluster:
        return self.start()

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.stop(keep=exc_type is not None)

    # -- processes -------------------------------------------------------------------
    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 (the child keeps it)
        try:
            self._procs[name] = subprocess.Popen([str(self.bin / name), *args], stdout=log, stderr=subprocess.STDOUT,
                                                 stdin=subprocess.DEVNULL, start_new_session=True,
                                                 preexec_fn=_die_with_parent, cwd=self.workdir)
        finally:
            log.close()

    def _wait(self, what: str, deadline: float, ready: Any) -> None:
        while True:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    raise StartError(f"{name} exited with code {proc.returncode} while waiting for {what}:\n"
                                     + self.tail(name))
            try:
                if ready():
                    return
            except (APIError, OSError, ValueError):
                pass
            except Exception as exc:  # noqa: BLE001 (httpx errors while the server comes up)
                if "httpx" not in type(exc).__module__:
                    raise
            if time.monotonic() > deadline:
                raise StartError(f"timed out waiting for {what}; logs in {self.logs}:\n" + self.tail("kube-apiserver"))
            time.sleep(0.2)

    def _apiserver_ready(self) -> bool:
        assert self.api is not None
        answer = self.api._http.get("/readyz")
        return answer.status_code == 200

    def _nodes_ready(self) -> bool:
        assert self.api is not None
        nodes = self.api.list("v1", "nodes")
        ready = [n for n in nodes if any(c.get("type") == "Ready" and c.get("status") == "True"
                                         for c in (n.get("status") or {}).get("conditions") or [])]
        return len(ready) == self.nodes

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return f"(no log for {name})"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # -- kubeconfig ------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def kubeconfig_path_or_default(self) -> Path:
        if self._kubeconfig is None:
            self._kubeconfig = self.workdir / "kubeconfig"
        return self._kubeconfig

    @property
    def kubeconfig_path(self) -> str:
        if self._kubeconfig is None or not self._kubeconfig.exists():
            raise RuntimeError("the real cluster is not serving; call start() first")
        return str(self._kubeconfig)

    def _user(self, pair: Any) -> dict[str, str]:
        if self.token:
            return {"token": self.token}
        return {"client-certificate-data": _b64file(pair.cert), "client-key-data": _b64file(pair.key)}

    def _write_kubeconfig(self, path: Path, user: dict[str, str], *, inline: bool) -> None:
        ca = ({"certificate-authority-data": _b64file(self.pki.ca.cert)} if inline
              else {"certificate-authority": str(self.pki.ca.cert)})
        config = {"apiVersion": "v1", "kind": "Config", "preferences": {},
                  "clusters": [{"name": "kfctl-realcluster", "cluster": {"server": self.url, **ca}}],
                  "users": [{"name": "kfctl-realcluster", "user": user}],
                  "contexts": [{"name": "kfctl-realcluster", "context": {
                      "cluster": "kfctl-realcluster", "user": "kfctl-realcluster", "namespace": "default"}}],
                  "current-context": "kfctl-realcluster"}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(yaml.safe_dump(config, sort_keys=False))
        tmp.chmod(0o600)
        tmp.replace(path)

    def kubeconfig_for_token(self, token: str, path: str | os.PathLike[str]) -> str:
        """A kubeconfig for this cluster that authenticates with ``token`` (e.g. a service account's)."""
        self._write_kubeconfig(Path(path), {"token": token}, inline=True)
        return str(path)

    # -- the timeline -----------------------------------------------------------------
    def timeline(self) -> list[dict[str, Any]]:
        """Every request of kfctl (and of other non-control-plane users), in the sim's record shape.

        Read from the API server's audit log: ``verb`` is the audit verb, except that a PATCH whose
        body is a whole object (apiVersion and kind) is called ``apply`` as in the sim (the audit log
        keeps no content type; PATCH bodies are logged for this), ``resource`` the plural
        (``/subresource`` added), ``code`` the response code, ``dry_run`` whether ``dryRun`` was set;
        a server error (5xx) also has the audit event's ``message``, to say why.
        A sentinel request first makes sure every earlier answer's audit event is written.
        """
        assert self.api is not None
        self._sync += 1
        sentinel = f"{SYNC_PREFIX}{self._sync}"
        admin = self._admin_api()
        try:
            admin.get("v1", "configmaps", "default", sentinel)
        finally:
            admin.close()
        deadline = time.monotonic() + 10
        while True:
            records, seen = self._read_audit(sentinel)
            if seen or time.monotonic() > deadline:
                return records
            time.sleep(0.05)

    def admin_credentials(self) -> tuple[str, str, str]:
        """(CA file, client certificate, key) of kfctl's admin user, for HTTP clients of the tests' own."""
        return (str(self.pki.ca.cert), str(self.workdir / "pki" / "admin.crt"),
                str(self.workdir / "pki" / "admin.key"))

    def _admin_api(self) -> API:
        return API(self.url, *self.admin_credentials(), user_agent="kfctl-realcluster-sync")

    def _read_audit(self, sentinel: str) -> tuple[list[dict[str, Any]], bool]:
        records: list[dict[str, Any]] = []
        seen = False
        path = self.workdir / "audit.log"
        if not path.exists():
            return records, False
        with path.open() as f:
            for line in f:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a line being written
                user = (event.get("user") or {}).get("username", "")
                ref = event.get("objectRef") or {}
                if ref.get("name", "").startswith(SYNC_PREFIX):
                    seen = seen or ref.get("name") == sentinel
                    continue
                if user in CONTROL_PLANE_USERS or not ref.get("resource"):
                    continue
                resource = ref["resource"] + (f"/{ref['subresource']}" if ref.get("subresource") else "")
                stamp = event.get("stageTimestamp") or event.get("requestReceivedTimestamp") or ""
                verb = event.get("verb", "")
                body = event.get("requestObject")
                if verb == "patch" and isinstance(body, dict) and body.get("apiVersion") and body.get("kind"):
                    verb = "apply"  # a whole object: server-side apply (the audit log keeps no content type)
                status = event.get("responseStatus") or {}
                record = {
                    "time": _epoch(stamp), "verb": verb, "resource": resource,
                    # the audit log names a Namespace's own name as its namespace; the sim (and kfctl) say ""
                    "namespace": "" if ref["resource"] == "namespaces" else ref.get("namespace") or "",
                    "name": ref.get("name") or "",
                    "code": int(status.get("code") or 0),
                    "dry_run": "dryRun=" in (event.get("requestURI") or ""), "user": user}
                if record["code"] >= 500 and status.get("message"):
                    record["message"] = status["message"]  # why a server error happened (the sim has none)
                records.append(record)
        return records, seen


def _b64file(path: Path) -> str:
    import base64

    return base64.b64encode(Path(path).read_bytes()).decode()


def _epoch(stamp: str) -> float:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
