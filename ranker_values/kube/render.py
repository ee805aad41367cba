"""Render charts/ranker offline with the Helm SDK and validate what it renders.

This is the one place that renders the chart: ``ranker-values render``, ``plan`` and the tests
all go through :func:`render_texts`. ``helm_python``'s ``Chart.render`` mutates the loaded chart
(a subchart disabled by one render is gone from that handle), so every render loads it afresh.

Validation, per object:
- built-in kinds: Kubernetes' own OpenAPI schemas in strict mode (``ranker_values.kube.schemas``,
  kubernetes-validate's bundled schemas) for each requested Kubernetes version;
- ``FlinkDeployment``: each given operator CRD directory (``ranker_values.kube.crd``, spec translated to
  strict JSON Schema) and the operator's admission rules (``ranker_values.kube.admission``);
- any other kind: refused (kubernetes-validate would only warn about it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ranker_values.errors import InvalidInput, UsageError

DEFAULT_CHART = Path("charts/ranker")
DEFAULT_KUBE_VERSIONS = ("1.29", "1.34")


class Manifest(dict):
    """One rendered Kubernetes object; ``.template`` is the chart template it came from."""

    template: str = ""

    def __init__(self, obj: dict[str, Any], template: str):
        super().__init__(obj)
        self.template = template

    @property
    def ref(self) -> str:
        """``Kind/name (template)``: how problems name an object."""
        name = (self.get("metadata") or {}).get("name", "?")
        return f"{self.get('kind', '?')}/{name} ({self.template})"


def render_texts(
    values: dict[str, Any],
    chart: Path = DEFAULT_CHART,
    release: str = "ranker",
    namespace: str = "default",
) -> dict[str, str]:
    """``{template path: rendered text}`` from a freshly loaded chart, install semantics.

    The chart's ``values.schema.json`` and its ``validateValues`` helper both fail here, as
    :class:`InvalidInput` with Helm's message (it names every problem at once).
    """
    import helm_python

    check_release_and_namespace(release, namespace)
    if not (chart / "Chart.yaml").is_file():
        raise UsageError(f"{chart}: not a chart (no Chart.yaml); pass --chart")
    try:
        with helm_python.Chart.load(str(chart)) as loaded:
            return loaded.render(values, name=release, namespace=namespace, revision=1, is_install=True)
    except helm_python.HelmError as exc:
        raise InvalidInput(f"rendering {chart} failed:\n{exc}") from exc


# Helm's own rules (pkg/chartutil ValidateReleaseName) and Kubernetes' for namespaces. The SDK
# renders an empty release name as "release-name" instead of refusing it.
RELEASE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
RELEASE_NAME_MAX = 53
NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def check_release_and_namespace(release: str, namespace: str) -> None:
    if len(release) > RELEASE_NAME_MAX or not RELEASE_NAME.match(release):
        raise UsageError(
            f"--release {release!r}: a release name is 1-{RELEASE_NAME_MAX} lowercase letters, digits, '-' or '.'"
        )
    if len(namespace) > 63 or not NAMESPACE.match(namespace):
        raise UsageError(f"--namespace {namespace!r}: a namespace is 1-63 lowercase letters, digits or '-'")


def parse_manifests(texts: dict[str, str]) -> list[Manifest]:
    """Every rendered object (hooks and ``tests/`` pods included, NOTES.txt excluded), by template."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    objects: list[Manifest] = []
    for template in sorted(texts):
        if template.endswith("NOTES.txt"):
            continue
        try:
            docs = list(yaml.load_all(texts[template], Loader=loader))
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{template} rendered invalid YAML: {exc}") from exc
        for doc in docs:
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise InvalidInput(f"{template}: a rendered document is not a mapping")
            objects.append(Manifest(doc, template))
    return objects


def is_test_hook(obj: dict[str, Any]) -> bool:
    hook = ((obj.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", "")
    return "test" in str(hook)


@dataclass
class Validation:
    kube_versions: tuple[str, ...]
    crd_dirs: tuple[Path, ...]
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # kind -> objects checked

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_manifests(
    objects: list[Manifest], kube_versions: tuple[str, ...] = DEFAULT_KUBE_VERSIONS, crd_dirs: tuple[Path, ...] = ()
) -> Validation:
    """Check every object; custom resources without a CRD directory are reported, not passed.

    A custom resource is checked against every ``crd_dirs`` entry holding its kind's CRD (each
    Flink operator version; the prometheus-operator's for PodMonitor/PrometheusRule). A
    FlinkDeployment when directories are given but none holds its CRD is a problem; a monitoring
    object is then a warning, as it is without directories."""
    from ranker_values.kube.admission import admission_errors
    from ranker_values.kube.crd import custom_resource_errors_from, load_crd_dir
    from ranker_values.kube.schemas import (
        BUILTIN_KINDS,
        CUSTOM_KINDS,
        FLINK_DEPLOYMENT,
        api_server_errors,
        kind_of,
        validation_errors,
    )

    check_validation_options(kube_versions, crd_dirs)
    result = Validation(tuple(kube_versions), tuple(crd_dirs))
    for obj in objects:
        pair = kind_of(obj)
        result.counts[pair[1]] = result.counts.get(pair[1], 0) + 1
        if pair in BUILTIN_KINDS:
            for version in kube_versions:
                result.problems += [f"{obj.ref}: Kubernetes {version}: {e}" for e in validation_errors(obj, version)]
            result.problems += [f"{obj.ref}: Kubernetes API server: {e}" for e in api_server_errors(obj)]  # any version
        elif pair in CUSTOM_KINDS:
            holding = [d for d in crd_dirs if pair[1] in load_crd_dir(Path(d))]
            if pair == FLINK_DEPLOYMENT and crd_dirs and not holding:
                result.problems.append(f"{obj.ref}: none of the --crds directories holds a FlinkDeployment CRD")
            elif not holding:
                owner = "the Flink operator's" if pair == FLINK_DEPLOYMENT else "the prometheus-operator's"
                result.warnings.append(f"{obj.ref}: not checked against a CRD (give {owner} CRDs with --crds DIR)")
            for crd_dir in holding:
                result.problems += [f"{obj.ref}: CRD {crd_dir}: {e}" for e in custom_resource_errors_from(obj, crd_dir)]
            if pair == FLINK_DEPLOYMENT:
                result.problems += [f"{obj.ref}: operator admission: {e}" for e in admission_errors(obj)]
                result.problems += [f"{obj.ref}: Kubernetes API server (the pods the operator creates): {e}" for e in api_server_errors(obj)]
        else:
            result.problems.append(f"{obj.ref}: {pair[0]} {pair[1]} is not a kind ranker renders")
    return result


def check_validation_options(kube_versions: tuple[str, ...], crd_dirs: tuple[Path, ...]) -> None:
    """UsageError for a Kubernetes version without bundled schemas or an unusable CRD directory,
    so ``render`` refuses them before it renders or writes anything."""
    from ranker_values.kube.crd import load_crd_dir
    from ranker_values.kube.schemas import schema_version

    for version in kube_versions:
        try:
            schema_version(version)
        except ValueError as exc:
            raise UsageError(f"--kube-version {version}: {exc}") from None
    for crd_dir in crd_dirs:
        load_crd_dir(Path(crd_dir))


def manifest_text(texts: dict[str, str]) -> str:
    """The render as one multi-document YAML stream, like ``helm template`` prints it."""
    parts = [
        f"---\n# Source: {template}\n{text.strip()}\n"
        for template, text in sorted(texts.items())
        if text.strip() and not template.endswith("NOTES.txt")
    ]
    return "".join(parts)
