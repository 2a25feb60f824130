"""Benchmark: simple requests per second the simulated API server sustains.

Starts ``kfctl sim serve`` in its own process (as users run it), then drives it
from client processes, each with one keep-alive httpx connection per thread,
for a fixed time per request kind. Prints requests/second and latency
percentiles. Target (issue 3): at least 1,000 simple requests/s on 2 cores.

    .venv/bin/python bench/bench_sim_requests.py [--seconds 5] [--procs 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

CM = "/api/v1/namespaces/default/configmaps"


def _client_proc(url: str, kind: str, seconds: float, threads: int, out: multiprocessing.Queue) -> None:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def work(index: int) -> None:
        local: list[float] = []
        bad = 0
        n = 0
        with httpx.Client(base_url=url, timeout=10) as http:
            while time.monotonic() < stop_at:
                t0 = time.perf_counter()
                if kind == "get":
                    r = http.get(f"{CM}/bench")
                elif kind == "list":
                    r = http.get(CM, params={"limit": "10"})
                else:
                    n += 1
                    r = http.post(CM, json={"apiVersion": "v1", "kind": "ConfigMap",
                                            "metadata": {"name": f"b-{id(local)}-{index}-{n}"}, "data": {"k": "v"}})
                local.append(time.perf_counter() - t0)
                if r.status_code >= 300:
                    bad += 1
        with lock:
            latencies.extend(local)
            errors[0] += bad

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put((latencies, errors[0]))


def run(url: str, kind: str, seconds: float, procs: int, threads: int) -> dict:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_client_proc, args=(url, kind, seconds, threads, queue))
               for _ in range(procs)]
    t0 = time.monotonic()
    for w in workers:
        w.start()
    results = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    elapsed = time.monotonic() - t0
    latencies = sorted(x for lat, _ in results for x in lat)
    errors = sum(e for _, e in results)
    return {
        "kind": kind, "requests": len(latencies), "errors": errors, "seconds": round(elapsed, 2),
        "req_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2) if latencies else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kc"
        server = subprocess.Popen([sys.executable, "-m", "kfctl", "sim", "serve", "--kubeconfig", str(kubeconfig)],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = json.loads(server.stdout.readline())["url"]
            httpx.post(url + CM, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bench"},
                                       "data": {"k": "v"}}).raise_for_status()
            print(f"kfctl sim at {url}; {args.procs} client processes x {args.threads} keep-alive threads, "
                  f"{args.seconds:g}s per kind")
            figures = [run(url, kind, args.seconds, args.procs, args.threads) for kind in ("get", "list", "create")]
        finally:
            server.terminate()
            server.wait(10)
    for f in figures:
        print(f"{f['kind']:>7}: {f['req_per_s']:>8.1f} req/s  ({f['requests']} requests, {f['errors']} errors, "
              f"p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms)")
    get_rate = figures[0]["req_per_s"]
    print(f"target >= 1000 simple (GET) requests/s: {'met' if get_rate >= 1000 else 'NOT met'} ({get_rate:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
