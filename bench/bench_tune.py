"""Benchmark of `ranker-values tune` (run with the tune venv: xgboost 1.6.1).

    .venv-tune/bin/python bench/bench_tune.py [--queries 400] [--trials 8] [--folds 3] [--big 43000]

1. Trials per minute with 1 and 2 local workers on the same search (same dataset, same trial
   plan, a fresh result store each), and their ratio: what a second worker buys on this machine.
   Each trial is a k-fold CV with one xgboost thread, as the workers run them.
2. One trial's time (5-fold CV, one parameter set: 100 trees, depth 6, hist) on a
   `--big`-query synthetic dataset in the engine's format, with the time to read it.

Not a timed test: the figures depend on the machine and its load (the ratio is the portable
number; on a shared 2-core machine it is bounded by what else runs).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ranker_values.ops.tune.dataset import load_dataset, write_dataset  # noqa: E402
from ranker_values.ops.tune.locations import Location  # noqa: E402
from ranker_values.ops.tune.runners import LocalRunner  # noqa: E402
from ranker_values.ops.tune.search import SearchSpec, plan_trials  # noqa: E402
from ranker_values.ops.tune.synthetic import make_queries  # noqa: E402
from ranker_values.ops.tune.trial import cross_validate, make_task  # noqa: E402


def trials_per_minute(dataset_uri: str, spec: SearchSpec, trials: int, workers: int, root: Path) -> float:
    store = root / f"store-{workers}"
    tasks = [make_task(dataset_uri, str(store), None, spec, t, None) for t in plan_trials(spec, trials)]
    done: list[dict] = []
    started = time.monotonic()
    LocalRunner(workers).run(tasks, done.append)
    elapsed = time.monotonic() - started
    failed = [r for r in done if r.get("status") != "ok"]
    if failed:
        raise SystemExit(f"{len(failed)} trial(s) failed: {failed[0].get('error')}")
    return trials / elapsed * 60


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--max-rounds", type=int, default=150)
    parser.add_argument("--big", type=int, default=43000, help="queries of the one-trial dataset (0: skip)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-tune-") as tmp:
        root = Path(tmp)
        uri = str(root / "dataset-small")
        write_dataset(Location(uri), make_queries(args.queries, seed=1), per_file=500)
        ds = load_dataset(Location(uri))
        spec = SearchSpec(ds.fingerprint, 0, args.folds, 10, args.max_rounds)
        print(f"search: {args.trials} trials, {args.folds}-fold CV, {ds.queries} queries / {len(ds.y)} rows, "
              f"rounds ≤ {args.max_rounds}, cpus {os.cpu_count()}, load {os.getloadavg()[0]:.1f}")
        one = trials_per_minute(uri, spec, args.trials, 1, root)
        two = trials_per_minute(uri, spec, args.trials, 2, root)
        print(f"trials/minute: 1 worker {one:.1f}, 2 workers {two:.1f}, ratio 2w/1w {two / one:.2f}")

        if args.big:
            big = str(root / "dataset-big")
            started = time.monotonic()
            write_dataset(Location(big), make_queries(args.big, seed=2), per_file=5000)
            made = time.monotonic() - started
            started = time.monotonic()
            big_ds = load_dataset(Location(big))
            read = time.monotonic() - started
            params = {"objective": "rank:pairwise", "eta": 0.1, "max_depth": 6, "min_child_weight": 1.0,
                      "subsample": 0.8, "colsample_bytree": 0.8, "lambda": 1.0, "rounds": 100}
            big_spec = SearchSpec(big_ds.fingerprint, 0, 5, 10, 100)
            started = time.monotonic()
            result = cross_validate(big_ds, big_spec, params, nthread=1)
            trial = time.monotonic() - started
            print(f"one trial on {big_ds.queries} queries / {len(big_ds.y)} rows (5-fold CV, 100 trees, depth 6, hist, "
                  f"1 thread): {trial:.1f}s (CV NDCG@10 {result['cv_mean']:.4f}); generating {made:.1f}s, reading {read:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
