"""Regression tests for issue 17 ("Hostile input, second round"), each named after the behaviour
it pins: secrets in comments, model names YAML retypes, what the API server refuses, adding a
feature in the steady state, event files and Redis the engine cannot use."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import EXAMPLE_CONFIG, REPO
from ranker_values.cli import app
from ranker_values.config.embed import engine_text
from ranker_values.config.loader import parse_text
from ranker_values.kube.render import parse_manifests, render_texts
from ranker_values.values.files import merge_values_files
from support import ENV_VALUES

CHART = REPO / "charts" / "ranker"
runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


def gen(config: Path, out: Path, env: str = "prod") -> dict[str, Path]:
    result = invoke("gen", config, "--env-file", ENV_VALUES[env], "--out", out)
    assert result.exit_code == 0, result.output
    return {p.stem: p for p in out.iterdir()}


def rendered(files: list[Path], release: str = "ranker") -> list[dict]:
    return [dict(o) for o in parse_manifests(render_texts(merge_values_files(files), CHART, release, "ranking"))]


# --- 1. a secret in a comment never leaves the config file ----------------------------------

SECRET = "hunter2-s3cr3t"
COMMENTED = EXAMPLE_CONFIG.read_text().replace(
    "features:\n",
    f"# old redis: redis://admin:{SECRET}@redis.internal:6379\n"
    f"features:  # password: {SECRET}\n"
    f"    # AWS_SECRET_ACCESS_KEY={SECRET}\n",
    1,
)


def test_a_secret_in_a_comment_reaches_no_values_file_and_no_configmap(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text(COMMENTED)
    for env in ("prod", "dev"):  # dev: the bundled Redis makes the chart re-parse the config
        files = gen(config, tmp_path / env, env)
        for path in files.values():
            assert SECRET not in path.read_text(), path
        objects = rendered([ENV_VALUES[env], files["update"]])
        configmap = next(o for o in objects if o["kind"] == "ConfigMap" and "config.yml" in o.get("data", {}))
        assert SECRET not in configmap["data"]["config.yml"]
        assert all(SECRET not in yaml.safe_dump(o) for o in objects)


def test_comments_are_dropped_but_what_the_engine_reads_is_unchanged():
    text = (
        "a: 1 # note\n"
        "# whole line\n"
        "b: 'x # not a comment' # but this is\n"
        "c: |+\n  kept # inside a block\n# after the block\n"
        "d: [1, 2] # flow\n"
        "e: b#c\n"
    )
    embedded = engine_text(text)
    assert embedded == "a: 1\nb: 'x # not a comment'\nc: |+\n  kept # inside a block\nd: [1, 2]\ne: b#c\n"
    assert parse_text(embedded).data == parse_text(text).data


# --- 2. model names YAML would retype -------------------------------------------------------

RETYPED = ["yes", "on", "010", "0x1F", "1.0", "null", "~", "Off", "1e3", ".inf", "it's", "a b", "café"]


@pytest.mark.parametrize("name", RETYPED)
def test_a_model_named_like_a_yaml_scalar_or_oddly_is_trained_under_the_key_the_engine_reads(tmp_path, name):
    config = tmp_path / "config.yml"
    config.write_text(EXAMPLE_CONFIG.read_text().replace("\n  xgboost:\n", f"\n  {name}:\n", 1))
    assert f"\n  {name}:\n" in config.read_text()
    for env in ("prod", "dev"):  # prod: the config passes as generated; dev: the chart re-parses it
        files = gen(config, tmp_path / env, env)
        objects = rendered([ENV_VALUES[env], files["train"]])
        configmap = next(o for o in objects if o["kind"] == "ConfigMap" and "config.yml" in o.get("data", {}))
        engine_keys = list(parse_text(configmap["data"]["config.yml"]).data["models"])  # keys as written
        trained = [o["spec"]["template"]["spec"]["containers"][0]["args"][-1] for o in objects
                   if o["kind"] == "Job" and o["metadata"]["labels"]["app.kubernetes.io/component"] == "train"]
        assert name in engine_keys, (env, engine_keys)
        assert trained == [name], (env, trained)


# --- 3. render refuses what the API server refuses ------------------------------------------

GENERATED = CHART / "tests" / "values" / "generated"  # gen examples/config.yml --env prod (kept current)


def render_cli(*args, release: str = "ranker"):
    return invoke("render", "--chart", CHART, "--release", release, *args)


def test_render_refuses_a_configmap_over_one_mib_once_with_the_limit(tmp_path):
    big = tmp_path / "big.yaml"
    config = yaml.safe_load(GENERATED.joinpath("update.yaml").read_text())["ranking"]["config"]
    big.write_text(yaml.safe_dump({"ranking": {"config": config + "\n# " + "x" * (1024 * 1024) + "\n"}}))
    result = render_cli("-f", ENV_VALUES["prod"], "-f", GENERATED / "update.yaml", "-f", big, "-o", tmp_path / "out.yaml")
    assert result.exit_code == 1, result.output
    assert "the API server accepts at most 1048576 (1 MiB)" in result.output
    assert result.output.count("1048576") == 1
    assert not (tmp_path / "out.yaml").exists()


def test_api_server_rules_refuse_big_configmaps_and_a_mount_path_used_twice():
    from ranker_values.kube.render import Manifest, validate_manifests

    configmap = Manifest({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                          "data": {"config.yml": "x" * (1024 * 1024)}}, "t")
    mounts = [{"name": "config", "mountPath": "/config"}, {"name": "shared", "mountPath": "/config"}]
    pod = {"containers": [{"name": "api", "image": "i", "volumeMounts": mounts}],
           "volumes": [{"name": "config", "emptyDir": {}}, {"name": "shared", "emptyDir": {}}]}
    deployment = Manifest({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                           "spec": {"selector": {"matchLabels": {"a": "b"}},
                                    "template": {"metadata": {"labels": {"a": "b"}}, "spec": pod}}}, "t")
    result = validate_manifests([configmap, deployment], kube_versions=("1.29", "1.34"))
    assert result.problems == [
        "ConfigMap/c (t): Kubernetes API server: ConfigMap data is 1,048,586 bytes: the API server accepts at most 1,048,576 (1 MiB)",
        "Deployment/d (t): Kubernetes API server: spec.template.spec.containers[api].volumeMounts: mountPath '/config' is used 2 times (must be unique)",
    ]
    fd = {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment", "metadata": {"name": "f"},
          "spec": {"podTemplate": {"spec": pod}}}
    from ranker_values.kube.schemas import api_server_errors

    assert api_server_errors(fd) == [
        "spec.podTemplate.spec.containers[api].volumeMounts: mountPath '/config' is used 2 times (must be unique)"
    ]


@pytest.mark.parametrize("mount", ["/config", "/config/", "/tmp", "/config/shared"])
def test_render_refuses_a_shared_volume_on_a_mount_point_the_chart_uses(tmp_path, mount):
    shared = tmp_path / "shared.yaml"
    shared.write_text(yaml.safe_dump({"sharedVolume": {"enabled": True, "existingClaim": "rwx", "mountPath": mount}}))
    result = render_cli("-f", ENV_VALUES["prod"], "-f", GENERATED / "update.yaml", "-f", shared, "-o", tmp_path / "o.yaml")
    assert result.exit_code == 1, result.output
    assert f'sharedVolume.mountPath "{mount}" is a mount point the chart already uses' in result.output
    assert "ranker: 1 problem(s)" in result.output


def test_render_refuses_a_release_name_starting_with_a_digit_once_when_a_service_renders(tmp_path):
    result = render_cli("-f", ENV_VALUES["prod"], "-f", GENERATED / "update.yaml", "-o", tmp_path / "o.yaml", release="123")
    assert result.exit_code == 1, result.output
    assert 'release name "123": the api Service would be named "123-ranker-api", but a Service name must start with a letter' in result.output
    assert "ranker: 1 problem(s)" in result.output


@pytest.mark.parametrize("release", ["123", "1e3", "0x1f"])
def test_a_release_name_yaml_reads_as_a_number_renders_string_labels(tmp_path, release):
    result = render_cli("-f", ENV_VALUES["prod"], "-f", GENERATED / "bootstrap.yaml", "-o", tmp_path / "o.yaml", release=release)
    assert result.exit_code == 0, result.output
    for obj in yaml.safe_load_all((tmp_path / "o.yaml").read_text()):
        if obj:
            assert obj["metadata"]["labels"]["app.kubernetes.io/instance"] == release


# --- 4. plan: a model's features change in the steady state ---------------------------------

WITH_FEATURE = EXAMPLE_CONFIG.read_text().replace(
    "  - name: retrieval_score\n    type: relevancy\n",
    "  - name: retrieval_score\n    type: relevancy\n\n  - name: discount\n    type: number\n    scope: item\n    source: item.discount\n",
    1,
).replace("      - retrieval_score\n", "      - retrieval_score\n      - discount\n", 1)
UNUSED_FEATURE = EXAMPLE_CONFIG.read_text().replace(
    "  - name: retrieval_score\n    type: relevancy\n",
    "  - name: retrieval_score\n    type: relevancy\n\n  - name: discount\n    type: number\n    scope: item\n    source: item.discount\n",
    1,
)


def plan_between(tmp_path: Path, new_text: str, step: str = "update", *extra: str):
    assert new_text != EXAMPLE_CONFIG.read_text()
    new_config = tmp_path / "new.yml"
    new_config.write_text(new_text)
    new = gen(new_config, tmp_path / "new")
    return invoke("plan", GENERATED / "update.yaml", new[step], "--chart", CHART, "-f", ENV_VALUES["prod"], *extra)


def test_plan_refuses_adding_a_feature_to_a_served_model_without_retraining(tmp_path):
    result = plan_between(tmp_path, WITH_FEATURE)
    assert result.exit_code == 1, result.output
    assert "model 'xgboost' (api): features added: discount" in result.output
    assert "DANGER [model-retrain] (NOT DECLARED)" in result.output
    assert "Safe:" not in result.output
    declared = plan_between(tmp_path, WITH_FEATURE, "update", "--intended", "model-retrain")
    assert declared.exit_code == 0, declared.output
    assert "DANGER [model-retrain] (intended)" in declared.output


def test_plan_does_not_ask_for_retraining_when_the_new_config_trains_the_model(tmp_path):
    result = plan_between(tmp_path, WITH_FEATURE, "api")  # the api step runs the train Job again
    assert "model-retrain" not in result.output, result.output


def test_plan_does_not_ask_for_retraining_when_the_models_features_are_unchanged(tmp_path):
    result = plan_between(tmp_path, UNUSED_FEATURE)
    assert "model-retrain" not in result.output, result.output
    assert "Safe: no state is discarded" in result.output and result.exit_code == 0, result.output


# --- 5. check: event files and a Redis the engine cannot use --------------------------------

import bz2  # noqa: E402
import gzip  # noqa: E402
import lzma  # noqa: E402
import os  # noqa: E402
import zlib  # noqa: E402

from check_support import good_events, jsonl, make_deployment, run  # noqa: E402
from ranker_values.ops.check.runner import Status  # noqa: E402
from ranker_values.values.model import EventSource  # noqa: E402


def file_source(path: Path, **settings) -> EventSource:
    return EventSource("file", (("path", str(path)), *settings.items()))


def with_source(source: EventSource):
    import dataclasses

    return dataclasses.replace(make_deployment(), bootstrap_source=source)


@pytest.mark.parametrize("name", ["events.txt", "events.ndjson", "events.JSONL", "events.jsonl.zst", "events.json.lz4", "_SUCCESS"])
def test_check_fails_when_the_engine_reads_none_of_the_event_files(tmp_path, name):
    (tmp_path / name).write_bytes(jsonl(good_events(5)))
    results = run(with_source(file_source(tmp_path)), ["s3.events", "events.schema"])
    assert results["s3.events"].status is Status.FAIL, results["s3.events"]
    assert f"none of which Metarank 0.4.1's file source (FileEventSource.selectFile) reads" in results["s3.events"].reason
    assert name in results["s3.events"].reason and "*.json, *.jsonl" in results["s3.events"].reason
    assert results["events.schema"].status is Status.FAIL  # nothing the engine reads was sampled
    assert "no events in" in results["events.schema"].reason


def test_check_warns_about_event_files_the_engine_skips_beside_ones_it_reads(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(jsonl(good_events(5)))
    (tmp_path / "b.csv").write_bytes(b"not,events\n")
    (tmp_path / "c.ndjson").write_bytes(jsonl(good_events(5)))
    result = run(with_source(file_source(tmp_path)), ["s3.events"])["s3.events"]
    assert result.status is Status.WARN, result
    assert result.reason.startswith(f"1 event files, ")
    assert "skips 2 more: 2 by name (b.csv, c.ndjson)" in result.reason


@pytest.mark.parametrize("suffix, compress", [
    (".json", lambda b: b), (".jsonl", lambda b: b), (".jsonl.gz", gzip.compress), (".json.gzip", gzip.compress),
    (".jsonl.bz2", bz2.compress), (".jsonl.xz", lzma.compress), (".jsonl.deflate", zlib.compress),
    (".hidden.jsonl", lambda b: b),  # a leading dot does not hide a file from the engine
])
def test_check_samples_every_suffix_and_compression_the_engine_reads(tmp_path, suffix, compress):
    name = ("." if suffix.startswith(".hidden") else "events") + suffix.replace(".hidden", "hidden")
    (tmp_path / name).write_bytes(compress(jsonl(good_events(7))))
    results = run(with_source(file_source(tmp_path)), ["s3.events", "events.schema"])
    assert results["s3.events"].status is Status.PASS, results["s3.events"]
    assert results["events.schema"].status is Status.PASS, results["events.schema"]
    assert "7 events from 1 files" in results["events.schema"].reason


def test_check_fails_a_file_source_with_offset_latest_which_selects_no_file(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(jsonl(good_events(5)))
    result = run(with_source(file_source(tmp_path, offset="latest")), ["s3.events"])["s3.events"]
    assert result.status is Status.FAIL
    assert "offset latest: the file source selects no file at all" in result.reason


def test_check_counts_only_files_modified_after_a_ts_offset(tmp_path):
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    old.write_bytes(jsonl(good_events(5)))
    new.write_bytes(jsonl(good_events(5)))
    os.utime(old, (1_600_000_000, 1_600_000_000))
    os.utime(new, (1_700_000_000, 1_700_000_000))
    result = run(with_source(file_source(tmp_path, offset="ts=1650000000000")), ["s3.events"])["s3.events"]
    assert result.status is Status.WARN, result
    assert "1 by bootstrap.source.offset ts=1650000000000" in result.reason


def test_check_events_on_s3_skips_what_the_engine_skips(s3, moto_endpoint):
    from check_support import s3_values

    s3.put_object(Bucket="ranker", Key="events/2024-01.jsonl", Body=jsonl(good_events(5)))
    s3.put_object(Bucket="ranker", Key="events/2024-02.parquet", Body=b"PAR1")
    results = run(make_deployment(), ["s3.events", "events.schema"], values=s3_values(moto_endpoint))
    assert results["s3.events"].status is Status.WARN and "1 by name (2024-02.parquet)" in results["s3.events"].reason
    assert results["events.schema"].status is Status.PASS and "5 events from 1 files" in results["events.schema"].reason


def test_check_fails_a_redis_that_needs_a_password_even_when_check_has_it(redis_factory):
    server = redis_factory("--save", "", "--appendonly", "yes", "--maxmemory-policy", "noeviction", "--requirepass", "pw-s3cret")
    deployment = make_deployment(redis=("127.0.0.1", server.port))
    results = run(deployment, ["redis.connect", "redis.eviction"], environ={"REDIS_PASSWORD": "pw-s3cret"})
    connect = results["redis.connect"]
    assert connect.status is Status.FAIL, connect
    assert "refuses clients without a password, and Metarank 0.4.1 cannot send one" in connect.reason
    assert "passwordless default user" in connect.fix
    assert results["redis.eviction"].status is Status.PASS  # the other checks still run with the password
    assert all("pw-s3cret" not in r.reason + r.fix for r in results.values())


def test_check_without_a_password_names_why_the_engine_cannot_use_the_redis(redis_factory):
    server = redis_factory("--save", "", "--requirepass", "pw")
    result = run(make_deployment(redis=("127.0.0.1", server.port)), ["redis.connect"])["redis.connect"]
    assert result.status is Status.FAIL
    assert "requires a password, which Metarank 0.4.1 cannot send one" in result.reason
    assert "REDIS_PASSWORD" in result.fix


def test_stripping_many_comments_takes_linear_time():
    import time

    text = "features: []  # x\n" + "".join(f"# comment {i}\nk{i}: v # c\n" for i in range(40_000))  # ~1 MiB
    start = time.monotonic()
    embedded = engine_text(text)
    assert time.monotonic() - start < 5  # ~0.5 s; a version that re-scanned the text per comment took tens of seconds
    assert "#" not in embedded and embedded.count("\n") == 40_001
