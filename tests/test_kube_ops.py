"""Operational commands against a real kube-apiserver (scripts/kube-up.sh): ``check --only
cluster``, ``savepoint latest|trigger``, ``plan --deployed`` and ``status``, through the real
``KubernetesCluster`` (the ``kubernetes`` client) and the ``ranker-values`` CLI.

The release lives in ``ranker-static``, a namespace the Flink operator does not watch
(scripts/kube-up.sh ``RANKER_KUBE_WATCHED``): no JobManager runs anywhere here (pods never
execute), so the tests write the job and snapshot states an operator would write, through the
status subresource, and the commands must read them back from the server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import CHART, ENV_VALUES, REPO, require_shared
from support.generated import generated_example_files
from support.kube import KubeEnv, kube_env, shared_dir, wait_until  # noqa: F401

pytestmark = pytest.mark.kube

NS = "ranker-static"
RELEASE = "ranker"
FD = "flinkdeployment.flink.apache.org"
SNAP = "flinkstatesnapshot.flink.apache.org"
CONFIG = REPO / "examples" / "config.yml"


def cli(env: KubeEnv, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from ranker_values.cli import main; main()", *args], capture_output=True, text=True, timeout=timeout,
        env=env.env, cwd=REPO,
    )


@pytest.fixture(scope="module")
def chart() -> Path:
    """The chart as shipped: no remote dependency to fetch (the operator is installed apart)."""
    return CHART


@pytest.fixture(scope="module")
def snapshot_crd(kube_env) -> None:
    """FlinkStateSnapshot arrived with operator 1.10; the operator run here (1.7.0, the newest
    Maven Central serves) predates it, so its CRD comes from the 1.15.0 release in ../shared."""
    path = require_shared(shared_dir() / "crds" / "flink-kubernetes-operator" / "1.15.0" / "flinkstatesnapshots.flink.apache.org-v1.yml")
    kube_env.kubectl("apply", "--server-side", "-f", str(path))
    wait_until(
        lambda: any(c["type"] == "Established" and c["status"] == "True"
                    for c in (kube_env.get("crd", "flinkstatesnapshots.flink.apache.org") or {}).get("status", {}).get("conditions") or []),
        60, "the FlinkStateSnapshot CRD to be established",
    )


def install(env: KubeEnv, chart: Path, step: str, *extra: str) -> None:
    files = generated_example_files("dev")
    env.helm("upgrade", "--install", RELEASE, str(chart), "-n", NS, "-f", str(ENV_VALUES["dev"]), "-f", str(files[step]), *extra)


def fd_name(env: KubeEnv, component: str) -> str:
    items = env.items(FD, NS, f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component={component}")
    assert len(items) == 1, [i["metadata"]["name"] for i in items]
    return items[0]["metadata"]["name"]


def set_job_state(env: KubeEnv, component: str, state: str, **extra: Any) -> str:
    name = fd_name(env, component)
    env.patch_status(FD, name, NS, {"jobStatus": {"state": state, **extra}, "lifecycleState": "STABLE",
                                     "jobManagerDeploymentStatus": "READY"})
    return name


def status_json(env: KubeEnv) -> dict[str, Any]:
    done = cli(env, "status", "--release", RELEASE, "-n", NS, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def stages(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["stage"]: s for s in report["stages"]}


# --- status through the lifecycle (first: the later tests reuse the installed release) --------


def test_status_follows_the_lifecycle_and_names_the_next_step(kube_env, chart, snapshot_crd):
    env: KubeEnv = kube_env
    env.namespace(NS)
    before = status_json(env)
    assert before["revision"] is None and before["nextStep"].startswith("install step bootstrap")

    install(env, chart, "bootstrap")
    report = status_json(env)
    boot = stages(report)["bootstrap"]
    assert report["revision"] == 1 and boot["enabled"] and boot["phase"] == "pending"
    assert any(o.startswith("FlinkDeployment/") for o in boot["objects"])
    assert report["nextStep"].startswith("wait for bootstrap")

    set_job_state(env, "bootstrap", "FINISHED")
    report = status_json(env)
    assert stages(report)["bootstrap"]["phase"] == "done"
    assert "job FINISHED" in stages(report)["bootstrap"]["detail"]
    assert report["nextStep"].startswith("install step train")

    install(env, chart, "train")
    train = stages(status_json(env))["train"]
    assert train["enabled"] and any(o.startswith("Job/") for o in train["objects"])
    # kwok runs the pod; the Job controller counts its completion
    wait_until(lambda: stages(status_json(env))["train"]["phase"] == "done", 120, "the train Job to complete")
    assert "1/1 completions" in stages(status_json(env))["train"]["detail"]

    install(env, chart, "upload")
    wait_until(lambda: stages(status_json(env))["upload"]["phase"] == "done", 120, "the upload Job to complete")
    assert status_json(env)["nextStep"].startswith("install step api")

    install(env, chart, "update")
    update_name = set_job_state(env, "update", "RUNNING")
    wait_until(lambda: stages(status_json(env))["api"]["phase"] == "running", 120, "api replicas ready")
    report = status_json(env)
    assert stages(report)["update"]["phase"] == "running"
    assert not stages(report)["train"]["enabled"] and stages(report)["train"]["objects"] == []
    assert report["nextStep"].startswith("none: steady state"), report["nextStep"]

    table = cli(env, "status", "--release", RELEASE, "-n", NS)
    assert table.returncode == 0, table.stderr
    assert "STAGE" in table.stdout and f"FlinkDeployment/{update_name}" in table.stdout
    assert "next: none: steady state" in table.stdout


def test_status_watch_refreshes_until_the_batch_stage_finishes(kube_env, chart):
    env: KubeEnv = kube_env
    # the steady state has no bootstrap: bring it back as a deliberate re-bootstrap does (README)
    install(env, chart, "update", "--set", "stages.bootstrap.enabled=true")
    set_job_state(env, "bootstrap", "RUNNING")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from ranker_values.cli import main; main()", "status", "--release", RELEASE, "-n", NS, "--watch",
         "--interval", "0.5", "--timeout", "60", "--format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env.env, cwd=REPO,
    )
    try:
        time.sleep(3)
        assert proc.poll() is None, "watch ended while the bootstrap was still running"
        set_job_state(env, "bootstrap", "FINISHED")
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    reports = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(reports) >= 2
    assert stages(reports[0])["bootstrap"]["phase"] == "running"
    assert stages(reports[-1])["bootstrap"]["phase"] == "done"
    install(env, chart, "update")  # back to the steady state for the tests after this one


# --- savepoints from real FlinkStateSnapshot objects --------------------------------------


def snapshot(name: str, target: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkStateSnapshot",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"jobReference": {"kind": "FlinkDeployment", "name": target}, **spec},
    }


def test_savepoint_latest_reads_completed_snapshots_from_the_api_server(kube_env, chart, snapshot_crd):
    env: KubeEnv = kube_env
    target = fd_name(env, "update")
    env.apply([
        snapshot("sp-old", target, savepoint={"disposeOnDelete": False}),
        snapshot("sp-new", target, savepoint={"disposeOnDelete": False}),
        snapshot("sp-failed", target, savepoint={"disposeOnDelete": False}),
        snapshot("cp-newest", target, checkpoint={}),
    ])
    env.patch_status(SNAP, "sp-old", NS, {"state": "COMPLETED", "path": "s3://b/sp/savepoint-old", "resultTimestamp": "2026-11-30T10:00:00Z"})
    env.patch_status(SNAP, "sp-new", NS, {"state": "COMPLETED", "path": "s3://b/sp/savepoint-new", "resultTimestamp": "2026-12-01T10:00:00Z"})
    env.patch_status(SNAP, "sp-failed", NS, {"state": "FAILED", "error": "boom", "resultTimestamp": "2026-12-01T11:00:00Z"})
    env.patch_status(SNAP, "cp-newest", NS, {"state": "COMPLETED", "path": "s3://b/cp/chk-9", "resultTimestamp": "2026-12-01T12:00:00Z"})
    done = cli(env, "savepoint", "latest", "--release", RELEASE, "-n", NS, "--source", "cluster", "--no-verify", "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["path"] == "s3://b/sp/savepoint-new"
    assert result["chosen"]["source"] == "FlinkStateSnapshot/sp-new"
    # status shows the same savepoint with its age
    update = stages(status_json(env))["update"]
    assert update["savepoint"] == "s3://b/sp/savepoint-new" and update["savepoint_age_seconds"] > 0


def test_savepoint_trigger_creates_a_snapshot_and_returns_its_path_once_completed(kube_env, chart, snapshot_crd):
    env: KubeEnv = kube_env
    target = set_job_state(env, "update", "RUNNING")
    seen: dict[str, Any] = {}

    def operator_stand_in() -> None:
        def created():
            for item in env.items(SNAP, NS, "app.kubernetes.io/managed-by=ranker-values"):
                if item["metadata"]["name"].startswith(f"{target}-manual-") and not item.get("status"):
                    return item
            return None

        obj = wait_until(created, 60, "the triggered FlinkStateSnapshot")
        seen["obj"] = obj
        env.patch_status(SNAP, obj["metadata"]["name"], NS, {"state": "IN_PROGRESS"})
        time.sleep(1)
        env.patch_status(SNAP, obj["metadata"]["name"], NS, {
            "state": "COMPLETED", "path": "s3://b/sp/savepoint-manual", "resultTimestamp": "2026-12-01T13:00:00Z"})

    helper = threading.Thread(target=operator_stand_in, daemon=True)
    helper.start()
    done = cli(env, "savepoint", "trigger", "--release", RELEASE, "-n", NS, "--mode", "snapshot",
               "--timeout", "90", "--poll-interval", "0.5")
    helper.join(timeout=5)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "s3://b/sp/savepoint-manual"
    spec = seen["obj"]["spec"]
    assert spec["jobReference"] == {"kind": "FlinkDeployment", "name": target}
    assert spec["savepoint"]["disposeOnDelete"] is False and "checkpoint" not in spec
    labels = seen["obj"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/instance"] == RELEASE and labels["app.kubernetes.io/component"] == "update"


def test_savepoint_trigger_nonce_mode_merge_patches_the_live_spec(kube_env, chart):
    env: KubeEnv = kube_env
    target = set_job_state(env, "update", "RUNNING")
    before = env.get(FD, target, NS)
    nonce = int(before["spec"]["job"].get("savepointTriggerNonce") or 0) + 1

    def operator_stand_in() -> None:
        wait_until(lambda: env.get(FD, target, NS)["spec"]["job"].get("savepointTriggerNonce") == nonce, 60, "the nonce patch")
        env.patch_status(FD, target, NS, {"jobStatus": {"state": "RUNNING", "savepointInfo": {
            "lastSavepoint": {"location": "s3://b/sp/savepoint-nonce", "timeStamp": 1764594000000,
                              "triggerType": "MANUAL", "triggerNonce": nonce}}}})

    helper = threading.Thread(target=operator_stand_in, daemon=True)
    helper.start()
    done = cli(env, "savepoint", "trigger", "--release", RELEASE, "-n", NS, "--mode", "nonce",
               "--timeout", "90", "--poll-interval", "0.5")
    helper.join(timeout=5)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "s3://b/sp/savepoint-nonce"
    after = env.get(FD, target, NS)
    assert after["spec"]["job"]["savepointTriggerNonce"] == nonce
    # only the nonce changed: the merge patch kept the rest of the spec
    after["spec"]["job"].pop("savepointTriggerNonce")
    before["spec"]["job"].pop("savepointTriggerNonce", None)
    assert after["spec"] == before["spec"]
    assert f"savepointTriggerNonce: {nonce}" in done.stderr


# --- plan against the deployed release ----------------------------------------------------


def test_plan_deployed_reads_the_release_from_the_cluster_like_the_old_values_file(kube_env, chart, tmp_path):
    env: KubeEnv = kube_env
    files = generated_example_files("dev")
    changed = yaml.safe_load(files["update"].read_text())
    changed["ranking"]["config"] = changed["ranking"]["config"].replace("refresh: 1h", "refresh: 2h", 1)
    new = tmp_path / "update-changed.yaml"
    new.write_text(yaml.safe_dump(changed))
    deployed = cli(env, "plan", "--deployed", str(new), "--release", RELEASE, "-n", NS, "-f", str(ENV_VALUES["dev"]),
                   "--chart", str(chart))
    old_file = tmp_path / "deployed.yaml"
    old_file.write_text(env.helm("get", "values", RELEASE, "-n", NS, "-o", "yaml").stdout)
    from_file = cli(env, "plan", str(old_file), str(new), "--release", RELEASE, "-n", NS, "-f", str(ENV_VALUES["dev"]),
                    "--chart", str(chart))
    assert deployed.returncode == from_file.returncode, deployed.stderr + from_file.stderr
    assert f"release {RELEASE} revision" in deployed.stderr
    assert "upgrade" in deployed.stdout
    # the same verdicts either way
    assert deployed.stdout == from_file.stdout

    unchanged = cli(env, "plan", "--deployed", str(files["update"]), "--release", RELEASE, "-n", NS,
                    "-f", str(ENV_VALUES["dev"]), "--chart", str(chart))
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    assert "upgrade" not in unchanged.stdout.lower().replace("upgrade-values", "")


def test_plan_deployed_without_a_release_is_a_clear_error(kube_env, chart):
    env: KubeEnv = kube_env
    files = generated_example_files("dev")
    done = cli(env, "plan", "--deployed", str(files["update"]), "--release", "nope", "-n", NS, "--chart", str(chart))
    assert done.returncode == 1
    assert "no Helm release 'nope'" in done.stderr and "Traceback" not in done.stderr


# --- check --only cluster -----------------------------------------------------------------


def operator_deployment() -> dict[str, Any]:
    """What the operator's Helm chart creates (the JVM itself runs outside, from kube-up.sh)."""
    labels = {"app.kubernetes.io/name": "flink-kubernetes-operator"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "flink-kubernetes-operator", "namespace": "flink-operator", "labels": labels},
        "spec": {
            "replicas": 1, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                {"name": "flink-kubernetes-operator", "image": "apache/flink-kubernetes-operator:1.7.0"}]}},
        },
    }


def check_cluster(env: KubeEnv, namespace: str, values: list[Path]) -> tuple[int, dict[str, Any]]:
    args = ["check", str(CONFIG), "--only", "cluster", "--format", "json", "-n", namespace, "--timeout", "20"]
    for v in values:
        args += ["-f", str(v)]
    done = cli(env, *args)
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    return done.returncode, {c["name"]: c for c in report["checks"]}


def test_check_cluster_red_then_green(kube_env, snapshot_crd):
    env: KubeEnv = kube_env
    namespace = env.namespace("ranker-check")
    prod = ENV_VALUES["prod"]
    env.kubectl("delete", "deployment", "flink-kubernetes-operator", "-n", "flink-operator", "--ignore-not-found")
    rc, checks = check_cluster(env, namespace, [prod])
    assert rc == 1
    assert checks["cluster.crd"]["status"] == "pass", checks["cluster.crd"]
    assert checks["cluster.operator"]["status"] == "fail" and "no flink-kubernetes-operator" in checks["cluster.operator"]["reason"]
    # values/prod.yaml: Metarank's S3 client needs static keys from the Secret ranker-s3
    assert checks["cluster.secrets"]["status"] == "fail" and f"{namespace}/ranker-s3 does not exist" in checks["cluster.secrets"]["reason"]

    env.namespace("flink-operator")
    env.apply(operator_deployment())
    env.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ranker-s3", "namespace": namespace},
               "stringData": {"AWS_ACCESS_KEY_ID": "key-id"}})
    rc, checks = check_cluster(env, namespace, [prod])
    assert rc == 1 and "lacks key(s) AWS_SECRET_ACCESS_KEY" in checks["cluster.secrets"]["reason"]

    env.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ranker-s3", "namespace": namespace},
               "stringData": {"AWS_ACCESS_KEY_ID": "key-id", "AWS_SECRET_ACCESS_KEY": "key-secret"}})
    wait_until(lambda: (env.get("deployment.apps", "flink-kubernetes-operator", "flink-operator") or {}).get("status", {}).get("readyReplicas"),
               120, "the operator Deployment's pod reported ready by kwok")
    rc, checks = check_cluster(env, namespace, [prod])
    assert rc == 0, checks
    assert all(c["status"] in ("pass", "warn") for c in checks.values()), checks
    assert "image tag 1.7.0" in checks["cluster.operator"]["reason"]


def test_an_upload_past_its_deadline_is_failed_by_the_job_controller_and_status_says_so(kube_env, chart):
    """Metarank 0.4.1's upload waits forever for a FAILED Flink job (docs/engine-0.4.1.md E16), so
    its Job carries stages.upload.activeDeadlineSeconds. Here the real Job controller enforces it:
    the pod can never be scheduled (a nodeSelector no node has), and after the deadline the Job is
    Failed with DeadlineExceeded and `status` reports the upload stage failed, not pending."""
    env: KubeEnv = kube_env
    ns = env.namespace("ranker-deadline")
    files = generated_example_files("dev")
    env.helm("upgrade", "--install", RELEASE, str(chart), "-n", ns, "-f", str(ENV_VALUES["dev"]), "-f", str(files["upload"]),
             "--set", "stages.upload.activeDeadlineSeconds=5", "--set-string", "stages.upload.nodeSelector.ranker-test/node=nowhere")
    (job,) = env.items("job.batch", ns, f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=upload")
    assert job["spec"]["activeDeadlineSeconds"] == 5

    def deadline_exceeded() -> bool:
        status = (env.get("job.batch", job["metadata"]["name"], ns) or {}).get("status") or {}
        return any(c.get("type") == "Failed" and c.get("status") == "True" and c.get("reason") == "DeadlineExceeded"
                   for c in status.get("conditions") or [])

    wait_until(deadline_exceeded, 120, "the Job controller to fail the upload Job with DeadlineExceeded")
    done = cli(env, "status", "--release", RELEASE, "-n", ns, "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert stages(report)["upload"]["phase"] == "failed", stages(report)["upload"]
    assert report["nextStep"].startswith("fix the failed upload stage"), report["nextStep"]
