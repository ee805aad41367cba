"""S3 checks: the workdir bucket is writable, the bootstrap source has event files, and the
outputs of bootstrap (dataset, features, savepoint) and train (model files) are where the next
steps will look for them.

The client is configured from the chart's own keys (``s3.endpoint``, ``s3.region``,
``s3.pathStyleAccess``). Credentials: with ``s3.auth.mode: secret`` and keys in the values files,
those keys (what the pods get); otherwise boto3's default chain here (environment, profile,
web identity): an ``existingSecret`` lives in the cluster and its values are never read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ranker_values.ops.check.context import CheckContext
from ranker_values.ops.check.runner import Check, CheckAbort, Outcome, failed, passed, warned
from ranker_values.values.model import is_object_store, local_path
from ranker_values.ops.s3 import S3Location, S3Settings, describe_client_error, is_not_found, make_client

#: Listing stops after this many keys; counts are then reported as "at least".
MAX_LISTED_KEYS = 100_000


class S3CheckError(CheckAbort):
    """An S3 call failed; ``outcome`` says why in one line."""


@dataclass(frozen=True)
class S3Object:
    key: str
    size: int
    modified_ms: int = 0  # LastModified, epoch millis (what Flink's S3 FileStatus reports)


def _settings(ctx: CheckContext) -> S3Settings:
    timeout = ctx.options.timeout
    return S3Settings.from_values(
        dict(ctx.values), connect_timeout=min(5.0, timeout / 2), read_timeout=timeout, max_attempts=1
    )


def _build_client(ctx: CheckContext) -> Any:
    return make_client(_settings(ctx))


def client(ctx: CheckContext) -> Any:
    return ctx.shared("s3.client", lambda: _build_client(ctx))


def s3_error(exc: Exception, what: str) -> S3CheckError:
    """Turn a botocore exception into a ✗ with a fix."""
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return S3CheckError(
            failed(f"{what}: no S3 credentials found here", "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)")
        )
    reason = describe_client_error(exc, what)
    if "access denied" in reason:
        fix = "grant this identity s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on the bucket/prefix"
    elif "bucket does not exist" in reason:
        fix = "create the bucket, or fix bootstrap.workdir / the source path in the config"
    elif "unreachable" in reason:
        fix = "check s3.endpoint / s3.region in the values files and the network path to the endpoint"
    else:
        fix = "see the S3 error above"
    return S3CheckError(failed(reason, fix))


def list_objects(ctx: CheckContext, location: S3Location, limit: int = MAX_LISTED_KEYS) -> tuple[list[S3Object], bool]:
    """Objects under a prefix in key order (directory markers skipped), and whether the list was cut."""
    out: list[S3Object] = []
    s3 = client(ctx)  # outside the try: a missing boto3 is not "S3 unreachable"
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=location.bucket, Prefix=location.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                if not item["Key"].endswith("/"):
                    modified = item.get("LastModified")
                    millis = int(modified.timestamp() * 1000) if hasattr(modified, "timestamp") else 0
                    out.append(S3Object(item["Key"], int(item.get("Size", 0)), millis))
                if len(out) >= limit:
                    return out, True
    except Exception as exc:  # noqa: BLE001 - every botocore failure becomes one line
        raise s3_error(exc, f"listing {location.uri(location.prefix)}") from exc
    return out, False


def head(ctx: CheckContext, uri: str) -> dict[str, Any] | None:
    """The object's HEAD response; None when it does not exist."""
    location = S3Location.parse(uri)
    s3 = client(ctx)
    try:
        return s3.head_object(Bucket=location.bucket, Key=location.key)
    except Exception as exc:  # noqa: BLE001
        if is_not_found(exc):
            return None
        raise s3_error(exc, f"reading {uri}") from exc


def _exists(ctx: CheckContext, uri: str) -> bool:
    return head(ctx, uri) is not None


def _has_objects(ctx: CheckContext, uri: str) -> bool:
    objects, _ = list_objects(ctx, S3Location.parse(uri), limit=1)
    return bool(objects)


def _has_savepoint(ctx: CheckContext, uri: str) -> bool:
    """A Flink savepoint directory holds ``_metadata`` (directly or one level down)."""
    objects, _ = list_objects(ctx, S3Location.parse(uri), limit=10_000)
    return any(o.key.endswith("/_metadata") or o.key == "_metadata" for o in objects)


def _not_on_s3(what: str, uri: str) -> Outcome:
    return warned(f"{what} {uri!r} is not on S3: not checked from here", "")


def _human(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"  # pragma: no cover


# --- the checks -----------------------------------------------------------------------------


def check_workdir(ctx: CheckContext) -> Outcome:
    workdir = ctx.deployment.storage.workdir
    if not is_object_store(workdir):
        return _not_on_s3("bootstrap.workdir", workdir)
    location = S3Location.parse(workdir)
    s3 = client(ctx)
    try:
        s3.head_bucket(Bucket=location.bucket)
    except Exception as exc:  # noqa: BLE001
        return s3_error(exc, f"bucket {location.bucket}").outcome
    probe = f"{location.prefix}.ranker-check-{uuid.uuid4().hex}"
    try:
        s3.put_object(Bucket=location.bucket, Key=probe, Body=b"ranker-values check probe\n")
    except Exception as exc:  # noqa: BLE001
        return s3_error(exc, f"writing a probe object to {location.uri(probe)}").outcome
    try:
        s3.delete_object(Bucket=location.bucket, Key=probe)
    except Exception as exc:  # noqa: BLE001
        return s3_error(exc, f"removing the probe object {location.uri(probe)}").outcome
    return passed(f"bucket {location.bucket} exists; a probe object under {workdir} was written and removed")


def _event_files_local(path: str) -> list[tuple[str, int, int]] | None:
    """(path, size, modification time in ms) of every file under ``path``; None when absent."""
    import os

    def entry(full: str) -> tuple[str, int, int]:
        stat = os.stat(full)
        return (full, stat.st_size, stat.st_mtime_ns // 1_000_000)

    if os.path.isfile(path):
        return [entry(path)]
    if not os.path.isdir(path):
        return None
    found = []
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                found.append(entry(os.path.join(root, name)))
            except OSError:  # vanished or unreadable: the engine could not read it either
                continue
    return sorted(found)


def check_events(ctx: CheckContext) -> Outcome:
    """Event files under the bootstrap source that Metarank 0.4.1 reads (check/event_files.py):
    none is a failure, some skipped a warning (their events would silently be left out)."""
    from ranker_values.ops.check.event_files import DESCRIBED, name_is_read, offset_filter

    source = ctx.deployment.bootstrap_source
    if source.type != "file":
        return warned(f"bootstrap source is {source.type!r}, not files: nothing to list")
    path = str(source.get("path", ""))
    fix = f"upload the historical events ({DESCRIBED}) there, or fix bootstrap.source.path"
    at_least, root = "", local_path(path) or path
    if not is_object_store(path):
        listed = _event_files_local(root)
        if listed is None:
            return warned(f"bootstrap source {path!r} is not on this machine (the pods see it on their volume)")
        files = listed
    else:
        objects, cut = list_objects(ctx, S3Location.parse(path))
        location = S3Location.parse(path)
        files = [(location.uri(o.key), o.size, o.modified_ms) for o in objects]
        at_least = "at least " if cut else ""
    if not files:
        return failed(f"no event files under {path}", fix)
    in_time, offset_note = offset_filter(source.get("offset"))
    by_name = [f for f in files if name_is_read(f[0])]
    read = [f for f in by_name if in_time(f[2])]
    skipped_names = [f[0] for f in files if not name_is_read(f[0])]
    skipped_time = len(by_name) - len(read)
    skipped = []
    if skipped_names:
        shown = ", ".join(_short_name(n, root) for n in skipped_names[:3])
        more = f" (+{len(skipped_names) - 3} more)" if len(skipped_names) > 3 else ""
        skipped.append(f"{len(skipped_names)} by name ({shown}{more}): it reads only {DESCRIBED}")
    if skipped_time:
        skipped.append(f"{skipped_time} by bootstrap.source.{offset_note}")
    engine = "Metarank 0.4.1's file source (FileEventSource.selectFile)"
    if not read:
        return failed(f"{at_least}{len(files)} files under {path}, none of which {engine} reads: skips " + "; ".join(skipped), fix)
    total = sum(size for _, size, _ in read)
    if total == 0:
        return failed(f"{len(read)} event files under {path}, all empty", fix)
    summary = f"{at_least}{len(read)} event files, {at_least}{_human(total)} under {path}"
    if skipped:
        return warned(
            f"{summary}; {engine} skips {len(skipped_names) + skipped_time} more: " + "; ".join(skipped),
            "rename the files the engine should read (e.g. events.jsonl.gz), or move the others out of the source path",
        )
    return passed(summary)


def _short_name(name: str, root: str) -> str:
    """A file's name relative to the source path, for messages."""
    prefix = root.rstrip("/") + "/"
    return name[len(prefix):] if name.startswith(prefix) else name.rsplit("/", 1)[-1]


def _later(ctx: CheckContext, step: str, missing: list[str], present: list[str], fix: str) -> Outcome:
    if not missing:
        return passed("present: " + ", ".join(present))
    reason = "missing: " + ", ".join(missing)
    if ctx.done(step):
        return failed(f"{reason} although --done says {ctx.options.done} has run", fix)
    return warned(f"{reason}: not there yet, run the {step} step first", "")


def check_bootstrap_output(ctx: CheckContext) -> Outcome:
    layout = ctx.deployment.storage
    if not layout.is_object_store:
        return _not_on_s3("bootstrap.workdir", layout.workdir)
    wanted = {f"features ({layout.features})": lambda: _has_objects(ctx, layout.features)}
    for model in ctx.deployment.trained_models:
        uri = layout.dataset(model.name)
        wanted[f"dataset-{model.name} ({uri})"] = lambda uri=uri: _has_objects(ctx, uri)
    wanted[f"savepoint _metadata ({layout.savepoint})"] = lambda: _has_savepoint(ctx, layout.savepoint)
    present, missing = [], []
    for label, probe in wanted.items():
        (present if probe() else missing).append(label)
    return _later(ctx, "bootstrap", missing, present, "look at the bootstrap job's logs; re-run it (stages.bootstrap.rerunNonce)")


def check_models(ctx: CheckContext) -> Outcome:
    models = ctx.deployment.trained_models
    if not models:
        return passed("no lambdamart models: nothing to train")
    present, missing, elsewhere = [], [], []
    for model in models:
        path = model.path or ""
        if not is_object_store(path):
            elsewhere.append(f"{model.name} ({path})")
            continue
        (present if _exists(ctx, path) else missing).append(f"{model.name} ({path})")
    if elsewhere and not present and not missing:
        return warned("model paths are not on S3, not checked from here: " + ", ".join(elsewhere))
    return _later(ctx, "train", missing, present, "look at the train job's logs; the model path in the config must match")


#: Metarank 0.4.1's ``S3FS.listRecursive`` sends ONE ListObjectsV2 request and never follows
#: ``NextContinuationToken``: it sees at most this many keys (the S3 page size).
ENGINE_LIST_PAGE = 1000


def check_engine_listing(ctx: CheckContext) -> Outcome:
    """The train step lists ``<workdir>/dataset-<model>`` with one ListObjectsV2 page (S3FS.scala):
    past 1,000 keys it silently trains on a subset. Send the very request the engine sends."""
    layout = ctx.deployment.storage
    if not layout.is_object_store or not ctx.deployment.trained_models:
        return passed("the engine lists nothing on S3 here (no s3:// workdir with lambdamart models)")
    s3 = client(ctx)
    over, seen = [], []
    for model in ctx.deployment.trained_models:
        # MPath./ joins without a trailing slash: the engine's prefix is exactly this
        location = S3Location.parse(layout.dataset(model.name))
        prefix = location.prefix.rstrip("/")
        try:
            page = s3.list_objects_v2(Bucket=location.bucket, Prefix=prefix)
        except Exception as exc:  # noqa: BLE001
            return s3_error(exc, f"listing {location.uri(prefix)}").outcome
        keys = [item["Key"] for item in page.get("Contents", [])]
        json_keys = sum(1 for k in keys if k.endswith(".json"))
        label = f"dataset-{model.name}"
        if page.get("IsTruncated"):
            over.append(f"{label}: more than {ENGINE_LIST_PAGE} keys under {location.uri(prefix)}; the engine "
                        f"sees the first {len(keys)} ({json_keys} dataset files) and trains on those only")
        else:
            seen.append(f"{label}: {len(keys)} keys ({json_keys} dataset files)")
    if over:
        return warned(
            "; ".join(over) + " (Metarank 0.4.1 S3FS.listRecursive reads a single ListObjectsV2 page)",
            "keep each dataset under 1,000 files (the bootstrap's file sink writes per subtask and roll), "
            "or use a workdir on the shared volume (a local listing is complete)",
        )
    return passed(f"within the engine's one-page listing ({ENGINE_LIST_PAGE} keys): " + ", ".join(seen))


def checks() -> list[Check]:
    return [
        Check("s3.workdir", check_workdir),
        Check("s3.events", check_events),
        Check("s3.bootstrap-output", check_bootstrap_output),
        Check("s3.models", check_models),
        Check("s3.engine-listing", check_engine_listing),
    ]


def object_iter_bytes(ctx: CheckContext, location: S3Location) -> Iterator[bytes]:
    """Stream one object's bytes (used by the events and model checks)."""
    s3 = client(ctx)
    try:
        body = s3.get_object(Bucket=location.bucket, Key=location.key)["Body"]
    except Exception as exc:  # noqa: BLE001
        raise s3_error(exc, f"reading {location.uri()}") from exc
    try:
        yield from body.iter_chunks(chunk_size=1024 * 1024)
    except Exception as exc:  # noqa: BLE001
        raise s3_error(exc, f"reading {location.uri()}") from exc
    finally:
        body.close()
