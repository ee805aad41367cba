"""Helm release records, ``status`` and ``plan --deployed`` without an API server: the same code
paths the ``kube`` tests run against kube-apiserver, here on an :class:`ObjectCluster` (the
``--objects`` file users can save with ``kubectl get -o yaml``), so they run everywhere."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from ranker_values.errors import InvalidInput
from ranker_values.kube.cluster import ClusterError, ObjectCluster, decode_release, deployed_release
from ranker_values.ops import status as st
from support import REPO

NS = "ranking"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def release_secret(revision: int, status: str, config: dict[str, Any], manifest: str = "", name: str = "ranker") -> dict:
    record = {
        "name": name, "namespace": NS, "version": revision, "info": {"status": status},
        "chart": {"metadata": {"name": "ranker", "version": "0.1.0"}, "values": {"stages": {"update": {"enabled": False}}}},
        "config": config, "manifest": manifest,
    }
    payload = base64.b64encode(gzip.compress(json.dumps(record).encode())).decode()
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {"name": f"sh.helm.release.v1.{name}.v{revision}", "namespace": NS,
                     "labels": {"owner": "helm", "name": name, "status": status, "version": str(revision)}},
        "data": {"release": base64.b64encode(payload.encode()).decode()},
    }


def labels(component: str, release: str = "ranker") -> dict[str, str]:
    return {"app.kubernetes.io/instance": release, "app.kubernetes.io/component": component, "app.kubernetes.io/name": "ranker"}


def flink(component: str, state: str | None, **status: Any) -> dict:
    obj = {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment",
           "metadata": {"name": f"ranker-{component}", "namespace": NS, "labels": labels(component)},
           "spec": {"job": {"upgradeMode": "savepoint"}}, "status": {**status}}
    if state:
        obj["status"]["jobStatus"] = {"state": state}
    return obj


def job(component: str, succeeded: int, active: int = 0) -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": f"ranker-{component}-abc", "namespace": NS, "labels": labels(component)},
            "spec": {"completions": 1}, "status": {"succeeded": succeeded, "active": active}}


def deployment(component: str, ready: int, want: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": f"ranker-{component}", "namespace": NS, "labels": labels(component)},
            "spec": {"replicas": want}, "status": {"readyReplicas": ready}}


def stages_on(*names: str, state: str = "redis") -> dict:
    return {"stages": {n: {"enabled": True} for n in names}, "ranking": {"state": {"type": state}}}


def test_release_record_is_decoded_from_the_double_base64_gzip_secret():
    rel = decode_release(release_secret(3, "deployed", {"a": 1}, "kind: X"))
    assert (rel.name, rel.revision, rel.status, rel.config, rel.manifest, rel.chart_version) == (
        "ranker", 3, "deployed", {"a": 1}, "kind: X", "0.1.0")


def test_the_deployed_revision_wins_over_newer_failed_ones():
    cluster = ObjectCluster.from_objects([
        release_secret(1, "superseded", {"r": 1}), release_secret(2, "deployed", {"r": 2}),
        release_secret(3, "failed", {"r": 3}), release_secret(1, "deployed", {"other": 1}, name="other"),
    ])
    assert deployed_release(cluster, "ranker", NS).config == {"r": 2}


@pytest.mark.parametrize("data", [{}, {"release": "not base64!"}, {"release": base64.b64encode(b"plain").decode()}])
def test_a_broken_release_secret_is_a_clear_error(data):
    secret = release_secret(1, "deployed", {})
    secret["data"] = data
    with pytest.raises(ClusterError, match="Secret/sh.helm.release.v1.ranker.v1"):
        decode_release(secret)


def test_no_release_is_a_clear_error_naming_the_label_selector():
    with pytest.raises(ClusterError, match="owner=helm,name=ranker"):
        deployed_release(ObjectCluster(), "ranker", NS)


@pytest.mark.parametrize(
    "objects, expected_next",
    [
        ([], "install step bootstrap"),
        ([release_secret(1, "deployed", stages_on("bootstrap")), flink("bootstrap", "RUNNING")], "wait for bootstrap"),
        ([release_secret(1, "deployed", stages_on("bootstrap")), flink("bootstrap", "FINISHED")], "install step train"),
        ([release_secret(2, "deployed", stages_on("bootstrap", "train")), flink("bootstrap", "FINISHED"), job("train", 0, 1)],
         "wait for train"),
        ([release_secret(2, "deployed", stages_on("bootstrap", "train")), flink("bootstrap", "FINISHED"), job("train", 1)],
         "install step upload"),
        ([release_secret(2, "deployed", stages_on("bootstrap", "train", state="memory")), flink("bootstrap", "FINISHED"),
          job("train", 1)], "install step api"),
        ([release_secret(4, "deployed", stages_on("bootstrap", "train", "upload", "api")), flink("bootstrap", "FINISHED"),
          job("train", 1), job("upload", 1), deployment("api", 1, 1)], "install step update"),
        ([release_secret(5, "deployed", stages_on("bootstrap", "api", "update")), flink("bootstrap", "FINISHED"),
          deployment("api", 2, 2), flink("update", "RUNNING")], "none: steady state"),
        ([release_secret(5, "deployed", stages_on("bootstrap", "api", "update")), flink("bootstrap", "FINISHED"),
          deployment("api", 1, 2), flink("update", "RUNNING")], "wait for the update job and api"),
        ([release_secret(1, "deployed", stages_on("bootstrap")), flink("bootstrap", "FAILED", error="boom")],
         "fix the failed bootstrap"),
        ([release_secret(1, "pending-upgrade", stages_on("bootstrap")), flink("bootstrap", "RUNNING")],
         "the Helm release is pending-upgrade"),
    ],
)
def test_next_step_follows_the_lifecycle(objects, expected_next):
    result = st.release_status(ObjectCluster.from_objects(objects), "ranker", NS, now=lambda: NOW)
    assert result.next_step.startswith(expected_next), result.next_step


def test_phases_and_savepoint_age_per_stage():
    snap = {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkStateSnapshot",
            "metadata": {"name": "s1", "namespace": NS},
            "spec": {"jobReference": {"kind": "FlinkDeployment", "name": "ranker-update"}, "savepoint": {}},
            "status": {"state": "COMPLETED", "path": "s3://b/sp/1", "resultTimestamp": (NOW - timedelta(hours=3)).isoformat()}}
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "flinkstatesnapshots.flink.apache.org"}}
    cluster = ObjectCluster.from_objects([
        release_secret(5, "deployed", stages_on("bootstrap", "api", "update")), flink("bootstrap", "FINISHED", lifecycleState="STABLE"),
        deployment("api", 2, 2), flink("update", "RUNNING", lifecycleState="STABLE"), snap, crd,
        flink("update", "RUNNING") | {"metadata": {"name": "x", "namespace": NS, "labels": labels("update", "other")}},
    ])
    result = st.release_status(cluster, "ranker", NS, now=lambda: NOW)
    by = {s.stage: s for s in result.stages}
    assert by["bootstrap"].phase == "done" and "lifecycle STABLE" in by["bootstrap"].detail
    assert by["api"].detail == "2/2 replicas ready"
    assert by["update"].objects == ["FlinkDeployment/ranker-update"]  # the other release's is not ours
    assert by["update"].savepoint == "s3://b/sp/1" and by["update"].savepoint_age_seconds == 3 * 3600
    table = st.render_table(result)
    assert "s3://b/sp/1 (3h0m ago)" in table and "next: none: steady state" in table
    assert json.loads(json.dumps(result.to_json()))["stages"][4]["savepoint"] == "s3://b/sp/1"


def test_watch_stops_when_no_batch_stage_is_in_progress_and_times_out_otherwise():
    running = st.ReleaseStatus("r", NS, 1, "deployed", [st.StageStatus("bootstrap", True, st.RUNNING, "")], "wait")
    done = st.ReleaseStatus("r", NS, 1, "deployed", [st.StageStatus("bootstrap", True, st.DONE, "")], "next")
    seq = iter([running, running, done])
    shown = []
    clock = iter(range(100))
    result = st.watch(lambda: next(seq), lambda s, n: shown.append(n), 1, 60, clock=lambda: next(clock), sleep=lambda s: None)
    assert result is done and shown == [1, 2, 3]
    with pytest.raises(InvalidInput, match="timed out after 2s"):
        st.watch(lambda: running, lambda s, n: None, 1, 2, clock=lambda: next(clock), sleep=lambda s: None)


def test_status_cli_reads_an_objects_file_and_prints_json(tmp_path: Path):
    objects = [release_secret(1, "deployed", stages_on("bootstrap")), flink("bootstrap", "RUNNING")]
    path = tmp_path / "objects.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    done = subprocess.run([sys.executable, "-c", "from ranker_values.cli import main; main()", "status", "--objects", str(path), "-n", NS,
                           "--format", "json"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["revision"] == 1 and report["nextStep"].startswith("wait for bootstrap")


def test_plan_deployed_compares_with_the_stored_manifest(tmp_path: Path):
    from ranker_values.ops.plan import plan_deployed

    manifest = (
        "apiVersion: flink.apache.org/v1beta1\nkind: FlinkDeployment\nmetadata:\n  name: ranker-update\n"
        "  labels: {app.kubernetes.io/component: update}\nspec:\n  image: old\n  job: {upgradeMode: savepoint}\n"
    )
    cluster = ObjectCluster.from_objects([release_secret(2, "deployed", {}, manifest)])
    from support import CHART, ENV_VALUES
    from support.generated import generated_example_files

    bootstrap = generated_example_files("dev")["bootstrap"]
    plan, label = plan_deployed(cluster, bootstrap, [ENV_VALUES["dev"]], CHART, "ranker", NS)
    assert label.startswith("release ranker revision 2 (deployed")
    actions = {v.ref: v.action for v in plan.flink}
    assert actions.get("FlinkDeployment/ranker-update (update)") == "delete", actions
    assert "delete" in plan.dangers
