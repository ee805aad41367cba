"""Engine facts the whole lifecycle does not show, each settled by running Metarank 0.4.1.

Every test starts one engine process the way a ranker pod starts it (``support.podrun``: the
config mounted at ``/config``, uid 9999, read-only root) with a config made for the fact, and
reads the engine's own verdict: its exit code and its log. Facts are numbered as in
``docs/engine-0.4.1.md``.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import yaml

from support import missing
from support.engine import engine_jar, engine_java
from support.engine_events import history, jsonl
from support.podrun import Netns, Objects, PodRunner, namespaces_unavailable

pytestmark = pytest.mark.engine

SECURITY = {"runAsUser": 9999, "runAsGroup": 9999, "fsGroup": 9999}
CONTAINER_SECURITY = {"readOnlyRootFilesystem": True, "runAsUser": 9999, "runAsGroup": 9999}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Any:
    reason = namespaces_unavailable()
    if reason:
        missing(reason, f"engine facts cannot run: {reason}")
    jar, java = engine_jar(), engine_java()
    netns = Netns()
    objects = Objects()
    runner = PodRunner(tmp_path_factory.mktemp("engine-facts"), netns, objects, jar, java.parent.parent, ["redis.test"])
    yield runner
    runner.stop_all()
    netns.close()


def _config(features: list[dict[str, Any]], state: dict[str, Any] | None = None, shuffle: bool = False) -> dict[str, Any]:
    models = {"xgboost": {"type": "lambdamart", "path": "/data/model.bin", "backend": {"type": "xgboost", "iterations": 5},
                          "weights": {"click": 1}, "features": [f["name"] for f in features]}}
    return {
        "features": features,
        "models": {"shuffle": {"type": "shuffle", "maxPositionChange": 5}} if shuffle else models,
        "bootstrap": {"workdir": "/data/workdir", "source": {"type": "file", "path": "/data/events/"}},
        "inference": {"port": 8080, "host": "0.0.0.0", "state": state or {"type": "redis", "host": "redis.test", "port": 6379},
                      "source": {"type": "rest"}},
    }  # fmt: skip


def _run(
    runner: PodRunner, name: str, entry: str, config: dict[str, Any], events: bool = True, env: dict[str, str] | None = None
) -> Any:
    claim = runner.claim_dir(f"data-{name}")
    if events:
        (claim / "events").mkdir(exist_ok=True)
        (claim / "events" / "events.jsonl").write_bytes(jsonl(history(seed=3, items=20, session_count=40)[1]))
    runner.objects.config_maps[f"config-{name}"] = {"config.yml": yaml.safe_dump(config).encode()}
    spec = {
        "securityContext": SECURITY,
        "volumes": [
            {"name": "config", "configMap": {"name": f"config-{name}"}},
            {"name": "tmp", "emptyDir": {}},
            {"name": "data", "persistentVolumeClaim": {"claimName": f"data-{name}"}},
        ],
    }
    container = {
        "name": name,
        "command": ["java", "-Djava.io.tmpdir=/tmp", "-cp", "/app/metarank.jar", entry, "/config/config.yml"],
        "securityContext": CONTAINER_SECURITY,
        "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
        "volumeMounts": [
            {"name": "config", "mountPath": "/config", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "data", "mountPath": "/data"},
        ],
    }
    return runner.run_container(name, spec, container)


BASE_FEATURES = [{"name": "price", "type": "number", "scope": "item", "source": "item.price"}]


# 0.4.1's term method decodes `n` too (a config without it is refused before any job).
@pytest.mark.parametrize("method", [{"type": "ngram", "n": 3, "language": "en"}, {"type": "term", "n": 1, "language": "en"}])
def test_E27_field_match_breaks_every_flink_job_of_0_4_1(engine: PodRunner, method: dict[str, Any]) -> None:
    """field_match keeps a Lucene analyzer in the feature, which Flink must serialise: the
    bootstrap refuses to build its job graph (NotSerializableException), so ranker refuses it."""
    feature = {"name": "title_match", "type": "field_match", "rankingField": "ranking.query", "itemField": "item.title", "method": method}
    pod = _run(engine, f"fm-{method['type']}", "ai.metarank.mode.bootstrap.Bootstrap", _config([*BASE_FEATURES, feature]))
    code = pod.wait(240)
    log = pod.output()
    assert code != 0
    assert "NotSerializableException: org.apache.lucene" in log, pod.tail()


@pytest.fixture(scope="module")
def plain_bootstrap(engine: PodRunner) -> Any:
    pod = _run(engine, "no-fm", "ai.metarank.mode.bootstrap.Bootstrap", _config(BASE_FEATURES))
    code = pod.wait(300)
    return code, pod, engine.claim_dir("data-no-fm") / "workdir"


def test_E27_the_same_bootstrap_without_field_match_succeeds(plain_bootstrap: Any) -> None:
    code, pod, workdir = plain_bootstrap
    assert code == 0, pod.tail()
    assert (workdir / "savepoint" / "_metadata").is_file()


def test_E14_memory_state_api_finds_no_redis_in_its_pod(engine: PodRunner) -> None:
    """``memory`` state points the api at a Redis on localhost that only ``standalone`` starts:
    the api comes up (``/health`` is a constant 200) and every ranking fails."""
    import json
    import urllib.error
    import urllib.request

    pod = _run(engine, "memory-api", "ai.metarank.mode.api.Api", _config(BASE_FEATURES, {"type": "memory"}, shuffle=True), events=False)

    def call(method: str, path: str, body: bytes | None = None) -> int:
        request = urllib.request.Request(f"http://127.0.0.1:8080{path}", data=body, method=method)
        with engine.netns.entered():
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                return error.code
            except OSError:
                return -1

    deadline = time.monotonic() + 120
    while call("GET", "/health") != 200:
        assert pod.running() and time.monotonic() < deadline, pod.tail()
        time.sleep(0.5)
    ranking = {"event": "ranking", "id": "q", "timestamp": "1650000000000", "items": [{"id": "a"}, {"id": "b"}]}
    status = call("POST", "/rank/shuffle", json.dumps(ranking).encode())
    pod.stop()
    assert status >= 500 or status == -1, status
    assert "Connection refused" in pod.output(), pod.tail()


def test_E16_E18_engine_processes_run_as_9999_and_write_only_to_volumes(plain_bootstrap: Any) -> None:
    """The bootstrap ran as uid 9999 under a read-only root (only /tmp and the volume writable):
    it succeeded, and everything it wrote is owned by 9999."""
    code, pod, workdir = plain_bootstrap
    assert code == 0, pod.tail()
    owners = {p.stat().st_uid for p in workdir.rglob("*")}
    assert owners == {9999}, owners


EVERY_TYPE = [
    {"name": "f_number", "type": "number", "scope": "item", "source": "item.popularity"},
    {"name": "f_boolean", "type": "boolean", "scope": "item", "source": "item.in_stock"},
    {"name": "f_string_onehot", "type": "string", "scope": "item", "source": "item.category", "encode": "onehot",
     "values": ["shoes", "apparel", "accessories", "outdoor", "kids"]},
    {"name": "f_string_default", "type": "string", "scope": "item", "source": "item.category",
     "values": ["shoes", "apparel", "accessories", "outdoor", "kids"]},
    {"name": "f_word_count", "type": "word_count", "scope": "item", "source": "item.title"},
    {"name": "f_rate", "type": "rate", "top": "click", "bottom": "impression", "scope": "item", "bucket": "24h", "periods": [1, 7, 30]},
    {"name": "f_interacted_with", "type": "interacted_with", "interaction": "click", "field": "item.category", "scope": "session",
     "count": 10, "duration": "24h"},
    {"name": "f_interaction_count", "type": "interaction_count", "interaction": "click", "scope": "user"},
    {"name": "f_window_count", "type": "window_count", "interaction": "click", "scope": "item", "bucket": "24h", "periods": [1, 7]},
    {"name": "f_ua_platform", "type": "ua", "source": "ranking.user_agent", "field": "platform"},
    {"name": "f_relevancy", "type": "relevancy"},
    {"name": "f_local_time", "type": "local_time", "source": "ranking.localts", "parse": "day_of_week"},
    {"name": "f_item_age", "type": "item_age", "source": "item.created_at"},
]  # fmt: skip


def test_E26_dataset_columns_of_every_feature_type_follow_the_column_rule(engine: PodRunner) -> None:
    """The bootstrap's dataset has exactly the columns ranker_values/ops/check/columns.py derives, for
    every 0.4.1 feature type that can run: not referer (its parser's referers.json is a Git LFS
    pointer in the sources), field_match (E27) or ua fields other than platform (E29)."""
    import json

    from ranker_values.ops.check.columns import model_columns

    config = _config(EVERY_TYPE)
    config["bootstrap"]["syntheticImpression"] = {"enabled": True, "eventName": "impression"}
    pod = _run(engine, "every-type", "ai.metarank.mode.bootstrap.Bootstrap", config)
    assert pod.wait(300) == 0, pod.tail()
    files = sorted((engine.claim_dir("data-every-type") / "workdir" / "dataset-xgboost").rglob("*.json"))
    first = json.loads(files[0].read_text().splitlines()[0])
    columns = model_columns([f["name"] for f in EVERY_TYPE], EVERY_TYPE)
    assert first["columns"] == sum(c.dim for c in columns), {c.feature: c.dim for c in columns}


@pytest.mark.parametrize("field", ["os", "browser", "bot"])
def test_E29_ua_fields_other_than_platform_break_every_flink_job_of_0_4_1(engine: PodRunner, field: str) -> None:
    """OSField, BrowserField and BotField are plain Scala objects (PlatformField is a case object,
    so Serializable): Flink cannot serialise the feature, the bootstrap fails building its job."""
    feature = {"name": f"ua_{field}", "type": "ua", "source": "ranking.user_agent", "field": field}
    pod = _run(engine, f"ua-{field}", "ai.metarank.mode.bootstrap.Bootstrap", _config([*BASE_FEATURES, feature]))
    code = pod.wait(240)
    assert code != 0
    assert "NotSerializableException: ai.metarank.feature.ua." in pod.output(), pod.tail()


def _listed(log: str) -> list[str]:
    """The keys of train's «found training dataset files: List(S3Path(<bucket>,<key>), …)» line."""
    line = next((x for x in log.splitlines() if "found training dataset files:" in x), "")
    return re.findall(r"S3Path\([^,]+,([^)]+)\)", line)


def test_E09_train_reads_only_the_first_page_of_1000_dataset_keys(plain_bootstrap: Any, tmp_path: Any) -> None:
    """The chart's prod train Job against moto's S3: the bootstrap's real dataset file under
    ``dataset-xgboost/`` plus empty ``.json`` objects whose keys sort before it. With 10 of them
    train lists all 11 keys, reads the empty ones as no queries and trains on the real file (the
    control: empty objects are harmless). With 1,010 of them train lists exactly the first 1,000
    keys — all empty — never sees the real file, fails with «loaded 0 valid queries» and writes
    no model. moto's request log shows one ListObjectsV2 per run, for the prefix without a
    trailing slash, and never a continuation request."""
    from support.engine_facts_s3 import MODEL_KEY, WORKDIR_KEY, TrainOnS3

    code, pod, workdir = plain_bootstrap
    assert code == 0, pod.tail()
    lc = TrainOnS3(tmp_path / "e09", BASE_FEATURES)
    try:
        lc.start_storage()
        real = lc.put_dataset(workdir / "dataset-xgboost")
        assert len(real) >= 1 and all(k.endswith(".json") for k in real), real
        padding = [f"{WORKDIR_KEY}/dataset-xgboost/0000-padding/{i:04d}.json" for i in range(1010)]
        assert max(padding) < min(real), "the padding must sort before the bootstrap's files"

        lc.put_objects({key: b"" for key in padding[:10]})
        code, train = lc.run_train()
        listed = _listed(train.output())
        assert code == 0, train.tail()
        assert sorted(listed) == sorted(padding[:10] + real), listed
        assert lc.keys(MODEL_KEY) == [MODEL_KEY]

        lc.delete_objects([MODEL_KEY])
        lc.put_objects({key: b"" for key in padding[10:]})
        assert len(lc.keys(f"{WORKDIR_KEY}/dataset-xgboost")) == len(padding) + len(real)
        code, train = lc.run_train()
        log = train.output()
        listed = _listed(log)
        assert code != 0, train.tail()
        assert listed == padding[:1000], (len(listed), listed[-3:])
        assert "loaded 0 valid queries" in log, train.tail()
        assert lc.keys(MODEL_KEY) == []
        # moto's request log: the engine's client (virtual-host style, so path "/") sent one
        # ListObjectsV2 per run, for the prefix without a trailing slash, never a continuation.
        engine_lists = [x for x in (lc.workspace / "moto.log").read_text().splitlines() if '"GET /?list-type=2&' in x]
        assert len(engine_lists) == 2, engine_lists
        assert all(f"prefix={WORKDIR_KEY}/dataset-xgboost&" in x and "continuation-token" not in x for x in engine_lists), engine_lists
    finally:
        lc.close()


def test_E05_metarank_env_vars_replace_the_workdir_and_the_bootstrap_path(engine: PodRunner) -> None:
    """A bootstrap whose config names ``/data/workdir`` and a file source at ``/data/no-events/``
    (absent), run with ``METARANK_WORKDIR=/data/elsewhere`` and
    ``METARANK_BOOTSTRAP_PATH=/data/events/``: it reads the events the env names and writes every
    output under the env's workdir; the config's workdir is never created. The engine logs each
    override as a WARN line («config env override: <key>=<value>»)."""
    config = _config(BASE_FEATURES)
    config["bootstrap"]["source"]["path"] = "/data/no-events/"
    env = {"METARANK_WORKDIR": "/data/elsewhere", "METARANK_BOOTSTRAP_PATH": "/data/events/"}
    pod = _run(engine, "env-override", "ai.metarank.mode.bootstrap.Bootstrap", config, env=env)
    assert pod.wait(300) == 0, pod.tail()
    log = pod.output()
    claim = engine.claim_dir("data-env-override")
    assert not (claim / "workdir").exists() and not (claim / "no-events").exists()
    assert (claim / "elsewhere" / "savepoint" / "_metadata").is_file()
    assert (claim / "elsewhere" / "features").is_dir()
    assert any(p.is_file() and p.stat().st_size > 0 for p in (claim / "elsewhere" / "dataset-xgboost").rglob("*.json"))
    for key, value in env.items():
        assert re.search(rf"WARN .*config env override: {key}={re.escape(value)}", log), pod.tail()


def test_E06_train_refuses_irsa_and_shared_credentials_without_static_keys(plain_bootstrap: Any, tmp_path: Any) -> None:
    """The chart's prod train Job against moto's S3 holding the bootstrap's dataset, with the
    Secret's static keys taken out of its env and what IRSA (``AWS_ROLE_ARN`` +
    ``AWS_WEB_IDENTITY_TOKEN_FILE``, the token mounted where the EKS webhook mounts it) and a
    shared credentials file (``$HOME/.aws/credentials``, ``AWS_SHARED_CREDENTIALS_FILE``,
    ``AWS_PROFILE``; both profiles hold moto's valid keys) would give it instead: train exits
    with 1 and «java.lang.IllegalArgumentException: AWS_ACCESS_KEY_ID not defined for s3:// scheme» (S3FS.create), sends no
    request to S3 and writes no model. The control, the rendered Job as it is (static keys from
    the Secret), trains and writes the model."""
    from support.engine_facts_s3 import IRSA_AND_PROFILE, MODEL_KEY, TrainOnS3

    code, pod, workdir = plain_bootstrap
    assert code == 0, pod.tail()
    lc = TrainOnS3(tmp_path / "e06", BASE_FEATURES)
    try:
        lc.start_storage()
        lc.put_dataset(workdir / "dataset-xgboost")
        moto_log = lc.workspace / "moto.log"
        before = len(moto_log.read_text().splitlines())
        code, train = lc.run_train(credentials=IRSA_AND_PROFILE)
        log = train.output()
        assert code == 1, (code, train.tail())
        assert "java.lang.IllegalArgumentException: AWS_ACCESS_KEY_ID not defined for s3:// scheme" in log, train.tail()
        assert "found training dataset files" not in log, train.tail()
        assert moto_log.read_text().splitlines()[before:] == []
        assert lc.keys(MODEL_KEY) == []

        code, train = lc.run_train()
        assert code == 0, train.tail()
        assert lc.keys(MODEL_KEY) == [MODEL_KEY]
    finally:
        lc.close()



def test_E16_upload_through_s3a_fails_for_a_uid_without_a_passwd_entry(plain_bootstrap: Any, tmp_path: Any) -> None:
    """The chart's prod upload Job (feature values read from ``s3://`` through Flink's S3A, into
    Redis) against moto's S3 holding the bootstrap's ``features/``, its pod's ``runAsUser``/
    ``runAsGroup``/``fsGroup`` patched to 12345 — no passwd entry in the image, as OpenShift
    assigns a uid: Hadoop's login (``UserGroupInformation``, when S3A enumerates the files) fails
    with «KerberosAuthException: failure to login: … invalid null input: name», the Flink job
    FAILS, and the upload process does not exit: it logs «upload job not yet finished
    (status=FAILED), waiting 1s more» once a second (the test stops it); Redis stays empty. The
    control, the rendered Job as it is (9999, ``flink``), uploads and exits 0."""
    from support.engine_facts_s3 import WORKDIR_KEY, TrainOnS3

    code, pod, workdir = plain_bootstrap
    assert code == 0, pod.tail()
    lc = TrainOnS3(tmp_path / "e16", BASE_FEATURES)
    try:
        lc.start_storage()
        assert lc.put_tree(workdir / "features", f"{WORKDIR_KEY}/features")
        upload = lc.start_upload(uid=12345)
        waiting = "upload job not yet finished (status=FAILED), waiting 1s more"
        deadline = time.monotonic() + 120
        while upload.output().count(waiting) < 3:
            assert upload.running() and time.monotonic() < deadline, upload.tail()
            time.sleep(0.5)
        log = upload.output()
        assert upload.running(), upload.tail()
        assert "KerberosAuthException: failure to login: javax.security.auth.login.LoginException: " \
               "java.lang.NullPointerException: invalid null input: name" in log, upload.tail()
        assert "Upload done" not in log
        upload.stop()
        assert lc.redis_snapshot() == {}

        upload = lc.start_upload()
        assert upload.wait(240) == 0, upload.tail()
        log = upload.output()
        assert "Upload done" in log and "failure to login" not in log, upload.tail()
        assert lc.redis_snapshot()
    finally:
        lc.close()
