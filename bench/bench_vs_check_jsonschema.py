"""Cold `ranker-values gen` / `validate` against `check-jsonschema` on the same config, as ratios
measured in one run (a script, not a timed test).

    .venv/bin/python bench/bench_vs_check_jsonschema.py [--runs 15] [CONFIG]

Each command runs ``--runs`` times as a fresh process, interleaved (gen, validate,
check-jsonschema, gen, ...) so load on a shared machine hits all of them alike; the medians and
the ratios to check-jsonschema are printed. check-jsonschema only checks the schema;
`validate` also runs the semantic rules and `gen` writes five values files too.
Target (issue 18, item 8): cold gen <= 0.5x check-jsonschema; exit 1 when missed.

What makes gen fast: the command line is parsed without typer (ranker_values/cli/fast.py; typer
imports click and pydantic), and a valid config is checked by the schema compiled to Python
(ranker_values/config/schema_generated.py) instead of importing jsonschema. "gen via typer" runs the
same gen through the typer app, for comparison.
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "schemas" / "ranking-config.schema.json"
TARGET = 0.5


def tool(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    if not path.exists():
        raise SystemExit(f"{path} is missing: run scripts/setup.sh test")
    return str(path)


def once(command: list[str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, cwd=REPO)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("config", nargs="?", default=str(REPO / "examples" / "config.yml"))
    args = parser.parse_args()
    compileall.compile_dir(str(REPO / "ranker_values"), quiet=1)  # PYTHONDONTWRITEBYTECODE may be set
    rv, cjs = tool("ranker-values"), tool("check-jsonschema")
    with tempfile.TemporaryDirectory() as out:
        commands = {
            "ranker-values gen": [rv, "gen", args.config, "--out", out],
            "gen via typer": [sys.executable, "-c", "from ranker_values.cli.commands import main; main()", "gen", args.config, "--out", out],
            "ranker-values validate": [rv, "validate", args.config],
            "check-jsonschema": [cjs, "--schemafile", str(SCHEMA), args.config],
            "python -c pass": [sys.executable, "-c", "pass"],
        }
        for command in commands.values():
            once(command)  # warm the page cache
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name].append(once(command))
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["check-jsonschema"]
    print(f"config: {args.config}; {args.runs} interleaved cold runs each (median wall seconds)")
    for name, median in medians.items():
        print(f"  {name:<24} {median:6.3f} s   {median / base:5.2f}x check-jsonschema")
    ratio = medians["ranker-values gen"] / base
    print(f"cold gen / check-jsonschema = {ratio:.2f} (target <= {TARGET})")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
