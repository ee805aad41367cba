#!/usr/bin/env python3
"""Generate the parameters table of charts/ranker/README.md from the `## @param` comments.

Reads charts/ranker/values.yaml and the bundled subcharts' values.yaml (Redis, RabbitMQ; their
`@param` names already carry the `redis.` / `rabbitmq.` prefix) and rewrites the block between the README markers.
The same text becomes the `description` of each value in charts/ranker/values.schema.json (editors
show it on hover), wherever the schema describes that value itself: not inside a shared
definition (`$ref`, e.g. the image keys) and not under the open `global` map.
`--check` changes nothing and exits 1 when the README or the schema is out of date.
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

from ranker_values.values.files import dig

CHART = Path(__file__).resolve().parents[1] / "charts" / "ranker"
SUBCHARTS = ("redis", "rabbitmq")  # bundled subcharts: their values live under these keys of the parent
VALUES_FILES = (CHART / "values.yaml", *(CHART / "charts" / name / "values.yaml" for name in SUBCHARTS))
README = CHART / "README.md"
SCHEMA = CHART / "values.schema.json"
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


def schema_property(schema: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The schema node of one value, or None when it lies in a shared definition or an open map."""
    node = schema
    parts = path.split(".")
    for index, part in enumerate(parts):
        props = node.get("properties")
        if props is None or part not in props:
            return None
        node = props[part]
        if "$ref" in node and index < len(parts) - 1:
            return None
    return node


def described_schema(schema: dict[str, Any], params: list[Param]) -> dict[str, Any]:
    """A copy of the schema whose value nodes carry their `@param` text as `description`."""
    out = json.loads(json.dumps(schema))
    for p in params:
        node = schema_property(out, p.path)
        if node is not None:
            node["description"] = p.description
    return out


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2) + "\n"


def write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README table is out of date")
    args = parser.parse_args(argv)
    params = all_params()
    readme = README.read_text(encoding="utf-8")
    wanted = updated_readme(readme, render_table(params, merged_values()))
    schema = SCHEMA.read_text(encoding="utf-8")
    wanted_schema = schema_text(described_schema(json.loads(schema), params))
    if args.check:
        stale = [str(path) for path, have, want in ((README, readme, wanted), (SCHEMA, schema, wanted_schema)) if have != want]
        if stale:
            print(f"{', '.join(stale)}: out of date with the @param lines; run python scripts/chart_params.py", file=sys.stderr)
            return 1
        return 0
    if wanted != readme:
        write_atomically(README, wanted)
    if wanted_schema != schema:
        write_atomically(SCHEMA, wanted_schema)
    return 0


if __name__ == "__main__":
    sys.exit(main())
