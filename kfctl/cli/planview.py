"""``kfctl apply --dry-run`` output: a plan people can read, and the same plan as JSON.

A full install is hundreds of objects; listing each with what it waits for
made 84 KB with lines of 700 characters. By default the plan is shown as a
summary (per wave: how many objects of which components; per component: how
many objects, in which waves, of which kinds); ``-v`` adds the full listing
(:meth:`kfctl.plan.Plan.format_waves`), and ``-o json`` prints the whole plan
as one JSON document.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

#: a summary line stops listing components here, and says how many it left out
LINE_WIDTH = 100


def _counts(counter: Counter[str], width: int) -> str:
    parts: list[str] = []
    items = counter.most_common()
    for i, (name, count) in enumerate(items):
        part = f"{name} {count}"
        rest = len(items) - i - 1
        tail = f", and {rest} more" if rest else ""
        if parts and len(", ".join([*parts, part])) + len(tail) > width:
            parts.append(f"and {len(items) - i} more")
            break
        parts.append(part)
    return ", ".join(parts)


def summary(plan: Any, name: str) -> str:
    """Per wave and per component, a line each."""
    waves = plan.waves()
    lines = [f"Plan for {name}: {len(plan)} objects in {len(waves)} waves, {len(plan.edges)} dependencies "
             "(nothing is changed)"]
    wave_of: dict[Any, int] = {}
    for i, wave in enumerate(waves, 1):
        counter: Counter[str] = Counter(plan.nodes[ref].component for ref in wave)
        for ref in wave:
            wave_of[ref] = i
        head = f"  wave {i:>2} ({len(wave)} objects): "
        lines.append(head + _counts(counter, LINE_WIDTH - len(head)))
    lines.append("Components:")
    per: dict[str, list[Any]] = {}
    for ref, node in plan.nodes.items():
        per.setdefault(node.component, []).append(ref)
    width = max((len(c) for c in per), default=9)
    for component, refs in per.items():
        in_waves = sorted({wave_of[r] for r in refs})
        span = f"wave {in_waves[0]}" if len(in_waves) == 1 else f"waves {in_waves[0]}-{in_waves[-1]}"
        head = f"  {component.ljust(width)}  {len(refs):>4} objects, {span:<11}  "
        lines.append(head + _counts(Counter(r.kind for r in refs), LINE_WIDTH - len(head)))
    lines.append("Every object and what it waits for: add -v; the plan as JSON: -o json.")
    return "\n".join(lines)


def as_json(plan: Any, name: str, namespace: str) -> str:
    waves = plan.waves()
    doc = {
        "deployment": name,
        "namespace": namespace,
        "objects": len(plan),
        "dependencies": len(plan.edges),
        "waves": [
            {"wave": i, "objects": [
                {"object": str(ref), "kind": ref.kind, "namespace": ref.namespace or None, "name": ref.name,
                 "component": plan.nodes[ref].component,
                 "after": [{"object": str(e.dependency), "untilApplied": bool(e.applied_only)}
                           for e in plan.requires[ref]]}
                for ref in wave]}
            for i, wave in enumerate(waves, 1)
        ],
    }
    return json.dumps(doc, indent=2)
