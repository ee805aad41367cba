#!/usr/bin/env python3
"""Write local, self-contained strict JSON schemas for kubeconform (called by scripts/tools.sh).

kubeconform downloads schemas unless it is given a directory. This builds that directory from
what is already installed, so validation needs no network:

- Kubernetes built-ins, from kubernetes-validate's bundled ``vX.Y.Z-local-strict`` schemas:
  each file's ``$ref``s point into a shared ``/api/_definitions.json``; here every file gets the
  definitions it reaches (transitively) under its own ``$defs`` and local ``#/$defs/...`` refs.
  Layout: ``OUT/kubernetes/vX.Y.Z-standalone-strict/<kind>-<group>-<version>.json`` (kubeconform's
  default file template, given ``-schema-location OUT/kubernetes``).
- Custom resources, from the Flink operator CRDs: ``ranker_values.kube.crd.resource_schema`` (nullable,
  int-or-string, no unknown fields, apiVersion/kind constants: the same translation ``ranker-values
  render`` uses). Layout: ``OUT/flink-kubernetes-operator/<version>/<kind>-<group>-<version>.json``
  (``-schema-location 'OUT/flink-kubernetes-operator/<version>/{{ .ResourceKind }}{{ .KindSuffix }}.json'``).

Usage: kubeconform_schemas.py --out DIR [--kube 1.29 ...] [--crds 1.9.0=PATH ...]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REF = re.compile(r"^(?:/api/_definitions\.json)?#/\$defs/(.+)$")


def _refs(node: Any, found: set[str]) -> Any:
    """Rewrite every $ref to a local ``#/$defs/NAME`` (in place) and collect the names."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            match = REF.match(ref)
            if not match:
                raise ValueError(f"unexpected $ref {ref!r}")
            found.add(match.group(1))
            node["$ref"] = f"#/$defs/{match.group(1)}"
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)
    return node


def standalone(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with the definitions it reaches inlined under ``$defs``."""
    wanted: set[str] = set()
    _refs(schema, wanted)
    defs: dict[str, Any] = {}
    todo = sorted(wanted)
    while todo:
        name = todo.pop()
        if name in defs:
            continue
        if name not in definitions:
            raise ValueError(f"$ref to a missing definition {name!r}")
        more: set[str] = set()
        defs[name] = _refs(json.loads(json.dumps(definitions[name])), more)
        todo.extend(sorted(more - defs.keys()))
    if defs:
        schema["$defs"] = dict(sorted(defs.items()))
    return schema


def kubernetes_schemas(out: Path, minor: str) -> int:
    from kubernetes_validate import utils

    from ranker_values.kube.schemas import schema_version

    version = schema_version(minor)  # e.g. 1.29.0: the bundled set for that minor
    source = Path(utils.__file__).parent / "kubernetes-json-schema" / f"v{version}-local-strict"
    definitions = json.loads((source / "_definitions.json").read_text(encoding="utf-8"))["$defs"]
    target = out / "kubernetes" / f"v{version}-standalone-strict"
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in sorted(source.glob("*.json")):
        if path.name.startswith("_"):
            continue
        schema = standalone(json.loads(path.read_text(encoding="utf-8")), definitions)
        (target / path.name).write_text(json.dumps(schema, separators=(",", ":")), encoding="utf-8")
        count += 1
    print(f"kubeconform_schemas: {count} Kubernetes {version} schemas -> {target}", file=sys.stderr)
    return count


def crd_schemas(out: Path, label: str, directory: Path) -> int:
    from ranker_values.kube.crd import load_crd_dir, resource_schema

    target = out / "flink-kubernetes-operator" / label
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    for kind, crd in sorted(load_crd_dir(directory).items()):
        group = crd["spec"]["group"]
        for version in crd["spec"]["versions"]:
            if not version.get("served", True):
                continue
            name = f"{kind.lower()}-{group.split('.')[0]}-{version['name']}.json"
            schema = resource_schema(crd, version["name"])
            (target / name).write_text(json.dumps(schema, separators=(",", ":")), encoding="utf-8")
            count += 1
    print(f"kubeconform_schemas: {count} CRD schemas (operator {label}) -> {target}", file=sys.stderr)
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--kube", action="append", default=[], help="Kubernetes minor, e.g. 1.29")
    parser.add_argument("--crds", action="append", default=[], help="LABEL=DIR of CRD YAML files")
    args = parser.parse_args(argv)
    for minor in args.kube:
        kubernetes_schemas(args.out, minor)
    for item in args.crds:
        label, sep, directory = item.partition("=")
        if not sep:
            parser.error(f"--crds {item!r}: expected LABEL=DIR")
        crd_schemas(args.out, label, Path(directory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
