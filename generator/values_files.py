"""Read Helm values files the way Helm merges them (later files win, maps merge deeply)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from generator.errors import InvalidInput, UsageError


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing for user values: maps merge key by key, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_values_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: values file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read values file: {exc}") from exc
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise InvalidInput(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InvalidInput(f"{path}: a values file must be a mapping, got {type(doc).__name__}")
    return doc


def merge_values_files(paths: list[Path]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in paths:
        merged = deep_merge(merged, read_values_file(path))
    return merged


#: Where operational commands look for the chart's own defaults (relative to the working directory).
DEFAULT_CHART = Path("charts/ranker")


def release_values(paths: list[Path], chart: Path | None = DEFAULT_CHART) -> dict[str, Any]:
    """The values Helm would give the templates: the chart's ``values.yaml``, then each ``-f`` file.

    Operational commands read settings the user may leave at the chart default (``s3.region``,
    ``stages.update.savepoints``...); without the chart at hand only the files count.
    """
    defaults = chart / "values.yaml" if chart is not None else None
    base = read_values_file(defaults) if defaults is not None and defaults.is_file() else {}
    return deep_merge(base, merge_values_files(paths))


def dig(values: dict[str, Any], dotted: str, default: Any = None) -> Any:
    """``dig(v, "stages.api.replicaCount")`` with a default for any missing level."""
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node
