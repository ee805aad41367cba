"""kubeconform -strict over every render: built-in kinds against Kubernetes 1.29 and 1.34,
FlinkDeployments against the operator 1.9.0 and 1.15.0 CRDs, all from local schemas
(``scripts/tools.sh``; no network, no schema download, a missing schema is an error).

This runs beside ``test_chart_render.test_every_object_validates_strictly`` (kubernetes-validate
through ``ranker_values.kube.schemas``): that one is the product path (`ranker-values render`,
pip-installable, every error per object, DNS/label rules); kubeconform is the tool users' CI
runs, over the Helm CLI's own output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import CRD_VERSIONS, require_chart, require_shared, CRD_DIR
from support.cli import helm_template, parse_stream
from support.matrix import CASES, EXAMPLE, case_params
from support.tools import KUBECONFORM_KUBE_VERSIONS, run_tool, schema_dir

# Every step × env × Redis switch of the example and the shared configs, rendered by Helm 4.
KUBECONFORM_CASES = [c for c in CASES if c.config != "handwritten"]


@pytest.fixture(autouse=True, scope="module")
def _chart_exists():
    require_chart()


def kubeconform(paths: list[Path], kube: str, operator: str) -> tuple[int, dict]:
    schemas = schema_dir()
    crd_schemas = schemas / "flink-kubernetes-operator" / operator
    if not crd_schemas.is_dir():
        require_shared(CRD_DIR / operator)
        pytest.fail(f"{crd_schemas} is missing: re-run scripts/tools.sh")
    done = run_tool(
        "kubeconform", "-strict", "-summary", "-output", "json", "-kubernetes-version", kube,
        "-schema-location", str(schemas / "kubernetes"),
        "-schema-location", f"{crd_schemas}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
        *[str(p) for p in paths],
    )
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def _render_all(tmp_path: Path) -> tuple[list[Path], int]:
    paths, objects = [], 0
    for case in KUBECONFORM_CASES:
        done = helm_template("helm4", case)
        assert done.returncode == 0, f"helm4 template {case.id}:\n{done.stderr}"
        path = tmp_path / f"{case.id}.yaml"
        path.write_text(done.stdout, encoding="utf-8")
        paths.append(path)
        objects += len(parse_stream(done.stdout))
    return paths, objects


@pytest.mark.parametrize("kube", KUBECONFORM_KUBE_VERSIONS)
@pytest.mark.parametrize("operator", CRD_VERSIONS)
def test_kubeconform_strict_accepts_every_rendered_object(tmp_path: Path, kube: str, operator: str):
    paths, objects = _render_all(tmp_path)
    rc, report = kubeconform(paths, kube, operator)
    summary = report["summary"]
    problems = [r for r in report.get("resources", []) if r.get("status") != "statusValid"]
    assert rc == 0 and problems == [], json.dumps(problems, indent=1)[:4000]
    assert summary["invalid"] == summary["errors"] == summary["skipped"] == 0, summary
    assert summary["valid"] == objects, f"kubeconform validated {summary['valid']} of {objects} objects"


BAD_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers: [{name: c, image: x:1, imagePullPolice: Always}]
"""

BAD_FLINK = """\
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata: {name: bad}
spec:
  flinkVersion: v1_15
  jobManager: {resource: {cpu: 1, memory: 1g}, replica: 1}
"""

UNKNOWN_KIND = """\
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
"""


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(BAD_DEPLOYMENT, "imagePullPolice", id="unknown-field-in-a-built-in"),
        pytest.param(BAD_FLINK, "replica", id="unknown-field-in-a-flinkdeployment"),
        pytest.param(UNKNOWN_KIND, "could not find schema", id="kind-without-a-schema"),
    ],
)
@pytest.mark.parametrize("operator", CRD_VERSIONS)
def test_kubeconform_rejects_what_the_api_server_would(tmp_path: Path, text: str, expected: str, operator: str):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    rc, report = kubeconform([path], KUBECONFORM_KUBE_VERSIONS[-1], operator)
    assert rc != 0, report
    messages = " ".join(str(r.get("msg", "")) for r in report.get("resources", []))
    assert expected in messages, messages
