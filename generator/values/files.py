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


#: Deepest nesting accepted in a values or objects file. Helm values nest < 10 levels, a
#: ``kubectl get crd -o yaml`` of the Flink operator ~35; the bound keeps recursive readers
#: (PyYAML's composer, ``deep_merge``, ``copy.deepcopy``) far from Python's recursion limit.
MAX_DEPTH = 100


def read_yaml_documents(path: Path, what: str = "values file") -> list[Any]:
    """Every document of a YAML (or JSON) file, ``None`` documents dropped.

    UsageError when the file cannot be read at all (missing, a directory, not UTF-8);
    InvalidInput when it is not YAML or nests deeper than :data:`MAX_DEPTH`.
    """
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: {what} not found") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: {what} is not UTF-8 text (invalid byte at offset {exc.start})") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        docs = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise InvalidInput(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    except RecursionError:
        raise InvalidInput(f"{path}: nested deeper than {MAX_DEPTH} levels") from None
    if any(_deeper_than(doc, MAX_DEPTH) for doc in docs):
        raise InvalidInput(f"{path}: nested deeper than {MAX_DEPTH} levels")
    return docs


def _deeper_than(node: Any, limit: int) -> bool:
    """Iterative (a recursive walk is what the bound protects against)."""
    stack = [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def read_values_file(path: Path) -> dict[str, Any]:
    docs = read_yaml_documents(path)
    if not docs:
        return {}
    if len(docs) > 1:
        raise InvalidInput(f"{path}: a values file must be one YAML document, found {len(docs)}")
    if not isinstance(docs[0], dict):
        raise InvalidInput(f"{path}: a values file must be a mapping, got {type(docs[0]).__name__}")
    return docs[0]


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
