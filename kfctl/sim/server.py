"""The HTTP face of the sim: a Kubernetes API server over real HTTP/1.1.

:class:`APIServer` turns requests into :class:`~kfctl.sim.cluster.Cluster`
calls and answers as kube-apiserver does: JSON bodies, ``Status`` errors,
``Table`` output for kubectl, chunked watch streams, ``Warning`` headers. It
also applies bearer-token auth, fault injection and request accounting. The
threading server keeps connections alive so clients reuse them.
"""

from __future__ import annotations

import hmac
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from kfctl.sim import discovery, status, tables
from kfctl.sim import protobuf as protobuf_codec
from kfctl.sim.cluster import Cluster
from kfctl.sim.decoding import (
    DroppedConnection, decode_any, decode_object, delete_options, injected_error, read_chunked, verb_of,
)
from kfctl.sim.faults import FaultInjector, Faults
from kfctl.sim.metrics import Metrics, RequestRecord
from kfctl.sim.options import APPLY, JSON_PATCH, MERGE, STRATEGIC, WriteOptions
from kfctl.sim.rbac import ADMIN, Attributes, Authorizer, User, access_review, rules_review
from kfctl.sim.scale import scale_of, serve_scale
from kfctl.sim.status import APIError
from kfctl.sim.types import ResourceType
from kfctl.sim.watch import serve_watch

log = logging.getLogger(__name__)

PATCH_TYPES = (JSON_PATCH, MERGE, STRATEGIC, APPLY)
REVIEWS = ("SelfSubjectAccessReview", "SelfSubjectRulesReview", "SelfSubjectReview")
TOKEN_PREFIX = "/_sim/token/"


def _dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()



class APIServer:
    """Routes and answers requests; shared by every connection thread."""

    def __init__(self, cluster: Cluster, *, token: str | None = None, faults: Faults | None = None,
                 bookmark_interval: float = 60.0, version: dict[str, Any] | None = None,
                 users: dict[str, User] | None = None) -> None:
        self.cluster = cluster
        self.users = dict(users or {})  # bearer token -> a non-admin user whose requests RBAC decides
        self.authorizer = Authorizer(cluster.store)
        self.version = version or discovery.server_version()
        self.token = token
        self.metrics = Metrics()
        self.faults = FaultInjector(faults)
        self.bookmark_interval = bookmark_interval
        self.address = "127.0.0.1:0"

    # -- entry ------------------------------------------------------------
    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        path = url.path.rstrip("/") or "/"
        if (h.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            raw = read_chunked(h.rfile)
        else:
            length = int(h.headers.get("Content-Length") or 0)
            raw = h.rfile.read(length) if length else b""
        prefix_token = None
        if path.startswith(TOKEN_PREFIX):  # a kubeconfig context of a shape's user (kubectl sends no token over http)
            prefix_token, _, rest = path[len(TOKEN_PREFIX):].partition("/")
            path = "/" + rest.rstrip("/") if rest.rstrip("/") else "/"
        record = {"verb": method.lower(), "resource": path, "namespace": "", "name": "", "dry_run": False}
        h._sim_request = record  # type: ignore[attr-defined]  # recorded by send(), before the client has the answer
        code = 500
        try:
            record["user"] = self._authenticate(h, prefix_token)
            code = self._route(h, method, path, query, raw, record)
        except DroppedConnection:
            code = 0
            h.close_connection = True
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        except APIError as exc:
            code = exc.code
            self.send(h, exc.code, exc.status(), exc.headers)
        except (BrokenPipeError, ConnectionResetError):
            code = 499
            h.close_connection = True
        except Exception as exc:  # a sim bug: answer like a server would, and log it
            log.exception("sim request %s %s failed", method, h.path)
            err = status.internal_error(f"{type(exc).__name__}: {exc}")
            code = 500
            try:
                self.send(h, 500, err.status())
            except OSError:
                pass
        self._record(h, code)  # answers that send() did not write: watches, dropped connections

    def _authenticate(self, h: BaseHTTPRequestHandler, prefix_token: str | None = None) -> User:
        """The admin (the sim's own token, or anyone when it has none) or a shape's user; 401 otherwise.

        A token may also come as the path prefix ``/_sim/token/<token>/``: kubectl and client-go send
        credentials only over TLS, so the kubeconfig contexts of a shape's users name it in the server URL.
        """
        header = h.headers.get("Authorization") or ""
        if prefix_token is not None:
            header = f"Bearer {prefix_token}"
        if self.users and header.startswith("Bearer "):
            for token, user in self.users.items():
                if hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
                    return user
        if self.token is not None and not hmac.compare_digest(header.encode(), f"Bearer {self.token}".encode()):
            raise status.unauthorized()
        if prefix_token is not None and self.token is None:
            raise status.unauthorized()  # a user's context with a token nobody has
        return ADMIN

    def _record(self, h: BaseHTTPRequestHandler, code: int) -> None:
        """Add the request to the metrics once: when its answer is about to go out, or when it ended without one.

        Recording before the answer is written means a client that has its answer finds the
        request in the timeline (a test reading the timeline right after a command exits).
        """
        record = getattr(h, "_sim_request", None)
        if record is None:
            return
        h._sim_request = None  # type: ignore[attr-defined]
        self.metrics.record(RequestRecord(self.cluster.clock.now(), record["verb"], record["resource"],
                                          record["namespace"], record["name"], code, record["dry_run"]))

    def send(self, h: BaseHTTPRequestHandler, code: int, body: Any, headers: dict[str, str] | None = None,
              warnings: list[str] | None = None, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else _dumps(body)
        self._record(h, code)
        h.send_response(code)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Cache-Control", "no-cache, private")
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        for text in warnings or []:
            h.send_header("Warning", f'299 - "{text.replace(chr(34), chr(92) + chr(34))}"')
        h.end_headers()
        h.wfile.write(data)

    # -- routing ----------------------------------------------------------
    def _route(self, h: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, str], raw: bytes,
               record: dict[str, Any]) -> int:
        types = self.cluster.types
        if path.startswith("/_sim/"):
            return self._sim_endpoint(h, method, path, raw)
        user: User = record.get("user", ADMIN)
        segments = path.strip("/").split("/")
        resource_request = (segments[0] == "api" and len(segments) >= 3) or (segments[0] == "apis" and
                                                                             len(segments) >= 4)
        if not user.admin and not resource_request:  # discovery, /version, /openapi, health: non-resource URLs
            self.authorizer.authorize(user, Attributes(verb=method.lower(), path=path))
        if method != "GET" and (path in ("/version", "/api", "/apis") or path.startswith("/openapi")):
            raise status.method_not_allowed("")
        if path in ("/healthz", "/livez", "/readyz"):
            self.send(h, 200, b"ok", content_type="text/plain; charset=utf-8")
            return 200
        if path == "/version":
            self.send(h, 200, self.version)
            return 200
        if path in ("/api", "/apis"):
            if discovery.wants_aggregated(h.headers.get("Accept") or ""):
                self.send(h, 200, discovery.aggregated(types, core=path == "/api"),
                           content_type=discovery.AGGREGATED_V2)
            elif path == "/api":
                self.send(h, 200, discovery.api_versions(self.address))
            else:
                self.send(h, 200, discovery.api_group_list(types))
            return 200
        if path == "/openapi/v2":
            # kubectl reads v2 (as protobuf) only to validate kinds v3 says nothing about: an empty
            # document (zero protobuf bytes) makes it skip client-side checks, as for unknown kinds
            if "protobuf" in (h.headers.get("Accept") or ""):
                self.send(h, 200, b"", content_type=discovery.OPENAPI_V2_PROTOBUF)
            else:
                self.send(h, 200, discovery.OPENAPI_V2_EMPTY)
            return 200
        if path == "/openapi/v3":
            self.send(h, 200, discovery.openapi_root(types))
            return 200
        if path.startswith("/openapi/v3/"):
            parts = path[len("/openapi/v3/"):].split("/")
            doc = None
            if len(parts) == 2 and parts[0] == "api":
                doc = discovery.openapi_gv(types, "", parts[1])
            elif len(parts) == 3 and parts[0] == "apis":
                doc = discovery.openapi_gv(types, parts[1], parts[2])
            if doc is None:
                raise status.path_not_found()
            self.send(h, 200, doc)
            return 200
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 2:
            if len(parts) == 2:
                doc = discovery.api_group(types, parts[1])
                if doc is None:
                    raise status.path_not_found()
                self.send(h, 200, doc)
                return 200
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise status.path_not_found()
        if not rest:
            if method != "GET":
                raise status.method_not_allowed("")
            doc = discovery.resource_list(types, group, version)
            if doc is None:
                raise status.path_not_found()
            self.send(h, 200, doc)
            return 200
        return self._resource(h, method, group, version, rest, query, raw, record)

    def _sim_endpoint(self, h: BaseHTTPRequestHandler, method: str, path: str, raw: bytes) -> int:
        if path == "/_sim/metrics" and method == "GET":
            self.send(h, 200, self.metrics.snapshot())
            return 200
        if path == "/_sim/faults":
            if method in ("PUT", "POST"):
                try:
                    self.faults.configure(Faults.from_dict(json.loads(raw or b"{}")))
                except (ValueError, TypeError) as exc:
                    raise status.bad_request(str(exc)) from None
            elif method != "GET":
                raise status.method_not_allowed("")
            self.send(h, 200, self.faults.faults.to_dict())
            return 200
        raise status.path_not_found()

    # -- resources --------------------------------------------------------
    def _resource(self, h: BaseHTTPRequestHandler, method: str, group: str, version: str, rest: list[str],
                  query: dict[str, str], raw: bytes, record: dict[str, Any]) -> int:
        watch = query.get("watch") in ("true", "1")
        if rest[0] == "watch":
            watch, rest = True, rest[1:]
        namespace = ""
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise status.path_not_found()
        plural = rest[0]
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        verb = verb_of(method, name, watch)
        user: User = record.get("user", ADMIN)
        if not user.admin:
            self.authorizer.authorize(user, Attributes(
                verb="patch" if verb == "apply" else verb, group=group, resource=plural, subresource=sub,
                namespace=namespace, name=name))
        rtype = self.cluster.types.lookup(group, version, plural)
        if rtype is None or (namespace and not rtype.namespaced):
            raise status.path_not_found()
        if sub and sub not in rtype.subresources:
            raise status.path_not_found()
        if sub and verb not in ("get", "update", "patch"):
            raise status.method_not_allowed(verb)
        if verb == "patch" and (h.headers.get("Content-Type") or "").split(";")[0].strip() == APPLY:
            verb = "apply"
        dry_run = query.get("dryRun", "")
        if dry_run and dry_run != "All":
            options = {"create": "CreateOptions", "delete": "DeleteOptions", "deletecollection": "DeleteOptions",
                       "update": "UpdateOptions"}.get(verb, "PatchOptions")
            raise status.invalid_options(options, "dryRun", "FieldValueNotSupported",
                                         f'Unsupported value: ["{dry_run}"]: supported values: "All"')
        record.update(verb=verb, resource=f"{plural}/{sub}" if sub else plural, namespace=namespace, name=name,
                      dry_run=bool(dry_run))
        decision = self.faults.decide(verb)
        if decision.delay:
            self.cluster.clock.sleep(decision.delay)
        if decision.drop:
            raise DroppedConnection()
        if decision.code:
            raise injected_error(decision.code, rtype, name, self.faults.faults.retry_after)
        table = "as=Table" in (h.headers.get("Accept") or "")
        if verb == "watch":
            return serve_watch(self, h, rtype, namespace, name, query, table, decision.cut_watch_after)
        if verb in ("get", "list"):
            return self._read(h, rtype, namespace, name, sub, query, table, verb)
        if sub == "scale":
            return serve_scale(self, h, method, rtype, namespace, name, raw, query)
        opts = WriteOptions(dry_run=bool(dry_run), field_manager=query.get("fieldManager", ""),
                            field_validation=query.get("fieldValidation") or "Warn",
                            force=query.get("force") in ("true", "1"), user_agent=h.headers.get("User-Agent") or "")
        protobuf = (h.headers.get("Content-Type") or "").startswith(protobuf_codec.PROTOBUF)
        if verb == "create":
            if not namespace and rtype.namespaced:
                raise status.path_not_found()
            body = protobuf_codec.decode(raw) if protobuf else decode_object(raw, rtype)
            if rtype.group in ("authorization.k8s.io", "authentication.k8s.io") and rtype.kind in REVIEWS:
                return self._review(h, rtype, body, user)
            result = self.cluster.create(rtype, namespace, body, opts)
            record["name"] = (result.body.get("metadata") or {}).get("name", "")
        elif verb == "update":
            body = protobuf_codec.decode(raw) if protobuf else decode_object(raw, rtype)
            if sub == "finalize":
                finalizers = (body.get("spec") or {}).get("finalizers") or []

                def set_finalizers(live: dict[str, Any]) -> dict[str, Any]:
                    live.setdefault("spec", {})["finalizers"] = finalizers
                    return live
                result = self.cluster.update_with(rtype, namespace, name, set_finalizers, opts)
            else:
                result = self.cluster.update(rtype, namespace, name, body, opts, sub)
        elif verb in ("patch", "apply"):
            content_type = (h.headers.get("Content-Type") or "").split(";")[0].strip()
            if content_type not in PATCH_TYPES:
                raise status.unsupported_media_type(content_type, list(PATCH_TYPES))
            body = decode_any(raw, yaml_ok=content_type == APPLY)
            result = self.cluster.patch(rtype, namespace, name, content_type, body, opts, sub)
        elif verb == "delete":
            result = self.cluster.delete(rtype, namespace, name, delete_options(raw, query))
        elif verb == "deletecollection":
            body = self.cluster.delete_collection(
                rtype, namespace or None, label_selector=query.get("labelSelector"),
                field_selector=query.get("fieldSelector"), opts=delete_options(raw, query))
            self.send(h, 200, body)
            return 200
        else:
            raise status.method_not_allowed(verb)
        self.send(h, result.code, result.body, warnings=result.warnings)
        return result.code

    def _review(self, h: BaseHTTPRequestHandler, rtype: ResourceType, body: dict[str, Any], user: User) -> int:
        """SelfSubjectAccessReview / SelfSubjectRulesReview / SelfSubjectReview, answered for the requesting user."""
        result = self.cluster.create(rtype, "", body, WriteOptions(field_validation="Ignore")).body
        spec = result.get("spec") or {}
        if rtype.kind == "SelfSubjectReview":  # who am I: kubectl auth whoami, kfctl's messages
            result["status"] = {"userInfo": {"username": user.name, "groups": list(user.all_groups)}}
        elif rtype.kind == "SelfSubjectAccessReview":
            result["status"] = access_review(self.authorizer, user, spec)
        else:
            result["status"] = rules_review(self.authorizer, user, spec.get("namespace", ""))
        self.send(h, 201, result)
        return 201

    def _read(self, h: BaseHTTPRequestHandler, rtype: ResourceType, namespace: str, name: str, sub: str,
              query: dict[str, str], table: bool, verb: str) -> int:
        if "get" not in rtype.verbs and "list" not in rtype.verbs:
            raise status.method_not_allowed(verb)
        include = query.get("includeObject", "Metadata")
        now = self.cluster.clock.now()
        if verb == "get":
            obj = self.cluster.get_raw(rtype, namespace, name)
            if sub == "scale":
                self.send(h, 200, scale_of(obj))
                return 200
            body = tables.table(rtype, [obj], now, include_object=include) if table and not sub else obj
            self.send(h, 200, body)
            return 200
        try:
            limit = int(query.get("limit") or 0)
        except ValueError:
            raise status.bad_request(f'limit: Invalid value: "{query["limit"]}"') from None
        listing = self.cluster.list_raw(rtype, namespace or None, label_selector=query.get("labelSelector"),
                                        field_selector=query.get("fieldSelector"), limit=limit,
                                        continue_token=query.get("continue"))
        if table:
            meta = listing["metadata"]
            body = tables.table(rtype, listing["items"], now, resource_version=meta["resourceVersion"],
                                continue_token=meta.get("continue", ""), include_object=include)
        else:
            body = listing
        self.send(h, 200, body)
        return 200

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kfctl-sim"
    sys_version = ""
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self.server.api.handle(self, "GET")

    def do_POST(self) -> None:
        self.server.api.handle(self, "POST")

    def do_PUT(self) -> None:
        self.server.api.handle(self, "PUT")

    def do_PATCH(self) -> None:
        self.server.api.handle(self, "PATCH")

    def do_DELETE(self) -> None:
        self.server.api.handle(self, "DELETE")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], api: APIServer) -> None:
        self.api = api
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut every open connection (keep-alive clients, watches), as a server going away does."""
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("sim connection from %s ended with an error", client_address, exc_info=True)


def make_http_server(api: APIServer, host: str = "127.0.0.1", port: int = 0) -> _HTTPServer:
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"the sim listens on loopback only, not {host}")
    server = _HTTPServer((host, port), api)
    api.address = f"{host}:{server.server_address[1]}"
    return server
