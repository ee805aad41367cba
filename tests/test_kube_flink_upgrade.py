"""``helm upgrade`` with real savepoints: Helm 4 against kube-apiserver, the real Flink operator
(1.7.0), and a real Flink job behind the operator's JobManager pod (``support.flinkbridge``).

The engine's stages run first as processes (``support.lifecycle``, prod: moto's S3 at a custom
endpoint + an external redis-server): bootstrap writes the savepoint the update job restores,
train the model, upload the feature values, and the api serves rankings and the feedback the
update job polls (0.4.1's rest source). Then the chart's steady state is installed with Helm into
a namespace the operator watches, and every state below is what the operator read from Flink's
REST API or what Flink wrote to S3 — nothing is written by the test:

- install → the operator deploys the cluster, the bridged JobManager restores the bootstrap
  savepoint, and the operator reports the job RUNNING (its job id is the REST API's);
- a config change through ``helm upgrade`` → the operator stops the job with a **savepoint** on S3,
  deletes the cluster, deploys the new spec restoring that savepoint, RUNNING again; downtime
  (the old job stopped → the new one running) is measured; feature values keep counting;
- ``ranker-values savepoint latest`` / ``savepoint trigger`` / ``status`` against it;
- ``helm rollback``, a failed upgrade, parallelism changes.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import CHART, REPO
from support.kube import RUN_ID, KubeEnv, kube_env, wait_until  # noqa: F401
from support.podrun import namespaces_unavailable

pytestmark = [pytest.mark.kube, pytest.mark.engine]

NS = "ranker-flink"
RELEASE = f"ranker-{RUN_ID}"
FD_KIND = "flinkdeployment.flink.apache.org"
UPDATE = f"{RELEASE}-update"
KAFKA_HOST = "kafka.streaming.test"
TOPIC = "ranking-events"
#: measured upgrade downtimes (label → seconds), printed at the end of the module
DOWNTIME: dict[str, float] = {}
FIRST_CHECKSUM: dict[str, str] = {}


class Release:
    def __init__(self, kube: KubeEnv, lc: Any, workdir: Path) -> None:
        self.kube, self.lc, self.workdir = kube, lc, workdir
        self.count = 0
        self.current_values = lc.generated / "update.yaml"

    def values(self) -> dict[str, Any]:
        return yaml.safe_load((self.lc.generated / "update.yaml").read_text())

    def upgrade(self, values: dict[str, Any] | None = None, check: bool = True, *extra: str) -> subprocess.CompletedProcess[str]:
        self.count += 1
        path = self.workdir / f"update-{self.count}.yaml"
        path.write_text(yaml.safe_dump(values if values is not None else self.values(), sort_keys=False))
        done = self.kube.helm(
            "upgrade", "--install", RELEASE, str(CHART), "-n", NS, "-f", str(self.lc.env_file), "-f", str(path), *extra, check=check
        )
        if done.returncode == 0:
            self.current_values = path
        return done

    def fd(self) -> dict[str, Any]:
        found = self.kube.get(FD_KIND, UPDATE, NS)
        assert found is not None, f"{UPDATE} is gone"
        return found


def job_status(fd: dict[str, Any]) -> dict[str, Any]:
    return (fd.get("status") or {}).get("jobStatus") or {}


def reconciled_generation(fd: dict[str, Any]) -> int:
    """The generation of the spec the operator last reconciled (0 before the first)."""
    spec = ((fd.get("status") or {}).get("reconciliationStatus") or {}).get("lastReconciledSpec")
    return int(json.loads(spec)["resource_metadata"]["metadata"]["generation"]) if spec else 0


def running_and_stable(release: Release) -> dict[str, Any] | None:
    """The FlinkDeployment once the operator reconciled its current spec and reads the job
    RUNNING from the JobManager's REST API, lifecycle STABLE."""
    fd = release.fd()
    status = fd.get("status") or {}
    if reconciled_generation(fd) < fd["metadata"]["generation"]:
        return None
    if job_status(fd).get("state") == "RUNNING" and status.get("lifecycleState") == "STABLE":
        return fd
    return None


@pytest.fixture(scope="module")
def deployed(kube_env: KubeEnv, tmp_path_factory: pytest.TempPathFactory) -> Any:
    reason = namespaces_unavailable()
    if reason:
        pytest.skip(reason)
    from support.flinkbridge import JobManagerBridge, kill_stale
    from support.kafka import KafkaBroker
    from support.lifecycle import ACCESS_KEY, SECRET_KEY, Lifecycle

    kill_stale()
    workdir = tmp_path_factory.mktemp("flink-upgrade")
    lc = Lifecycle("prod", workdir / "lc")
    bridge = broker = None
    try:
        # the update job reads live events from Kafka (the example's source): 0.4.1's rest
        # source cannot restore its own savepoint (E30, test_rest_source_cannot_restore_…)
        lc.config["inference"]["source"] = {
            "type": "kafka", "brokers": [f"{KAFKA_HOST}:9092"], "topic": TOPIC, "groupId": "ranker-update", "offset": "earliest",
        }  # fmt: skip
        lc.config_path.write_text(yaml.safe_dump(lc.config, sort_keys=False))
        lc._gen()
        lc.runner.hosts = sorted({*lc.runner.hosts, KAFKA_HOST})
        broker = KafkaBroker(lc.netns, workdir / "kafka").start()
        broker.create_topic(TOPIC)
        lc.start_storage()
        lc.bootstrap()
        lc.train()
        lc.upload()
        lc.api()
        kube_env.namespace(NS)
        kube_env.kubectl(
            "create", "secret", "generic", "ranker-s3", "-n", NS,
            f"--from-literal=AWS_ACCESS_KEY_ID={ACCESS_KEY}", f"--from-literal=AWS_SECRET_ACCESS_KEY={SECRET_KEY}",
        )  # fmt: skip
        # the release's Service names resolve in the pod network like the lifecycle's own
        names = [f"{RELEASE}-api"]
        lc.runner.hosts = sorted({*lc.runner.hosts, *[f"{n}{s}" for n in names for s in ("", f".{NS}", f".{NS}.svc", f".{NS}.svc.cluster.local")]})
        bridge = JobManagerBridge(kube_env, NS, lc.runner, lc.objects, lc.netns).start()
        release = Release(kube_env, lc, workdir)
        release.bridge = bridge  # type: ignore[attr-defined]
        release.broker = broker  # type: ignore[attr-defined]
        yield release
    finally:
        if bridge is not None:
            bridge.stop()
        if broker is not None:
            broker.stop()
        lc.close()


def wait_running(release: Release, timeout: float = 420, replaced: Any = None) -> dict[str, Any]:
    """RUNNING + STABLE for the current spec; with ``replaced`` (a bridged pod), also on a new
    JobManager pod (the operator redeployed the cluster)."""
    bridge = release.bridge  # type: ignore[attr-defined]

    def ready() -> dict[str, Any] | None:
        if bridge.errors:
            raise AssertionError(f"the bridge failed: {bridge.errors}")
        if replaced is not None:
            pod = bridge.running(UPDATE)
            if pod is None or pod.uid == replaced.uid:
                return None
        return running_and_stable(release)

    try:
        return wait_until(ready, timeout, f"{UPDATE} RUNNING and STABLE", interval=1)
    except AssertionError as error:
        tails = "\n".join(f"--- {p.pod} (exit {p.process.process.poll()}):\n{p.process.tail(40)}" for p in bridge.history(UPDATE))
        fd = release.kube.get(FD_KIND, UPDATE, NS) or {}
        raise AssertionError(f"{error}\nstatus: {json.dumps(fd.get('status'), indent=1)[:3000]}\n{tails}") from None


def test_install_the_operator_sees_the_real_job_running(deployed: Release) -> None:
    deployed.upgrade()
    fd = wait_running(deployed)
    bridge = deployed.bridge  # type: ignore[attr-defined]
    overview = bridge.rest_get(UPDATE, "/jobs/overview")
    running = [j for j in overview["jobs"] if j["state"] == "RUNNING"]
    assert [j["jid"] for j in running] == [job_status(fd)["jobId"]]
    FIRST_CHECKSUM["value"] = fd["spec"]["podTemplate"]["metadata"]["annotations"]["checksum/config"]


# --- feedback through the api's rest source -----------------------------------------------------------


def post_clicks(deployed: Release, session: str, base_ms: int, clicks: int) -> None:
    """One ranking and ``clicks`` clicks of ``session`` into the Kafka topic the update job reads."""
    lc = deployed.lc
    items = [item.id for item in lc.items[:5]]
    events: list[dict[str, Any]] = [{
        "event": "ranking", "id": f"rank-{session}-{base_ms}", "timestamp": str(base_ms), "user": f"u-{session}",
        "session": session, "fields": [{"name": "query", "value": "trail shoes"},
                                       {"name": "user_agent", "value": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/101.0"}],
        "items": [{"id": item, "relevancy": round(1 - i / 10, 2)} for i, item in enumerate(items)],
    }]  # fmt: skip
    events += [
        {"event": "interaction", "id": f"click-{session}-{base_ms}-{i}", "item": items[i], "timestamp": str(base_ms + 1000 * (i + 1)),
         "ranking": f"rank-{session}-{base_ms}", "user": f"u-{session}", "session": session, "type": "click", "fields": []}
        for i in range(clicks)
    ]  # fmt: skip
    deployed.broker.produce(TOPIC, [json.dumps(e) for e in events])  # type: ignore[attr-defined]


def session_count(lc: Any, session: str) -> bytes | None:
    """The Redis value of ``session``'s session_click_count (0.4.1 writes feature values as
    protobuf messages under ``session/<tenant>/<feature>/<session>``)."""
    key = f"session/default/session_click_count/{session}".encode()
    return lc.redis_snapshot().get(key)


def varints(data: bytes, path: tuple[int, ...] = ()) -> dict[tuple[int, ...], int]:
    """Every varint field of a protobuf message by field-number path (nested messages parsed
    where they parse; the wire format needs no schema)."""
    out: dict[tuple[int, ...], int] = {}
    i = 0

    def varint(at: int) -> tuple[int, int]:
        value, shift = 0, 0
        while True:
            if at >= len(data) or shift > 63:
                raise ValueError("truncated varint")
            byte = data[at]
            value |= (byte & 0x7F) << shift
            at += 1
            shift += 7
            if not byte & 0x80:
                return value, at

    while i < len(data):
        tag, i = varint(i)
        field, wire = tag >> 3, tag & 7
        if field == 0:
            raise ValueError("field 0")
        if wire == 0:
            value, i = varint(i)
            out[(*path, field)] = value
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            length, i = varint(i)
            chunk = data[i : i + length]
            if len(chunk) != length:
                raise ValueError("truncated bytes")
            i += length
            try:
                out.update(varints(chunk, (*path, field)))
            except ValueError:
                pass  # a string or bytes field
        else:
            raise ValueError(f"wire type {wire}")
    if i != len(data):
        raise ValueError("trailing bytes")
    return out


#: where the count sits in the value message (found when the count is first seen)
COUNT_PATH: dict[str, tuple[int, ...]] = {}


def wait_count(lc: Any, session: str, expected: int, timeout: float = 180) -> None:
    """Wait until ``session``'s click count in Redis is ``expected``: the first call finds the
    varint holding it; later calls read the same field, so a count restarted from zero after an
    upgrade (state lost) cannot pass for a continued one."""

    def seen() -> bool:
        value = session_count(lc, session)
        if value is None:
            return False
        try:
            fields = varints(value)
        except ValueError:
            return False
        if session in COUNT_PATH:
            return fields.get(COUNT_PATH[session]) == expected
        matches = [path for path, v in fields.items() if v == expected]
        if len(matches) == 1:
            COUNT_PATH[session] = matches[0]
            return True
        return False

    try:
        wait_until(seen, timeout, f"session_click_count of {session} = {expected} in Redis", interval=2)
    except AssertionError as error:
        value = session_count(lc, session)
        raise AssertionError(f"{error}; now: {value!r}") from None


LOG_TIME = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d\d\d) ", re.M)


def log_time(text: str, pattern: str) -> float | None:
    """Seconds since midnight of the first log line matching ``pattern`` (Flink's HH:MM:SS.mmm)."""
    for line in text.splitlines():
        if re.search(pattern, line):
            m = LOG_TIME.match(line)
            if m:
                h, mi, s, ms = map(int, m.groups())
                return h * 3600 + mi * 60 + s + ms / 1000
    return None


def regenerate(deployed: Release, change: Any, name: str) -> dict[str, Any]:
    """``ranker-values gen`` on a changed copy of the config: the steady-state values a user applies."""
    config = copy.deepcopy(deployed.lc.config)
    change(config)
    path = deployed.workdir / f"{name}.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    out = deployed.workdir / f"gen-{name}"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ranker-values"), "gen", str(path), "--env-file", str(deployed.lc.env_file), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return yaml.safe_load((out / "update.yaml").read_text())


def test_feedback_counts_in_the_running_job(deployed: Release) -> None:
    post_clicks(deployed, "s-upgrade", 1_700_000_200_000, 2)
    wait_count(deployed.lc, "s-upgrade", 2)


def test_config_change_upgrade_takes_a_real_savepoint_and_restores_it(deployed: Release) -> None:
    bridge = deployed.bridge  # type: ignore[attr-defined]
    before = deployed.fd()
    old_pod = bridge.running(UPDATE)
    assert old_pod is not None
    values = regenerate(deployed, lambda c: c["models"]["xgboost"]["backend"].update(iterations=201), "iterations-201")
    deployed.upgrade(values)
    after = wait_running(deployed, timeout=600, replaced=old_pod)
    assert after["metadata"]["generation"] > before["metadata"]["generation"]
    savepoint = job_status(after)["savepointInfo"]["lastSavepoint"]
    assert savepoint["triggerType"] == "UPGRADE", savepoint
    location = savepoint["location"]
    assert location.startswith("s3://ranker-e2e/ranker/workdir/update/savepoints/savepoint-"), location
    relative = location.removeprefix("s3://ranker-e2e/ranker/workdir/").rstrip("/")
    assert f"{relative}/_metadata" in deployed.lc.list_workdir(relative), "the savepoint has no _metadata on S3"
    # the old JobManager stopped the job with that savepoint; the new one restored it
    old_log = old_pod.process.output()
    assert re.search(r"switched from state RUNNING to FINISHED", old_log), old_pod.process.tail(40)
    new_pod = bridge.running(UPDATE)
    assert new_pod is not None and new_pod.uid != old_pod.uid
    new_log = new_pod.process.output()
    assert re.search(r"Starting job \w+ from savepoint " + re.escape(location.rstrip("/")), new_log), new_pod.process.tail(60)
    stopped = log_time(old_log, r"switched from state RUNNING to FINISHED")
    running = log_time(new_log, r"Source: [^\n]* switched from INITIALIZING to RUNNING")
    assert stopped is not None and running is not None
    downtime = running - stopped
    DOWNTIME["config change"] = downtime
    print(f"\nupgrade downtime (old job FINISHED with its savepoint → new job's source RUNNING): {downtime:.1f} s")
    assert 0 < downtime < 600


def test_feature_values_keep_counting_after_the_upgrade(deployed: Release) -> None:
    post_clicks(deployed, "s-upgrade", 1_700_000_300_000, 2)
    wait_count(deployed.lc, "s-upgrade", 4)




# --- ranker-values against the real savepoints ----------------------------------------------------------


def cli(deployed: Release, *args: str, s3: bool = False, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``ranker-values`` as an operator runs it from a laptop: the kubeconfig, and S3 through a
    port-forward to the pod network (``s3.endpoint`` pointed at it in an extra values file)."""
    from support.lifecycle import ACCESS_KEY, SECRET_KEY

    env = {**deployed.kube.env, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": "us-east-1"}
    extra: list[str] = []
    if s3:
        extra = ["-f", str(deployed.lc.env_file), "-f", str(deployed.current_values), "-f", str(s3_forward(deployed))]
    return subprocess.run(
        [str(Path(sys.executable).parent / "ranker-values"), *args, *extra],
        cwd=deployed.workdir, capture_output=True, text=True, timeout=timeout, env=env, check=False,
    )  # fmt: skip


def s3_forward(deployed: Release) -> Path:
    if getattr(deployed, "s3_values", None) is None:
        from support.flinkbridge import Forwarder
        from support.net import free_port

        port = free_port()
        deployed.s3_forwarder = Forwarder("127.0.0.1", port, deployed.lc.netns, 9000)  # type: ignore[attr-defined]
        path = deployed.workdir / "s3-port-forward.yaml"
        path.write_text(yaml.safe_dump({"s3": {"endpoint": f"http://127.0.0.1:{port}"}}))
        deployed.s3_values = path  # type: ignore[attr-defined]
    return deployed.s3_values  # type: ignore[attr-defined]


def test_savepoint_trigger_takes_a_real_savepoint_through_the_operator(deployed: Release) -> None:
    before = job_status(deployed.fd())["savepointInfo"]["lastSavepoint"]["location"]
    done = cli(deployed, "savepoint", "trigger", "--release", RELEASE, "-n", NS, "--mode", "nonce", "--timeout", "300", "--poll-interval", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    last = job_status(deployed.fd())["savepointInfo"]["lastSavepoint"]
    assert last["triggerType"] == "MANUAL" and last["location"] != before, last
    assert last["location"] in done.stdout, done.stdout
    relative = last["location"].removeprefix("s3://ranker-e2e/ranker/workdir/").rstrip("/")
    assert f"{relative}/_metadata" in deployed.lc.list_workdir(relative)
    deployed.manual_savepoint = last["location"]  # type: ignore[attr-defined]


def test_savepoint_latest_finds_the_newest_real_savepoint_on_s3_and_in_the_cluster(deployed: Release) -> None:
    manual = getattr(deployed, "manual_savepoint", None)
    assert manual, "needs test_savepoint_trigger_takes_a_real_savepoint_through_the_operator"
    for source in ("cluster", "s3", "all"):
        done = cli(deployed, "savepoint", "latest", "--release", RELEASE, "-n", NS, "--source", source, "--format", "json", s3=True)
        assert done.returncode == 0, f"--source {source}: {done.stdout}{done.stderr}"
        found = json.loads(done.stdout)
        text = json.dumps(found)
        assert manual.rstrip("/") in text, f"--source {source}: {text}"


def test_status_shows_the_update_job_running(deployed: Release) -> None:
    done = cli(deployed, "status", "--release", RELEASE, "-n", NS, "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    text = done.stdout
    assert "RUNNING" in text and UPDATE in text, text


# --- rollback, a failed upgrade, parallelism --------------------------------------------------------


def upgrade_and_measure(deployed: Release, values: dict[str, Any] | None, label: str, action: Any = None) -> dict[str, Any]:
    bridge = deployed.bridge  # type: ignore[attr-defined]
    old_pod = bridge.running(UPDATE) or bridge.history(UPDATE)[-1]
    if action is None:
        deployed.upgrade(values)
    else:
        action()
    after = wait_running(deployed, timeout=600, replaced=old_pod)
    new_pod = bridge.running(UPDATE)
    assert new_pod is not None and new_pod.uid != old_pod.uid
    location = job_status(after)["savepointInfo"]["lastSavepoint"]["location"]
    assert re.search(r"Starting job \w+ from savepoint " + re.escape(location.rstrip("/")), new_pod.process.output()), new_pod.process.tail(60)
    stopped = log_time(old_pod.process.output(), r"switched from state RUNNING to FINISHED")
    running = log_time(new_pod.process.output(), r"Source: [^\n]* switched from INITIALIZING to RUNNING")
    if stopped is not None and running is not None:
        DOWNTIME[label] = running - stopped
        print(f"\n{label}: downtime {running - stopped:.1f} s")
    return after


def test_rollback_restores_the_previous_spec_from_a_new_savepoint(deployed: Release) -> None:
    history = json.loads(deployed.kube.helm("history", RELEASE, "-n", NS, "-o", "json").stdout)
    first = history[0]["revision"]
    before = job_status(deployed.fd())["savepointInfo"]["lastSavepoint"]["location"]
    after = upgrade_and_measure(deployed, None, "helm rollback", lambda: deployed.kube.helm("rollback", RELEASE, str(first), "-n", NS))
    last = job_status(after)["savepointInfo"]["lastSavepoint"]
    assert last["triggerType"] == "UPGRADE" and last["location"] != before
    config = after["spec"]["podTemplate"]["metadata"]["annotations"]["checksum/config"]
    assert config == FIRST_CHECKSUM.get("value"), "the rollback did not bring back the first config"
    post_clicks(deployed, "s-upgrade", 1_700_000_400_000, 1)
    wait_count(deployed.lc, "s-upgrade", 5)


def test_parallelism_2_restores_the_savepoint(deployed: Release) -> None:
    values = regenerate(deployed, lambda c: c["inference"].update(parallelism=2), "parallelism-2")
    after = upgrade_and_measure(deployed, values, "parallelism 1 → 2")
    assert after["spec"]["job"]["parallelism"] == 2
    overview = deployed.bridge.rest_get(UPDATE, f"/jobs/{job_status(after)['jobId']}")  # type: ignore[attr-defined]
    assert max(v["parallelism"] for v in overview["vertices"]) == 2, overview["vertices"]


def test_parallelism_above_32_is_refused_before_it_reaches_the_cluster(deployed: Release) -> None:
    generation = deployed.fd()["metadata"]["generation"]
    config = copy.deepcopy(deployed.lc.config)
    config["inference"]["parallelism"] = 33
    path = deployed.workdir / "parallelism-33.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ranker-values"), "gen", str(path), "--env-file", str(deployed.lc.env_file), "--out", str(deployed.workdir / "gen-33")],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1 and "32" in done.stdout + done.stderr, done.stdout + done.stderr
    # the values of the running release with the job's parallelism raised: the chart refuses it too
    values = yaml.safe_load(deployed.current_values.read_text())
    values.setdefault("stages", {}).setdefault("update", {})["parallelism"] = 33
    refused = deployed.upgrade(values, False)
    assert refused.returncode != 0 and "32" in refused.stderr, refused.stderr
    assert deployed.fd()["metadata"]["generation"] == generation
    assert running_and_stable(deployed)


def test_a_failed_upgrade_leaves_the_last_savepoint_usable(deployed: Release) -> None:
    """A config the chart accepts but the engine refuses at start: the operator takes the
    upgrade savepoint, the new job fails; rolling back restores from that savepoint."""
    good = deployed.current_values.read_text()
    last_good = int(json.loads(deployed.kube.helm("history", RELEASE, "-n", NS, "-o", "json").stdout)[-1]["revision"])
    values = yaml.safe_load(good)
    config = yaml.safe_load(values["ranking"]["config"])
    config["inference"]["state"] = {"type": "no-such-store"}
    values["ranking"]["config"] = yaml.safe_dump(config, sort_keys=False)
    bridge = deployed.bridge  # type: ignore[attr-defined]
    earlier = {p.uid for p in bridge.history(UPDATE)}
    deployed.upgrade(values)

    def failed() -> Any:
        fd = deployed.fd()
        if job_status(fd).get("state") == "FAILED":
            return "the operator reports the job FAILED"
        new = [p for p in bridge.history(UPDATE) if p.uid not in earlier]
        if new and new[-1].process.process.poll() not in (None, 0):
            return f"the new JobManager exited {new[-1].process.process.poll()}"
        return None

    how = wait_until(failed, 600, "the bad config's job to fail", interval=2)
    print(f"\nbad config: {how}")
    new_pods = [p for p in bridge.history(UPDATE) if p.uid not in earlier]
    # the engine's own config decoding refused it (circe: no state type matches)
    assert new_pods and "DownField(state),DownField(inference)" in new_pods[-1].process.output(), new_pods[-1].process.tail(40) if new_pods else "no new pod"
    upgrade_savepoint = job_status(deployed.fd())["savepointInfo"]["lastSavepoint"]["location"]
    after = upgrade_and_measure(deployed, None, "rollback after a failed upgrade",
                                lambda: deployed.kube.helm("rollback", RELEASE, str(last_good), "-n", NS))  # fmt: skip
    assert job_status(after)["savepointInfo"]["lastSavepoint"]["location"] == upgrade_savepoint
    post_clicks(deployed, "s-upgrade", 1_700_000_500_000, 1)
    wait_count(deployed.lc, "s-upgrade", 6)


def test_E30_with_the_rest_source_the_update_job_cannot_restore_a_savepoint(deployed: Release) -> None:
    """Metarank 0.4.1's rest source (E30): every event source gets the operator uid
    ``local-source`` (FeedbackFlow.scala:65), so the upgrade savepoint hands the Kafka source's
    split to RestSourceReader.addSplits before start() created its queue: NullPointerException,
    the job restarts forever (the same happens with a savepoint of the rest source itself)."""
    bridge = deployed.bridge  # type: ignore[attr-defined]
    earlier = {p.uid for p in bridge.history(UPDATE)}
    rest = {"type": "rest", "host": f"{RELEASE}-api", "port": 8080}
    deployed.upgrade(regenerate(deployed, lambda c: c["inference"].update(source=rest), "rest"))

    def npe() -> Any:
        new = [p for p in bridge.history(UPDATE) if p.uid not in earlier]
        return new and re.search(r"NullPointerException\s+at ai\.metarank\.source\.rest\.RestSourceReader\.addSplits", new[-1].process.output())

    wait_until(npe, 600, "the restored rest source to fail in addSplits", interval=2)
    new = [p for p in bridge.history(UPDATE) if p.uid not in earlier][-1]
    log = new.process.output()
    assert re.search(r"Starting job \w+ from savepoint s3://ranker-e2e/ranker/workdir/update/savepoints/", log)
    assert not re.search(r"Source: local-source[^\n]* switched from INITIALIZING to RUNNING", log)
    wait_until(lambda: "switched from state RUNNING to RESTARTING" in new.process.output(), 120, "the job to restart")
