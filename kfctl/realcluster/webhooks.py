"""Admission and conversion webhooks through the real API server, answered on loopback.

Kubeflow's webhooks point at Services whose pods KWOK only pretends to run,
so nothing listens at their addresses. The harness does not rewrite any
webhook configuration (they are kfctl's objects, and what is tested). Instead
it takes the place of the cluster network, the way konnectivity does on
managed clusters:

- the API server runs with ``--egress-selector-config-file``: every
  connection it opens *into the cluster* (webhooks, conversion webhooks,
  aggregated APIs) is an HTTP CONNECT through a proxy on a Unix socket the
  harness serves;
- with ``--enable-aggregator-routing`` the API server itself resolves a
  webhook's Service to a *ready endpoint* (pod IP and target port) from
  EndpointSlices, so "no endpoints available" and "connection refused"
  happen exactly as on a cluster until the pods behind the Service are Ready;
- the proxy maps the address it is asked for back to the Service whose ready
  endpoint it is, and answers the TLS connection itself, as that Service:
  its serving certificate (``<svc>.<ns>.svc``) is signed by the harness's CA,
  which the harness injects as cert-manager's cainjector would (see
  :mod:`.players`), so the API server verifies it against the caBundle of
  the webhook configuration as usual.

The responder admits every AdmissionReview (no patch: it does not implement
Kubeflow's defaulting or validation logic, nor Istio's sidecar injection) and
converts ConversionReviews by rewriting ``apiVersion`` (the served versions of
our bundles' CRDs share one schema). What is exercised is the API server's
admission path: rules, namespace and object selectors, matchConditions,
failurePolicy, timeouts, TLS with the injected CA, service resolution to
ready endpoints, dry-run and sideEffects. Every review is recorded
(:attr:`Responder.reviews`), so a test can check which webhooks were called.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, TYPE_CHECKING, cast

if TYPE_CHECKING:
    from kfctl.realcluster.api import API
    from kfctl.realcluster.pki import PKI

log = logging.getLogger(__name__)

#: how long a webhook connection may sit idle before the responder closes it. Longer than the API
#: server's own idle timeout for its webhook clients (90 s: http.DefaultTransport's, which
#: apimachinery's SetTransportDefaults applies), so the API server is always the side that closes an
#: idle connection, as with a real webhook server (Go's http.Server keeps idle connections open). With
#: 30 s here, a review sent on a kept-alive connection just as the responder closed it ends in EOF, and
#: Go does not resend a POST: a 500 for that write. That is the likely cause of the one CI failure of
#: the real tier (a Katib Issuer refused with 500 late in an install, after cert-manager's webhook had
#: admitted many objects).
IDLE_TIMEOUT = 600.0


@dataclass(frozen=True)
class Review:
    """One review the API server sent: to which Service, what kind, for which object and operation."""

    namespace: str
    service: str
    path: str
    kind: str
    operation: str
    resource: str
    name: str
    dry_run: bool


class Responder:
    """The HTTP CONNECT proxy on ``socket_path`` and the webhook servers behind it."""

    def __init__(self, socket_path: str, api: API, pki: PKI) -> None:
        self.socket_path = socket_path
        self.api = api
        self.pki = pki
        self.reviews: list[Review] = []
        self._lock = threading.Lock()
        self._contexts: dict[tuple[str, str], ssl.SSLContext] = {}
        self._sock: socket.socket | None = None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Responder:
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(self.socket_path)
        sock.listen(64)
        sock.settimeout(0.5)
        self._sock = sock
        thread = threading.Thread(target=self._accept, name="realcluster-egress", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    # -- the proxy -------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stopping.is_set():
            sock = self._sock
            if sock is None:
                return
            try:
                conn, _ = sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), name="realcluster-webhook", daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(30)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
                if len(head) > 65536:
                    return
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, _, rest = line.partition(" ")
            target = rest.split(" ", 1)[0]
            if method != "CONNECT":
                conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                return
            host, _, port = target.rpartition(":")
            try:
                service = self._service_at(host.strip("[]"), int(port or 0))
            except Exception as exc:  # noqa: BLE001 (the API server is told, instead of a cut connection)
                log.warning("webhook proxy: cannot tell which Service %s is: %s", target, exc)
                conn.sendall(f"HTTP/1.1 503 Service Unavailable\r\n\r\ncannot resolve {target}: {exc}".encode())
                return
            if service is None:
                conn.sendall(f"HTTP/1.1 503 Service Unavailable\r\n\r\nnothing listens at {target}".encode())
                return
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            conn.settimeout(IDLE_TIMEOUT)
            tls = self._context(*service).wrap_socket(conn, server_side=True)
            _Handler(tls, (host, int(port or 0)), cast(Any, _Server(self, service)))  # quacks as a server
        except (OSError, ssl.SSLError, ValueError) as exc:
            log.debug("webhook connection ended: %s", exc)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _service_at(self, ip: str, port: int) -> tuple[str, str] | None:
        """The Service (namespace, name) with a ready endpoint at ``ip:port``, or whose cluster IP it is."""
        for slice_ in self.api.list("discovery.k8s.io/v1", "endpointslices"):
            service = (slice_["metadata"].get("labels") or {}).get("kubernetes.io/service-name")
            if not service or port not in {p.get("port") for p in slice_.get("ports") or []}:
                continue
            for endpoint in slice_.get("endpoints") or []:
                if ip in (endpoint.get("addresses") or []) and (endpoint.get("conditions") or {}).get("ready", True):
                    return slice_["metadata"]["namespace"], service
        for svc in self.api.list("v1", "services"):
            if ip in ((svc.get("spec") or {}).get("clusterIPs") or []):
                return svc["metadata"]["namespace"], svc["metadata"]["name"]
        return None

    def _context(self, namespace: str, name: str) -> ssl.SSLContext:
        with self._lock:
            found = self._contexts.get((namespace, name))
            if found is not None:
                return found
        dns = (f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local", f"{name}.{namespace}", name)
        pair = self.pki.issue(f"webhook-{namespace}-{name}", cn=dns[0], dns=dns, server=True)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(pair.cert), str(pair.key))
        context.set_alpn_protocols(["http/1.1"])
        with self._lock:
            self._contexts[(namespace, name)] = context
        return context

    # -- the webhook servers ---------------------------------------------------
    def answer(self, service: tuple[str, str], path: str, review: dict[str, Any]) -> dict[str, Any]:
        kind = review.get("kind")
        request = review.get("request") or {}
        if kind == "ConversionReview":
            desired = request.get("desiredAPIVersion")
            converted = [{**obj, "apiVersion": desired} for obj in request.get("objects") or []]
            self._record(service, path, kind, "CONVERT", desired or "", "", False)
            return {"apiVersion": review.get("apiVersion"), "kind": kind,
                    "response": {"uid": request.get("uid"), "convertedObjects": converted,
                                 "result": {"status": "Success"}}}
        resource = request.get("resource") or {}
        self._record(service, path, str(kind), str(request.get("operation") or ""),
                     "/".join(p for p in (resource.get("group"), resource.get("resource")) if p),
                     str(request.get("name") or ""), bool(request.get("dryRun")))
        return {"apiVersion": review.get("apiVersion") or "admission.k8s.io/v1", "kind": "AdmissionReview",
                "response": {"uid": request.get("uid"), "allowed": True}}

    def _record(self, service: tuple[str, str], path: str, kind: str, operation: str, resource: str, name: str,
                dry_run: bool) -> None:
        with self._lock:
            self.reviews.append(Review(service[0], service[1], path, kind, operation, resource, name, dry_run))


class _Server:
    """What BaseHTTPRequestHandler expects of its server, plus the Service it answers as."""

    def __init__(self, responder: Responder, service: tuple[str, str]) -> None:
        self.responder = responder
        self.service = service


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server  # type: ignore[assignment]

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        try:
            review = json.loads(self.rfile.read(length) or b"{}")
            body = json.dumps(self.server.responder.answer(self.server.service, self.path, review)).encode()
            code = 200
        except ValueError as exc:
            body, code = json.dumps({"error": str(exc)}).encode(), 400
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("webhook %s: " + format, self.server.service, *args)
