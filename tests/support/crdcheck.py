"""Objects checked against CRDs kubeconform's local schemas do not hold (Gateway API,
prometheus-operator): a Helm 4 render with overrides, and kubeconform -strict with the Kubernetes
schemas, the Flink operator 1.15.0 CRD schemas and the extra schema folders a test writes
(``{kind}-{first label of the group}-{version}.json``, from ranker_values.kube.crd.resource_schema).
Missing tools or schemas skip locally and fail under CI (support.tools).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from support import CHART, ENV_VALUES, missing
from support.cli import NAMESPACE, RELEASE
from support.tools import KUBECONFORM_KUBE_VERSIONS, run_tool, schema_dir

FIXTURES = CHART / "tests" / "values" / "generated"


def helm4_template(tmp_path: Path, overrides: dict, env: str = "prod", step: str = "update") -> str:
    """``helm4 template`` of values/ENV.yaml + the generated STEP file + ``overrides`` (last)."""
    extra = tmp_path / "overrides.yaml"
    extra.write_text(yaml.safe_dump(overrides), encoding="utf-8")
    done = run_tool(
        "helm4", "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
        "-f", str(ENV_VALUES[env]), "-f", str(FIXTURES / f"{step}.yaml"), "-f", str(extra),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def kubeconform(path: Path, *extra_schema_dirs: Path, kube: str = KUBECONFORM_KUBE_VERSIONS[-1]) -> tuple[int, dict]:
    """kubeconform's return code and JSON report for ``path``."""
    schemas = schema_dir()
    flink = schemas / "flink-kubernetes-operator" / "1.15.0"
    if not flink.is_dir():
        missing(f"{flink} is missing: re-run scripts/tools.sh")
    locations = [str(schemas / "kubernetes")] + [
        f"{folder}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json" for folder in (flink, *extra_schema_dirs)
    ]
    done = run_tool(
        "kubeconform", "-strict", "-summary", "-output", "json", "-kubernetes-version", kube,
        *[arg for location in locations for arg in ("-schema-location", location)],
        str(path),
    )
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)
