"""How `validate` scales with the size of the config (a script, not a timed test).

    .venv/bin/python bench/bench_scaling.py [--quick]

Two series, each doubling the input; for each step the in-process CPU time (best of 3 below 7,000 features) of one full
`validate_config` (load → schema → rules → derive, the same call `ranker-values validate` makes):

  * features: a config with N features, all used by the model (100 → 40,000; ``--quick``:
    100 → 6,400), half of the model's feature names misspelled in the second variant
    ("misspelled": every one an RV101 with a "did you mean" search);
  * string: one string value (a source option) of N characters (1k → 1M) with ``://`` and ``:``
    in it, the worst case of the password-in-URL rule (RV120).

Prints the time per step, the ratio of consecutive steps (doubling the input) and the fitted
exponent k of time ∝ size^k (least squares on log-log over the steps above 10 ms).
Target: linear — every doubling ≤ 2.3× the time (k ≈ 1).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_cli import big_config  # noqa: E402

TARGET_RATIO = 2.3


def misspelled_config(features: int) -> str:
    import yaml

    data = yaml.safe_load(big_config(features))
    names = data["models"]["xgboost"]["features"]
    data["models"]["xgboost"]["features"] = [n + "x" if i % 2 else n for i, n in enumerate(names)]
    return yaml.safe_dump(data, sort_keys=False)


def long_string_config(chars: int) -> str:
    import yaml

    data = yaml.safe_load((REPO / "examples" / "config.yml").read_text())
    unit = "a://b:c"
    value = (unit * (chars // len(unit) + 1))[:chars]
    data["bootstrap"]["source"].setdefault("options", {})["note"] = value
    return yaml.safe_dump(data, sort_keys=False, width=float("inf"))


def time_validate(text: str, repeat: int = 1) -> float:
    from ranker_values.pipeline import validate_config

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yml"
        path.write_text(text)
        best = math.inf
        for _ in range(repeat):
            started = time.process_time()  # CPU time: other load on a shared machine does not count
            validate_config(path)
            best = min(best, time.process_time() - started)
    return best


def exponent(points: list[tuple[int, float]]) -> float:
    usable = [(math.log(n), math.log(t)) for n, t in points if t >= 0.01]
    if len(usable) < 2:
        return float("nan")
    mx = sum(x for x, _ in usable) / len(usable)
    my = sum(y for _, y in usable) / len(usable)
    return sum((x - mx) * (y - my) for x, y in usable) / sum((x - mx) ** 2 for x, _ in usable)


def series(name: str, sizes: list[int], make) -> tuple[float, float]:
    print(f"\n{name}")
    print(f"{'size':>10} {'seconds':>9} {'x prev':>7}")
    points, worst, previous = [], 0.0, None
    for size in sizes:
        text = make(size)
        seconds = time_validate(text, repeat=3 if size <= 7000 else 1)
        ratio = seconds / previous if previous else float("nan")
        if previous and previous >= 0.01:
            worst = max(worst, ratio)
        print(f"{size:>10,} {seconds:>9.3f} {ratio:>7.2f}")
        points.append((size, seconds))
        previous = seconds
    k = exponent(points)
    print(f"exponent k = {k:.2f}; worst doubling {worst:.2f}x (target <= {TARGET_RATIO}x)")
    return k, worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a minute instead of several)")
    args = parser.parse_args()
    from ranker_values.config.schema import validator

    validator()  # the schema is compiled once per process: not part of the scaling
    top = 6_400 if args.quick else 40_000
    feature_sizes = [n for n in (100, 200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 40_000) if n <= top]
    string_sizes = [1_000 * 2**i for i in range(11)][: 8 if args.quick else 11]
    string_sizes[-1] = min(string_sizes[-1], 1_000_000)
    results = {
        "features": series("features (all defined)", feature_sizes, big_config),
        "misspelled": series("features (half the model's names misspelled: RV101 + did-you-mean)", feature_sizes, misspelled_config),
        "string": series("one string value of N chars (RV120 worst case)", string_sizes, long_string_config),
    }
    print("\nsummary: " + "; ".join(f"{name} k={k:.2f} worst {w:.2f}x" for name, (k, w) in results.items()))
    ok = all(w <= TARGET_RATIO for _, w in results.values())
    print("linear: every doubling within target" if ok else "NOT linear: a doubling exceeded the target")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
