"""Turning engine events into output: live progress on a TTY, plain lines otherwise, or JSON.

One sink per mode; the engine does not know which. ``--output json`` writes
one JSON object per line (machine-readable, stable keys); plain mode writes
timestamped lines fit for CI logs; live mode redraws a per-component table
(applied / ready / total, what is awaited, elapsed) with rich.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Mapping
from typing import IO, Any

import click

from kfctl.engine import events as ev

QUIET_PLAIN = {ev.UNCHANGED, ev.WAITING}


class JsonSink:
    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()

    def __call__(self, event: ev.Event) -> None:
        with self.lock:
            self.stream.write(json.dumps(event.to_json(), sort_keys=True) + "\n")
            self.stream.flush()

    def close(self) -> None:
        pass


_BLOCKED_BY = re.compile(r"^waits for (?P<dep>.+?), which (?:failed|is blocked by (?P<root>.+))$")


def root_cause(kind: str, message: str) -> str:
    """What a failed or blocked object's message comes down to, so that repeats can be counted, not listed.

    A blocked object names the failure it waits on (``waits for A, which is blocked by R`` -> R); a failed
    one is keyed by its message (many claims failing on one missing StorageClass say the same thing).
    """
    if kind == ev.BLOCKED:
        match = _BLOCKED_BY.match(message)
        if match:
            return match.group("root") or match.group("dep")
    return message


class PlainSink:
    """Timestamped lines; routine lines (unchanged objects, waiting) only with -v.

    Repeats collapse per root cause: the first object blocked by (or failing with) one cause is
    printed, the others are counted and summed up in one line when the operation ends (-v prints
    every line).
    """

    def __init__(self, verbose: int = 0, stream: IO[str] | None = None) -> None:
        self.verbose = verbose
        self.stream = stream
        self.lock = threading.Lock()
        self.unchanged: set[str] = set()
        self.causes: dict[tuple[str, str], int] = {}

    def _repeat(self, event: ev.Event) -> bool:
        if event.kind not in (ev.BLOCKED, ev.FAILED) or self.verbose:
            return False
        key = (event.kind, root_cause(event.kind, event.message))
        with self.lock:
            self.causes[key] = self.causes.get(key, 0) + 1
            return self.causes[key] > 1

    def __call__(self, event: ev.Event) -> None:
        if event.kind == ev.UNCHANGED:
            self.unchanged.add(event.obj)
        if not self.verbose and (event.kind in QUIET_PLAIN or (event.kind == ev.HEALTHY and event.obj in self.unchanged)):
            return  # routine: an object that needed nothing
        if event.kind == ev.SUMMARY and event.data.get("phase") == "end":
            self._flush_repeats()
            return  # the command prints its own summary
        if self._repeat(event):
            return
        stamp = time.strftime("%H:%M:%S")
        subject = event.obj or event.data.get("object", "")
        parts = [stamp, f"+{event.elapsed:6.1f}s", f"{event.kind:<15}"]
        if subject:
            parts.append(subject)
        if event.component:
            parts.append(f"[{event.component}]")
        if event.message:
            parts.append(event.message)
        with self.lock:
            click.echo("  ".join(parts), file=self.stream)

    def _flush_repeats(self) -> None:
        with self.lock:
            repeated = [(key, n) for key, n in self.causes.items() if n > 1]
            self.causes = {key: 1 for key in self.causes}  # said once; a later repeat counts afresh
        for (kind, cause), count in repeated:
            more = count - 1
            what = f"blocked by {cause}" if kind == ev.BLOCKED else f"failed the same way: {cause}"
            line = f"{time.strftime('%H:%M:%S')}  ... and {more} more object{'s' if more != 1 else ''} {what} (-v lists each)"
            with self.lock:
                click.echo(line, file=self.stream)

    def close(self) -> None:
        self._flush_repeats()


class LiveSink:
    """A rich Live table per component, redrawn a few times a second."""

    def __init__(self, components: Mapping[str, int], verbose: int = 0, *, title: str = "kfctl apply",
                 done: str = "ready", console: Any = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = console or Console(stderr=False)
        self.title = title
        self.done_label = done
        self.totals = dict(components)
        self.applied: dict[str, int] = {c: 0 for c in components}
        self.ready: dict[str, int] = {c: 0 for c in components}
        self.awaiting: dict[str, str] = {}
        self.failures: list[str] = []
        self.start = time.monotonic()
        self.lock = threading.Lock()
        # the table is rebuilt on every refresh (4 a second), so the elapsed time ticks while nothing happens
        self.live = Live(console=self.console, refresh_per_second=4, transient=False, get_renderable=self._table)
        self.live.start()

    def _table(self) -> Any:
        from rich.table import Table

        with self.lock:
            table = Table(title=f"{self.title}  {time.monotonic() - self.start:5.1f}s", expand=False)
            for col in ("component", "applied", self.done_label, "total", "awaiting"):
                table.add_column(col)
            for comp, total in self.totals.items():
                done = self.ready.get(comp, 0) >= total
                table.add_row(comp, str(self.applied.get(comp, 0)), str(self.ready.get(comp, 0)), str(total),
                              f"[green]{self.done_label}[/green]" if done else self.awaiting.get(comp, ""))
        return table

    def __call__(self, event: ev.Event) -> None:
        with self.lock:
            comp = event.component
            if event.kind in (ev.APPLIED, ev.UNCHANGED) and comp in self.applied:
                self.applied[comp] += 1
            elif event.kind in (ev.HEALTHY, ev.DELETED) and comp in self.ready:
                self.ready[comp] += 1
            elif event.kind == ev.WAITING and comp:
                self.awaiting[comp] = f"{event.obj}: {event.message}"
            elif event.kind in (ev.FAILED, ev.BLOCKED):
                self.failures.append(f"{event.kind} {event.obj or event.data.get('object', '')}: {event.message}")
                if comp:
                    self.awaiting[comp] = f"[red]{event.kind}[/red] {event.obj}"

    def close(self) -> None:
        self.live.stop()


def make_sink(mode: str, *, components: Mapping[str, int], verbose: int = 0, deleting: bool = False):
    if mode == "auto":
        mode = "live" if sys.stdout.isatty() else "plain"
    if mode == "json":
        return JsonSink()
    if mode == "live":
        if deleting:
            return LiveSink(components, verbose, title="kfctl delete", done="deleted")
        return LiveSink(components, verbose)
    return PlainSink(verbose)
