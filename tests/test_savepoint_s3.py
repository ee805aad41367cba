"""``savepoint latest`` against moto's S3 server on 127.0.0.1, over HTTP with boto3.

The big layout is the issue's: 200 savepoint directories x 500 objects, some without
``_metadata`` (broken), some newer but still in progress. Request counts are measured with a
botocore ``before-send`` hook, so the claims about cost are checked, not assumed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ranker_values.cli import app
from ranker_values.errors import InvalidInput
from ranker_values.ops.s3 import S3Location, S3Settings, make_client
from ranker_values.ops import savepoint as sp
from savepoint_fixtures import MotoS3, seed_savepoints
from support.net import free_port

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def s3():
    server = MotoS3()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def big(s3):
    """200 x 500 objects (~5 s to seed into moto's backend directly)."""
    return seed_savepoints(s3, "big", savepoints=200, objects=500)


@pytest.fixture(scope="module")
def small(s3):
    """The same shape with 5 objects per savepoint: cost must not depend on the object count."""
    return seed_savepoints(s3, "small", savepoints=200, objects=5)


def client_for(s3: MotoS3, **overrides):
    return make_client(S3Settings(endpoint=s3.endpoint, path_style=True, max_pool_connections=16, **overrides))


class ListCalls:
    """Records the parameters of every ListObjectsV2 the client sends."""

    def __init__(self, client):
        self.params: list[dict] = []
        client.meta.events.register("provide-client-params.s3.ListObjectsV2", self._record)

    def _record(self, params, **_):
        self.params.append(dict(params))


def values_file(tmp_path: Path, endpoint: str, savepoints: str, **extra) -> Path:
    values = {
        "s3": {"endpoint": endpoint, "region": "us-east-1", "pathStyleAccess": True},
        "ranking": {"paths": {"savepoints": savepoints, "savepoint": extra.pop("bootstrap", "")}},
        **extra,
    }
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


# --- the 200 x 500 layout -------------------------------------------------------------------


def test_scan_picks_the_newest_complete_savepoint(s3, big):
    client = client_for(s3)
    counter, lists = sp.RequestCounter(client), ListCalls(client)
    result = sp.latest_savepoint(cluster_found=None, s3_client=client, savepoints_dir=big.uri, scan=True)
    assert result.chosen.path == big.newest_complete
    assert result.chosen.time == big.complete[big.newest_complete.rsplit("/", 1)[1]].replace(tzinfo=result.chosen.time.tzinfo)
    assert result.verified
    # the three newest directories are in progress (state files newer than everything): skipped
    assert sorted(u.rsplit("/", 1)[1] for u in result.incomplete) == sorted(big.incomplete)
    assert len(result.candidates) == len(big.complete) == 157
    # cost: one delimiter listing of the directory + one HEAD per savepoint, nothing inside them
    assert counter.by_operation == {"ListObjectsV2": 1, "HeadObject": 200}
    assert lists.params == [{"Bucket": "big", "Prefix": "ranker/update/savepoints/", "Delimiter": "/", "MaxKeys": 1000}]


def test_cost_does_not_grow_with_objects_per_savepoint(s3, big, small):
    counts = {}
    for layout in (big, small):
        client = client_for(s3)
        counter = sp.RequestCounter(client)
        result = sp.latest_savepoint(cluster_found=None, s3_client=client, savepoints_dir=layout.uri, scan=True)
        assert result.chosen.path == layout.newest_complete
        counts[layout.bucket] = dict(counter.by_operation)
    assert counts["big"] == counts["small"]


def test_directory_listing_pages(s3, small):
    client = client_for(s3)
    counter = sp.RequestCounter(client)
    dirs = sp.list_savepoint_dirs(client, S3Location.parse(small.uri), page_size=64)
    assert len(dirs) == 200 and len(set(dirs)) == 200
    assert counter.by_operation == {"ListObjectsV2": 4}


def test_cluster_index_verifies_newest_first_in_few_requests(s3, big):
    """With the operator's records as the index, S3 is only asked about the candidates."""
    from datetime import datetime, timezone

    names = sorted(big.complete, key=big.complete.__getitem__)
    untimed, timed = names[-1], names[-2]
    in_progress = big.incomplete[-1]
    found = [
        # claims completion for a directory without _metadata, and is the newest claim
        sp.Savepoint(f"s3a://big/ranker/update/savepoints/{in_progress}", datetime(2030, 1, 1, tzinfo=timezone.utc), "FlinkStateSnapshot/bogus"),
        # a path without a time (upgradeSavepointPath alone) ranks after every timed one
        sp.Savepoint(f"s3://big/ranker/update/savepoints/{untimed}", None, "upgradeSavepointPath"),
        sp.Savepoint(f"s3://big/ranker/update/savepoints/{timed}", big.complete[timed].replace(tzinfo=timezone.utc), "history"),
    ]
    client = client_for(s3)
    counter = sp.RequestCounter(client)
    result = sp.latest_savepoint(cluster_found=found, s3_client=client, savepoints_dir=big.uri, scan=False)
    # the "bogus" snapshot claims a directory that has no _metadata: skipped, said so
    assert result.chosen.path.endswith(timed)
    assert any(in_progress in n and "does not exist" in n for n in result.notes)
    assert counter.total <= 5
    assert counter.by_operation == {"HeadObject": 2}


def test_empty_directory_is_no_savepoint(s3, tmp_path):
    s3.create_bucket("empty")
    client = client_for(s3)
    with pytest.raises(InvalidInput, match="no completed savepoint found in s3://empty/ranker/update/savepoints"):
        sp.latest_savepoint(cluster_found=None, s3_client=client, savepoints_dir="s3://empty/ranker/update/savepoints", scan=True)


def test_only_incomplete_savepoints(s3):
    layout = seed_savepoints(s3, "broken", savepoints=4, objects=3, incomplete_every=1, newer_incomplete=0)
    client = client_for(s3)
    with pytest.raises(InvalidInput, match=r"4 directory\(ies\) without _metadata"):
        sp.latest_savepoint(cluster_found=None, s3_client=client, savepoints_dir=layout.uri, scan=True)


# --- the command line -------------------------------------------------------------------


def test_cli_latest_scans_s3(s3, big, tmp_path):
    values = values_file(tmp_path, s3.endpoint, big.uri)
    result = runner.invoke(app, ["savepoint", "latest", "-f", str(values)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == big.newest_complete
    assert "201 S3 requests (HeadObject 200, ListObjectsV2 1)" in result.stderr
    assert "157 candidate(s), 43 incomplete director(ies) skipped" in result.stderr


def test_cli_latest_json(s3, small, tmp_path):
    values = values_file(tmp_path, s3.endpoint, small.uri)
    result = runner.invoke(app, ["savepoint", "latest", "-f", str(values), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["path"] == small.newest_complete and doc["verified"] is True
    assert doc["s3_requests"] == {"ListObjectsV2": 1, "HeadObject": 200}


def test_cli_latest_cluster_and_s3_together(s3, tmp_path):
    """Snapshot-mode objects + S3: the newest COMPLETED snapshot lacks _metadata, so the next wins."""
    from test_savepoint_cluster import SNAPSHOT_MODE, objects_file

    s3.create_bucket("ranker-test")
    base = "ranker/update/savepoints"
    # _metadata written a few seconds before the operator marked each snapshot COMPLETED
    s3.put("ranker-test", f"{base}/savepoint-a1b2c3-000000000001/_metadata", datetime(2026, 11, 20, 9, 59, 58))
    s3.put("ranker-test", f"{base}/savepoint-a1b2c3-00000000000a/_metadata", datetime(2026, 11, 19, 8, 59, 58))
    # periodic-2 says COMPLETED, but its directory has state files only (deleted _metadata)
    s3.put("ranker-test", f"{base}/savepoint-a1b2c3-000000000002/0b7f0c1e-0000-4000-8000-000000000000", datetime(2026, 11, 20, 10, 59))
    objects = objects_file(tmp_path, SNAPSHOT_MODE, with_crd=True)
    values = values_file(tmp_path, s3.endpoint, f"s3://ranker-test/{base}")
    result = runner.invoke(app, ["savepoint", "latest", "-f", str(values), "--objects", str(objects),
                                 "--release", "ranker", "-n", "ranking"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"s3://ranker-test/{base}/savepoint-a1b2c3-000000000001"
    assert "1 incomplete director(ies) skipped" in result.stderr
    assert "skipped s3://ranker-test/ranker/update/savepoints/savepoint-a1b2c3-000000000002" in result.stderr


# --- S3 failures: clear, exit 1, bounded ------------------------------------------------------


def test_unreachable_s3_fails_fast_in_a_real_process(tmp_path):
    values = values_file(tmp_path, f"http://127.0.0.1:{free_port()}", "s3://b/ranker/update/savepoints")  # nothing listens
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    start = time.monotonic()
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ranker-values"), "savepoint", "latest", "-f", str(values), "--request-timeout", "2"],
        capture_output=True, text=True, timeout=60, env=env, cwd=REPO,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 1, proc.stderr
    assert "listing s3://b/ranker/update/savepoints: S3 unreachable" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert elapsed < 20


def test_no_credentials_is_a_clear_error(s3, big, tmp_path, monkeypatch):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    values = values_file(tmp_path, s3.endpoint, big.uri)
    result = runner.invoke(app, ["savepoint", "latest", "-f", str(values)])
    assert result.exit_code == 1
    assert "no S3 credentials found" in result.stderr


def test_access_denied_by_iam_policy(s3, big, tmp_path, monkeypatch):
    """A real denial: moto evaluates IAM for a user allowed only s3:GetObject."""
    import boto3
    from moto.core.authorization import enable_iam_authentication

    iam = boto3.client("iam", endpoint_url=s3.endpoint, region_name="us-east-1")
    iam.create_user(UserName="reader")
    iam.put_user_policy(
        UserName="reader", PolicyName="get-only",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::big/*"}]}),
    )
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    values = values_file(tmp_path, s3.endpoint, big.uri)
    try:
        with enable_iam_authentication():
            result = runner.invoke(app, ["savepoint", "latest", "-f", str(values)])
    finally:  # moto's IAM backend is global to the process
        iam.delete_access_key(UserName="reader", AccessKeyId=key["AccessKeyId"])
        iam.delete_user_policy(UserName="reader", PolicyName="get-only")
        iam.delete_user(UserName="reader")
    assert result.exit_code == 1, result.output
    assert "listing s3://big/ranker/update/savepoints: access denied (AccessDenied)" in result.stderr


def test_not_an_s3_uri(tmp_path, s3):
    values = values_file(tmp_path, s3.endpoint, "/data/savepoints")
    result = runner.invoke(app, ["savepoint", "latest", "-f", str(values)])
    assert result.exit_code == 1
    assert "'/data/savepoints' is not an S3 URI" in result.stderr
