"""Server-side printing: ``meta.k8s.io/v1 Table`` answers for ``kubectl get``.

kubectl asks for ``application/json;as=Table;v=v1;g=meta.k8s.io``; the server
decides the columns. Built-in kinds get the columns defined in
:mod:`kfctl.sim.builtins`; custom resources get their CRD's
``additionalPrinterColumns`` (evaluated with the JSONPath subset CRDs use).
"""

from __future__ import annotations

import re
from typing import Any, Callable

from kfctl.sim.clock import parse_time
from kfctl.sim.types import Column, ResourceType

NAME_COLUMN = {"name": "Name", "type": "string", "format": "name", "priority": 0,
               "description": "Name must be unique within a namespace."}

_TOKEN = re.compile(r"\.([A-Za-z0-9_\-/]+)|\[(\d+)\]|\[\?\(@\.([A-Za-z0-9_.]+)\s*==\s*['\"]([^'\"]*)['\"]\)\]|"
                    r"\[\*\]|\.\*")


#: computed cells of built-in columns (``<fn:NAME>`` paths), registered by kfctl.sim.behaviour.printing
CELL_FUNCTIONS: dict[str, Callable[[dict[str, Any], float], Any]] = {}


def json_path(obj: Any, path: str) -> list[Any]:
    """Evaluate the CRD JSONPath subset: ``.a.b``, ``[0]``, ``[*]``, ``[?(@.type=="Ready")]``."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    if path.startswith("$"):
        path = path[1:]
    current = [obj]
    pos = 0
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if not match:
            return []
        pos = match.end()
        field, index, filt_key, filt_val = match.groups()
        nxt: list[Any] = []
        for item in current:
            if field is not None:
                if isinstance(item, dict) and field in item:
                    nxt.append(item[field])
            elif index is not None:
                if isinstance(item, list) and int(index) < len(item):
                    nxt.append(item[int(index)])
            elif filt_key is not None:
                if isinstance(item, list):
                    for element in item:
                        value = element
                        for part in filt_key.split("."):
                            value = value.get(part) if isinstance(value, dict) else None
                        if value is not None and str(value) == filt_val:
                            nxt.append(element)
            elif isinstance(item, list):
                nxt.extend(item)
            elif isinstance(item, dict):
                nxt.extend(item.values())
        current = nxt
    return current


def human_age(seconds: float) -> str:
    """Durations the way kubectl prints AGE (``45s``, ``3m12s``, ``5h``, ``12d``)."""
    s = int(max(0, seconds))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    d = h // 24
    if d < 8:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    return f"{d}d" if d < 730 else f"{d // 365}y"


def _cell(column: Column, obj: dict[str, Any], now: float, builtin: bool) -> Any:
    path = column.json_path
    if path == "<age>":
        created = obj["metadata"].get("creationTimestamp")
        return human_age(now - parse_time(created)) if created else "<unknown>"
    if path.startswith("<fn:"):
        fn = CELL_FUNCTIONS.get(path[4:-1])
        return fn(obj, now) if fn is not None else None
    if path == "<name>":
        return obj["metadata"]["name"]
    if path.startswith("<count:"):
        value = json_path(obj, path[7:-1])
        return len(value[0]) if value and isinstance(value[0], (dict, list)) else 0
    if path.startswith("<none:"):
        value = json_path(obj, path[6:-1])
        return str(value[0]) if value else "<none>"
    if path.startswith("<ready:"):
        have, want = path[7:-1].split("/")
        got, total = json_path(obj, have), json_path(obj, want)
        return f"{got[0] if got else 0}/{total[0] if total else 0}"
    if path.startswith("<cond:"):
        conds = json_path(obj, f'.status.conditions[?(@.type=="{path[6:-1]}")].status')
        return conds[0] if conds else "Unknown"
    if path == "<ports>":
        ports = (obj.get("spec") or {}).get("ports") or []
        return ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"
    if path == "<podready>":
        statuses = (obj.get("status") or {}).get("containerStatuses") or []
        total = len((obj.get("spec") or {}).get("containers") or [])
        return f"{sum(1 for c in statuses if c.get('ready'))}/{total}"
    if path == "<restarts>":
        return sum(int(c.get("restartCount", 0)) for c in (obj.get("status") or {}).get("containerStatuses") or [])
    if path == "<nodeready>":
        conds = json_path(obj, '.status.conditions[?(@.type=="Ready")].status')
        ready = "Ready" if conds and conds[0] == "True" else "NotReady"
        return ready + ",SchedulingDisabled" if (obj.get("spec") or {}).get("unschedulable") else ready
    if path == "<jobstatus>":
        for cond in (obj.get("status") or {}).get("conditions") or []:
            if cond.get("status") == "True" and cond.get("type") in ("Complete", "Failed"):
                return cond["type"]
        return "Running"
    values = json_path(obj, path)
    if not values:
        return 0 if builtin and column.type == "integer" else None  # Go zero values print as 0
    value = values[0]
    if column.type == "date" and isinstance(value, str):
        try:
            return human_age(now - parse_time(value))
        except ValueError:
            return value
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, separators=(",", ":"))
    return value


def _own_name_column(rtype: ResourceType) -> bool:
    """Types placing Name themselves (Events print it last, wide only) get no leading Name column."""
    return any(c.json_path == "<name>" for c in rtype.columns)


def column_definitions(rtype: ResourceType) -> list[dict[str, Any]]:
    cols = [] if _own_name_column(rtype) else [dict(NAME_COLUMN)]
    for column in rtype.columns:
        cols.append({"name": column.name, "type": column.type, "format": column.format,
                     "description": column.description, "priority": column.priority})
    return cols


def row(rtype: ResourceType, obj: dict[str, Any], now: float, include_object: str) -> dict[str, Any]:
    cells = [] if _own_name_column(rtype) else [obj["metadata"]["name"]]
    cells += [_cell(c, obj, now, not rtype.custom) for c in rtype.columns]
    out: dict[str, Any] = {"cells": cells}
    if include_object == "Object":
        out["object"] = obj
    elif include_object != "None":
        out["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                         "metadata": obj["metadata"]}
    return out


def table(rtype: ResourceType, objs: list[dict[str, Any]], now: float, *, resource_version: str = "",
          continue_token: str = "", include_object: str = "Metadata", with_columns: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if resource_version:
        meta["resourceVersion"] = resource_version
    if continue_token:
        meta["continue"] = continue_token
    body: dict[str, Any] = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
    if with_columns:
        body["columnDefinitions"] = column_definitions(rtype)
    body["rows"] = [row(rtype, o, now, include_object) for o in objs]
    return body
