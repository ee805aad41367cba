"""The chart's own unit tests (helm-unittest suites in charts/ranker/tests/) and ``ct lint``.

The suites render with the values users pass: ``values/{dev,prod}.yaml`` and the five files
``ranker-values gen examples/config.yml --env prod`` writes, kept in
``charts/ranker/tests/values/generated/`` (a test here proves they are exactly what gen writes).
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from support import CHART, REPO, require_chart
from support.generated import STEPS
from support.tools import run_tool, tools_dir

SUITES = sorted((CHART / "tests").glob("*_test.yaml"))
FIXTURES = CHART / "tests" / "values" / "generated"
GEN_COMMAND = ["gen", "examples/config.yml", "--env", "prod", "--out"]


@pytest.fixture(autouse=True, scope="module")
def _chart_exists():
    require_chart()


def test_unittest_fixtures_are_what_ranker_values_gen_writes(tmp_path: Path):
    """The suites' generated values are current: `ranker-values gen` writes them byte for byte."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ranker-values"), *GEN_COMMAND, str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    fixtures = str(FIXTURES.relative_to(REPO))
    stale = [
        step for step in STEPS
        # the header names the --out folder it was written to; everything else must be identical
        if (tmp_path / f"{step}.yaml").read_text(encoding="utf-8").replace(str(tmp_path), fixtures)
        != (FIXTURES / f"{step}.yaml").read_text(encoding="utf-8")
    ]
    fix = f"ranker-values {' '.join(GEN_COMMAND)} {fixtures}"
    assert stale == [], f"stale fixtures {stale}: regenerate with `{fix}`"


def test_every_helm_unittest_suite_passes(tmp_path: Path):
    assert SUITES, "no charts/ranker/tests/*_test.yaml"
    report = tmp_path / "junit.xml"
    done = run_tool("helm-unittest", "--strict", "--color=false", "-t", "JUnit", "-o", str(report), str(CHART))
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    root = ET.parse(report).getroot()
    cases = root.findall(".//testcase")
    failed = [c.get("name") for c in cases if c.find("failure") is not None or c.find("error") is not None]
    assert failed == [], failed
    suites = {s.get("name") for s in root.findall(".//testsuite")}
    assert len(suites) == len(SUITES), f"ran {sorted(suites)}, expected {len(SUITES)} suites"
    declared = sum(len(re.findall(r"(?m)^  - it: ", suite.read_text(encoding="utf-8"))) for suite in SUITES)
    assert len(cases) == declared, f"{len(cases)} helm-unittest tests ran, the suites declare {declared}"


def test_helm_unittest_fails_on_a_wrong_expectation(tmp_path: Path):
    """The runner can fail: a suite expecting the wrong api name is a failure, not a pass."""
    import shutil

    chart = tmp_path / "ranker"
    shutil.copytree(CHART, chart, ignore=shutil.ignore_patterns("*_test.yaml"))
    (chart / "tests" / "wrong_test.yaml").write_text(
        "suite: wrong\ntemplates: [templates/api/service.yaml]\n"
        f"values: [{REPO / 'values' / 'prod.yaml'}, values/generated/api.yaml]\n"
        "tests:\n  - it: expects a wrong name\n    asserts:\n"
        "      - equal: {path: metadata.name, value: not-the-api}\n",
        encoding="utf-8",
    )
    done = run_tool("helm-unittest", "--color=false", str(chart))
    assert done.returncode != 0, done.stdout
    assert "not-the-api" in done.stdout, done.stdout


def test_ct_lint_passes(tmp_path: Path):
    """chart-testing's lint (Chart.yaml schema, yamllint, helm lint with the prod steady state).

    On a copy: ct runs `helm dependency build`, which writes a Chart.lock into the chart.
    """
    import shutil

    shutil.copytree(CHART, tmp_path / "ranker")
    etc = tools_dir() / "etc" / "ct"
    done = run_tool(
        "ct", "lint",
        "--charts", "ranker",
        "--validate-maintainers=false",
        "--check-version-increment=false",
        "--chart-yaml-schema", str(etc / "chart_schema.yaml"),
        "--lint-conf", str(etc / "lintconf.yaml"),
        "--helm-lint-extra-args",
        f"--values {REPO / 'values' / 'prod.yaml'} --values {FIXTURES / 'update.yaml'}",
        cwd=tmp_path,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "All charts linted successfully" in output, output
    assert "Validation success" in output, output  # the Chart.yaml schema check ran
