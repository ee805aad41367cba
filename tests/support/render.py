"""Render charts/ranker through the Helm SDK (helm_python) and parse what comes out.

``Chart.render`` mutates the loaded chart (a subchart disabled by one render is gone from that
handle afterwards), so every render loads the chart afresh. Renders are cached per key for the
test session: the matrix re-uses the same render for schema, CRD and admission checks.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ranker_values.kube.render import Manifest, parse_manifests  # noqa: F401 - re-exported for the tests
from ranker_values.kube.render import render_texts as render_texts_fresh
from ranker_values.values.files import deep_merge, merge_values_files
from support import CHART

DEFAULT_RELEASE = "ranker"
DEFAULT_NAMESPACE = "ranking"


@dataclass(frozen=True)
class RenderKey:
    files: tuple[tuple[str, str], ...]  # (path, sha256 of bytes): a changed file is a new key
    overrides: str  # canonical JSON
    release: str
    namespace: str


_texts_cache: dict[RenderKey, dict[str, str]] = {}
_objects_cache: dict[RenderKey, list[Manifest]] = {}


def values_for(values_files: list[Path], overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Values as ``helm -f a.yaml -f b.yaml --set ...`` would pass them: later files win."""
    merged = merge_values_files([Path(p) for p in values_files])
    return deep_merge(merged, overrides or {})


def render_texts_uncached(
    values_files: list[Path],
    overrides: dict[str, Any] | None = None,
    release: str = DEFAULT_RELEASE,
    namespace: str = DEFAULT_NAMESPACE,
    chart_path: Path = CHART,
) -> dict[str, str]:
    """``{template path: rendered text}`` from a freshly loaded chart, install semantics."""
    return render_texts_fresh(values_for(values_files, overrides), chart_path, release, namespace)


def render_texts(
    values_files: list[Path],
    overrides: dict[str, Any] | None = None,
    release: str = DEFAULT_RELEASE,
    namespace: str = DEFAULT_NAMESPACE,
) -> dict[str, str]:
    key = _key(values_files, overrides, release, namespace)
    if key not in _texts_cache:
        _texts_cache[key] = render_texts_uncached(values_files, overrides, release, namespace)
    return dict(_texts_cache[key])


def render(
    values_files: list[Path],
    overrides: dict[str, Any] | None = None,
    release: str = DEFAULT_RELEASE,
    namespace: str = DEFAULT_NAMESPACE,
) -> list[Manifest]:
    """Every rendered object (hook and ``tests/`` pods included, NOTES.txt excluded).

    Returns deep copies, so a test may change what it gets without affecting other tests.
    """
    key = _key(values_files, overrides, release, namespace)
    if key not in _objects_cache:
        _objects_cache[key] = parse_manifests(render_texts(values_files, overrides, release, namespace))
    return copy.deepcopy(_objects_cache[key])


def lint(
    values_files: list[Path],
    overrides: dict[str, Any] | None = None,
    namespace: str = DEFAULT_NAMESPACE,
    kube_version: str | None = None,
    chart_path: Path | None = None,
) -> list[str]:
    """``helm lint --strict --with-subcharts``; returns every finding above info, formatted."""
    import helm_python

    report = helm_python.lint(
        str(chart_path or CHART),
        values_for(values_files, overrides),
        strict=True,
        namespace=namespace,
        with_subcharts=True,
        kube_version=kube_version,
    )
    # strict mode copies warnings into "errors"; keep error-level messages too, once each
    findings = [str(e) for e in report.get("errors", [])]
    for message in report.get("messages", []):
        text = f"{message.get('path')}: {message.get('error')}"
        if message.get("severity", 0) >= 2 and not any(str(message.get("error")) in f for f in findings):
            findings.append(text)
    return findings


def by_kind(objects: list[Manifest], kind: str) -> list[Manifest]:
    return [o for o in objects if o.get("kind") == kind]


def component(obj: dict[str, Any]) -> str | None:
    return ((obj.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/component")


def _key(values_files: list[Path], overrides: dict[str, Any] | None, release: str, namespace: str) -> RenderKey:
    files = tuple((str(p), hashlib.sha256(Path(p).read_bytes()).hexdigest()) for p in values_files)
    return RenderKey(files, json.dumps(overrides or {}, sort_keys=True), release, namespace)
