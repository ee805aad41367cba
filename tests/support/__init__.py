"""Shared test harness for the chart: render it with the Helm SDK, validate what comes out.

Import from test files as ``from support import ...`` (pytest puts ``tests/`` on ``sys.path``
because ``tests/`` is not a package).

- ``support.render``: Helm SDK renders (fresh chart per render, cached per key) and strict lint.
- ``support.k8s``: kubernetes-validate strict schemas for Kubernetes 1.29 and 1.34 + kind whitelist.
- ``support.crd``: Flink operator CRDs translated to strict JSON Schema (spec and status).
- ``support.admission``: the Flink operator's admission rules (``DefaultValidator``) as code.
- ``support.generated``: the values files ``ranker-values gen`` writes, for the render matrix.
- ``support.matrix``: the render matrix (env × generated file × redis subchart on/off).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parents[2]
# ../shared beside the clone; RANKER_SHARED points elsewhere (e.g. from a git worktree).
SHARED = Path(os.environ.get("RANKER_SHARED") or REPO.parent / "shared").resolve()
CHART = REPO / "charts" / "ranker"
ENV_VALUES = {"dev": REPO / "values" / "dev.yaml", "prod": REPO / "values" / "prod.yaml"}
SHARED_CONFIGS = {
    "sample": SHARED / "metarank" / "0.4.1" / "sample-config.yml",
    "ranklens": SHARED / "metarank" / "0.4.1" / "ranklens-config.yml",
}
CRD_DIR = SHARED / "crds" / "flink-kubernetes-operator"
CRD_VERSIONS = ("1.9.0", "1.15.0")
KUBE_VERSIONS = ("1.29", "1.34")


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def missing(message: str, ci_message: str | None = None) -> NoReturn:
    """Something a test needs is not installed: skip with ``message`` locally; fail under CI,
    which installs everything first (with ``ci_message`` when it says more)."""
    if in_ci():
        pytest.fail(ci_message or message)
    pytest.skip(message)


def require_shared(path: Path = SHARED) -> Path:
    """Skip (with the reason) when ../shared is not there; it is not part of the repo."""
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared CRDs / Metarank configs live outside the repo")
    return path


def require_chart() -> Path:
    """The chart is a hard requirement: fail, never skip, when it is missing."""
    if not (CHART / "Chart.yaml").is_file():
        pytest.fail(f"{CHART}/Chart.yaml is missing: nothing to render")
    return CHART
