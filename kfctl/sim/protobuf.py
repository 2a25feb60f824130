"""Just enough Kubernetes protobuf to read what kubectl's typed clients send.

``kubectl create namespace|configmap|secret|serviceaccount`` and ``kubectl auth can-i [--list]`` POST their object
as ``application/vnd.kubernetes.protobuf`` (a ``k8s\\0`` magic and a
``runtime.Unknown`` envelope). The sim answers in JSON (clients accept it) and
decodes request bodies of those kinds with the field numbers of the upstream
``generated.proto`` files; any other protobuf body is 415 with a hint to send JSON.
"""

from __future__ import annotations

import base64
from typing import Any

from kfctl.sim import status

MAGIC = b"k8s\x00"
PROTOBUF = "application/vnd.kubernetes.protobuf"

_OWNER_REF = {1: ("kind", "s"), 3: ("name", "s"), 4: ("uid", "s"), 5: ("apiVersion", "s"),
              6: ("controller", "b"), 7: ("blockOwnerDeletion", "b")}
_OBJECT_META = {1: ("name", "s"), 2: ("generateName", "s"), 3: ("namespace", "s"), 5: ("uid", "s"),
                6: ("resourceVersion", "s"), 7: ("generation", "i"), 11: ("labels", "map"),
                12: ("annotations", "map"), 13: ("ownerReferences", ("list", _OWNER_REF)), 14: ("finalizers", "ls")}
_LOCAL_REF = {1: ("name", "s")}
_OBJECT_REF = {1: ("kind", "s"), 2: ("namespace", "s"), 3: ("name", "s"), 4: ("uid", "s"), 5: ("apiVersion", "s")}
_RESOURCE_ATTRS = {1: ("namespace", "s"), 2: ("verb", "s"), 3: ("group", "s"), 4: ("version", "s"),
                   5: ("resource", "s"), 6: ("subresource", "s"), 7: ("name", "s")}
_NON_RESOURCE_ATTRS = {1: ("path", "s"), 2: ("verb", "s")}
KINDS: dict[tuple[str, str], dict[int, tuple[str, Any]]] = {
    ("v1", "Namespace"): {1: ("metadata", _OBJECT_META), 2: ("spec", {1: ("finalizers", "ls")})},
    ("v1", "ConfigMap"): {1: ("metadata", _OBJECT_META), 2: ("data", "map"), 3: ("binaryData", "mapb"),
                          4: ("immutable", "b")},
    ("v1", "Secret"): {1: ("metadata", _OBJECT_META), 2: ("data", "mapb"), 3: ("type", "s"),
                       4: ("stringData", "map"), 5: ("immutable", "b")},
    ("v1", "ServiceAccount"): {1: ("metadata", _OBJECT_META), 2: ("secrets", ("list", _OBJECT_REF)),
                               3: ("imagePullSecrets", ("list", _LOCAL_REF)),
                               4: ("automountServiceAccountToken", "b")},
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): {
        1: ("metadata", _OBJECT_META),
        2: ("spec", {1: ("resourceAttributes", _RESOURCE_ATTRS), 2: ("nonResourceAttributes", _NON_RESOURCE_ATTRS)})},
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): {
        1: ("metadata", _OBJECT_META), 2: ("spec", {1: ("namespace", "s")})},
    ("authentication.k8s.io/v1", "SelfSubjectReview"): {1: ("metadata", _OBJECT_META)},  # kubectl auth whoami
}


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) triples of one message."""
    out, pos = [], 0

    def varint() -> int:
        nonlocal pos
        result = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    while pos < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            value: Any = varint()
        elif wire == 2:
            length = varint()
            value = data[pos:pos + length]
            pos += length
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _message(data: bytes, schema: dict[int, tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, _, value in _fields(data):
        if number not in schema:
            continue
        name, kind = schema[number]
        if kind == "s":
            if value:  # gogo-protobuf writes unset strings as "": JSON would omit them
                obj[name] = value.decode()
        elif kind == "b":
            obj[name] = bool(value)
        elif kind == "i":
            if value:
                obj[name] = value
        elif kind == "ls":
            obj.setdefault(name, []).append(value.decode())
        elif kind in ("map", "mapb"):
            entry = {n: v for n, _, v in _fields(value)}
            raw = entry.get(2, b"")
            obj.setdefault(name, {})[entry.get(1, b"").decode()] = (
                base64.b64encode(raw).decode() if kind == "mapb" else raw.decode())
        elif isinstance(kind, tuple):
            obj.setdefault(name, []).append(_message(value, kind[1]))
        else:
            obj[name] = _message(value, kind)
    return obj


def decode(raw: bytes) -> dict[str, Any]:
    """A protobuf-encoded object as the JSON dict the API would have received."""
    if not raw.startswith(MAGIC):
        raise status.bad_request("protobuf body without the k8s magic prefix")
    try:
        envelope = {n: v for n, _, v in _fields(raw[len(MAGIC):])}
        type_meta = {n: v.decode() for n, _, v in _fields(envelope.get(1, b""))}
        api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
        schema = KINDS.get((api_version, kind))
        if schema is None:
            raise status.unsupported_media_type(PROTOBUF, ["application/json", "application/yaml"])
        obj = _message(envelope.get(2, b""), schema)
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise status.bad_request(f"cannot decode protobuf body: {exc}") from None
    return {"apiVersion": api_version, "kind": kind, **obj}
