"""moto's S3 server on 127.0.0.1 and a realistic Flink savepoint layout, for the savepoint tests
and bench/bench_savepoint.py.

The server runs in-process (``ThreadedMotoServer``), so the layout is seeded straight into moto's
backend (100k objects over HTTP would take minutes); the code under test still talks to it over
HTTP with boto3.
"""

from __future__ import annotations

import logging
import os
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

ACCOUNT = "123456789012"  # moto's default account
BASE_TIME = datetime(2026, 11, 1, 12, 0, 0)  # naive UTC, like moto's own timestamps


def use_dummy_credentials() -> None:
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)


class MotoS3:
    """A moto server on a random 127.0.0.1 port; ``endpoint`` is its URL."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        use_dummy_credentials()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self._buckets: list[str] = []

    def stop(self) -> None:
        """Stop the server and drop our buckets: moto's backend is global to the process."""
        self._server.stop()
        for name in self._buckets:
            self._forget(name)

    @staticmethod
    def backend():
        from moto.s3.models import s3_backends

        return s3_backends[ACCOUNT]["global"]

    def create_bucket(self, name: str) -> None:
        self._forget(name)  # left over by an earlier server in this process
        self.backend().create_bucket(name, "us-east-1")
        self._buckets.append(name)

    def _forget(self, name: str) -> None:
        from moto.s3.models import s3_backends

        self.backend().buckets.pop(name, None)
        s3_backends.bucket_accounts.pop(name, None)

    def put(self, bucket: str, key: str, when: datetime, body: bytes = b"x") -> None:
        fake = self.backend().put_object(bucket, key, body)
        fake.last_modified = when


@dataclass
class Layout:
    bucket: str
    prefix: str  # the savepoints "directory", e.g. "ranker/update/savepoints"
    complete: dict[str, datetime] = field(default_factory=dict)  # dir name -> _metadata time
    incomplete: list[str] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def newest_complete(self) -> str:
        name = max(self.complete, key=self.complete.__getitem__)
        return f"s3://{self.bucket}/{self.prefix}/{name}"


def savepoint_dir_name(rng: random.Random, job: str) -> str:
    return f"savepoint-{job[:6]}-{''.join(rng.choice('0123456789abcdef') for _ in range(12))}"


def seed_savepoints(
    s3: MotoS3,
    bucket: str,
    prefix: str = "ranker/update/savepoints",
    savepoints: int = 200,
    objects: int = 500,
    incomplete_every: int = 5,
    newer_incomplete: int = 3,
    seed: int = 7,
) -> Layout:
    """``savepoints`` directories of ``objects`` objects each (``_metadata`` + UUID state files).

    Every ``incomplete_every``-th directory has no ``_metadata`` (broken, older); the last
    ``newer_incomplete`` directories are in progress: no ``_metadata`` and state files newer than
    every complete savepoint. Directory names are random, so name order says nothing about time.
    """
    rng = random.Random(seed)
    s3.create_bucket(bucket)
    layout = Layout(bucket, prefix)
    job = uuid.UUID(int=rng.getrandbits(128)).hex
    order = list(range(savepoints))
    rng.shuffle(order)  # creation time order differs from name order
    for i in range(savepoints):
        name = savepoint_dir_name(rng, job)
        created = BASE_TIME + timedelta(minutes=10 * order[i])
        in_progress = i >= savepoints - newer_incomplete
        if in_progress:
            created = BASE_TIME + timedelta(days=30, minutes=i)
        broken = in_progress or i % incomplete_every == 0
        state_files = objects if broken else objects - 1
        for _ in range(state_files):
            s3.put(bucket, f"{prefix}/{name}/{uuid.UUID(int=rng.getrandbits(128), version=4)}", created)
        if broken:
            layout.incomplete.append(name)
        else:
            done = created + timedelta(seconds=30)
            s3.put(bucket, f"{prefix}/{name}/_metadata", done)
            layout.complete[name] = done
    return layout
