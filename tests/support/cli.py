"""The chart through the real Helm CLIs (``helm3``/``helm4`` from scripts/tools.sh).

``helm template`` output is cached per (CLI, case) for the session: template, parity and
kubeconform tests share one render. Overrides of a matrix case (the Redis switch) go in as one
more ``-f`` file, last, exactly as a user's ``--set``/``-f`` would.
"""

from __future__ import annotations

import atexit
import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from ranker_values.kube.render import Manifest
from support import CHART, REPO
from support.matrix import Case
from support.tools import run_tool

RELEASE = "ranker"
NAMESPACE = "ranking"

_tmp: Path | None = None
_template_cache: dict[tuple[str, str, str], subprocess.CompletedProcess[str]] = {}


def _scratch() -> Path:
    global _tmp
    if _tmp is None:
        _tmp = Path(tempfile.mkdtemp(prefix="ranker-cli-"))
        atexit.register(shutil.rmtree, _tmp, True)
    return _tmp


def values_args(case: Case, extra: dict[str, Any] | None = None) -> list[str]:
    """``-f env.yaml -f generated.yaml -f overrides.yaml`` for one matrix case."""
    overrides = {**case.overrides, **(extra or {})}
    text = yaml.safe_dump(overrides, sort_keys=True)
    path = _scratch() / f"overrides-{hashlib.sha256(text.encode()).hexdigest()[:16]}.yaml"
    path.write_text(text, encoding="utf-8")
    files = [*case.values_files(), path]
    return [arg for f in files for arg in ("-f", str(f))]


def helm_template(cli: str, case: Case, release: str = RELEASE) -> subprocess.CompletedProcess[str]:
    key = (cli, case.id, release)
    if key not in _template_cache:
        _template_cache[key] = run_tool(
            cli, "template", release, str(CHART), "--namespace", NAMESPACE, *values_args(case), cwd=REPO
        )
    return _template_cache[key]


def helm_lint(cli: str, case: Case | None) -> subprocess.CompletedProcess[str]:
    """``helm lint --strict --with-subcharts`` with a case's values; for ``None`` exactly
    ``helm lint --strict charts/ranker`` (the chart's own defaults)."""
    if case is None:
        return run_tool(cli, "lint", "--strict", "charts/ranker", cwd=REPO)
    args = ["lint", "--strict", "--with-subcharts", str(CHART), "--namespace", NAMESPACE, *values_args(case)]
    return run_tool(cli, *args, cwd=REPO)


def parse_stream(text: str) -> list[Manifest]:
    """Objects of a ``helm template`` stream, each tagged with its ``# Source:`` template."""
    objects = []
    for doc in re.split(r"(?m)^---[ \t]*$\n?", text):
        source = ""
        for line in doc.splitlines():
            if line.startswith("# Source: "):
                source = line.removeprefix("# Source: ").strip()
                break
        obj = yaml.safe_load(doc)
        if obj is None:
            continue
        assert isinstance(obj, dict), f"{source}: a rendered document is not a mapping"
        objects.append(Manifest(obj, source))
    return objects


def template_objects(cli: str, case: Case, release: str = RELEASE) -> list[Manifest]:
    done = helm_template(cli, case, release)
    assert done.returncode == 0, f"{cli} template {case.id} failed:\n{done.stderr}"
    return parse_stream(done.stdout)
