"""Shared pieces of the ``ranker-values check`` tests (no tests in here): a Deployment built from
the model's dataclasses, real redis-server processes, moto's S3 server over HTTP, event files and
xgboost models trained on the spot.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from ranker_values.ops.check import CheckOptions, run_preflight
from ranker_values.values.model import Deployment, EventSource, RankingModel, StateStore, StorageLayout
from support.net import free_port, wait_port

FEATURES: list[dict[str, Any]] = [
    {"name": "popularity", "type": "number", "scope": "item", "source": "item.popularity"},
    {"name": "genre", "type": "string", "scope": "item", "source": "item.genre", "encode": "onehot", "values": ["a", "b", "c"]},
    {"name": "ctr", "type": "rate", "top": "click", "bottom": "impression", "scope": "item", "bucket": "24h", "periods": [7, 30]},
    {"name": "clicks", "type": "window_count", "interaction": "click", "scope": "item", "bucket": "24h", "periods": [1, 7, 30]},
    {"name": "platform", "type": "ua", "source": "ranking.ua", "field": "platform", "scope": "session"},
    {"name": "relevance", "type": "relevancy"},
]
#: platform 3 (request-level, first) + popularity 1 + genre 3 (onehot) + ctr 2 + clicks 3 + relevance 1
EXPECTED_COLUMNS = 13


def stop_process(process: subprocess.Popen) -> None:
    """Terminate a server we started; kill it if it does not go within 5 s."""
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def make_deployment(
    *,
    workdir: str = "s3://ranker/work",
    events: str = "s3://ranker/events/",
    model_path: str = "s3://ranker/models/xgboost.model",
    redis: tuple[str, int] | None = ("127.0.0.1", 6379),
    features: Sequence[dict[str, Any]] = FEATURES,
    model_features: Sequence[str] | None = None,
) -> Deployment:
    names = tuple(model_features if model_features is not None else [f["name"] for f in features])
    config = {
        "features": list(features),
        "models": {"xgboost": {"type": "lambdamart", "path": model_path, "backend": {"type": "xgboost"}, "features": list(names)}},
        "bootstrap": {"workdir": workdir, "source": {"type": "file", "path": events}},
        "inference": {"state": {"type": "redis", "host": redis[0], "port": redis[1]} if redis else {"type": "memory"}},
    }
    text = json.dumps(config)
    return Deployment(
        config_file="config.yml",
        config_text=text,
        config_sha256=hashlib.sha256(text.encode()).hexdigest(),
        config=config,
        storage=StorageLayout(workdir),
        models=(RankingModel("xgboost", "lambdamart", model_path, "xgboost", names),),
        state=StateStore("redis", host=redis[0], port=redis[1]) if redis else StateStore("memory"),
        bootstrap_source=EventSource("file", (("path", events),)),
    )


def run(deployment: Deployment, only: Sequence[str], **options: Any) -> dict[str, Any]:
    """Run the selected checks; name → CheckResult."""
    options.setdefault("timeout", 5.0)
    options.setdefault("environ", {})
    results = run_preflight(deployment, CheckOptions(**options), only=only)
    return {r.name: r for r in results}


# --- redis-server -----------------------------------------------------------------------------


class RedisServer:
    """A real redis-server on 127.0.0.1 in a temp dir, stopped by PID."""

    def __init__(self, directory: Path, *args: str):
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is not installed (.ci/run installs it from Debian)")
        self.port = free_port()
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(directory), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_port(self.port, 10):
            self.stop()
            pytest.fail("redis-server did not start within 10 s")

    def stop(self) -> None:
        stop_process(self.process)


@pytest.fixture
def redis_factory(tmp_path: Path) -> Iterator[Any]:
    servers: list[RedisServer] = []

    def start(*args: str) -> RedisServer:
        directory = tmp_path / f"redis-{len(servers)}"
        directory.mkdir()
        servers.append(RedisServer(directory, *args))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


# --- moto S3 ----------------------------------------------------------------------------------


def dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A boto3 client on the moto server, with a fresh bucket ``ranker``."""
    import boto3

    dummy_credentials(monkeypatch)
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    for bucket in client.list_buckets().get("Buckets", []):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):  # > 1,000 keys too
            for obj in page.get("Contents", []):
                client.delete_object(Bucket=bucket["Name"], Key=obj["Key"])
        client.delete_bucket(Bucket=bucket["Name"])
    client.create_bucket(Bucket="ranker")
    return client


def s3_values(endpoint: str) -> dict[str, Any]:
    return {"s3": {"endpoint": endpoint, "region": "us-east-1", "pathStyleAccess": True}}


class DeniedMoto:
    """moto in a subprocess with IAM enforcement on: a read-only user cannot write.

    ``INITIAL_NO_AUTH_ACTION_COUNT`` is read when moto is imported, so this server gets its own
    process; its first three requests (create an admin user, its policy, its key) are let through.
    """

    def __init__(self) -> None:
        import boto3

        self.port = free_port()
        env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.endpoint = f"http://127.0.0.1:{self.port}"
        if not wait_port(self.port, 20):
            self.stop()
            pytest.fail("moto server did not start within 20 s")
        kw = {"endpoint_url": self.endpoint, "region_name": "us-east-1"}
        iam = boto3.client("iam", aws_access_key_id="x", aws_secret_access_key="x", **kw)
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=_policy(["*"], "*"))
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        admin = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
        boto3.client("s3", **admin, **kw).create_bucket(Bucket="ranker")
        iam = boto3.client("iam", **admin, **kw)
        iam.create_user(UserName="reader")
        # moto authorises HEAD bucket as "s3:HeadBucket" (AWS itself wants s3:ListBucket for it)
        read = ["s3:ListBucket", "s3:GetObject", "s3:HeadBucket"]
        iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=_policy(read, "*"))
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        self.reader = (key["AccessKeyId"], key["SecretAccessKey"])

    def stop(self) -> None:
        stop_process(self.process)


def _policy(actions: list[str], resource: str) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}
    )


# --- events and models ------------------------------------------------------------------------


def good_events(n: int, start: int = 1_600_000_000_000) -> list[dict[str, Any]]:
    """A plausible stream: item metadata, then ranking + click pairs, timestamps ascending."""
    out: list[dict[str, Any]] = []
    ts = start
    for i in range(n):
        ts += 1000
        kind = i % 3
        if kind == 0:
            out.append({"event": "item", "id": f"e{i}", "item": f"i{i}", "timestamp": str(ts), "fields": [{"name": "genre", "value": ["a"]}]})
        elif kind == 1:
            out.append(
                {
                    "event": "ranking", "id": f"r{i}", "timestamp": ts, "user": "u1", "session": "s1",
                    "fields": [{"name": "ua", "value": "Mozilla"}], "items": [{"id": "i0", "relevancy": 1.5}, {"id": "i3"}],
                }
            )
        else:
            out.append(
                {"event": "interaction", "id": f"c{i}", "item": "i0", "timestamp": str(ts), "ranking": f"r{i - 1}",
                 "user": "u1", "session": "s1", "type": "click"}
            )
    return out


def jsonl(events: Sequence[Any]) -> bytes:
    return b"".join((e if isinstance(e, str) else json.dumps(e)).encode() + b"\n" for e in events)


def train_model(columns: int, fmt: str, feature_names: Sequence[str] | None = None) -> bytes:
    """A tiny real LambdaMART (rank:ndcg) model: 200 rows × columns, 5 rounds, 2 threads."""
    import numpy as np
    import xgboost

    rng = np.random.default_rng(7)
    x = rng.random((200, columns))
    y = rng.integers(0, 3, 200)
    matrix = xgboost.DMatrix(x, label=y, qid=np.repeat(np.arange(20), 10), feature_names=list(feature_names) if feature_names else None)
    booster = xgboost.train({"objective": "rank:ndcg", "nthread": 2, "tree_method": "hist", "max_depth": 3}, matrix, 5)
    return bytes(booster.save_raw(fmt))
