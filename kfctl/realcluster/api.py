"""A small JSON client of the real API server for the harness's own players.

The harness stands in for controllers that do not run under KWOK (cert-manager,
CA writers, a load-balancer controller, webhook servers). It talks to the API
server over HTTPS with its own client certificate, so its requests are told
apart from kfctl's in the audit log. Only ``kfctl/cluster`` imports the
``kubernetes`` package; this uses httpx, which kfctl already depends on.
"""

from __future__ import annotations

import builtins

import json
import ssl
from typing import Any
from urllib.parse import quote

import httpx

GROUPLESS = ("", "v1")


class APIError(RuntimeError):
    def __init__(self, code: int, body: str) -> None:
        super().__init__(f"{code}: {body[:300]}")
        self.code = code


def path(api_version: str, plural: str, namespace: str | None = None, name: str | None = None,
         sub: str | None = None) -> str:
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    if namespace:
        base += f"/namespaces/{quote(namespace)}"
    base += f"/{plural}"
    if name:
        base += f"/{quote(name)}"
    if sub:
        base += f"/{sub}"
    return base


class API:
    """GET/LIST/POST/PATCH against ``server`` with a client certificate."""

    def __init__(self, server: str, ca: str, cert: str, key: str, *, user_agent: str = "kfctl-realcluster") -> None:
        context = ssl.create_default_context(cafile=ca)
        context.load_cert_chain(cert, key)
        self._http = httpx.Client(base_url=server, verify=context, timeout=10.0,
                                  headers={"User-Agent": user_agent})

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, url: str, *, body: Any = None, content_type: str = "application/json",
                params: dict[str, str] | None = None, accept: str = "application/json") -> Any:
        data = None if body is None else json.dumps(body).encode()
        answer = self._http.request(method, url, content=data, params=params,
                                    headers={"Content-Type": content_type, "Accept": accept})
        if answer.status_code == 404 and method == "GET":
            return None
        if answer.status_code >= 300:
            raise APIError(answer.status_code, answer.text)
        return answer.json() if answer.content else None

    def get(self, api_version: str, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.request("GET", path(api_version, plural, namespace, name))

    def list(self, api_version: str, plural: str, namespace: str | None = None, *,
             metadata_only: bool = False) -> list[dict[str, Any]]:
        """Items (``[]`` when the kind is not served); ``metadata_only`` asks for PartialObjectMetadata."""
        accept = ("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1" if metadata_only
                  else "application/json")
        found = self.request("GET", path(api_version, plural, namespace), accept=accept)
        return list((found or {}).get("items") or [])

    def create(self, api_version: str, plural: str, namespace: str | None, body: dict[str, Any],
               manager: str) -> dict[str, Any]:
        return self.request("POST", path(api_version, plural, namespace), body=body, params={"fieldManager": manager})

    def merge_patch(self, api_version: str, plural: str, namespace: str | None, name: str, body: dict[str, Any],
                    manager: str, sub: str | None = None) -> dict[str, Any]:
        return self.request("PATCH", path(api_version, plural, namespace, name, sub), body=body,
                            content_type="application/merge-patch+json", params={"fieldManager": manager})

    def json_patch(self, api_version: str, plural: str, namespace: str | None, name: str,
                   operations: builtins.list[dict[str, Any]], manager: str) -> dict[str, Any]:
        return self.request("PATCH", path(api_version, plural, namespace, name), body=operations,
                            content_type="application/json-patch+json", params={"fieldManager": manager})
