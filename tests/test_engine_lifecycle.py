"""The real engine end to end: Metarank 0.4.1 runs every stage as the chart's pods run it.

From ``ranker-values gen`` of the bundled example (paths for the env, the rest feedback source:
no Kafka here) to the chart's manifests for each step, every engine container runs as a process
(``support.podrun``: its command, args, env, mounted ConfigMaps/Secrets, uid 9999, read-only
root) against redis-server and moto's S3 server in one pod network:

bootstrap (FlinkDeployment, bridged to a local MiniCluster) → train (Job) → upload (Job) → api
(Deployment) → ``POST /rank/xgboost`` → ``POST /feedback`` → the update FlinkDeployment restores
the bootstrap's real savepoint (``allowNonRestoredState`` as rendered) and the feature values in
Redis change. ``dev``: the bundled Redis StatefulSet's own command, paths on the shared volume.
``prod``: S3 through moto at a custom endpoint, an external Redis.

The lifecycle runs once per env (module fixture); each test checks one behaviour of it. A stage
that failed fails every test that needs it, with the engine's own log tail.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import missing
from support.podrun import PodError, PodProcess, namespaces_unavailable

pytestmark = pytest.mark.engine

ENVS = ("dev", "prod")
STEPS = ("storage", "bootstrap", "train", "upload", "api", "rank", "helm-test", "update", "feedback")


def _rank_request(session: str, ts_ms: int, items: list[str]) -> dict[str, Any]:
    return {
        "event": "ranking",
        "id": f"rank-{session}",
        "timestamp": str(ts_ms),
        "user": "u-live",
        "session": session,
        "fields": [
            {"name": "query", "value": "trail shoes"},
            {"name": "user_agent", "value": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/101.0 Safari/537.36"},
        ],
        "items": [{"id": item, "relevancy": round(1 - i / 10, 2)} for i, item in enumerate(items)],
    }


@dataclass
class Run:
    env: str
    lc: Any = None
    failed: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    pods: dict[str, PodProcess] = field(default_factory=dict)
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    bootstrap_files: list[str] = field(default_factory=list)
    rank: tuple[int, bytes] | None = None
    feedback: tuple[int, bytes] | None = None
    redis_after_upload: dict[bytes, bytes] = field(default_factory=dict)
    redis_before_feedback: dict[bytes, bytes] = field(default_factory=dict)
    redis_after_feedback: dict[bytes, bytes] = field(default_factory=dict)

    def need(self, *steps: str) -> None:
        for step in steps:
            if step in self.failed:
                pytest.fail(f"[{self.env}] {step} failed:\n{self.failed[step]}")


def _step(run: Run, name: str, fn: Any) -> bool:
    if run.failed:
        run.failed[name] = f"not reached: {next(iter(run.failed))} failed first"
        return False
    start = time.monotonic()
    try:
        fn()
    except (PodError, AssertionError, OSError) as error:
        run.failed[name] = str(error)
        return False
    finally:
        run.timings[name] = round(time.monotonic() - start, 1)
    return True


def _lifecycle(env: str, workspace: Path) -> Run:
    from support.lifecycle import Lifecycle

    run = Run(env)
    run.lc = lc = Lifecycle(env, workspace)

    def bootstrap() -> None:
        run.objects["bootstrap"], run.pods["bootstrap"] = lc.bootstrap()
        run.bootstrap_files = lc.list_workdir()  # before the update job adds update/

    def train() -> None:
        run.objects["train"], pods = lc.train()
        run.pods["train"] = pods[0]

    def upload() -> None:
        run.objects["upload"], run.pods["upload"] = lc.upload()
        run.redis_after_upload = lc.redis_snapshot()

    def api() -> None:
        run.objects["api"], run.pods["api"] = lc.api()

    def rank() -> None:
        items = [item.id for item in lc.items[:10]]
        run.rank = lc.http("POST", "/rank/xgboost", _rank_request("s-rank", 1_700_000_000_000, items))
        assert run.rank[0] == 200, f"/rank/xgboost answered {run.rank[0]}: {run.rank[1][:500]!r}"

    def helm_test() -> None:
        pod = next(o for o in run.objects["api"] if o["kind"] == "Pod" and "helm.sh/hook" in o["metadata"].get("annotations", {}))
        run.pods["helm-test"] = test = lc.runner.run_container(pod["metadata"]["name"], pod["spec"], pod["spec"]["containers"][0])
        code = test.wait(60)
        assert code == 0, f"the helm test pod exited {code}:\n{test.tail()}"

    def update() -> None:
        run.objects["update"], pod = lc.update()
        run.pods["update"] = pod
        deadline = time.monotonic() + 300
        # the job's source task running: it polls the api's GET /feedback from then on
        while not re.search(r"Source: [^\n]* switched from INITIALIZING to RUNNING", pod.output()):
            if not pod.running():
                raise PodError(f"the update job exited with {pod.process.returncode}:\n{pod.tail(80)}")
            if time.monotonic() > deadline:
                raise PodError(f"the update job's tasks were not RUNNING within 300 s:\n{pod.tail(80)}")
            time.sleep(1)

    def feedback() -> None:
        run.redis_before_feedback = lc.redis_snapshot()
        items = [item.id for item in lc.items[:10]]
        base = 1_700_000_100_000
        events = [_rank_request("s-live", base, items)]
        events += [
            {"event": "interaction", "id": f"live-click-{i}", "item": items[i], "timestamp": str(base + 1000 * (i + 1)),
             "ranking": "rank-s-live", "user": "u-live", "session": "s-live", "type": "click", "fields": []}
            for i in range(3)
        ]  # fmt: skip
        run.feedback = lc.http("POST", "/feedback", events)
        assert run.feedback[0] == 200, f"/feedback answered {run.feedback[0]}: {run.feedback[1][:300]!r}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            run.redis_after_feedback = lc.redis_snapshot()
            if any(b"s-live" in key for key in run.redis_after_feedback):
                return
            if not run.pods["update"].running():
                raise PodError(f"the update job exited with {run.pods['update'].process.returncode}:\n{run.pods['update'].tail(80)}")
            time.sleep(2)
        raise PodError(f"no feature of session s-live reached Redis within 180 s:\n{run.pods['update'].tail(60)}")

    def refusals() -> None:
        """The engine's verdict on the restore settings the chart refuses or must keep (dev only)."""
        # 0.4.1's Update sets the job's parallelism from the config's inference.parallelism
        # (Update.scala:27), over the FlinkDeployment's: the 33 goes into the mounted config.
        config = yaml.safe_load(yaml.safe_load((lc.generated / "update.yaml").read_text())["ranking"]["config"])
        config["inference"]["parallelism"] = 33
        cases = (
            ("non-restored", None, {"allowNonRestoredState": False}),
            ("parallelism-33", {"ranking": {"config": yaml.safe_dump(config, sort_keys=False)}}, {}),
        )
        for key, overrides, job in cases:
            _, pod = lc.update(overrides=overrides, job=job)
            run.pods[key] = pod
            code = pod.wait(300)
            assert code != 0, f"the update job restored the bootstrap savepoint ({key})"

    def bootstrap_parallelism() -> None:
        """E12: a bootstrap whose config asks for parallelism 1 and whose Flink default is 1 (the
        chart refuses both; here the rendered spec is patched), into its own workdir."""
        config = yaml.safe_load(yaml.safe_load((lc.generated / "bootstrap.yaml").read_text())["ranking"]["config"])
        config["bootstrap"]["parallelism"] = 1
        config["bootstrap"]["workdir"] = config["bootstrap"]["workdir"].rstrip("/") + "-e12"
        _, run.pods["bootstrap-parallelism-1"] = lc.bootstrap(
            overrides={"ranking": {"config": yaml.safe_dump(config, sort_keys=False)}}, job={"parallelism": 1})

    for name, fn in (("storage", lc.start_storage), ("bootstrap", bootstrap), ("train", train), ("upload", upload),
                     ("api", api), ("rank", rank), ("helm-test", helm_test), ("update", update), ("feedback", feedback)):  # fmt: skip
        _step(run, name, fn)
    if env == "dev":
        _step(run, "refusals", refusals)
        _step(run, "bootstrap-parallelism", bootstrap_parallelism)
    return run


@pytest.fixture(scope="module", params=ENVS)
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    reason = namespaces_unavailable()
    if reason:
        missing(reason, f"the engine lifecycle cannot run: {reason}")
    env = request.param
    result = _lifecycle(env, tmp_path_factory.mktemp(f"engine-{env}"))
    print(f"\n[{env}] step timings (s): {json.dumps(result.timings)}")
    yield result
    result.lc.close()


# --- bootstrap ---------------------------------------------------------------------------------


def test_bootstrap_writes_features_datasets_and_a_savepoint(run: Run) -> None:
    run.need("bootstrap")
    files = run.bootstrap_files
    tops = {f.split("/")[0] for f in files}
    # E10: features/, dataset-<model>/ (every model, the shuffle one too) and savepoint/ — nothing else.
    assert tops == {"features", "dataset-xgboost", "dataset-baseline", "savepoint"}, tops
    assert "savepoint/_metadata" in files


def _bootstrap_subtasks(log: str) -> dict[str, int]:
    """Each Metarank operator's subtask count from Flink's deploy lines; the State Processor API's
    savepoint reducers (``reduce(OperatorState)``, fixed at 1 by Flink) left out."""
    deployed = re.findall(r"ExecutionGraph - (.+?) \(\d+/(\d+)\) \([0-9a-f]+\) switched from SCHEDULED to DEPLOYING", log)
    counts = {name: int(n) for name, n in deployed}
    assert counts, "no task was deployed"
    metarank = {name: n for name, n in counts.items() if "reduce(Operator" not in name}
    assert {"Source: load", "process-writes", "clickthroughs"} <= {n.split(" -> ")[0] for n in metarank}
    return metarank


def test_bootstrap_runs_with_parallelism_2_as_the_chart_renders(run: Run) -> None:
    """Every Metarank operator runs 2 subtasks."""
    run.need("bootstrap")
    metarank = _bootstrap_subtasks(run.pods["bootstrap"].output())
    assert set(metarank.values()) == {2}, metarank


def test_dataset_columns_follow_the_column_rule_with_the_index_default(run: Run) -> None:
    """E26: a string feature without ``encode`` is ONE column (index), onehot one per value."""
    from ranker_values.ops.check.columns import model_columns

    run.need("bootstrap")
    config = run.lc.config
    expected = sum(c.dim for c in model_columns(config["models"]["xgboost"]["features"], config["features"]))
    name = next(f for f in run.lc.list_workdir("dataset-xgboost") if f.endswith(".json"))
    first = json.loads(run.lc.read_workdir(name).splitlines()[0])
    assert first["columns"] == expected
    assert len(first["values"]) == first["columns"] * first["rows"] == first["columns"] * len(first["labels"])


# --- train, upload ---------------------------------------------------------------------------------


def test_train_writes_the_model_where_the_config_says(run: Run) -> None:
    run.need("train")
    model = run.lc.model_bytes()
    assert len(model) > 1000
    assert "train done" in run.pods["train"].output().lower() or b"binf" in model[:4] or model[:1] in (b"{", b"\x00")


def test_upload_loads_feature_values_into_redis(run: Run) -> None:
    run.need("upload")
    assert len(run.redis_after_upload) >= 100, len(run.redis_after_upload)
    assert "Upload done" in run.pods["upload"].output()


# --- api --------------------------------------------------------------------------------------------


def test_api_ranks_the_request_items_with_the_trained_model(run: Run) -> None:
    run.need("rank")
    answer = json.loads(run.rank[1])
    ranked = [item["item"] for item in answer["items"]]
    assert sorted(ranked) == sorted(item.id for item in run.lc.items[:10])
    scores = [item["score"] for item in answer["items"]]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) > 1


def test_helm_test_pod_gets_a_real_ranking_from_the_api(run: Run) -> None:
    run.need("helm-test")
    assert '"items"' in run.pods["helm-test"].output()


# --- update -----------------------------------------------------------------------------------------


def test_update_restores_the_bootstrap_savepoint(run: Run) -> None:
    run.need("update")
    fd = next(o for o in run.objects["update"] if o["kind"] == "FlinkDeployment")
    savepoint = fd["spec"]["job"]["initialSavepointPath"]
    log = run.pods["update"].output()
    assert re.search(r"Starting job \w+ from savepoint " + re.escape(savepoint.rstrip("/")), log), log[-3000:]


def test_feedback_reaches_the_update_job_and_changes_features_in_redis(run: Run) -> None:
    run.need("feedback")
    new = {k for k in run.redis_after_feedback if k not in run.redis_before_feedback}
    changed = {k for k in run.redis_before_feedback if run.redis_after_feedback.get(k) != run.redis_before_feedback[k]}
    assert any(b"s-live" in key for key in new), sorted(new)[:20]
    assert new | changed


# The refusals run once, on the dev lifecycle's savepoint: these tests take only the dev run.
DEV_ONLY = pytest.mark.parametrize("run", ["dev"], indirect=True)


@DEV_ONLY
def test_E13_restoring_the_bootstrap_savepoint_needs_allow_non_restored_state(run: Run) -> None:
    run.need("refusals")
    log = run.pods["non-restored"].output()
    assert "Cannot map checkpoint/savepoint state for operator" in log
    assert "because the operator is not available in the new program" in log


@DEV_ONLY
def test_E12_the_bootstrap_runs_with_2_whatever_the_config_and_flink_ask(run: Run) -> None:
    """``bootstrap.parallelism: 1`` in the config and ``parallelism.default: 1`` from the spec: still
    2 subtasks per operator (Bootstrap.scala:70 sets 2; :71 comments the config's value out)."""
    run.need("bootstrap-parallelism")
    pod = run.pods["bootstrap-parallelism-1"]
    assert "parallelism.default: 1" in pod.output() or "parallelism.default, 1" in pod.output(), pod.tail(40)
    metarank = _bootstrap_subtasks(pod.output())
    assert set(metarank.values()) == {2}, metarank


@DEV_ONLY
def test_E11_the_bootstrap_savepoint_cannot_be_restored_with_parallelism_above_32(run: Run) -> None:
    run.need("refusals")
    log = run.pods["parallelism-33"].output()
    assert "Starting job" in log and "from savepoint" in log  # it did try to restore
    assert re.search(r"max(imum)? parallelism[^\n]{0,40}\b32\b", log, re.I), run.pods["parallelism-33"].tail(40)
