"""The users' CI workflow (.github/workflows/ranker-ci.yaml) is a valid GitHub workflow that runs
the chart lint, ``ct lint``, ``ranker-values validate`` and pytest (with the policy scan).

GitHub itself cannot run here: validity is checked against the GitHub workflow schema
(check-jsonschema's vendored ``vendor.github-workflows``) and each ``run:`` script with ``bash -n``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import REPO

WORKFLOW = REPO / ".github" / "workflows" / "ranker-ci.yaml"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def check_workflow_schema(path: Path) -> subprocess.CompletedProcess[str]:
    assert CHECK_JSONSCHEMA.is_file(), f"check-jsonschema is not installed next to {sys.executable}"
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def load_workflow() -> dict[Any, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def steps() -> list[dict[str, Any]]:
    return [step for job in load_workflow()["jobs"].values() for step in job["steps"]]


def run_scripts() -> str:
    return "\n".join(step.get("run", "") for step in steps())


def test_workflow_validates_against_the_github_workflow_schema():
    done = check_workflow_schema(WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param(lambda wf: wf["jobs"]["chart"].pop("runs-on"), id="job-without-runs-on"),
        pytest.param(lambda wf: wf["jobs"]["tests"]["steps"][0].__setitem__("uses", 42), id="uses-not-a-string"),
        pytest.param(lambda wf: wf["jobs"]["configs"].__setitem__("step", []), id="unknown-job-key"),
        pytest.param(lambda wf: wf.pop("jobs"), id="no-jobs"),
    ],
)
def test_a_broken_copy_fails_the_schema_check(breakage, tmp_path: Path):
    workflow = load_workflow()
    breakage(workflow)
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(workflow, sort_keys=False), encoding="utf-8")
    assert check_workflow_schema(broken).returncode != 0


def test_workflow_runs_the_chart_lint_ct_lint_config_validation_and_pytest():
    scripts = run_scripts()
    uses = [step.get("uses", "") for step in steps()]
    assert any(u.startswith("helm/chart-testing-action@") for u in uses)
    assert re.search(r"helm lint --strict", scripts)
    assert re.search(r"^\s*ct lint\b", scripts, re.MULTILINE)
    assert re.search(r"ranker-values validate --env", scripts)
    assert re.search(r"python -m pytest", scripts)


def test_workflow_gives_checkov_its_own_virtualenv_so_the_policy_scan_runs():
    scripts = run_scripts()
    assert "python -m venv .venv-checkov" in scripts
    assert ".venv-checkov/bin/pip install" in scripts
    pytest_step = next(s for s in steps() if "python -m pytest" in s.get("run", ""))
    assert pytest_step.get("env", {}).get("RANKER_CHECKOV", "").endswith(".venv-checkov/bin/checkov")


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_release_as_a_comment():
    """Tags move; a full commit SHA does not. The comment names the release the SHA is (the tag's
    commit in the action's repository), for readers and for update bots."""
    uses = [u for u in (s.get("uses") for s in steps()) if u]
    assert uses
    loose = [u for u in uses if not re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u)]
    assert loose == [], f"actions not pinned to a full commit SHA: {loose}"
    lines = [line for line in WORKFLOW.read_text(encoding="utf-8").splitlines() if re.match(r"\s*(- )?uses:", line)]
    assert len(lines) == len(uses)
    uncommented = [line.strip() for line in lines if not re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+\b", line)]
    assert uncommented == [], f"pinned actions without their release as a comment: {uncommented}"
    # one action, one commit: the same release everywhere it is used
    by_action: dict[str, set[str]] = {}
    for u in uses:
        action, sha = u.split("@")
        by_action.setdefault(action, set()).add(sha)
    assert all(len(shas) == 1 for shas in by_action.values()), by_action


def test_ct_lint_checks_the_version_increment_on_pull_requests():
    (step,) = [s for s in load_workflow()["jobs"]["chart"]["steps"] if re.search(r"^\s*ct lint\b", s.get("run", ""), re.M)]
    script = step["run"]
    pull_request = script.split('if [ "${GITHUB_EVENT_NAME}" = pull_request ]; then', 1)[1].split("fi", 1)[0]
    assert "ct lint" in pull_request and "--check-version-increment=true" in pull_request
    assert "--chart-dirs" in pull_request  # the charts the pull request changes, not a fixed list
    assert "github.event.pull_request.base.ref" in step["env"]["TARGET_BRANCH"]
    checkout = next(s for s in load_workflow()["jobs"]["chart"]["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # ct needs the target branch's history


def test_workflow_cli_options_exist():
    """The ranker-values options the workflow passes are real options of the CLI."""
    from typer.testing import CliRunner

    from ranker_values.cli import app

    runner = CliRunner()
    validate_help = runner.invoke(app, ["validate", "--help"]).output
    gen_help = runner.invoke(app, ["gen", "--help"]).output
    for option in ("--env", "--format"):
        assert option in validate_help
    for option in ("--env", "--out"):
        assert option in gen_help
    assert "github" in validate_help


def test_every_run_script_is_valid_bash(tmp_path: Path):
    problems = []
    for index, step in enumerate(steps()):
        if "run" not in step:
            continue
        script = re.sub(r"\$\{\{[^}]*\}\}", "placeholder", step["run"])  # GitHub expressions
        path = tmp_path / f"step{index}.sh"
        path.write_text(script, encoding="utf-8")
        done = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            problems.append(f"{step.get('name', index)}: {done.stderr.strip()}")
    assert problems == [], "\n".join(problems)


def _tools_pins() -> dict[str, str]:
    text = (REPO / "scripts" / "tools.sh").read_text(encoding="utf-8")
    return dict(re.findall(r"^([A-Z0-9_]+_VERSION)=(\S+)", text, re.MULTILINE))


def test_workflow_runs_the_toolchain_ci_runs_at_the_same_versions():
    """The users' workflow: a Helm 3/4 matrix at the versions scripts/tools.sh pins, helm-unittest,
    kubeconform -strict, ct lint and the params-table check, with the same tool versions."""
    workflow = load_workflow()
    pins = _tools_pins()
    matrix = workflow["jobs"]["chart"]["strategy"]["matrix"]["helm"]
    assert matrix == [pins["HELM3_OLD_VERSION"], pins["HELM3_VERSION"], pins["HELM4_VERSION"]]
    env = workflow["env"]
    for key in ("HELM_UNITTEST_VERSION", "KUBECONFORM_VERSION", "CT_VERSION"):
        assert env[key] == pins[key], key
    chart_scripts = "\n".join(s.get("run", "") for s in workflow["jobs"]["chart"]["steps"])
    assert "helm unittest --strict" in chart_scripts
    assert re.search(r"kubeconform\" -strict", chart_scripts)
    assert "helm template" in chart_scripts and "helm lint --strict" in chart_scripts
    assert "scripts/chart_params.py --check" in chart_scripts
    assert "scripts/tools.sh" in run_scripts()


def _image_job() -> dict[str, Any]:
    return load_workflow()["jobs"]["image"]


def test_the_image_job_builds_the_tune_and_the_ops_target_and_pushes_both():
    builds = [s["with"] for s in _image_job()["steps"] if s.get("uses", "").startswith("docker/build-push-action@")]
    assert {b["target"]: b["tags"] for b in builds} == {
        "tune": "${{ steps.ref.outputs.image }}", "ops": "${{ steps.ref.outputs.ops_image }}"}
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    targets = re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, re.M)
    assert {"tune", "ops"} <= set(targets) and targets[-1] == "tune"  # a plain `docker build` is the chart's image
    push = next(s for s in _image_job()["steps"] if "docker push" in s.get("run", ""))
    assert 'docker push "${IMAGE}"' in push["run"] and 'docker push "${OPS_IMAGE}"' in push["run"]


def test_the_ops_image_is_smoke_tested_with_every_command_but_the_tune_stages():
    """Every command of the CLI but tune/tune-worker (the tune image's) runs --help from the ops image."""
    from ranker_values.cli.commands import app

    commands = {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands}
    commands |= {g.name for g in app.registered_groups}
    smoke = next(s["run"] for s in _image_job()["steps"] if "for command in" in s.get("run", ""))
    looped = set(re.search(r"for command in ([a-z -]+); do", smoke).group(1).split())
    assert looped == commands - {"tune", "tune-worker"}
    assert "ranker-values gen" in smoke and "ranker-values render" in smoke
