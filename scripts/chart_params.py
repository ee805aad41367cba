#!/usr/bin/env python3
"""Generate the parameters table of charts/ranker/README.md from the `## @param` comments.

Reads charts/ranker/values.yaml and the bundled subcharts' values.yaml (Redis, RabbitMQ; their
`@param` names already carry the `redis.` / `rabbitmq.` prefix) and rewrites the block between the README markers.
`--check` changes nothing and exits 1 when the README is out of date.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from generator.values.files import dig

CHART = Path(__file__).resolve().parents[1] / "charts" / "ranker"
SUBCHARTS = ("redis", "rabbitmq")  # bundled subcharts: their values live under these keys of the parent
VALUES_FILES = (CHART / "values.yaml", *(CHART / "charts" / name / "values.yaml" for name in SUBCHARTS))
README = CHART / "README.md"
START, END = "<!-- params:start -->", "<!-- params:end -->"

PARAM = re.compile(r"^\s*## @param\s+(\S+)\s+(.*)$")
SECTION = re.compile(r"^\s*## @section\s+(.*)$")


@dataclass(frozen=True)
class Param:
    path: str
    description: str
    section: str
    source: Path


def read_params(path: Path) -> list[Param]:
    section = ""
    params = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if m := SECTION.match(line):
            section = m.group(1).strip()
        elif m := PARAM.match(line):
            params.append(Param(m.group(1), m.group(2).strip(), section, path))
    return params


def all_params() -> list[Param]:
    return [p for f in VALUES_FILES for p in read_params(f)]


def merged_values() -> dict[str, Any]:
    """Parent values with each subchart's defaults under its key (what the chart renders with)."""
    parent = yaml.safe_load(VALUES_FILES[0].read_text(encoding="utf-8"))
    for name, path in zip(SUBCHARTS, VALUES_FILES[1:]):
        sub = yaml.safe_load(path.read_text(encoding="utf-8"))
        parent[name] = {**sub, **parent.get(name, {})}
    return parent


MISSING = object()


def default_cell(value: Any) -> str:
    if value is MISSING:
        return "(missing)"
    text = json.dumps(value, separators=(", ", ": "))
    return "`" + text.replace("|", "\\|") + "`"


def render_table(params: list[Param], values: dict[str, Any]) -> str:
    lines: list[str] = []
    section = None
    for p in params:
        if p.section != section:
            section = p.section
            lines += ["", f"### {section}", "", "| Name | Description | Default |", "| --- | --- | --- |"]
        desc = p.description.replace("|", "\\|")
        lines.append(f"| `{p.path}` | {desc} | {default_cell(dig(values, p.path, MISSING))} |")
    return "\n".join(lines).lstrip("\n") + "\n"


def updated_readme(readme: str, table: str) -> str:
    if START not in readme or END not in readme:
        raise SystemExit(f"{README}: markers {START} / {END} not found")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}{END}{tail}"


def write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README table is out of date")
    args = parser.parse_args(argv)
    readme = README.read_text(encoding="utf-8")
    wanted = updated_readme(readme, render_table(all_params(), merged_values()))
    if args.check:
        if wanted != readme:
            print(f"{README}: parameters table is out of date; run python scripts/chart_params.py", file=sys.stderr)
            return 1
        return 0
    if wanted != readme:
        write_atomically(README, wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
