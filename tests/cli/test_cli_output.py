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


def test_live_elapsed_time_ticks_without_events():
    import re
    import time

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    sink = LiveSink({"katib": 3}, console=console)
    try:
        time.sleep(1.2)  # no event at all: a pod pulling images for minutes looks like this
    finally:
        sink.close()
    shown = set(re.findall(r"kfctl apply\s+(\d+\.\d)s", out.getvalue()))
    assert len(shown) >= 3, shown


def blocked_storm(n: int) -> list[ev.Event]:
    claim = "PersistentVolumeClaim/kubeflow/minio-pvc"
    events = [ev.Event("failed", claim, "pipelines", 'timed out waiting: Pending: storageclass "fast" not found', 9.0)]
    events.append(ev.Event("blocked", "Deployment/kubeflow/minio", "pipelines", f"waits for {claim}, which failed", 9.0))
    for i in range(n):
        events.append(ev.Event("blocked", f"Service/kubeflow/s{i}", "pipelines",
                               f"waits for Deployment/kubeflow/minio, which is blocked by {claim}", 9.0))
    events.append(ev.Event("failed", "Deployment/kubeflow/other", "katib", "crash-looping", 9.1))
    events.append(ev.Event("summary", "", "", "failed", 9.2, {"phase": "end"}))
    return events


def test_plain_output_collapses_repeats_per_root_cause():
    out = io.StringIO()
    sink = PlainSink(stream=out)
    for event in blocked_storm(780):
        sink(event)
    sink.close()
    lines = out.getvalue().splitlines()
    assert len(lines) <= 5, lines
    assert any("Deployment/kubeflow/minio" in line and "blocked" in line for line in lines)
    assert any("... and 780 more objects blocked by PersistentVolumeClaim/kubeflow/minio-pvc" in line for line in lines)
    assert any("crash-looping" in line for line in lines)
    verbose = io.StringIO()
    sink = PlainSink(verbose=1, stream=verbose)
    for event in blocked_storm(780):
        sink(event)
    assert len(verbose.getvalue().splitlines()) >= 782


def test_final_problem_list_collapses_per_root_cause(capsys):
    from types import SimpleNamespace

    from kfctl.cli.apply import print_problems

    claim = "PersistentVolumeClaim/kubeflow/minio-pvc"
    outcomes = [SimpleNamespace(state="failed", ref=claim, component="pipelines", message="Pending")]
    outcomes += [SimpleNamespace(state="blocked", ref=f"Service/kubeflow/s{i}", component=f"c{i % 6}",
                                 message=f"waits for {claim}, which failed") for i in range(300)]
    result = SimpleNamespace(problems=outcomes)
    print_problems(result)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3, lines
    assert f"... and 299 more blocked by {claim} [c0, c1, c2, c3, ...]" in lines[2]
    print_problems(result, verbose=1)
    assert len(capsys.readouterr().err.splitlines()) == 301
