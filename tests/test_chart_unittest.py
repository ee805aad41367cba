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


GIT_ID = ["-c", "user.name=ranker tests", "-c", "user.email=tests@ranker.invalid", "-c", "commit.gpgsign=false",
          "-c", "init.defaultBranch=main"]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *GIT_ID, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def repo_with_target_branch(tmp_path: Path, with_chart: bool) -> Path:
    """A clone whose origin/main is the target branch ct compares with (holding the chart as
    shipped, or no chart at all), checked out on a branch `pr` that starts there."""
    import shutil

    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--bare", "--quiet", str(origin))
    work = tmp_path / "work"
    git(tmp_path, "clone", "--quiet", str(origin), str(work))
    (work / "README.md").write_text("ct's target branch\n", encoding="utf-8")
    if with_chart:
        shutil.copytree(CHART, work / "charts" / "ranker")
    git(work, "add", "--all")  # a fresh repository in tmp_path, not this one
    git(work, "commit", "--quiet", "-m", "target branch")
    git(work, "push", "--quiet", "origin", "HEAD:main")
    git(work, "fetch", "--quiet", "origin")
    git(work, "checkout", "--quiet", "-b", "pr")
    return work


def ct_lint(work: Path) -> tuple[int, str]:
    """`ct lint` as the users' workflow runs it on a pull request: the charts that differ from the
    target branch, each with the version-increment check on."""
    etc = tools_dir() / "etc" / "ct"
    done = run_tool(
        "ct", "lint",
        "--chart-dirs", "charts",
        "--target-branch", "main",
        "--remote", "origin",
        "--check-version-increment=true",
        "--validate-maintainers=false",
        "--chart-yaml-schema", str(etc / "chart_schema.yaml"),
        "--lint-conf", str(etc / "lintconf.yaml"),
        "--helm-lint-extra-args",
        f"--values {REPO / 'values' / 'prod.yaml'} --values {FIXTURES / 'update.yaml'}",
        cwd=work,
        timeout=300,
    )
    return done.returncode, done.stdout + done.stderr


def commit_all(work: Path, message: str) -> None:
    # the Chart.lock an earlier ct run wrote (helm dependency build) is not part of the change
    for lock in (work / "charts").glob("*/Chart.lock"):
        lock.unlink()
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "-m", message)


def test_ct_lint_passes(tmp_path: Path):
    """chart-testing's lint (Chart.yaml schema, yamllint, helm lint with the prod steady state,
    version increment against the target branch) of the chart as shipped.

    The chart's first version (0.1.0) is unreleased: a target branch without the chart is the
    honest base, which ct treats as a new chart. That the version check bites on a changed chart
    is the next test. In a temporary git repository: ct runs `helm dependency build`, which
    writes a Chart.lock into the chart.
    """
    work = repo_with_target_branch(tmp_path, with_chart=False)
    import shutil

    shutil.copytree(CHART, work / "charts" / "ranker")
    commit_all(work, "add the chart")
    rc, output = ct_lint(work)
    assert rc == 0, output[-6000:]
    assert "All charts linted successfully" in output, output
    assert "Validation success" in output, output  # the Chart.yaml schema check ran
    assert "for a version bump..." in output and "New chart detected" in output, output


def test_ct_lint_refuses_a_changed_chart_without_a_version_bump(tmp_path: Path):
    """With the target branch holding the chart as shipped, a change to it fails ct lint until
    Chart.yaml's version goes up, as on a pull request in the users' workflow."""
    work = repo_with_target_branch(tmp_path, with_chart=True)
    chart = work / "charts" / "ranker"
    values = chart / "values.yaml"
    values.write_text(values.read_text(encoding="utf-8") + "# a change on the branch\n", encoding="utf-8")
    commit_all(work, "change the chart")
    rc, output = ct_lint(work)
    assert rc != 0, output[-4000:]
    assert "Needs a version bump" in output, output[-4000:]

    chart_yaml = chart / "Chart.yaml"
    text = chart_yaml.read_text(encoding="utf-8")
    old = re.search(r"(?m)^version: (\d+)\.(\d+)\.(\d+)$", text)
    assert old, text
    bumped = f"{old[1]}.{old[2]}.{int(old[3]) + 1}"
    chart_yaml.write_text(re.sub(r"(?m)^version: .*$", f"version: {bumped}", text, count=1), encoding="utf-8")
    commit_all(work, "bump the chart version")
    rc, output = ct_lint(work)
    assert rc == 0, output[-6000:]
    assert f"Old chart version: {old[1]}.{old[2]}.{old[3]}" in output and f"New chart version: {bumped}" in output, output
    assert "All charts linted successfully" in output, output
