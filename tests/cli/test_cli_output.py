"""The three output modes of apply and delete, fed the same events."""

from __future__ import annotations

import io
import json

from rich.console import Console

from kfctl.cli.output import JsonSink, LiveSink, PlainSink
from kfctl.engine import events as ev

EVENTS = [
    ev.Event("applied", "Deployment/kubeflow/katib-mysql", "katib", "created", 0.5),
    ev.Event("waiting", "Deployment/kubeflow/katib-mysql", "katib", "0 of 1 replicas available", 0.6),
    ev.Event("unchanged", "ConfigMap/kubeflow/katib-config", "katib", "unchanged", 0.7),
    ev.Event("healthy", "ConfigMap/kubeflow/katib-config", "katib", "exists", 0.7),
    ev.Event("failed", "Deployment/kubeflow/katib-ui", "katib", "timed out waiting", 9.0),
]


def test_plain_lines_skip_routine_events_unless_verbose():
    out = io.StringIO()
    sink = PlainSink(stream=out)
    for event in EVENTS:
        sink(event)
    text = out.getvalue()
    assert "applied          Deployment/kubeflow/katib-mysql  [katib]  created" in text
    assert "failed           Deployment/kubeflow/katib-ui  [katib]  timed out waiting" in text
    assert "replicas available" not in text and "katib-config" not in text
    verbose = io.StringIO()
    sink = PlainSink(verbose=1, stream=verbose)
    for event in EVENTS:
        sink(event)
    assert "0 of 1 replicas available" in verbose.getvalue() and "katib-config" in verbose.getvalue()


def test_json_is_one_object_per_event():
    out = io.StringIO()
    sink = JsonSink(out)
    for event in EVENTS:
        sink(event)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["kind"] for line in lines] == [e.kind for e in EVENTS]
    assert lines[0] == {"kind": "applied", "obj": "Deployment/kubeflow/katib-mysql", "component": "katib",
                        "message": "created", "elapsed": 0.5}


def test_live_table_counts_per_component_and_shows_what_is_awaited():
    sink = LiveSink({"katib": 3, "istio": 2})
    sink.live.stop()
    sink.console = Console(record=True, width=140, force_terminal=False)
    for event in EVENTS[:4]:
        sink(event)
    sink.console.print(sink._table())
    text = sink.console.export_text()
    assert "katib" in text and "istio" in text
    row = next(line for line in text.splitlines() if "katib" in line and "replicas" in line)
    assert "2" in row and "1" in row and "0 of 1 replicas available" in row
    sink(EVENTS[4])
    assert sink.failures == ["failed Deployment/kubeflow/katib-ui: timed out waiting"]
