"""A thin, thread-safe facade over the official client for what kfctl does to a cluster.

Manifests in, plain dicts out, kfctl errors on failure (see
:mod:`kfctl.cluster.errors`). Discovery goes through the official
``DynamicClient``; a kind it does not know triggers one discovery refresh
(a CRD may just have been established) before :class:`KindNotServed`.
"""

from __future__ import annotations

import builtins
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import urllib3
from kubernetes import client as k8s_client
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError

from kfctl.cluster import kubeconfig as kubeconfig_mod
from kfctl.cluster.errors import (
    ApiError,
    ClusterTLSError,
    ClusterUnreachable,
    CredentialsError,
    KindNotServed,
    NotFound,
    NotKubernetes,
    body_gist,
    tls_detail,
    translate,
)

FIELD_MANAGER = "kfctl"

NO_CLUSTER_HINT = kubeconfig_mod.NO_CLUSTER_HINT


@dataclass(frozen=True)
class ResourceInfo:
    api_version: str
    kind: str
    plural: str
    namespaced: bool


def _ref(api_version: str, kind: str, namespace: str | None, name: str | None) -> str:
    where = f"{namespace}/" if namespace else ""
    return f"{kind}/{where}{name}" if name else f"{kind} ({api_version})"


class Cluster:
    """One connection to one cluster. Safe to share between threads."""

    def __init__(self, api_client: k8s_client.ApiClient, *, context: str | None = None) -> None:
        self.api_client = api_client
        self.context = context
        self.server = api_client.configuration.host
        cache = Path(tempfile.gettempdir()) / f"kfctl-discovery-{os.getpid()}-{id(self)}.json"
        self._cache_file = cache
        self._dynamic_client: DynamicClient | None = None
        self._lock = threading.Lock()
        self._resources: dict[tuple[str, str], ResourceInfo] = {}
        self._raw: dict[tuple[str, str], Any] = {}

    # -- discovery -----------------------------------------------------------------
    @property
    def _dynamic(self) -> DynamicClient:
        # Created on first use: constructing it already asks the server for its version.
        if self._dynamic_client is None:
            try:
                self._dynamic_client = DynamicClient(self.api_client, cache_file=str(self._cache_file))
            except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
                raise translate(exc, obj="discovery") from exc
        return self._dynamic_client

    def resource(self, api_version: str, kind: str) -> ResourceInfo:
        key = (api_version, kind)
        with self._lock:
            if key in self._resources:
                return self._resources[key]
            raw = None
            for attempt in range(2):
                try:
                    raw = self._dynamic.resources.get(api_version=api_version, kind=kind)
                    break
                except ResourceNotFoundError:
                    # Refresh the whole discovery cache only when the server really serves the kind now
                    # (a CRD was just established): one small request per miss instead of a storm.
                    if attempt == 0 and self._serves(api_version, kind):
                        self._dynamic.resources.invalidate_cache()
                    else:
                        break
                except (ApiException, DynamicApiError, urllib3.exceptions.HTTPError, OSError) as exc:
                    raise translate(exc, obj=f"{kind} ({api_version})") from exc
            if raw is None:
                raise KindNotServed(
                    f'the server does not serve kind "{kind}" in version "{api_version}"',
                    obj=f"{kind} ({api_version})",
                    hint="if a CustomResourceDefinition for it is being installed, it is not established yet",
                )
            info = ResourceInfo(api_version, kind, raw.name, bool(raw.namespaced))
            self._resources[key] = info
            self._raw[key] = raw
            return info

    def serves(self, api_version: str, kind: str) -> bool:
        """Whether the server serves the kind now (discovery only; never raises :class:`KindNotServed`).

        For readers (diff, status, delete) that must not wait for a kind to appear: a
        kind that is not served has no live objects. Apply waits for it instead.
        """
        try:
            self.resource(api_version, kind)
        except KindNotServed:
            return False
        return True

    def _serves(self, api_version: str, kind: str) -> bool:
        """Ask the server's discovery document of one group version whether it serves ``kind``."""
        path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        try:
            listing = self._dynamic.request("get", path, serialize=False)
        except (ApiException, DynamicApiError, urllib3.exceptions.HTTPError, OSError):
            return False
        data = json.loads(listing.data) if getattr(listing, "data", None) else {}
        return any(r.get("kind") == kind and "/" not in r.get("name", "") for r in data.get("resources") or ())

    def forget_discovery(self) -> None:
        with self._lock:
            self._resources.clear()
            self._raw.clear()
            if self._dynamic_client is not None:
                self._dynamic_client.resources.invalidate_cache()

    def _resource_raw(self, api_version: str, kind: str) -> Any:
        self.resource(api_version, kind)
        return self._raw[(api_version, kind)]

    # -- requests ------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ApiException, DynamicApiError) as exc:
            raise translate(getattr(exc, "exc", exc) if isinstance(exc, DynamicApiError) else exc, obj=what) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise translate(exc, obj=what) from exc

    def _path(self, info: ResourceInfo, namespace: str | None, name: str | None = None) -> str:
        raw = self._raw[(info.api_version, info.kind)]
        return str(raw.path(name=name, namespace=namespace if info.namespaced else None))

    def _request(self, method: str, path: str, what: str, *, body: Any = None, **params: Any) -> Any:
        response = self._call(what, self._dynamic.request, method, path, body=body, serialize=False, **params)
        data = response.data if hasattr(response, "data") else response
        return json.loads(data) if data else None

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The live object, or None when it does not exist."""
        info = self.resource(api_version, kind)
        what = _ref(api_version, kind, namespace, name)
        try:
            return cast("dict[str, Any] | None", self._request("get", self._path(info, namespace, name), what))
        except NotFound:
            return None

    def list(
        self, api_version: str, kind: str, *, namespace: str | None = None, label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[dict[str, Any]], str]:
        """All objects of a kind (in one namespace or all), and the list's resourceVersion."""
        info = self.resource(api_version, kind)
        what = _ref(api_version, kind, namespace, None)
        items: list[dict[str, Any]] = []
        token = None
        while True:
            data = self._request(
                "get", self._path(info, namespace), what, label_selector=label_selector, field_selector=field_selector,
                limit=500, _continue=token,
            )
            for item in data.get("items") or ():
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
                items.append(item)
            token = (data.get("metadata") or {}).get("continue")
            if not token:
                return items, (data.get("metadata") or {}).get("resourceVersion", "")

    def apply(self, manifest: Mapping[str, Any], *, force: bool = False, dry_run: bool = False) -> dict[str, Any]:
        """Server-side apply as field manager ``kfctl``; returns the object as the server stored it."""
        api_version, kind = str(manifest["apiVersion"]), str(manifest["kind"])
        meta = manifest.get("metadata") or {}
        info = self.resource(api_version, kind)
        what = _ref(api_version, kind, meta.get("namespace"), meta.get("name"))
        return cast("dict[str, Any]", self._request(
            "patch",
            self._path(info, meta.get("namespace"), meta["name"]),
            what,
            body=dict(manifest),
            content_type="application/apply-patch+yaml",
            field_manager=FIELD_MANAGER,
            force_conflicts=force or None,
            dry_run="All" if dry_run else None,
        ))

    def merge_patch(self, api_version: str, kind: str, namespace: str | None, name: str, patch: Mapping[str, Any],
                    *, field_manager: str = FIELD_MANAGER) -> dict[str, Any]:
        info = self.resource(api_version, kind)
        what = _ref(api_version, kind, namespace, name)
        return cast("dict[str, Any]", self._request(
            "patch", self._path(info, namespace, name), what, body=dict(patch),
            content_type="application/merge-patch+json", field_manager=field_manager,
        ))

    def delete(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        name: str,
        *,
        propagation: str = "Background",
        dry_run: bool = False,
        resource_version: str | None = None,
    ) -> dict[str, Any] | None:
        """Delete one object; None if it was already gone."""
        info = self.resource(api_version, kind)
        what = _ref(api_version, kind, namespace, name)
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        if resource_version:
            body["preconditions"] = {"resourceVersion": resource_version}
        if dry_run:
            body["dryRun"] = ["All"]
        try:
            return cast("dict[str, Any] | None",
                        self._request("delete", self._path(info, namespace, name), what, body=body))
        except NotFound:
            return None

    def watch(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        timeout_seconds: int | None = None,
        stopper: threading.Event | None = None,
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield ``(type, object)`` watch events until the server ends the stream or ``stopper`` is set."""
        raw = self._resource_raw(api_version, kind)
        watcher = k8s_watch.Watch()
        what = _ref(api_version, kind, namespace, None)
        try:
            stream = watcher.stream(
                raw.get,
                namespace=namespace if raw.namespaced else None,
                label_selector=label_selector,
                field_selector=field_selector,
                resource_version=resource_version,
                timeout_seconds=timeout_seconds,
                allow_watch_bookmarks=True,
                serialize=False,
            )
            for event in stream:
                if stopper is not None and stopper.is_set():
                    watcher.stop()
                    return
                obj = event.get("raw_object") or event.get("object")
                if isinstance(obj, (bytes, str)):
                    obj = json.loads(obj)
                yield event["type"], obj
        except (ApiException, DynamicApiError) as exc:
            raise translate(getattr(exc, "exc", exc) if isinstance(exc, DynamicApiError) else exc, obj=what) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise translate(exc, obj=what) from exc

    # (`list` in this class body is the method above: the built-in is builtins.list)
    def namespaced_kinds(self) -> builtins.list[tuple[str, str]]:
        """(apiVersion, kind) of every namespaced, listable resource the server serves (preferred versions)."""
        found: builtins.list[tuple[str, str]] = []
        versions = ["v1"]
        groups = self._request("get", "/apis", "discovery") or {}
        for group in groups.get("groups") or ():
            preferred = (group.get("preferredVersion") or {}).get("groupVersion")
            if preferred:
                versions.append(preferred)
        for group_version in versions:
            path = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
            try:
                listing = self._request("get", path, f"discovery of {group_version}") or {}
            except ApiError:
                continue  # an aggregated API that is down: nothing of it can be listed anyway
            for res in listing.get("resources") or ():
                if "/" in res.get("name", "") or not res.get("namespaced") or "list" not in (res.get("verbs") or ()):
                    continue
                found.append((group_version, res["kind"]))
        return found

    def access_review(self, verb: str, group: str, resource: str, namespace: str | None) -> tuple[bool, str] | None:
        """May these credentials ``verb`` ``resource`` (SelfSubjectAccessReview)? ``(allowed, reason)``;
        None when the server does not answer access reviews (kfctl then learns from the writes)."""
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {"verb": verb, "group": group, "resource": resource,
                                                **({"namespace": namespace} if namespace else {})}}}
        try:
            review = self._request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                                   "SelfSubjectAccessReview", body=body)
        except ApiError as exc:
            if exc.status in (404, 405) or exc.transient:
                return None
            raise
        status = (review or {}).get("status") or {}
        return bool(status.get("allowed")), str(status.get("reason") or "")

    def server_version(self) -> dict[str, Any]:
        """The server's ``GET /version`` document (``major``, ``minor``, ``gitVersion``, ...)."""
        return dict(self._request("GET", "/version", "GET /version") or {})

    def user(self) -> str:
        """Who the server says these credentials are (SelfSubjectReview), or '' when it does not say."""
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        try:
            review = self._request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", "SelfSubjectReview",
                                   body=body)
        except ApiError:
            return ""
        return str((((review or {}).get("status") or {}).get("userInfo") or {}).get("username") or "")

    def identity(self) -> str:
        """A stable identity of the cluster: the UID of kube-system (falls back to the server URL)."""
        live = self.get("v1", "Namespace", None, "kube-system")
        uid = ((live or {}).get("metadata") or {}).get("uid")
        return str(uid or self.server)

    def close(self) -> None:
        self.api_client.close()
        self._cache_file.unlink(missing_ok=True)


#: (connect, read) seconds for the first request: a TLS or credential problem answers at once, a dead
#: address must not hold the user for minutes
PROBE_TIMEOUT = (4.0, 10.0)


def connect(kubeconfig: str | None, context: str | None, *, check: bool = True) -> Cluster:
    """Open the cluster a kubeconfig points at; ClusterConfigError/ClusterUnreachable (exit 2) if we cannot.

    ``kubeconfig`` is the ``--kubeconfig`` file; without it ``$KUBECONFIG`` (a path list, merged as
    kubectl does) or ``~/.kube/config`` (see :mod:`kfctl.cluster.kubeconfig`). With ``check`` one
    ``GET /version`` proves the server is a Kubernetes API that accepts the credentials, so that
    a TLS, credential or address problem ends here, in seconds, with a message saying what to do.
    """
    kc = kubeconfig_mod.load(kubeconfig, context)
    configuration = k8s_client.Configuration()
    kc.apply_to(configuration)
    configuration.retries = False  # kfctl retries with its own backoff; fail fast here
    configuration.connection_pool_maxsize = 64  # one watch per kind plus the apply workers
    api_client = k8s_client.ApiClient(configuration)
    cluster = Cluster(api_client, context=kc.context)
    if check:
        try:
            probe(api_client, kc)
        except BaseException:
            cluster.close()
            raise
    return cluster


def _tls_error(server: str, kc: kubeconfig_mod.KubeConfig, text: str) -> ClusterTLSError:
    detail = tls_detail(text)
    lowered = detail.lower()
    ca_hint = (f"set certificate-authority-data of cluster {kc.cluster_name!r} ({kc.describe()}) to the CA that "
               "signed the API server's certificate (your cluster provider's `get-credentials` command writes it)")
    if "expired" in lowered:
        return ClusterTLSError(
            f"the API server at {server} presents an expired TLS certificate ({detail})",
            hint="renew the cluster's serving certificate (`kubeadm certs renew`, or your provider's rotation); "
                 f"also check this machine's clock. Nothing was changed")
    if "mismatch" in lowered or "doesn't match" in lowered:
        return ClusterTLSError(
            f"the TLS certificate of the API server at {server} is not valid for that address ({detail})",
            hint=f"use the server name the certificate names, or set tls-server-name of cluster {kc.cluster_name!r}")
    if "wrong version number" in lowered or "wrong_version_number" in lowered or "record layer" in lowered:
        return ClusterTLSError(
            f"the server at {server} does not speak TLS ({detail})",
            hint=f"check the server URL of cluster {kc.cluster_name!r}: http:// vs https://, and the port")
    if "self-signed" in lowered or "self signed" in lowered or "issuer" in lowered or "unable to verify" in lowered:
        return ClusterTLSError(
            f"cannot verify the TLS certificate of the API server at {server}: it is not signed by a CA "
            f"the kubeconfig trusts ({detail})", hint=ca_hint)
    return ClusterTLSError(f"TLS handshake with the API server at {server} failed ({detail})", hint=ca_hint)


def probe(api_client: k8s_client.ApiClient, kc: kubeconfig_mod.KubeConfig) -> None:
    """One ``GET /version`` with short timeouts; every way it can fail becomes a clear exit-2 error."""
    server = kc.server
    try:
        response: Any = k8s_client.VersionApi(api_client).get_code_with_http_info(
            _preload_content=False, _request_timeout=PROBE_TIMEOUT)
    except ApiException as exc:  # the client wraps TLS failures as status 0, and raises on an error status
        if exc.status:
            _check_answer(kc, int(exc.status), exc.body or b"", dict(exc.headers or {}))
            return
        if "SSLError" in str(exc.reason or ""):
            raise _tls_error(server, kc, str(exc.reason)) from None
        raise ClusterUnreachable(f"cannot reach the API server at {server}: {translate(exc).api_message}",
                                 hint="is the cluster running and the kubeconfig current? nothing was changed") from None
    except urllib3.exceptions.SSLError as exc:
        raise _tls_error(server, kc, str(exc)) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        text = str(exc)
        if "refused" in text:
            why = "connection refused"
        elif "timed out" in text or type(exc) is urllib3.exceptions.ConnectTimeoutError:
            why = f"no answer within {PROBE_TIMEOUT[0]:g}s" if "connect" in text.lower() else "timed out"
        elif "Name or service not known" in text or "nodename nor servname" in text or "resolve" in text:
            why = "the host name does not resolve"
        else:
            why = text.split(": ", 1)[-1] if ": " in text else text
        raise ClusterUnreachable(f"cannot reach the API server at {server}: {why}",
                                 hint=f"is the cluster running and the server URL of cluster {kc.cluster_name!r} "
                                      f"({kc.describe()}) current? nothing was changed") from None
    try:
        body = response.data or b""
    finally:
        response.release_conn()
    _check_answer(kc, int(getattr(response, "status", 0) or 0), body, dict(getattr(response, "headers", None) or {}))


def _check_answer(kc: kubeconfig_mod.KubeConfig, status: int, body: bytes | str, headers: dict[str, str]) -> None:
    server = kc.server
    if status in (401, 403):
        who = f"user {kc.user_name!r}" if kc.user_name else "no credentials (the context names no user)"
        raise CredentialsError(
            f"the API server at {server} refused kfctl's credentials ({status} "
            f"{'Unauthorized' if status == 401 else 'Forbidden'}): {who} of {kc.describe()}",
            hint="the token or certificate has expired or is wrong: fetch the credentials again "
                 "(your provider's `get-credentials`), or use another --context")
    try:
        info = json.loads(body)
    except ValueError:
        info = None
    if status != 200 or not isinstance(info, dict) or "gitVersion" not in info:
        ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        gist = body_gist(body)
        raise NotKubernetes(
            f"the server at {server} is not a Kubernetes API server: GET /version answered HTTP {status}"
            + (f" ({ctype.split(';')[0]})" if ctype else "") + (f": {gist}" if gist else ""),
            hint=f"check the server URL of cluster {kc.cluster_name!r} ({kc.describe()}): it must be the API "
                 "server's, not a dashboard's or a proxy's")


__all__ = ["FIELD_MANAGER", "ApiError", "Cluster", "ResourceInfo", "connect"]
