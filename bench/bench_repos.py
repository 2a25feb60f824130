"""Benchmark: fetch + extract of the upstream kubeflow/manifests archives, and ``kustomize build example``.

For each tarball in ``<repo root>/../shared/upstream`` (served over HTTP on
127.0.0.1 so the real download path runs), prints the best and median wall
time of: a cold fetch (download, sha256 check, safe extraction into an empty
cache), a warm fetch (cache hit, no network), an extraction from a local
path, and ``build_application`` of ``example`` split into kustomize's own
run and kfctl's YAML parsing. Run: ``.venv/bin/python bench/bench_repos.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import statistics
import tempfile
import threading
import time
from pathlib import Path

import yaml

from kfctl.config.model import Repo
from kfctl.config.selection import RepoApplication
from kfctl.config.yamlread import Location
from kfctl.repos import Settings, build_application, fetch_repo, find_kustomize

UPSTREAM = Path(__file__).resolve().parents[1] / ".." / "shared" / "upstream"


def timed(runs: int, fn) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per measurement (default 3)")
    args = parser.parse_args()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(UPSTREAM.resolve()))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    kustomize = find_kustomize()
    print(f"kustomize: {kustomize.describe()}")
    print(f"{'archive':<36} {'measure':<24} {'best s':>7} {'median s':>8}  notes")
    settings = Settings()
    with tempfile.TemporaryDirectory() as scratch:
        for archive in sorted(UPSTREAM.glob("*.tar.gz")):
            sha = hashlib.sha256(archive.read_bytes()).hexdigest()
            repo = Repo("manifests", f"{base}/{archive.name}", sha, Location("bench", 1, 1))
            counter = iter(range(1000))

            def cold() -> Path:
                return fetch_repo(repo, cache_dir=Path(scratch) / f"cold-{next(counter)}", settings=settings)

            tree = cold()
            files = sum(1 for _ in tree.rglob("*"))
            row = functools.partial(print, f"{archive.name:<36}")
            row(f"{'fetch+extract (cold)':<24} %7.3f %8.3f  %.1f MiB, %d entries" % (
                *timed(args.runs, cold), archive.stat().st_size / 2**20, files))
            warm_cache = Path(scratch) / "cold-0"
            row(f"{'fetch (cached)':<24} %7.3f %8.3f" % timed(
                args.runs, lambda: fetch_repo(repo, cache_dir=warm_cache, settings=settings)))
            local = Repo("manifests", str(archive), sha, Location("bench", 1, 1))
            row(f"{'extract from disk':<24} %7.3f %8.3f" % timed(
                args.runs, lambda: fetch_repo(local, cache_dir=Path(scratch) / f"disk-{next(counter)}")))
            app = RepoApplication("example", repo, "example", (), {})
            objects: list[dict] = []

            def build() -> None:
                objects[:] = build_application(app, tree, kustomize=kustomize)

            best, median = timed(args.runs, build)
            row(f"{'build example (total)':<24} {best:7.3f} {median:8.3f}  {len(objects)} objects")
            text = kustomize.build(tree / "example", what="bench")
            row(f"{'  kustomize run':<24} %7.3f %8.3f" % timed(
                args.runs, lambda: kustomize.build(tree / "example", what="bench")))
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            row(f"{'  parse its YAML':<24} %7.3f %8.3f  %d objects, %.1f MB" % (
                *timed(args.runs, lambda: list(yaml.load_all(text, Loader=loader))), len(objects), len(text) / 1e6))
    httpd.shutdown()


if __name__ == "__main__":
    main()
