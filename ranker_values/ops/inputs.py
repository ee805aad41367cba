"""Inputs shared by ``savepoint``, ``upgrade-values`` and ``plan``: the operator's values files,
a cluster (live or an offline objects file) and an S3 client configured from the values.

Nothing heavy is imported here at module level: the kubernetes client and boto3 are imported by
:class:`ranker_values.kube.cluster.KubernetesCluster` and :func:`ranker_values.ops.s3.make_client`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ranker_values.kube.cluster import Cluster, KubernetesCluster, ObjectCluster
from ranker_values.errors import InvalidInput
from ranker_values.values.files import dig, read_values_file, release_values


@dataclass
class ValuesInput:
    paths: list[Path]
    merged: dict[str, Any]

    @classmethod
    def read(cls, paths: list[Path] | None) -> "ValuesInput":
        paths = list(paths or [])
        return cls(paths, release_values(paths))

    def where(self, dotted: str) -> str:
        """The file that sets ``dotted`` last (Helm order), for error messages."""
        for path in reversed(self.paths):
            if dig(read_values_file(path), dotted) is not None:
                return f"{dotted} in {path}"
        return dotted

    def nonce(self, dotted: str) -> int:
        """A non-negative integer nonce (absent = 0); anything else is an input error."""
        value = dig(self.merged, dotted)
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(
                f"{self.where(dotted)}: must be a non-negative integer (a nonce), "
                f"got {type(value).__name__} {value!r}"
            )
        return value

    def string(self, dotted: str) -> str:
        value = dig(self.merged, dotted)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise InvalidInput(f"{self.where(dotted)}: must be a string, got {type(value).__name__} {value!r}")
        return value


def open_cluster(*, objects_file: Path | None, kube_context: str | None, timeout: float) -> Cluster:
    """An offline cluster from ``--objects`` (saved ``kubectl get -o yaml``) or the live one."""
    if objects_file is not None:
        return ObjectCluster.from_file(str(objects_file))
    return KubernetesCluster(context=kube_context, timeout_seconds=timeout)


def open_s3(values: ValuesInput, timeout: float, workers: int = 16) -> Any:
    """A boto3 client configured like the chart's pods (s3.endpoint/region/pathStyleAccess).

    ``timeout`` bounds one request *with* its retries: botocore's ``retries.max_attempts`` counts
    retries after the first attempt (measured: ``max_attempts: 2`` opens three connections to an
    endpoint that never answers), so each attempt gets ``timeout / (max_attempts + 1)`` and such an
    endpoint costs ~``timeout`` per request, not three times it."""
    from ranker_values.ops.s3 import S3Settings, make_client

    share = timeout / (S3Settings.max_attempts + 1)
    settings = S3Settings.from_values(
        values.merged, connect_timeout=share, read_timeout=share, max_pool_connections=workers
    )
    try:
        return make_client(settings)
    except ModuleNotFoundError:
        raise  # the ops extra is missing: the CLI says how to install it
    except Exception as exc:  # noqa: BLE001 - invalid endpoint URL, region...
        raise InvalidInput(f"cannot configure the S3 client from the values (s3.endpoint/s3.region): {exc}") from exc
