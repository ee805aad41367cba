"""Where tune reads and writes: a local directory or an S3 prefix, behind one small interface.

S3 goes through :func:`generator.ops.s3.make_client` (the chart's endpoint/region/path-style
settings, bounded timeouts); credentials come from the values' static keys or boto3's default
chain (environment, profile, web identity), never from a message or a report.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import InvalidInput
from generator.ops.s3 import S3Location, S3Settings, describe_client_error, is_not_found, is_s3_uri, make_client
from generator.values.model import local_path


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
                    out.append((str(full.relative_to(root)), full.stat().st_size))
        return sorted(out)

    def read(self) -> bytes | None:
        """The bytes of this file, None when it does not exist."""
        if self.is_s3:
            loc = self._s3()
            try:
                return self.client().get_object(Bucket=loc.bucket, Key=loc.key)["Body"].read()
            except Exception as exc:  # noqa: BLE001
                if is_not_found(exc):
                    return None
                raise InvalidInput(describe_client_error(exc, f"reading {self.uri}")) from None
        path = self._path()
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def write(self, data: bytes) -> None:
        """Write this file whole: S3 PUT (atomic per object) or a local atomic replace."""
        if self.is_s3:
            loc = self._s3()
            try:
                self.client().put_object(Bucket=loc.bucket, Key=loc.key, Body=data)
            except Exception as exc:  # noqa: BLE001
                raise InvalidInput(describe_client_error(exc, f"writing {self.uri}")) from None
            return
        path = self._path()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, 0o644)
            os.replace(temp, path)  # same directory: a reader sees the old file or the new one
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

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
