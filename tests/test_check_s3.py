"""S3 checks against moto's server over HTTP on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from ranker_values.ops.check.runner import Status
from check_support import (
    DeniedMoto,
    dummy_credentials,
    make_deployment,
    run,
    s3_values,
)
from support.net import free_port


def test_workdir_bucket_writable_and_probe_removed(s3, moto_endpoint):
    result = run(make_deployment(), ["s3.workdir"], values=s3_values(moto_endpoint))["s3.workdir"]
    assert result.status is Status.PASS, result
    assert "probe object" in result.reason
    assert s3.list_objects_v2(Bucket="ranker").get("KeyCount", 0) == 0  # the probe is gone


def test_missing_bucket_fails_with_the_bucket_named(s3, moto_endpoint):
    result = run(make_deployment(workdir="s3://no-such-bucket/work"), ["s3.workdir"], values=s3_values(moto_endpoint))[
        "s3.workdir"
    ]
    assert result.status is Status.FAIL
    assert "no-such-bucket" in result.reason and "does not exist" in result.reason
    assert "create the bucket" in result.fix


def test_event_files_counted_with_total_size(s3, moto_endpoint):
    deployment = make_deployment()
    values = s3_values(moto_endpoint)
    empty = run(deployment, ["s3.events"], values=values)["s3.events"]
    assert empty.status is Status.FAIL and "no event files" in empty.reason

    s3.put_object(Bucket="ranker", Key="events/part-0.jsonl", Body=b"x" * 2048)
    s3.put_object(Bucket="ranker", Key="events/part-1.jsonl.gz", Body=b"y" * 1024)
    s3.put_object(Bucket="ranker", Key="other/ignored.jsonl", Body=b"z")
    result = run(deployment, ["s3.events"], values=values)["s3.events"]
    assert result.status is Status.PASS
    assert "2 event files" in result.reason and "3.0 KiB" in result.reason


def test_bootstrap_output_is_a_warning_before_bootstrap_and_a_failure_after(s3, moto_endpoint):
    deployment = make_deployment()
    values = s3_values(moto_endpoint)
    before = run(deployment, ["s3.bootstrap-output"], values=values)["s3.bootstrap-output"]
    assert before.status is Status.WARN and "run the bootstrap step first" in before.reason
    after = run(deployment, ["s3.bootstrap-output"], values=values, done="bootstrap")["s3.bootstrap-output"]
    assert after.status is Status.FAIL and "savepoint _metadata" in after.reason

    s3.put_object(Bucket="ranker", Key="work/features/part-0", Body=b"f")
    s3.put_object(Bucket="ranker", Key="work/dataset-xgboost/part-0.json", Body=b"{}")
    s3.put_object(Bucket="ranker", Key="work/savepoint/chk-1/state", Body=b"s")  # no _metadata yet
    partial = run(deployment, ["s3.bootstrap-output"], values=values, done="train")["s3.bootstrap-output"]
    assert partial.status is Status.FAIL
    assert "savepoint" in partial.reason and "dataset-xgboost" not in partial.reason.split("present")[0]

    s3.put_object(Bucket="ranker", Key="work/savepoint/_metadata", Body=b"m")
    result = run(deployment, ["s3.bootstrap-output"], values=values, done="train")["s3.bootstrap-output"]
    assert result.status is Status.PASS and "dataset-xgboost" in result.reason


def test_model_files_after_train(s3, moto_endpoint):
    deployment = make_deployment()
    values = s3_values(moto_endpoint)
    assert run(deployment, ["s3.models"], values=values)["s3.models"].status is Status.WARN
    assert run(deployment, ["s3.models"], values=values, done="train")["s3.models"].status is Status.FAIL
    s3.put_object(Bucket="ranker", Key="models/xgboost.model", Body=b"model")
    result = run(deployment, ["s3.models"], values=values, done="train")["s3.models"]
    assert result.status is Status.PASS and "s3://ranker/models/xgboost.model" in result.reason


def test_static_keys_from_values_are_used_in_secret_mode(s3, moto_endpoint, monkeypatch):
    # No credentials in the environment: only the keys the chart would put into its Secret.
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    values = s3_values(moto_endpoint)
    no_keys = run(make_deployment(), ["s3.workdir"], values=values)["s3.workdir"]
    assert no_keys.status is Status.FAIL and "no S3 credentials" in no_keys.reason

    values["s3"]["auth"] = {"mode": "secret", "accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "very-secret-value"}
    result = run(make_deployment(), ["s3.workdir"], values=values)["s3.workdir"]
    assert result.status is Status.PASS, result
    assert "very-secret-value" not in result.reason + result.fix


def test_unreachable_endpoint_fails_within_the_timeout(monkeypatch):
    dummy_credentials(monkeypatch)
    values = s3_values(f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    results = run(make_deployment(), ["s3"], values=values, timeout=2.0)
    assert time.monotonic() - started < 2.5
    assert {r.status for r in results.values()} == {Status.FAIL}
    assert all("unreachable" in r.reason or "timed out" in r.reason for r in results.values())


def test_local_workdir_is_not_checked_from_here():
    results = run(make_deployment(workdir="/data/work"), ["s3.workdir", "s3.bootstrap-output"])
    assert {r.status for r in results.values()} == {Status.WARN}
    assert "not on S3" in results["s3.workdir"].reason


@pytest.fixture(scope="module")
def denied_moto():
    server = DeniedMoto()
    yield server
    server.stop()


def test_read_only_credentials_cannot_write_the_probe(denied_moto, monkeypatch):
    key_id, secret = denied_moto.reader
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    values = s3_values(denied_moto.endpoint)
    result = run(make_deployment(), ["s3.workdir"], values=values)["s3.workdir"]
    assert result.status is Status.FAIL, result
    assert "writing a probe object" in result.reason and "access denied" in result.reason
    assert "s3:PutObject" in result.fix
    # the same identity may list: the events check reaches the bucket and finds nothing
    events = run(make_deployment(), ["s3.events"], values=values)["s3.events"]
    assert events.status is Status.FAIL and "no event files" in events.reason


def test_unknown_access_key_is_denied(denied_moto, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIANOBODY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "nothing")
    result = run(make_deployment(), ["s3.workdir"], values=s3_values(denied_moto.endpoint))["s3.workdir"]
    assert result.status is Status.FAIL and ("access denied" in result.reason or "403" in result.reason), result


def test_engine_listing_warns_past_one_page_of_dataset_keys(s3, moto_endpoint):
    """Metarank 0.4.1's S3FS.listRecursive reads one ListObjectsV2 page (≤ 1,000 keys): train
    would silently use a subset of the dataset. The check sends the very same single request."""
    deployment = make_deployment()
    values = s3_values(moto_endpoint)
    for i in range(3):
        s3.put_object(Bucket="ranker", Key=f"work/dataset-xgboost/dataset-{i}.json", Body=b"{}")
    within = run(deployment, ["s3.engine-listing"], values=values)["s3.engine-listing"]
    assert within.status is Status.PASS, within
    assert "dataset-xgboost: 3 keys (3 dataset files)" in within.reason

    for i in range(3, 1001):
        s3.put_object(Bucket="ranker", Key=f"work/dataset-xgboost/dataset-{i}.json", Body=b"{}")
    over = run(deployment, ["s3.engine-listing"], values=values)["s3.engine-listing"]
    assert over.status is Status.WARN, over
    assert "more than 1000 keys" in over.reason and "the first 1000" in over.reason
    assert "S3FS.listRecursive" in over.reason and "1,000 files" in over.fix
