"""Where tune reads and writes: a local directory or an S3 prefix, behind one small interface.

S3 goes through :func:`ranker_values.ops.s3.make_client` (the chart's endpoint/region/path-style
settings, bounded timeouts); credentials come from the values' static keys or boto3's default
chain (environment, profile, web identity), never from a message or a report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ranker_values.errors import InvalidInput
from ranker_values.files.atomic import write_bytes_atomic
from ranker_values.files.inputs import read_bounded
from ranker_values.ops.s3 import S3Location, S3Settings, describe_client_error, is_not_found, is_s3_uri, make_client
from ranker_values.values.model import local_path

#: Largest single file tune reads (a dataset part file, a model): Flink's FileSink rolls part
#: files at 128 MiB by default; anything near this bound is not a dataset file.
MAX_FILE_BYTES = 2 * 1024 * 1024 * 1024


@dataclass
class Location:
    """A directory-like location: ``/abs/dir``, ``file:///abs/dir`` or ``s3://bucket/prefix``."""

    uri: str
    settings: S3Settings | None = None
    _client: Any = None

    @property
    def is_s3(self) -> bool:
        return is_s3_uri(self.uri)

    def child(self, *parts: str) -> "Location":
        base = self.uri.rstrip("/")
        return Location(base + "/" + "/".join(p.strip("/") for p in parts), self.settings, self._client)

    # -- S3 -----------------------------------------------------------------------------------
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client(self.settings or S3Settings())
        return self._client

    def _s3(self) -> S3Location:
        return S3Location.parse(self.uri)

    def _path(self) -> Path:
        path = local_path(self.uri)
        if path is None:
            raise InvalidInput(f"{self.uri}: tune reads and writes local paths or s3:// URIs only")
        return Path(path)

    # -- operations -----------------------------------------------------------------------------
    def list_files(self, suffix: str = "") -> list[tuple[str, int]]:
        """Every file below this location (recursively) whose name ends with ``suffix``, as
        (relative name, size), sorted by name."""
        if self.is_s3:
            loc = self._s3()
            out = []
            try:
                pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=loc.bucket, Prefix=loc.prefix)
                for page in pages:
                    for obj in page.get("Contents", []):
                        key = obj["Key"]
                        if key.endswith(suffix):
                            out.append((key[len(loc.prefix) :], int(obj.get("Size", 0))))
            except Exception as exc:  # noqa: BLE001 - botocore errors → one line
                raise InvalidInput(describe_client_error(exc, f"listing {self.uri}")) from None
            return sorted(out)
        root = self._path()
        if not root.is_dir():
            return []
        out = []
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                if name.endswith(suffix):
                    full = Path(dirpath) / name
                    try:
                        size = full.stat().st_size
                    except OSError:  # a dangling symlink: reading it says so
                        size = 0
                    out.append((str(full.relative_to(root)), size))
        return sorted(out)

    def read(self, *, is_input: bool = False, max_bytes: int = MAX_FILE_BYTES, what: str = "file") -> bytes | None:
        """The bytes of this file, None when it does not exist. A local file goes through the
        input gate (a FIFO, a device or a directory is a usage error, never a hang; at most
        ``max_bytes``); ``is_input`` registers it as one of the command's inputs, which the
        output gate then refuses to replace (the dataset files)."""
        if self.is_s3:
            loc = self._s3()
            try:
                return self.client().get_object(Bucket=loc.bucket, Key=loc.key)["Body"].read()
            except Exception as exc:  # noqa: BLE001
                if is_not_found(exc):
                    return None
                raise InvalidInput(describe_client_error(exc, f"reading {self.uri}")) from None
        path = self._path()
        if not os.path.lexists(path):
            return None
        got = read_bounded(path, what, max_bytes, register=is_input)
        if got.too_large:
            raise InvalidInput(f"{path}: {what} is larger than {max_bytes // (1024 * 1024)} MiB; refusing to read it")
        return got.data

    def write(self, data: bytes) -> None:
        """Write this file whole: S3 PUT (atomic per object) or a local atomic replace."""
        if self.is_s3:
            loc = self._s3()
            try:
                self.client().put_object(Bucket=loc.bucket, Key=loc.key, Body=data)
            except Exception as exc:  # noqa: BLE001
                raise InvalidInput(describe_client_error(exc, f"writing {self.uri}")) from None
            return
        # the output gate: atomic replace in the same directory (a reader sees the old file or the
        # new one), a symlink written through, never an input, a device, a FIFO or a directory
        write_bytes_atomic(self._path(), data)

    def delete_tree(self) -> int:
        """Delete every file below this location; returns how many."""
        files = self.list_files()
        if self.is_s3:
            loc = self._s3()
            for start in range(0, len(files), 1000):
                chunk = files[start : start + 1000]
                try:
                    self.client().delete_objects(
                        Bucket=loc.bucket, Delete={"Objects": [{"Key": loc.prefix + name} for name, _ in chunk]}
                    )
                except Exception as exc:  # noqa: BLE001
                    raise InvalidInput(describe_client_error(exc, f"deleting {self.uri}")) from None
            return len(files)
        root = self._path()
        for name, _ in files:
            (root / name).unlink(missing_ok=True)
        return len(files)
