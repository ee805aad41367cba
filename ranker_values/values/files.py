"""Read Helm values files the way Helm merges them (later files win, maps merge deeply)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from ranker_values.errors import InvalidInput


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing for user values: maps merge key by key, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


#: Deepest nesting accepted in a values or objects file (see ranker_values.files.inputs).
MAX_DEPTH = 100


def read_yaml_documents(path: Path, what: str = "values file") -> list[Any]:
    """Every document of a YAML (or JSON) file, ``None`` documents dropped, through the input gate
    (:mod:`ranker_values.files.inputs`: regular files only, size, depth and alias-expansion bounds).

    UsageError when the file cannot be read at all (missing, not a regular file, not UTF-8);
    InvalidInput when it is not YAML, too large, nests deeper than :data:`MAX_DEPTH` or its
    aliases expand too far.
    """
    from ranker_values.files.inputs import MAX_OBJECTS_BYTES, MAX_YAML_BYTES, load_yaml_documents

    limit = MAX_OBJECTS_BYTES if what == "objects file" else MAX_YAML_BYTES
    return load_yaml_documents(path, what, limit)


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


def installed_chart() -> Path | None:
    """The chart that came with this package: ``ranker_values/_data/charts/ranker`` in an installed
    wheel (pyproject's force-include), else the source checkout's ``charts/ranker`` beside the
    package (an editable install); ``None`` when neither is there."""
    from importlib import resources

    try:
        packaged = Path(str(resources.files("ranker_values"))) / "_data" / "charts" / "ranker"
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - not importable as a package
        packaged = Path(__file__).resolve().parents[1] / "_data" / "charts" / "ranker"
    checkout = Path(__file__).resolve().parents[2] / "charts" / "ranker"
    for chart in (packaged, checkout):
        if (chart / "Chart.yaml").is_file():
            return chart
    return None


def default_chart() -> Path:
    """``--chart``'s default for ``render`` and ``plan``: ``charts/ranker`` under the working
    directory when it is a chart (in a clone the copy you edit wins), else the chart installed with
    the package, else ``charts/ranker`` (so the error names the usual place)."""
    if (DEFAULT_CHART / "Chart.yaml").is_file():
        return DEFAULT_CHART
    return installed_chart() or DEFAULT_CHART


def release_values(paths: list[Path], chart: Path | None = None) -> dict[str, Any]:
    """The values Helm would give the templates: the chart's ``values.yaml``, then each ``-f`` file.

    Operational commands (``savepoint``, ``upgrade-values``, ``check``, ``tune``) read settings the
    user may leave at the chart default (``s3.region``, ``stages.update.savepoints``...). The chart
    is ``default_chart()`` unless given: a clone's ``charts/ranker``, else the one installed with
    this package, so an installed wheel run outside a clone reads the same defaults. Without any
    chart at hand only the files count.
    """
    if chart is None:
        chart = default_chart()
    defaults = chart / "values.yaml"
    base = read_values_file(defaults) if defaults.is_file() else {}
    return deep_merge(base, merge_values_files(paths))


def dig(values: dict[str, Any], dotted: str, default: Any = None) -> Any:
    """``dig(v, "stages.api.replicaCount")`` with a default for any missing level."""
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node
