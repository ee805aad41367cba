"""``savepoint latest|trigger`` against cluster objects (no API server can run here).

Every FlinkDeployment / FlinkStateSnapshot used here validates against the operator 1.15.0 CRDs
(spec and status), including the objects our code creates and every state the scripted cluster
moves them through. Both modes are covered: FlinkStateSnapshot resources (operator >= 1.10) and
the legacy FlinkDeployment status with the savepointTriggerNonce.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ranker_values.cli import app
from ranker_values.kube.cluster import ObjectCluster
from ranker_values.errors import InvalidInput
from ranker_values.ops import savepoint as sp
from support.crd import CustomResourceInvalid, load_crds, validate_custom_resource

DATA = Path(__file__).parent / "data" / "cluster"
SNAPSHOT_MODE = DATA / "update-snapshot-mode.yaml"
LEGACY_MODE = DATA / "update-legacy-mode.yaml"
SP_DIR = "s3://ranker-test/ranker/update/savepoints"
OPERATOR = "1.15.0"


def docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def snapshot_crd() -> dict:
    return load_crds(OPERATOR)["FlinkStateSnapshot"]  # skips when ../shared is absent


def cluster_for(path: Path, with_snapshot_crd: bool) -> ObjectCluster:
    objects = docs(path) + ([snapshot_crd()] if with_snapshot_crd else [])
    return ObjectCluster.from_objects(objects)


class ScriptedCluster(ObjectCluster):
    """An ObjectCluster whose operator "works": after ``polls`` reads the savepoint completes.

    Every object it hands out is validated against the CRDs, so the states we script are states
    the real API server could return.
    """

    def __init__(self, base: ObjectCluster, polls: int, outcome: str = "COMPLETED"):
        super().__init__(custom=base.custom, crds=base.crds)
        self.polls, self.outcome, self.reads, self.patched = polls, outcome, 0, False

    def patch_custom(self, plural, name, namespace, patch):
        self.patched = True
        obj = super().patch_custom(plural, name, namespace, patch)
        validate_custom_resource(obj, OPERATOR)
        return obj

    def create_custom(self, plural, namespace, body):
        validate_custom_resource(body, OPERATOR)  # what we send must be valid for the API server
        return super().create_custom(plural, namespace, body)

    def get_custom(self, plural, name, namespace):
        self.reads += 1
        obj = self._named(self.custom.get(plural, []), name, namespace)
        if obj is not None:
            self._advance(plural, obj)
            validate_custom_resource(obj, OPERATOR)
        return super().get_custom(plural, name, namespace)

    def _advance(self, plural: str, obj: dict) -> None:
        done = self.reads > self.polls
        if plural == sp.SNAPSHOTS:
            status = {"state": "IN_PROGRESS", "triggerId": "77aa", "triggerTimestamp": "2026-11-21T10:00:00Z", "failures": 0}
            if done and self.outcome == "COMPLETED":
                status.update(state="COMPLETED", path=f"{SP_DIR}/savepoint-a1b2c3-0000000000cc", resultTimestamp="2026-11-21T10:01:00Z")
            elif done:
                status.update(state=self.outcome, error="Job is not running", failures=1)
            obj["status"] = status
        elif plural == sp.FLINKDEPLOYMENTS and self.patched:  # legacy mode: the operator saw the nonce
            nonce = obj["spec"]["job"].get("savepointTriggerNonce")
            info = obj["status"]["jobStatus"]["savepointInfo"]
            info["triggerId"] = "" if done else "5e5e"
            if done:
                info["lastSavepoint"] = {
                    "location": f"{SP_DIR}/savepoint-a1b2c3-0000000000dd",
                    "timeStamp": 1795250000000,
                    "triggerType": "MANUAL",
                    "formatType": "CANONICAL",
                    "triggerNonce": nonce,
                }


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.lines: list[str] = []

    def waiter(self, timeout=60.0, poll=5.0) -> sp.Waiter:
        return sp.Waiter(timeout, poll, clock=lambda: self.now, sleep=self.sleep, progress=self.lines.append)

    def sleep(self, seconds: float) -> None:
        self.now += seconds


AT = datetime(2026, 11, 21, 10, 0, 0, tzinfo=timezone.utc)


# --- the fixtures are real objects -------------------------------------------------------


@pytest.mark.parametrize("path", [SNAPSHOT_MODE, LEGACY_MODE], ids=lambda p: p.name)
def test_fixture_objects_validate_against_the_1_15_crds(path):
    objects = docs(path)
    assert {o["kind"] for o in objects} <= {"FlinkDeployment", "FlinkStateSnapshot"}
    for obj in objects:
        assert "status" in obj, f"{obj['metadata']['name']}: fixtures must carry a status"
        validate_custom_resource(obj, OPERATOR)


# --- latest: snapshot mode and legacy status mode ---------------------------------------------


def test_snapshot_mode_picks_the_newest_completed_savepoint_snapshot():
    cluster = cluster_for(SNAPSHOT_MODE, with_snapshot_crd=True)
    fd = sp.require_stage_deployment(cluster, "ranker", "ranking")
    assert fd["metadata"]["name"] == "ranker-update"
    found = sp.cluster_candidates(cluster, fd)
    result = sp.latest_savepoint(cluster_found=found, s3_client=None, savepoints_dir=None, scan=False)
    assert result.chosen.path == f"{SP_DIR}/savepoint-a1b2c3-000000000002"
    assert result.chosen.time == datetime(2026, 11, 20, 11, 0, 0, 123456, tzinfo=timezone.utc)
    paths = {c.path for c in result.candidates}
    # IN_PROGRESS, FAILED, a checkpoint and another job's snapshot are never candidates
    assert not any("checkpoints" in p or "other" in p for p in paths)
    assert paths == {f"{SP_DIR}/savepoint-a1b2c3-00000000000{x}" for x in "12a"}
    assert not result.verified  # no S3 here: said so, not pretended


def test_legacy_status_mode_without_the_snapshot_crd():
    cluster = cluster_for(LEGACY_MODE, with_snapshot_crd=False)
    assert not sp.supports_snapshot_resources(cluster)
    fd = sp.require_stage_deployment(cluster, "ranker", "ranking")
    result = sp.latest_savepoint(cluster_found=sp.cluster_candidates(cluster, fd), s3_client=None, savepoints_dir=None, scan=False)
    assert result.chosen.path == f"{SP_DIR}/savepoint-a1b2c3-0000000000b2"
    assert "lastSavepoint" in result.chosen.source and "savepointHistory" in result.chosen.source
    # b0 is known both as upgradeSavepointPath (no time) and from the history: merged, timed
    b0 = next(c for c in result.candidates if c.path.endswith("b0"))
    assert b0.time is not None and "upgradeSavepointPath" in b0.source


def test_release_is_found_by_labels_not_by_name():
    objects = docs(LEGACY_MODE)
    objects[0]["metadata"]["name"] = "something-else-entirely"
    cluster = ObjectCluster.from_objects(objects)
    assert sp.require_stage_deployment(cluster, "ranker", "ranking")["metadata"]["name"] == "something-else-entirely"
    with pytest.raises(InvalidInput, match="no FlinkDeployment with labels.*instance=prod"):
        sp.require_stage_deployment(cluster, "prod", "ranking")
    with pytest.raises(InvalidInput, match="namespace 'other'"):
        sp.require_stage_deployment(cluster, "ranker", "other")


def malformed_variants():
    base = docs(LEGACY_MODE)[0]
    bad_time = copy.deepcopy(base)
    bad_time["status"]["jobStatus"]["savepointInfo"]["lastSavepoint"]["timeStamp"] = "yesterday"
    bad_history = copy.deepcopy(base)
    bad_history["status"]["jobStatus"]["savepointInfo"]["savepointHistory"] = "s3://x"
    bad_status = copy.deepcopy(base)
    bad_status["status"]["jobStatus"] = ["RUNNING"]
    return [
        pytest.param(bad_time, "lastSavepoint.timeStamp: must be epoch milliseconds", id="timestamp-string"),
        pytest.param(bad_history, "savepointHistory: must be a list", id="history-not-list"),
        pytest.param(bad_status, "status.jobStatus: must be a mapping", id="jobstatus-list"),
    ]


@pytest.mark.parametrize("obj, message", malformed_variants())
def test_malformed_status_is_a_clear_input_error(obj, message):
    with pytest.raises(CustomResourceInvalid):  # really malformed: the CRD rejects it too
        validate_custom_resource(obj, OPERATOR)
    with pytest.raises(InvalidInput, match=message) as err:
        sp.status_savepoints(obj)
    assert "FlinkDeployment/ranker-update in ranking: malformed" in err.value.message


def test_malformed_snapshot_timestamp():
    objects = docs(SNAPSHOT_MODE)
    snap = next(o for o in objects if o["metadata"]["name"].endswith("1795172400000"))
    snap["status"]["resultTimestamp"] = "eleven o'clock"
    cluster = ObjectCluster.from_objects(objects + [snapshot_crd()])
    fd = sp.require_stage_deployment(cluster, "ranker", "ranking")
    with pytest.raises(InvalidInput, match="resultTimestamp: not an ISO-8601 timestamp"):
        sp.cluster_candidates(cluster, fd)


def test_no_savepoint_at_all_is_an_error():
    objects = docs(LEGACY_MODE)
    objects[0]["status"]["jobStatus"].pop("savepointInfo")
    objects[0]["status"]["jobStatus"].pop("upgradeSavepointPath")
    validate_custom_resource(objects[0], OPERATOR)
    cluster = ObjectCluster.from_objects(objects)
    fd = sp.require_stage_deployment(cluster, "ranker", "ranking")
    with pytest.raises(InvalidInput, match="no completed savepoint found in the cluster"):
        sp.latest_savepoint(cluster_found=sp.cluster_candidates(cluster, fd), s3_client=None, savepoints_dir=None, scan=False)


# --- trigger ----------------------------------------------------------------------------


def test_trigger_creates_a_valid_snapshot_and_waits_for_it():
    cluster = ScriptedCluster(cluster_for(SNAPSHOT_MODE, with_snapshot_crd=True), polls=3)
    fake = FakeTime()
    fd = sp.require_stage_deployment(cluster, "ranker", "ranking")
    result = sp.trigger_savepoint(cluster, fd, fake.waiter(timeout=60, poll=5), now=lambda: AT)
    assert result.path == f"{SP_DIR}/savepoint-a1b2c3-0000000000cc"
    assert result.how == "FlinkStateSnapshot/ranker-update-manual-20261121-100000"
    created = cluster.get_custom(sp.SNAPSHOTS, "ranker-update-manual-20261121-100000", "ranking")
    assert created["spec"]["jobReference"] == {"kind": "FlinkDeployment", "name": "ranker-update"}
    assert created["metadata"]["labels"]["app.kubernetes.io/instance"] == "ranker"
    assert fake.now == 15.0  # three polls of 5 s, no real sleeping
    assert fake.lines[0].startswith("created FlinkStateSnapshot/ranker-update-manual-20261121-100000 in ranking")
    assert any("IN_PROGRESS (0s / 60s)" in line for line in fake.lines)
    assert "COMPLETED after 15s" in fake.lines[-1]
    # the live FlinkDeployment was not touched: nothing diverges from Helm
    assert cluster.get_custom(sp.FLINKDEPLOYMENTS, "ranker-update", "ranking")["spec"] == docs(SNAPSHOT_MODE)[0]["spec"]


def test_trigger_reports_a_failed_snapshot():
    cluster = ScriptedCluster(cluster_for(SNAPSHOT_MODE, with_snapshot_crd=True), polls=1, outcome="FAILED")
    fd = sp.require_stage_deployment(cluster, "ranker", "ranking")
    with pytest.raises(InvalidInput, match="FAILED: Job is not running"):
        sp.trigger_savepoint(cluster, fd, FakeTime().waiter(), now=lambda: AT)


def test_trigger_times_out_without_hanging():
    cluster = ScriptedCluster(cluster_for(SNAPSHOT_MODE, with_snapshot_crd=True), polls=10**9)
    fake = FakeTime()
    fd = sp.require_stage_deployment(cluster, "ranker", "ranking")
    with pytest.raises(InvalidInput, match=r"timed out after 20s .*last state IN_PROGRESS"):
        sp.trigger_savepoint(cluster, fd, fake.waiter(timeout=20, poll=3), now=lambda: AT)
    assert fake.now == 20.0  # the last sleep is cut to the deadline
    assert cluster.reads == 8  # polls at 0,3,...,18 and 20


def test_trigger_legacy_nonce_mode_patches_the_nonce():
    cluster = ScriptedCluster(cluster_for(LEGACY_MODE, with_snapshot_crd=False), polls=2)
    fake = FakeTime()
    fd = sp.require_stage_deployment(cluster, "ranker", "ranking")
    result = sp.trigger_savepoint(cluster, fd, fake.waiter(), now=lambda: AT)
    assert result.how == "savepointTriggerNonce=5"  # the fixture runs with nonce 4
    assert result.path == f"{SP_DIR}/savepoint-a1b2c3-0000000000dd"
    live = cluster.get_custom(sp.FLINKDEPLOYMENTS, "ranker-update", "ranking")
    assert live["spec"]["job"]["savepointTriggerNonce"] == 5
    assert "savepointTriggerNonce: 5" in result.values_hint
    assert not cluster.custom.get(sp.SNAPSHOTS)


def test_trigger_refuses_a_job_that_is_not_running():
    objects = docs(SNAPSHOT_MODE)
    objects[0]["status"]["jobStatus"]["state"] = "SUSPENDED"
    cluster = ObjectCluster.from_objects(objects + [snapshot_crd()])
    fd = sp.require_stage_deployment(cluster, "ranker", "ranking")
    with pytest.raises(InvalidInput, match="the job is SUSPENDED, not RUNNING"):
        sp.trigger_savepoint(cluster, fd, FakeTime().waiter(), now=lambda: AT)
    assert not any(o["metadata"]["name"].startswith("ranker-update-manual-2026112") and "status" not in o
                   for o in cluster.custom[sp.SNAPSHOTS])


# --- the command line, with an objects file -------------------------------------------------


runner = CliRunner()


def objects_file(tmp_path: Path, source: Path, with_crd: bool, mutate=None) -> Path:
    objects = docs(source) + ([snapshot_crd()] if with_crd else [])
    if mutate:
        mutate(objects)
    out = tmp_path / "objects.yaml"
    out.write_text(yaml.safe_dump_all(objects))
    return out


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


def test_cli_latest_from_the_cluster(tmp_path):
    path = objects_file(tmp_path, SNAPSHOT_MODE, with_crd=True)
    result = invoke("savepoint", "latest", "--objects", str(path), "--release", "ranker", "-n", "ranking",
                    "--source", "cluster", "--no-verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{SP_DIR}/savepoint-a1b2c3-000000000002"
    assert "NOT verified on S3" in result.stderr


def test_cli_latest_malformed_status_exits_1(tmp_path):
    def corrupt(objects):
        objects[0]["status"]["jobStatus"]["savepointInfo"]["lastSavepoint"]["timeStamp"] = "soon"

    path = objects_file(tmp_path, LEGACY_MODE, with_crd=False, mutate=corrupt)
    result = invoke("savepoint", "latest", "--objects", str(path), "--release", "ranker", "-n", "ranking",
                    "--source", "cluster", "--no-verify")
    assert result.exit_code == 1
    assert "malformed status.jobStatus.savepointInfo.lastSavepoint.timeStamp" in result.stderr


def test_cli_latest_unknown_release_exits_1(tmp_path):
    path = objects_file(tmp_path, LEGACY_MODE, with_crd=False)
    result = invoke("savepoint", "latest", "--objects", str(path), "--release", "nope", "-n", "ranking",
                    "--source", "cluster", "--no-verify")
    assert result.exit_code == 1
    assert "no FlinkDeployment with labels app.kubernetes.io/instance=nope" in result.stderr


def test_cli_trigger_times_out_with_exit_1(tmp_path):
    # an offline cluster never completes anything: the wait must end at --timeout
    path = objects_file(tmp_path, SNAPSHOT_MODE, with_crd=True)
    result = invoke("savepoint", "trigger", "--objects", str(path), "--release", "ranker", "-n", "ranking",
                    "--timeout", "0.05", "--poll-interval", "0.01")
    assert result.exit_code == 1
    assert "created FlinkStateSnapshot/ranker-update-manual-" in result.stderr
    assert "timed out after 0.05s" in result.stderr


def test_cli_objects_without_release_is_usage_error(tmp_path):
    path = objects_file(tmp_path, LEGACY_MODE, with_crd=False)
    result = invoke("savepoint", "latest", "--objects", str(path), "--no-verify")
    assert result.exit_code == 2
    assert "--objects needs --release" in result.stderr
