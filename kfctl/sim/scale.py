"""The ``scale`` subresource: an ``autoscaling/v1 Scale`` view of a workload's replicas."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from kfctl.sim import status
from kfctl.sim.decoding import decode_any
from kfctl.sim.options import JSON_PATCH, WriteOptions
from kfctl.sim.types import ResourceType

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

    from kfctl.sim.server import APIServer


def serve_scale(api: APIServer, h: BaseHTTPRequestHandler, method: str, rtype: ResourceType, namespace: str,
                name: str, raw: bytes, query: dict[str, str]) -> int:
    """PUT or PATCH of ``/scale``: set ``spec.replicas`` through the pipeline, answer the new Scale."""
    body = decode_any(raw, yaml_ok=False)
    current = scale_of(api.cluster.get_raw(rtype, namespace, name))
    if method == "PATCH":
        from kfctl.sim import patch as patchlib

        ctype = (h.headers.get("Content-Type") or "").split(";")[0].strip()
        try:
            body = patchlib.json_patch(current, body) if ctype == JSON_PATCH else patchlib.merge_patch(current, body)
        except patchlib.PatchError as exc:
            raise status.APIError(exc.code, exc.reason, exc.message) from None
    replicas = ((body or {}).get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise status.invalid("Scale", "autoscaling", name, [status.cause(
            "spec.replicas", "FieldValueInvalid", f"Invalid value: {json.dumps(replicas)}: must be greater than "
                                                  "or equal to 0")])

    def set_replicas(live: dict[str, Any]) -> dict[str, Any]:
        live.setdefault("spec", {})["replicas"] = replicas
        return live
    opts = WriteOptions(dry_run=query.get("dryRun") == "All", field_manager=query.get("fieldManager", ""),
                        user_agent=h.headers.get("User-Agent") or "")
    result = api.cluster.update_with(rtype, namespace, name, set_replicas, opts, subresource="scale")
    api.send(h, 200, scale_of(result.body))
    return 200


def scale_of(obj: dict[str, Any]) -> dict[str, Any]:
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    labels = ((spec.get("selector") or {}).get("matchLabels")) or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: obj["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                          "creationTimestamp") if k in obj["metadata"]},
            "spec": {"replicas": spec.get("replicas", 0)},
            "status": {"replicas": st.get("replicas", 0), "selector": ",".join(f"{k}={v}" for k, v in labels.items())}}
