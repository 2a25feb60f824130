"""Benchmark: render each platform's full default component set, in process.

Prints, per platform, the object count and the best and median wall time of
``render()`` over several runs (after one warm-up run that fills the template
caches, as a long-lived process would), plus the cost of serialising to YAML
and of a cold first render. Target: at most 0.5 s per platform for the whole
set. Run: ``.venv/bin/python bench/bench_render.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

from kfctl.catalog import load_catalog
from kfctl.render import RenderRequest, render, to_yaml

TARGET_SECONDS = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per platform (default 7)")
    args = parser.parse_args()

    catalog = load_catalog()
    print(f"{'platform':<9} {'components':>10} {'objects':>7} {'cold s':>7} {'best s':>7} {'median s':>8} "
          f"{'yaml s':>7} {'yaml MB':>7}  target {TARGET_SECONDS} s")
    worst = 0.0
    for name in sorted(catalog.platforms):
        platform = catalog.platform(name)
        order = catalog.resolve([c for c in platform.components if c in catalog.components]).order
        request = RenderRequest(platform=name, components=order)
        start = time.perf_counter()
        rendering = render(request, catalog)
        cold = time.perf_counter() - start
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            rendering = render(request, catalog)
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        text = to_yaml(rendering)
        dump = time.perf_counter() - start
        median = statistics.median(times)
        worst = max(worst, median)
        print(f"{name:<9} {len(order):>10} {len(rendering.resources):>7} {cold:>7.3f} {min(times):>7.3f} "
              f"{median:>8.3f} {dump:>7.3f} {len(text) / 1e6:>7.2f}  "
              f"{'ok' if median <= TARGET_SECONDS else 'OVER'}")
    verdict = "within" if worst <= TARGET_SECONDS else "over"
    print(f"worst median: {worst:.3f} s ({verdict} the {TARGET_SECONDS} s target)")


if __name__ == "__main__":
    main()
