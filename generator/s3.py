"""S3 access shared by ``savepoint`` and ``check``: URI parsing and a client configured the way
the chart configures the pods (``s3.endpoint``, ``s3.region``, ``s3.pathStyleAccess``).

boto3 is imported inside :func:`make_client` only. Credentials come from boto3's default chain
(environment, profile, IRSA web identity): the chart's Secret lives in the cluster, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.errors import InvalidInput
from generator.values_files import dig

S3_SCHEMES = ("s3://", "s3a://", "s3p://")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str  # no leading slash; "" for the bucket root

    @classmethod
    def parse(cls, uri: str) -> "S3Location":
        for scheme in S3_SCHEMES:
            if uri.startswith(scheme):
                rest = uri[len(scheme) :]
                bucket, _, key = rest.partition("/")
                if not bucket:
                    break
                return cls(bucket, key.strip("/"))
        raise InvalidInput(f"{uri!r} is not an S3 URI (expected s3://bucket/prefix)")

    @property
    def prefix(self) -> str:
        """The key as a directory prefix ("a/b/"), "" at the bucket root."""
        return f"{self.key}/" if self.key else ""

    def uri(self, key: str | None = None) -> str:
        return f"s3://{self.bucket}/{self.key if key is None else key}"


@dataclass(frozen=True)
class S3Settings:
    endpoint: str | None = None
    region: str | None = None
    path_style: bool = False
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    max_attempts: int = 2
    max_pool_connections: int = 10  # savepoint scans HEAD many prefixes concurrently

    @classmethod
    def from_values(cls, values: dict[str, Any], **overrides: Any) -> "S3Settings":
        settings = cls(
            endpoint=dig(values, "s3.endpoint") or None,
            region=dig(values, "s3.region") or None,
            path_style=bool(dig(values, "s3.pathStyleAccess", False)),
        )
        return settings if not overrides else cls(**{**settings.__dict__, **overrides})


def make_client(settings: S3Settings) -> Any:
    """A boto3 S3 client with bounded timeouts and retries, so an unreachable endpoint fails fast."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"max_attempts": settings.max_attempts, "mode": "standard"},
        max_pool_connections=settings.max_pool_connections,
        s3={"addressing_style": "path" if settings.path_style else "auto"},
    )
    # a fresh session: the default one caches the credentials it resolved first
    return boto3.session.Session().client(
        "s3", endpoint_url=settings.endpoint, region_name=settings.region or "us-east-1", config=config
    )


def describe_client_error(exc: Exception, what: str) -> str:
    """One line for a botocore error: 'denied', 'missing bucket', 'unreachable', ..."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code", "?")
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return f"{what}: access denied ({code}); check the credentials and the bucket policy"
        if code in ("NoSuchBucket", "404"):
            return f"{what}: bucket does not exist ({code})"
        return f"{what}: S3 error {code}: {response.get('Error', {}).get('Message', '')}".rstrip(": ")
    if type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
        return f"{what}: no S3 credentials found (environment, profile or web identity): {exc}"
    return f"{what}: S3 unreachable: {exc}"
