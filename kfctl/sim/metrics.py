"""Request accounting: counts by verb, resource and code, and a timeline of every request.

Served as JSON by ``GET /_sim/metrics`` and available in-process through
:meth:`Metrics.snapshot` / :meth:`Metrics.timeline`. Dry-run writes are counted
apart from real ones so a test can assert that a dry run wrote nothing.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class RequestRecord:
    """One answered request, in sim time (epoch seconds)."""

    time: float
    verb: str
    resource: str
    namespace: str
    name: str
    code: int
    dry_run: bool = False


class Metrics:
    """Counters and the timeline; one lock, append-only."""

    def __init__(self, *, max_timeline: int = 1_000_000) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._counts: Counter[tuple[str, str, int, bool]] = Counter()
        self._max = max_timeline
        self.dropped_records = 0

    def record(self, record: RequestRecord) -> None:
        with self._lock:
            self._counts[(record.verb, record.resource, record.code, record.dry_run)] += 1
            if len(self._records) < self._max:
                self._records.append(record)
            else:
                self.dropped_records += 1

    def timeline(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(r) for r in self._records]

    def snapshot(self) -> dict[str, Any]:
        """``{"total", "requests": [{verb, resource, code, dryRun, count}], "byVerb", "byCode", "timeline"}``."""
        with self._lock:
            requests = [{"verb": v, "resource": r, "code": c, "dryRun": d, "count": n}
                        for (v, r, c, d), n in sorted(self._counts.items())]
            by_verb: Counter[str] = Counter()
            by_code: Counter[str] = Counter()
            dry: Counter[str] = Counter()
            for (verb, _, code, dry_run), n in self._counts.items():
                (dry if dry_run else by_verb)[verb] += n
                by_code[str(code)] += n
            return {"total": sum(self._counts.values()), "requests": requests, "byVerb": dict(by_verb),
                    "dryRunByVerb": dict(dry), "byCode": dict(by_code),
                    "timeline": [asdict(r) for r in self._records], "timelineDropped": self.dropped_records}

    def reset(self) -> None:
        with self._lock:
            self._records.clear()
            self._counts.clear()
            self.dropped_records = 0
