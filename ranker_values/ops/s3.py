"""S3 access shared by ``savepoint`` and ``check``: URI parsing and a client configured the way
the chart configures the pods (``s3.endpoint``, ``s3.region``, ``s3.pathStyleAccess``).

boto3 is imported inside :func:`make_client` only. Credentials: the static keys of
``s3.auth.mode: secret`` when the values carry them (what the pods get), otherwise boto3's
default chain (environment, profile, IRSA web identity): an ``existingSecret`` lives in the
cluster and is never read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ranker_values.errors import InvalidInput
from ranker_values.values.files import dig

S3_SCHEMES = ("s3://", "s3a://", "s3p://")


def is_s3_uri(uri: str) -> bool:
    return uri.startswith(S3_SCHEMES)


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
    # Static keys, only from ``s3.auth.mode: secret`` values (what the chart puts in its Secret);
    # otherwise boto3's default chain (environment, profile, web identity) applies.
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_values(cls, values: dict[str, Any], **overrides: Any) -> "S3Settings":
        static = (_typed(values, "s3.auth.mode", str) or "secret") == "secret"
        key_id = (_typed(values, "s3.auth.accessKeyId", str) or None) if static else None
        secret = (_typed(values, "s3.auth.secretAccessKey", str) or None) if static else None
        settings = cls(
            endpoint=_typed(values, "s3.endpoint", str) or None,
            region=_typed(values, "s3.region", str) or None,
            path_style=bool(_typed(values, "s3.pathStyleAccess", bool)),
            access_key_id=key_id if key_id and secret else None,
            secret_access_key=secret if key_id and secret else None,
        )
        return settings if not overrides else replace(settings, **overrides)


def _typed(values: dict[str, Any], dotted: str, kind: type) -> Any:
    """The value at ``dotted`` (None when absent), or InvalidInput naming the key but never its
    value (it may be a secret key)."""
    value = dig(values, dotted)
    if value is not None and not isinstance(value, kind):
        wanted = "true or false" if kind is bool else "a string"
        raise InvalidInput(f"{dotted} in the values must be {wanted}, got {type(value).__name__}")
    return value


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
    keys = {}
    if settings.access_key_id and settings.secret_access_key:
        keys = {"aws_access_key_id": settings.access_key_id, "aws_secret_access_key": settings.secret_access_key}
    # a fresh session: the default one caches the credentials it resolved first
    return boto3.session.Session().client(
        "s3", endpoint_url=settings.endpoint, region_name=settings.region or "us-east-1", config=config, **keys
    )


def is_not_found(exc: Exception) -> bool:
    """A botocore error that means "no such key" (HEAD answers a bare 404)."""
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code", "") if isinstance(response, dict) else ""
    return str(code) in ("404", "NoSuchKey", "NotFound")


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
