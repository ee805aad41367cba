"""Benchmark: find the newest complete savepoint among 200 savepoints x 500 objects on moto's S3
server (127.0.0.1, boto3 over HTTP). Prints S3 requests by operation and the median wall time.

    .venv/bin/python bench/bench_savepoint.py [--runs 5] [--savepoints 200] [--objects 500]

Two modes:
- s3 scan (no cluster): ceil(N/1000) ListObjectsV2 + N HeadObject, N = savepoint directories;
  independent of the objects inside them. The list requests meet the goal (<= 5: one for up to
  1,000 directories); all requests together do not for N = 200: telling a complete directory
  from an incomplete one needs one HeadObject per directory (see ranker_values/ops/savepoint.py).
- cluster index: the operator's records (FlinkStateSnapshot / status) name the candidates;
  each is verified newest-first with one HeadObject of its _metadata.
Not a timed test: the numbers depend on the machine (and moto is far slower than S3 at listing).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from savepoint_fixtures import MotoS3, seed_savepoints  # noqa: E402

from ranker_values.ops import savepoint as sp  # noqa: E402
from ranker_values.ops.s3 import S3Settings, make_client  # noqa: E402


def verdict(counts: dict[str, int], median: float) -> str:
    lists = sum(n for op, n in counts.items() if op.startswith("List"))
    total = sum(counts.values())
    return (f"list requests {lists} (goal <=5: {'met' if lists <= 5 else 'NOT met'}), "
            f"all requests {total} ({'<=5' if total <= 5 else 'NOT <=5'}), "
            f"median {median:.3f}s (goal <=1s: {'met' if median <= 1 else 'NOT met'})")


def measure(fn, runs: int):
    times, counts, result = [], None, None
    for _ in range(runs):
        client = make_client(S3Settings(endpoint=ENDPOINT, path_style=True, max_pool_connections=16))
        counter = sp.RequestCounter(client)
        start = time.perf_counter()
        result = fn(client)
        times.append(time.perf_counter() - start)
        counts = dict(counter.by_operation)
    return result, counts, statistics.median(times)


def main() -> int:
    global ENDPOINT
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--savepoints", type=int, default=200)
    parser.add_argument("--objects", type=int, default=500)
    args = parser.parse_args()
    s3 = MotoS3()
    ENDPOINT = s3.endpoint
    try:
        t0 = time.perf_counter()
        layout = seed_savepoints(s3, "bench", savepoints=args.savepoints, objects=args.objects)
        print(f"layout: {args.savepoints} savepoints x {args.objects} objects "
              f"({len(layout.incomplete)} without _metadata, 3 of them newer than every complete one); "
              f"seeded in {time.perf_counter() - t0:.1f}s (moto backend, not timed)")

        result, counts, median = measure(
            lambda c: sp.latest_savepoint(cluster_found=None, s3_client=c, savepoints_dir=layout.uri, scan=True), args.runs)
        ok = result.chosen.path == layout.newest_complete
        print(f"s3 scan:       {counts} over {args.runs} runs, correct={ok}: {verdict(counts, median)}")

        ranked = sorted(layout.complete, key=layout.complete.__getitem__, reverse=True)
        index = [sp.Savepoint(f"{layout.uri}/{layout.incomplete[-1]}", None, "bogus")] + [
            sp.Savepoint(f"{layout.uri}/{n}", layout.complete[n].replace(tzinfo=timezone.utc), "status") for n in ranked[:10]
        ]
        result, counts, median = measure(
            lambda c: sp.latest_savepoint(cluster_found=index, s3_client=c, savepoints_dir=layout.uri, scan=False), args.runs)
        ok = result.chosen.path == layout.newest_complete
        print(f"cluster index: {counts} over {args.runs} runs, correct={ok}: {verdict(counts, median)}")
        print("complexity: s3 scan = ceil(N/1000) + N requests for N savepoint directories, whatever their size; "
              "cluster index = 1 HeadObject per candidate tried (newest first)")
    finally:
        s3.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
