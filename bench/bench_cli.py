"""Benchmark of the ranker-values start-up and validation paths (a script, not a timed test).

    .venv/bin/python bench/bench_cli.py [--runs 10]

Prints medians of:
  * cold `ranker-values --help`, `gen examples/config.yml` (fresh interpreter per run);
  * `validate` on a generated 2,000-feature config, cold (subprocess) and in-process (warm);
  * a bare `python -c pass` for reference;
and the peak resident memory of the cold runs (os.wait4 rusage of each child; Linux counts the
forked parent image too, so values at the bench process's own size (~25 MiB) are a floor).
The package is byte-compiled first (`compileall`): the environment sets
PYTHONDONTWRITEBYTECODE=1, so without it every start would recompile ranker_values/.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "config.yml"
FEATURE_SHAPES = [
    {"type": "number", "scope": "item", "source": "item.f{i}"},
    {"type": "rate", "top": "click", "bottom": "impression", "scope": "item", "bucket": "24h", "periods": [7, 30]},
    {"type": "interaction_count", "interaction": "click", "scope": "item"},
    {"type": "string", "scope": "item", "source": "item.s{i}", "values": ["a", "b", "c"]},
]


def big_config(features: int) -> str:
    """The bundled example with ``features`` features, all used by its lambdamart model."""
    data = yaml.safe_load(EXAMPLE.read_text())
    data["features"] = [
        {"name": f"f{i}", **{k: v.format(i=i) if isinstance(v, str) else v for k, v in FEATURE_SHAPES[i % 4].items()}}
        for i in range(features)
    ]
    data["models"]["xgboost"]["features"] = [f["name"] for f in data["features"]]
    return yaml.safe_dump(data, sort_keys=False)


def cli() -> list[str]:
    script = Path(sys.executable).with_name("ranker-values")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ranker_values.cli"]


def time_runs(command: list[str], runs: int, expect: int = 0) -> tuple[list[float], int]:
    """Wall times of ``runs`` fresh processes, and the largest peak RSS (KiB) among them."""
    times, peak = [], 0
    for _ in range(runs):
        with tempfile.TemporaryFile() as err:
            started = time.perf_counter()
            proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not all children's
            times.append(time.perf_counter() - started)
            proc.returncode = os.waitstatus_to_exitcode(status)
            peak = max(peak, usage.ru_maxrss)
            if proc.returncode != expect:
                err.seek(0)
                sys.exit(f"{' '.join(command)} exited {proc.returncode}: {err.read().decode()[-500:]}")
    return times, peak


def report(name: str, measured: tuple[list[float], int] | list[float]) -> None:
    times, peak = measured if isinstance(measured, tuple) else (measured, 0)
    memory = f"   peak RSS {peak / 1024:6.1f} MiB" if peak else ""
    print(f"{name:<52} median {statistics.median(times) * 1000:8.1f} ms   "
          f"min {min(times) * 1000:8.1f} ms   runs {len(times)}{memory}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--features", type=int, default=2000)
    args = parser.parse_args()

    compileall.compile_dir(REPO / "ranker_values", quiet=1)
    with tempfile.TemporaryDirectory(prefix="ranker-bench-") as tmp:
        big = Path(tmp) / "big-config.yml"
        big.write_text(big_config(args.features))
        out = Path(tmp) / "out"
        print(f"python {sys.version.split()[0]}; {args.features}-feature config: {big.stat().st_size / 1024:.0f} KiB")
        report("python -c pass (reference)", time_runs([sys.executable, "-c", "pass"], args.runs))
        report("cold ranker-values --help", time_runs([*cli(), "--help"], args.runs))
        report("cold ranker-values gen examples/config.yml", time_runs([*cli(), "gen", str(EXAMPLE), "--out", str(out)], args.runs))
        report(f"cold ranker-values validate ({args.features} features)", time_runs([*cli(), "validate", str(big)], args.runs))

        from ranker_values.pipeline import validate_config

        started = time.perf_counter()
        result = validate_config(big)
        first = time.perf_counter() - started
        assert result.ok, result.diagnostics[:3]
        report(f"in-process validate_config ({args.features} features), first", [first])
        warm = []
        for _ in range(args.runs):
            started = time.perf_counter()
            validate_config(big)
            warm.append(time.perf_counter() - started)
        report(f"in-process validate_config ({args.features} features), warm", warm)


if __name__ == "__main__":
    main()
