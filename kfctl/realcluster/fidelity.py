"""Differential fidelity: the same request sequences sent to ``kfctl.sim`` and to the real API server, compared.

Why it exists: the sim was written beside kfctl's engine, so a misunderstanding
of Kubernetes they share is invisible to every sim test (issue #14). Here each
named scenario (:mod:`.scenarios`) is a small program of HTTP requests run once
against each server through a :class:`Session`, which records every answer in
a normalised form; the two records are compared step by step.

What is compared, per request: the status code, the ``Warning`` headers, and
the body after normalisation: uids and timestamps become placeholders,
``resourceVersion`` values become tokens numbered by first appearance in the
scenario (so what is compared is RV *behaviour*: whether a write changed it, or
two answers carry the same one), a list's own resourceVersion and continue token
become "present", and managedFields are sorted by manager/operation/subresource
(their ``fieldsV1`` sets are compared as sets). Status bodies keep ``reason``,
``message``, ``details`` (kind, name, group, causes) and ``code``. Watches record
their events (type and normalised object), bookmarks aside.

A difference is ``scenario / step / path: sim value != real value``. The
explained ones are listed in ``fidelity-allowances.yaml`` beside this module
(scenario and path patterns, and the reason, which points at kfctl/sim/README.md's
list of deliberate differences); :func:`explain` sorts the differences into
documented and unexplained. ``bench/fidelity.py`` prints the report and
``tests/realcluster/test_realcluster_fidelity.py`` fails on any unexplained one.

It talks to both servers with httpx (only ``kfctl/cluster`` imports the
official client) and imports neither kfctl's engine nor the sim's internals:
the sim is reached over HTTP like the real server.
"""

from __future__ import annotations

import fnmatch
import json
import re
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

ALLOWANCES = Path(__file__).with_name("fidelity-allowances.yaml")
APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSONPATCH = "application/json-patch+json"

Keep = Callable[[Any], Any]
RECORD_RV = re.compile(r"(ResourceVersion in record \()(\d+)\)")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Record:
    """One request's answer, normalised: what the two servers must agree on."""

    step: str
    code: int
    body: Any
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Difference:
    scenario: str
    step: str
    path: str
    sim: Any
    real: Any

    @property
    def key(self) -> str:
        return f"{self.scenario}/{self.step}:{self.path}"

    def __str__(self) -> str:
        return f"{self.key}: sim {_short(self.sim)} != real {_short(self.real)}"


def _short(value: Any, width: int = 160) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


@dataclass
class Session:
    """Sends one scenario's requests to one server and records the normalised answers."""

    client: httpx.Client
    tier: str
    records: list[Record] = field(default_factory=list)
    _tokens: dict[str, str] = field(default_factory=dict)
    _uids: dict[str, str] = field(default_factory=dict)

    # -- requests ---------------------------------------------------------------------
    def call(self, step: str, method: str, url: str, body: Any = None, *, params: dict[str, Any] | None = None,
             ctype: str = "application/json", keep: Keep | None = None, record: bool = True) -> Any:
        """The answer's JSON (or text); recorded under ``step`` with ``keep`` applied to the body."""
        data = None if body is None else json.dumps(body).encode()
        answer = self.client.request(method, url, content=data, params=params,
                                     headers={"Content-Type": ctype, "Accept": "application/json"})
        try:
            parsed: Any = answer.json()
        except ValueError:
            parsed = answer.text.strip()
        if record:
            shown = keep(parsed) if keep is not None and answer.status_code < 300 else parsed
            warnings = tuple(sorted(_warning_text(w) for w in answer.headers.get_list("warning")))
            self.records.append(Record(step, answer.status_code, self.normalise(shown), warnings))
        return parsed if answer.status_code < 400 or isinstance(parsed, dict) else {"code": answer.status_code}

    def code(self, method: str, url: str, **kw: Any) -> int:
        """The status code alone, not recorded (for polling)."""
        return self.client.request(method, url, **kw).status_code

    def poll(self, step: str, url: str, until: Callable[[int, Any], bool], *, timeout: float = 60.0,
             keep: Keep | None = None) -> Any:
        """GET ``url`` until ``until(code, body)``; only the last answer is recorded (timing is not compared)."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.client.get(url, headers={"Accept": "application/json"})
            try:
                body: Any = answer.json()
            except ValueError:
                body = answer.text
            if until(answer.status_code, body) or time.monotonic() > deadline:
                shown = keep(body) if keep is not None and answer.status_code < 300 else body
                self.records.append(Record(step, answer.status_code, self.normalise(shown)))
                return body
            time.sleep(0.1)

    def watch(self, step: str, url: str, params: dict[str, Any], *, events: int, timeout: float = 5.0,
              keep: Keep | None = None) -> list[dict[str, Any]]:
        """Watch ``url`` until ``events`` events came (or ``timeout``); records their types and objects."""
        seen: list[dict[str, Any]] = []
        query = {"watch": "true", "timeoutSeconds": str(int(timeout)), **params}
        code = 0
        with self.client.stream("GET", url, params=query, headers={"Accept": "application/json"},
                                timeout=timeout + 5) as answer:
            code = answer.status_code
            if code != 200:
                answer.read()
                self.records.append(Record(step, code, self.normalise(answer.json())))
                return []
            for line in answer.iter_lines():
                if not line.strip():
                    continue
                event = json.loads(line)
                if event.get("type") == "BOOKMARK":
                    continue
                seen.append(event)
                if len(seen) >= events:
                    break
        shown = [{"type": e["type"], "object": keep(e["object"]) if keep else e["object"]} for e in seen]
        self.records.append(Record(step, code, self.normalise(shown)))
        return seen

    # -- normalisation ------------------------------------------------------------------
    def token(self, rv: str) -> str:
        if not rv:
            return ""
        return self._tokens.setdefault(rv, f"<rv{len(self._tokens) + 1}>")

    def uids(self, text: str) -> str:
        """Every uid in ``text`` as ``<uidN>``, numbered by first appearance (so equal uids stay equal), and
        the stored resourceVersion a precondition message quotes as its token."""
        text = UUID.sub(lambda m: self._uids.setdefault(m.group(0), f"<uid{len(self._uids) + 1}>"), text)
        return RECORD_RV.sub(lambda m: m.group(1) + self.token(m.group(2)) + ")", text)

    def normalise(self, value: Any, key: str = "") -> Any:
        if isinstance(value, list):
            return [self.normalise(v, key) for v in value]
        if isinstance(value, str):
            return self.uids(value)
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {}
        is_list = str(value.get("kind", "")).endswith("List") or "items" in value
        for k, v in value.items():
            k = self.uids(k)
            if k == "metadata" and isinstance(v, dict):
                out[k] = self._metadata(v, listing=is_list)
            elif k in ("lastTransitionTime", "lastUpdateTime", "creationTimestamp", "time") and isinstance(v, str):
                out[k] = "<time>"
            else:
                out[k] = self.normalise(v, k)
        return out

    def _metadata(self, meta: dict[str, Any], *, listing: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in meta.items():
            if k == "resourceVersion":
                out[k] = "<rv>" if listing else self.token(str(v))
            elif k == "continue":
                out[k] = "<continue>" if v else v
            elif k in ("creationTimestamp", "deletionTimestamp"):
                out[k] = "<time>" if v else v
            elif k == "managedFields" and isinstance(v, list):
                entries = [self.normalise(e) for e in v]
                out[k] = sorted(entries, key=lambda e: (e.get("manager", ""), e.get("operation", ""),
                                                        e.get("subresource", "")))
            else:
                out[k] = self.normalise(v, k)
        return out


def _warning_text(header: str) -> str:
    """``299 - "text"`` -> ``text``."""
    parts = header.split(" ", 2)
    text = parts[2] if len(parts) == 3 else header
    return text.strip().strip('"').replace('\\"', '"')


# -- comparison ----------------------------------------------------------------------------
def diff(a: Any, b: Any, path: str = "") -> Iterable[tuple[str, Any, Any]]:
    """Every path where ``a`` and ``b`` differ (``<missing>`` for an absent key)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            sub = f"{path}.{k}" if path else k
            if k not in a:
                yield sub, "<missing>", b[k]
            elif k not in b:
                yield sub, a[k], "<missing>"
            else:
                yield from diff(a[k], b[k], sub)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from diff(x, y, f"{path}[{i}]")
    elif a != b:
        yield path, a, b


def compare(scenario: str, sim: list[Record], real: list[Record]) -> list[Difference]:
    """Step-by-step differences of two runs of one scenario."""
    found: list[Difference] = []
    for i in range(max(len(sim), len(real))):
        s = sim[i] if i < len(sim) else None
        r = real[i] if i < len(real) else None
        step = (s or r).step if (s or r) else str(i)  # type: ignore[union-attr]
        if s is None or r is None or s.step != r.step:
            found.append(Difference(scenario, step, "(step)", s and s.step, r and r.step))
            continue
        label = f"{i + 1:02d}-{step}"
        if s.code != r.code:
            found.append(Difference(scenario, label, "code", s.code, r.code))
        if s.warnings != r.warnings:
            found.append(Difference(scenario, label, "warnings", list(s.warnings), list(r.warnings)))
        found.extend(Difference(scenario, label, f"body.{p}" if p else "body", x, y)
                     for p, x, y in diff(s.body, r.body))
    return found


@dataclass(frozen=True)
class Allowance:
    scenario: str
    path: str
    reason: str

    def explains(self, d: Difference) -> bool:
        return fnmatch.fnmatchcase(d.scenario, self.scenario) and fnmatch.fnmatchcase(f"{d.step}:{d.path}",
                                                                                      self.path)


def load_allowances(path: Path = ALLOWANCES) -> list[Allowance]:
    data = yaml.safe_load(path.read_text()) or []
    return [Allowance(str(e["scenario"]), str(e["path"]), str(e["reason"])) for e in data]


def explain(differences: list[Difference], allowances: list[Allowance]) -> tuple[
        list[tuple[Difference, Allowance]], list[Difference]]:
    """(documented differences with the allowance explaining each, unexplained differences)."""
    documented: list[tuple[Difference, Allowance]] = []
    unexplained: list[Difference] = []
    for d in differences:
        hit = next((a for a in allowances if a.explains(d)), None)
        if hit is None:
            unexplained.append(d)
        else:
            documented.append((d, hit))
    return documented, unexplained


# -- running -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    scenario: str
    requests: int
    differences: tuple[Difference, ...]
    seconds: tuple[float, float]


def sim_client(url: str, token: str | None = None) -> httpx.Client:
    headers = {"User-Agent": "kfctl-fidelity"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=url, headers=headers, timeout=30.0)


def real_client(url: str, ca: str, cert: str, key: str) -> httpx.Client:
    context = ssl.create_default_context(cafile=ca)
    context.load_cert_chain(cert, key)
    return httpx.Client(base_url=url, verify=context, headers={"User-Agent": "kfctl-fidelity"}, timeout=30.0)


def run(scenarios: dict[str, Callable[[Session], None]], sim: httpx.Client, real: httpx.Client,
        only: Iterable[str] | None = None) -> list[Outcome]:
    """Each scenario on the sim, then on the real server; their differences."""
    wanted = set(only) if only else None
    outcomes = []
    for name, scenario in scenarios.items():
        if wanted is not None and name not in wanted:
            continue
        runs = []
        for client, tier in ((sim, "sim"), (real, "real")):
            session = Session(client, tier)
            started = time.monotonic()
            scenario(session)
            runs.append((session.records, time.monotonic() - started))
        (s, ts), (r, tr) = runs
        outcomes.append(Outcome(name, len(s), tuple(compare(name, s, r)), (ts, tr)))
    return outcomes


def report(outcomes: list[Outcome], allowances: list[Allowance]) -> tuple[str, dict[str, int]]:
    """A table (scenario, requests, verdict, detail) and the figures."""
    rows = []
    figures = {"scenarios": len(outcomes), "requests": 0, "identical": 0, "documented": 0, "differs": 0,
               "differences": 0, "differences_documented": 0, "differences_unexplained": 0}
    for o in outcomes:
        documented, unexplained = explain(list(o.differences), allowances)
        figures["requests"] += o.requests
        figures["differences"] += len(o.differences)
        figures["differences_documented"] += len(documented)
        figures["differences_unexplained"] += len(unexplained)
        verdict = "differs" if unexplained else "documented" if documented else "same"
        figures["identical" if verdict == "same" else verdict] += 1
        detail = (str(unexplained[0]) if unexplained else
                  "; ".join(sorted({a.reason.split(":")[0] for _, a in documented})) if documented else "")
        rows.append((o.scenario, str(o.requests), verdict, detail))
    width = max((len(r[0]) for r in rows), default=8)
    lines = [f"{'scenario':<{width}}  reqs  verdict     detail"]
    lines += [f"{a:<{width}}  {b:>4}  {c:<10}  {d}" for a, b, c, d in rows]
    return "\n".join(lines), figures
