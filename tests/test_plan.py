"""``ranker-values plan``: real renders of charts/ranker through the Helm SDK, classified with the
operator's own spec-diff rules (ranker_values/kube/operator_rules.py).

Base values: the operator's production file plus a generated update-step file; OLD and NEW are
small overlays written per test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ranker_values.cli import app
from ranker_values.kube.operator_rules import DiffType, diff_spec
from ranker_values.ops import plan as pl
from ranker_values.ops import upgrade as up
from support import REPO, require_chart

BASE = [REPO / "values" / "prod.yaml", REPO / "tests" / "data" / "generated-sample" / "update.yaml"]
runner = CliRunner()


@pytest.fixture(autouse=True)
def chart():
    require_chart()
    for path in BASE:
        if not path.is_file():
            pytest.fail(f"{path} is missing: plan tests render on top of it")


def overlay(tmp_path: Path, name: str, doc: dict) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def run_plan(tmp_path: Path, old: dict, new: dict, *extra: str):
    args = ["plan", str(overlay(tmp_path, "old", old)), str(overlay(tmp_path, "new", new)), "--chart", str(REPO / "charts" / "ranker")]
    for base in BASE:
        args += ["-f", str(base)]
    result = runner.invoke(app, args + list(extra))
    assert "Traceback" not in result.output
    return result


def plan_of(tmp_path: Path, old: dict, new: dict) -> pl.Plan:
    return pl.plan_files(overlay(tmp_path, "old", old), overlay(tmp_path, "new", new), BASE, REPO / "charts" / "ranker", "ranker", "ranking")


def verdict(plan: pl.Plan, component: str) -> pl.Verdict:
    return next(v for v in plan.flink + plan.other if v.ref.endswith(f"({component})"))


# --- the four cases of the issue ----------------------------------------------------------


def test_flink_config_change_is_a_savepoint_upgrade(tmp_path):
    new = {"stages": {"update": {"flinkConfiguration": {"taskmanager.memory.managed.fraction": "0.2"}}}}
    result = run_plan(tmp_path, {}, new)
    assert result.exit_code == 0, result.output
    assert "(update): upgrade via stop-with-savepoint, then start from it" in result.stdout
    assert "UPGRADE            flinkConfiguration.taskmanager.memory.managed.fraction: (absent) -> '0.2'" in result.stdout
    assert "(bootstrap): unchanged" in result.stdout
    assert "Safe: no state is discarded" in result.stdout


def test_image_change_upgrades_update_and_reruns_finished_work(tmp_path):
    plan = plan_of(tmp_path, {}, {"image": {"tag": "0.4.2"}})
    update = verdict(plan, "update")
    assert update.action == "upgrade" and update.danger is None
    assert update.diff.changed("image").type == DiffType.UPGRADE
    # every stage shares the image: the finished bootstrap and the upload Job would run again
    assert verdict(plan, "bootstrap").danger == "bootstrap-rerun"
    assert "bootstrap-rerun" in plan.dangers


def test_initial_savepoint_path_alone_is_ignored_with_a_warning(tmp_path):
    new = {"stages": {"update": {"initialSavepointPath": "s3://bucket/ranker/update/savepoints/savepoint-a1b2c3-000000000001"}}}
    result = run_plan(tmp_path, {}, new)
    assert result.exit_code == 0, result.output
    assert "(update): ignored by the operator: job.initialSavepointPath" in result.stdout
    assert "warning: initialSavepointPath changed alone: this does nothing to a running job" in result.stdout


def test_redeploy_nonce_bump_discards_state(tmp_path):
    old = {"stages": {"update": {"savepointRedeployNonce": 2}}}
    new = {"stages": {"update": {"savepointRedeployNonce": 3, "initialSavepointPath": "s3://b/sp/savepoint-a1b2c3-000000000002"}}}
    result = run_plan(tmp_path, old, new)
    assert result.exit_code == 1
    assert "(update): SAVEPOINT REDEPLOY from s3://b/sp/savepoint-a1b2c3-000000000002: the running state is discarded" in result.stdout
    assert "DANGER [redeploy] (NOT DECLARED)" in result.stdout
    assert "pass --intended redeploy" in result.stdout
    declared = run_plan(tmp_path, old, new, "--intended", "redeploy")
    assert declared.exit_code == 0, declared.output
    assert "DANGER [redeploy] (intended)" in declared.stdout


def test_first_redeploy_nonce_from_absent_counts_too(tmp_path):
    """0 renders nothing; 0 -> 1 is null -> 1 for the operator: a redeploy. 1 -> 0 is ignored."""
    bump = plan_of(tmp_path, {}, {"stages": {"update": {"savepointRedeployNonce": 1}}})
    assert verdict(bump, "update").danger == "redeploy"
    assert any("did not change: the job goes back to" in w for w in verdict(bump, "update").warnings)
    back = plan_of(tmp_path, {"stages": {"update": {"savepointRedeployNonce": 1}}}, {})
    assert verdict(back, "update").action == "unchanged"  # the field disappears: onNullIgnore


@pytest.mark.parametrize(
    "change",
    [
        {"stages": {"bootstrap": {"rerunNonce": 1}}},
        {"stages": {"bootstrap": {"jobManager": {"cpu": 2}}}},
        {"stages": {"bootstrap": {"taskManager": {"memory": "3072m"}}}},
        {"stages": {"bootstrap": {"flinkConfiguration": {"taskmanager.memory.managed.fraction": "0.1"}}}},
    ],
    ids=["rerunNonce", "jobmanager-cpu", "taskmanager-memory", "flink-config"],
)
def test_any_bootstrap_spec_change_flags_a_rerun(tmp_path, change):
    result = run_plan(tmp_path, {}, change)
    assert result.exit_code == 1, result.output
    assert "(bootstrap): RE-RUN of the finished bootstrap" in result.stdout
    assert "DANGER [bootstrap-rerun] (NOT DECLARED)" in result.stdout


def test_operator_only_bootstrap_settings_are_ignored(tmp_path):
    change = {"stages": {"bootstrap": {"flinkConfiguration": {"kubernetes.operator.job.restart.failed": "true"}}}}
    plan = plan_of(tmp_path, {}, change)
    assert verdict(plan, "bootstrap").action == "ignored"
    assert not plan.dangers


def test_local_bootstrap_job_rerun(tmp_path):
    local = {"stages": {"bootstrap": {"mode": "local"}}}
    plan = plan_of(tmp_path, local, {"stages": {"bootstrap": {"mode": "local", "rerunNonce": 4}}})
    job = verdict(plan, "bootstrap")
    assert job.ref.startswith("Job/") and job.action == "recreate"
    assert job.danger == "bootstrap-rerun"


def test_disabling_update_deletes_the_streaming_job(tmp_path):
    plan = plan_of(tmp_path, {}, {"stages": {"update": {"enabled": False}}})
    update = verdict(plan, "update")
    assert update.action == "delete" and update.danger == "delete"
    assert "a savepoint is taken first" in update.summary or "NO savepoint" in update.summary


def test_ranking_config_change_is_explained(tmp_path):
    """A config change reaches the update job: the chart puts the config checksum in its podTemplate,
    so the operator upgrades it via stop-with-savepoint (and plan does not need its fallback warning)."""
    config = yaml.safe_load(yaml.safe_load(BASE[1].read_text())["ranking"]["config"])
    config["features"][0]["name"] = "popularity_v2"  # a feature change: new state, new model input
    plan = plan_of(tmp_path, {}, {"ranking": {"config": yaml.safe_dump(config)}})
    assert any(v.ref.startswith("ConfigMap/") and v.action == "change" for v in plan.other)
    update = verdict(plan, "update")
    assert update.action == "upgrade", update
    (pod,) = [c for c in update.diff.changes if c.path == "podTemplate"]
    old_sum, new_sum = (c["metadata"]["annotations"]["checksum/config"] for c in (pod.old, pod.new))
    assert old_sum != new_sum
    assert not any("keeps the config it started with" in w for w in update.warnings)
    assert verdict(plan, "bootstrap").action == "unchanged", verdict(plan, "bootstrap")


# --- upgrade-values output goes through plan ------------------------------------------------


def current(redeploy: int = 1) -> up.Current:
    return up.Current(redeploy=redeploy, restart=0, trigger=0, rerun=0, initial_savepoint="",
                      bootstrap_savepoint="s3://bucket/ranker/savepoint", update_enabled=True)


def test_normal_upgrade_values_are_safe_and_reseed_values_are_a_declared_redeploy(tmp_path):
    deployed = overlay(tmp_path, "deployed", {"stages": {"update": {"savepointRedeployNonce": 1}}})
    normal = up.UpgradeValues("normal", up._pins(current(), initial="", redeploy=1), up.StartPoint("x", False), [])
    normal_file = tmp_path / "normal.yaml"
    normal_file.write_text(up.render_file(normal, []))
    args = ["plan", str(deployed), str(deployed), "--add", str(normal_file), "--chart", str(REPO / "charts" / "ranker")] + sum((["-f", str(b)] for b in BASE), [])
    assert runner.invoke(app, args).exit_code == 0
    reseed = up.UpgradeValues("reseed", up._pins(current(), initial="s3://bucket/ranker/savepoint", redeploy=2), up.StartPoint("x", False), [])
    reseed_file = tmp_path / "reseed.yaml"
    reseed_file.write_text(up.render_file(reseed, []))
    args[4] = str(reseed_file)
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "DANGER [redeploy]" in result.stdout
    assert runner.invoke(app, args + ["--intended", "redeploy"]).exit_code == 0


# --- bad inputs ---------------------------------------------------------------------------


def test_unknown_intended_is_usage(tmp_path):
    result = run_plan(tmp_path, {}, {}, "--intended", "redeploy,everything")
    assert result.exit_code == 2
    assert "--intended: unknown everything" in result.stderr


def test_missing_values_file_is_usage(tmp_path):
    result = runner.invoke(app, ["plan", str(tmp_path / "nope.yaml"), str(overlay(tmp_path, "new", {})), "--chart", str(REPO / "charts" / "ranker")])
    assert result.exit_code == 2
    assert "nope.yaml: no such file" in result.stderr


def test_values_the_chart_rejects_are_exit_1(tmp_path):
    result = run_plan(tmp_path, {}, {"stages": {"update": {"savepointRedeployNonce": "two"}}})
    assert result.exit_code == 1
    assert "rendering NEW" in result.stderr


# --- the operator's rules, field by field ------------------------------------------------------


def fd_spec(**job) -> dict:
    return {"mode": job.pop("mode", "native"), "image": "m:1", "flinkConfiguration": job.pop("conf", {}),
            "taskManager": {"resource": {"memory": "2g"}, **job.pop("tm", {})},
            "job": {"jarURI": "local:///app.jar", "parallelism": 2, "upgradeMode": "savepoint", "state": "running", **job}}


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (fd_spec(conf={"kubernetes.operator.periodic.savepoint.interval": "1h"}), fd_spec(conf={"kubernetes.operator.periodic.savepoint.interval": "2h"}), DiffType.IGNORE),
        (fd_spec(conf={"job.autoscaler.enabled": "false"}), fd_spec(conf={"job.autoscaler.enabled": "true"}), DiffType.IGNORE),
        (fd_spec(conf={"parallelism.default": "2"}), fd_spec(conf={"parallelism.default": "4"}), DiffType.IGNORE),
        (fd_spec(conf={}), fd_spec(conf={"pipeline.jobvertex-parallelism-overrides": "a:2"}), DiffType.SCALE),
        (fd_spec(mode="standalone"), fd_spec(mode="standalone", conf={"pipeline.jobvertex-parallelism-overrides": "a:2"}), DiffType.UPGRADE),
        (fd_spec(), fd_spec(parallelism=4), DiffType.UPGRADE),  # native: not a scale
        (fd_spec(mode="standalone"), fd_spec(mode="standalone", parallelism=4), DiffType.SCALE),
        (fd_spec(mode="standalone", tm={"replicas": 1}), fd_spec(mode="standalone", tm={"replicas": 3}), DiffType.SCALE),
        (fd_spec(), fd_spec(upgradeMode="last-state"), DiffType.IGNORE),
        (fd_spec(), fd_spec(allowNonRestoredState=True), DiffType.IGNORE),
        (fd_spec(), fd_spec(savepointTriggerNonce=3), DiffType.IGNORE),
        (fd_spec(savepointRedeployNonce=2), fd_spec(), DiffType.IGNORE),  # onNullIgnore
        (fd_spec(savepointRedeployNonce=2), fd_spec(savepointRedeployNonce=1), DiffType.SAVEPOINT_REDEPLOY),
        (fd_spec(), fd_spec(args=["x"]), DiffType.UPGRADE),
        (fd_spec(), {**fd_spec(), "restartNonce": 1}, DiffType.UPGRADE),
        (fd_spec(conf={"a": {"b": 1}}), fd_spec(conf={"a.b": "1"}), None),  # nested = flat, values as strings
    ],
)
def test_operator_rules(old, new, expected):
    diff = diff_spec(old, new)
    if expected is None:
        assert diff.changes == []
    else:
        assert diff.type == expected, diff.changes


def test_suspend_is_not_an_upgrade_in_the_report():
    v = pl.classify_flink("update", {"kind": "FlinkDeployment", "metadata": {"name": "u"}, "spec": fd_spec()},
                          {"kind": "FlinkDeployment", "metadata": {"name": "u"}, "spec": fd_spec(state="suspended")})
    assert v.action == "suspend" and v.danger is None


def test_stateless_upgrade_is_dangerous():
    v = pl.classify_flink("update", {"kind": "FlinkDeployment", "metadata": {"name": "u"}, "spec": fd_spec()},
                          {"kind": "FlinkDeployment", "metadata": {"name": "u"}, "spec": fd_spec(upgradeMode="stateless", args=["y"])})
    assert v.danger == "stateless-upgrade"
