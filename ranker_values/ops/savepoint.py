"""Find and take savepoints of a release's update job (``ranker-values savepoint latest|trigger``).

A savepoint is *complete* only when its ``_metadata`` object exists: Flink writes it last, so a
directory without it is in progress or broken and is never chosen. Three places know about
savepoints, and :func:`latest_savepoint` merges them:

(a) ``FlinkStateSnapshot`` resources (operator >= 1.10): ``status.state == COMPLETED``,
    ``status.path``, ``status.resultTimestamp``;
(b) the ``FlinkDeployment`` status: ``jobStatus.savepointInfo.lastSavepoint`` / ``savepointHistory``
    (location + epoch-millis ``timeStamp``) and ``jobStatus.upgradeSavepointPath`` (no time);
(c) the S3 savepoint directory: ``savepoint-<jobid6>-<random12>/`` prefixes, complete when
    ``_metadata`` exists, timed by its ``LastModified``.

S3 cost (see README "Upgrading"): the directories come from one ``ListObjectsV2`` with
``Delimiter='/'`` per 1,000 savepoints, then one ``HeadObject`` of ``<dir>/_metadata`` per
directory, run concurrently. Nothing ever lists the objects inside a savepoint, so the cost is
``ceil(N/1000) + N`` requests for N savepoints whatever their size. No listing trick can tell
"has ``_metadata``" from "has only state files" without a per-directory request: state files are
random hex UUIDs sharing the directory's alphabet, so any delimiter that folds a directory's state
files into one prefix folds ``_metadata`` into the same one. With a cluster, the operator's records
are the index instead: candidates are verified newest-first with one ``HeadObject`` each.

boto3 is imported only inside :mod:`ranker_values.ops.s3`'s ``make_client``.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from ranker_values.kube.cluster import Cluster, ClusterError, Obj
from ranker_values.errors import InvalidInput
from ranker_values.ops.s3 import S3Location, describe_client_error, is_not_found

FLINKDEPLOYMENTS = "flinkdeployments"
SNAPSHOTS = "flinkstatesnapshots"
SNAPSHOT_CRD = "flinkstatesnapshots.flink.apache.org"
METADATA = "_metadata"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
# Flink: "savepoint-" + first 6 chars of the job id + "-" + 12 random hex chars.
SAVEPOINT_DIR = re.compile(r"^savepoint-[0-9a-f]{6}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class Savepoint:
    path: str  # as the source wrote it (s3://, s3a://, s3p://)
    time: datetime | None  # completion time, UTC; None when the source does not say
    source: str  # where it was found, for the report

    @property
    def key(self) -> tuple[str, str]:
        """Scheme-independent identity: (bucket, key without trailing slash)."""
        return _path_key(self.path)


def _path_key(path: str) -> tuple[str, str]:
    try:
        loc = S3Location.parse(path)
        return (loc.bucket, loc.key)
    except InvalidInput:
        return ("", path.rstrip("/"))


# --- the cluster: find the update FlinkDeployment ------------------------------------------


def find_stage_deployment(cluster: Cluster, release: str, namespace: str, component: str = "update") -> Obj | None:
    """The release's FlinkDeployment of one stage, found by labels (never by guessing its name)."""
    found = [
        obj
        for obj in cluster.list_custom(FLINKDEPLOYMENTS, namespace)
        if _labels(obj).get(LABEL_INSTANCE) == release and _labels(obj).get(LABEL_COMPONENT) == component
    ]
    if len(found) > 1:
        names = ", ".join(sorted(_name(o) for o in found))
        raise InvalidInput(
            f"release {release!r} has {len(found)} FlinkDeployments labelled component={component} "
            f"in namespace {namespace}: {names}; expected one"
        )
    return found[0] if found else None


def require_stage_deployment(cluster: Cluster, release: str, namespace: str, component: str = "update") -> Obj:
    obj = find_stage_deployment(cluster, release, namespace, component)
    if obj is None:
        raise InvalidInput(
            f"no FlinkDeployment with labels {LABEL_INSTANCE}={release}, {LABEL_COMPONENT}={component} "
            f"in namespace {namespace!r}; check --release and --namespace"
        )
    return obj


def _labels(obj: Obj) -> dict[str, Any]:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels if isinstance(labels, dict) else {}


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", "?"))


def supports_snapshot_resources(cluster: Cluster) -> bool:
    """Operator >= 1.10 installs the FlinkStateSnapshot CRD; older ones only know the nonces.
    An objects file may hold FlinkStateSnapshots without their CRD: they prove it is installed."""
    if cluster.get_crd(SNAPSHOT_CRD) is not None:
        return True
    return bool(getattr(cluster, "custom", {}).get(SNAPSHOTS))


# --- (a) FlinkStateSnapshot resources ------------------------------------------------------


def snapshot_savepoints(cluster: Cluster, deployment: Obj) -> list[Savepoint]:
    """COMPLETED savepoint snapshots that reference the deployment."""
    namespace = (deployment.get("metadata") or {}).get("namespace", "default")
    target = _name(deployment)
    out = []
    for snap in cluster.list_custom(SNAPSHOTS, namespace):
        spec = mapping_field(snap, "spec", snap)
        ref = mapping_field(spec, "jobReference", snap, "spec.jobReference")
        if ref.get("name") != target or ref.get("kind", "FlinkDeployment") != "FlinkDeployment":
            continue
        if spec.get("savepoint") is None:  # a checkpoint snapshot
            continue
        status = mapping_field(snap, "status", snap)
        if string_field(status, "state", snap, "status.state") != "COMPLETED":
            continue
        path = string_field(status, "path", snap, "status.path")
        if not path:
            raise _malformed(snap, "status.path", "is empty although status.state is COMPLETED")
        when = _iso_time(status.get("resultTimestamp"), snap, "status.resultTimestamp")
        if when is None:
            when = _iso_time((snap.get("metadata") or {}).get("creationTimestamp"), snap, "metadata.creationTimestamp")
        out.append(Savepoint(path, when, f"FlinkStateSnapshot/{_name(snap)}"))
    return out


# --- (b) the FlinkDeployment status (legacy, and the upgrade savepoint) --------------------


def status_savepoints(deployment: Obj) -> list[Savepoint]:
    status = mapping_field(deployment, "status", deployment)
    job = mapping_field(status, "jobStatus", deployment, "status.jobStatus")
    info = mapping_field(job, "savepointInfo", deployment, "status.jobStatus.savepointInfo")
    where = f"FlinkDeployment/{_name(deployment)}"
    out = []
    last = mapping_field(info, "lastSavepoint", deployment, "status.jobStatus.savepointInfo.lastSavepoint")
    if last:
        out.extend(_status_entry(last, deployment, "status.jobStatus.savepointInfo.lastSavepoint", where))
    history = info.get("savepointHistory") or []
    if not isinstance(history, list):
        raise _malformed(deployment, "status.jobStatus.savepointInfo.savepointHistory", "must be a list")
    for i, entry in enumerate(history):
        if not isinstance(entry, dict):
            raise _malformed(deployment, f"status.jobStatus.savepointInfo.savepointHistory[{i}]", "must be a mapping")
        out.extend(_status_entry(entry, deployment, f"status.jobStatus.savepointInfo.savepointHistory[{i}]", where))
    upgrade = string_field(job, "upgradeSavepointPath", deployment, "status.jobStatus.upgradeSavepointPath")
    if upgrade:
        out.append(Savepoint(upgrade, None, f"{where} status.jobStatus.upgradeSavepointPath"))
    return out


def _status_entry(entry: dict[str, Any], obj: Obj, where: str, source: str) -> list[Savepoint]:
    location = string_field(entry, "location", obj, f"{where}.location")
    if not location:
        return []
    stamp = entry.get("timeStamp")
    if stamp is not None and (isinstance(stamp, bool) or not isinstance(stamp, int)):
        raise _malformed(obj, f"{where}.timeStamp", f"must be epoch milliseconds (an integer), got {stamp!r}")
    try:
        when = datetime.fromtimestamp(stamp / 1000, timezone.utc) if stamp else None
    except (OverflowError, OSError, ValueError):
        raise _malformed(obj, f"{where}.timeStamp", f"{stamp} is not a plausible epoch-milliseconds time") from None
    return [Savepoint(location, when, f"{source} {where.removeprefix('status.jobStatus.')}")]


# --- (c) the S3 savepoint directory --------------------------------------------------------


class RequestCounter:
    """Counts the HTTP requests a boto3 client sends, by operation (botocore ``before-send``)."""

    def __init__(self, client: Any):
        self.by_operation: Counter[str] = Counter()
        self._lock = threading.Lock()
        client.meta.events.register("before-send.s3.*", self._count)

    def _count(self, event_name: str, **_: Any) -> None:
        with self._lock:
            self.by_operation[event_name.rsplit(".", 1)[-1]] += 1

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())

    def summary(self) -> str:
        parts = ", ".join(f"{op} {n}" for op, n in sorted(self.by_operation.items()))
        return f"{self.total} S3 requests ({parts or 'none'})"


@dataclass
class S3Scan:
    complete: list[Savepoint] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)  # directory URIs without _metadata
    ignored: list[str] = field(default_factory=list)  # prefixes not named like a Flink savepoint


def s3_call(what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one boto3 call; any failure becomes a one-line InvalidInput (never a traceback)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return fn(*args, **kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise InvalidInput(describe_client_error(exc, what)) from exc


def list_savepoint_dirs(client: Any, location: S3Location, page_size: int = 1000) -> list[str]:
    """Keys of the prefixes directly under ``location`` (one request per ``page_size``, max 1,000)."""
    prefixes: list[str] = []
    token: str | None = None
    while True:
        kwargs = {"Bucket": location.bucket, "Prefix": location.prefix, "Delimiter": "/", "MaxKeys": page_size}
        if token:
            kwargs["ContinuationToken"] = token
        page = s3_call(f"listing {location.uri()}", client.list_objects_v2, **kwargs)
        prefixes.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
        if not page.get("IsTruncated"):
            return prefixes
        token = page.get("NextContinuationToken")


def metadata_time(client: Any, bucket: str, dir_key: str) -> datetime | None:
    """``LastModified`` of ``<dir>/_metadata``, None when it does not exist."""
    key = f"{dir_key.rstrip('/')}/{METADATA}"
    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except Exception as exc:  # noqa: BLE001 - botocore client and network errors of every kind
        if is_not_found(exc):
            return None
        raise InvalidInput(describe_client_error(exc, f"reading s3://{bucket}/{key}")) from exc
    return head["LastModified"].astimezone(timezone.utc)


def scan_s3(client: Any, location: S3Location, workers: int = 16, page_size: int = 1000) -> S3Scan:
    scan = S3Scan()
    dirs = []
    for prefix in list_savepoint_dirs(client, location, page_size):
        name = prefix[len(location.prefix) :].rstrip("/")
        (dirs if SAVEPOINT_DIR.match(name) else scan.ignored).append(prefix)
    scan.ignored = [f"s3://{location.bucket}/{p}" for p in scan.ignored]
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(dirs)))) as pool:
        times = list(pool.map(lambda d: metadata_time(client, location.bucket, d), dirs))
    for prefix, when in zip(dirs, times):
        uri = f"s3://{location.bucket}/{prefix.rstrip('/')}"
        if when is None:
            scan.incomplete.append(uri)
        else:
            scan.complete.append(Savepoint(uri, when, "s3 _metadata"))
    return scan


def verify_complete(client: Any, path: str) -> datetime:
    """The ``_metadata`` time of a savepoint path, or InvalidInput when it is not complete."""
    loc = S3Location.parse(path)
    when = metadata_time(client, loc.bucket, loc.key)
    if when is None:
        raise InvalidInput(f"{path} is not a complete savepoint: {loc.uri(loc.key + '/' + METADATA)} does not exist")
    return when


# --- choosing ------------------------------------------------------------------------------


@dataclass
class LatestResult:
    chosen: Savepoint
    candidates: list[Savepoint]  # merged, newest first
    verified: bool  # _metadata seen on S3
    incomplete: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def merge_candidates(found: Iterable[Savepoint]) -> list[Savepoint]:
    """One entry per path (newest known time wins), newest first; unknown times last."""
    best: dict[tuple[str, str], Savepoint] = {}
    for sp in found:
        prev = best.get(sp.key)
        if prev is None:
            best[sp.key] = sp
            continue
        when = max((t for t in (prev.time, sp.time) if t is not None), default=None)
        keep = prev if prev.path.startswith("s3://") or not sp.path.startswith("s3://") else sp
        sources = prev.source if sp.source in prev.source else f"{prev.source}; {sp.source}"
        best[sp.key] = Savepoint(keep.path, when, sources)
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    return sorted(best.values(), key=lambda s: (s.time is not None, s.time or epoch), reverse=True)


def latest_savepoint(
    *,
    cluster_found: list[Savepoint] | None,
    s3_client: Any | None,
    savepoints_dir: str | None,
    scan: bool,
    workers: int = 16,
) -> LatestResult:
    """The newest complete savepoint.

    ``cluster_found``: candidates from (a)+(b), or None without a cluster. ``scan``: list the S3
    directory (c). With an ``s3_client``, a cluster candidate is accepted only once its
    ``_metadata`` is seen; candidates are tried newest first, one ``HeadObject`` each.
    """
    notes: list[str] = []
    found = list(cluster_found or [])
    incomplete: list[str] = []
    scanned: dict[tuple[str, str], Savepoint] = {}
    if scan:
        if s3_client is None or not savepoints_dir:
            raise InvalidInput("scanning S3 needs the savepoint directory (ranking.paths.savepoints or --savepoints-dir)")
        result = scan_s3(s3_client, S3Location.parse(savepoints_dir), workers)
        scanned = {sp.key: sp for sp in result.complete}
        found.extend(result.complete)
        incomplete = result.incomplete
        if result.ignored:
            notes.append(f"ignored {len(result.ignored)} prefix(es) not named savepoint-<job>-<random>")
    incomplete_keys = {_path_key(p) for p in incomplete}
    candidates = merge_candidates(found)
    if not candidates:
        where = savepoints_dir if scan else "the cluster"
        said = "".join(f"\n  note: {note}" for note in notes)  # e.g. prefixes ignored by name
        raise InvalidInput(f"no completed savepoint found in {where}" + _incomplete_note(incomplete) + said)
    if s3_client is None:
        notes.append("not verified on S3 (no S3 access requested): trusting the operator's status")
        return LatestResult(candidates[0], candidates, False, incomplete, notes)
    for candidate in candidates:
        if candidate.key in scanned:
            return LatestResult(candidate, candidates, True, incomplete, notes)
        if candidate.key in incomplete_keys:
            notes.append(f"skipped {candidate.path}: reported complete by {candidate.source} but has no {METADATA}")
            continue
        when = metadata_time(s3_client, *_path_key(candidate.path))
        if when is not None:
            chosen = Savepoint(candidate.path, candidate.time or when, candidate.source)
            return LatestResult(chosen, candidates, True, incomplete, notes)
        notes.append(f"skipped {candidate.path}: reported by {candidate.source} but {METADATA} does not exist")
    raise InvalidInput(
        "no completed savepoint: every candidate lacks its _metadata object\n  "
        + "\n  ".join(notes)
        + _incomplete_note(incomplete)
    )


def _incomplete_note(incomplete: list[str]) -> str:
    if not incomplete:
        return ""
    shown = ", ".join(incomplete[:3]) + (" ..." if len(incomplete) > 3 else "")
    return f" ({len(incomplete)} directory(ies) without {METADATA}, in progress or broken: {shown})"


def cluster_candidates(cluster: Cluster, deployment: Obj) -> list[Savepoint]:
    found = status_savepoints(deployment)
    if supports_snapshot_resources(cluster):
        found.extend(snapshot_savepoints(cluster, deployment))
    return found


# --- trigger -------------------------------------------------------------------------------


@dataclass
class Waiter:
    """Polling with an injectable clock and sleep, so tests need no real time."""

    timeout: float
    poll_interval: float = 5.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True)


@dataclass
class TriggerResult:
    path: str
    how: str  # "FlinkStateSnapshot/<name>" or "savepointTriggerNonce=<n>"
    values_hint: str | None = None


def trigger_savepoint(
    cluster: Cluster,
    deployment: Obj,
    waiter: Waiter,
    mode: str = "auto",
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> TriggerResult:
    """Take a manual savepoint of a running update job and wait for it."""
    _require_running(deployment)
    if mode == "auto":
        mode = "snapshot" if supports_snapshot_resources(cluster) else "nonce"
    if mode == "snapshot":
        return _trigger_snapshot(cluster, deployment, waiter, now())
    if mode == "nonce":
        return _trigger_nonce(cluster, deployment, waiter)
    raise InvalidInput(f"unknown trigger mode {mode!r} (auto, snapshot or nonce)")


def _require_running(deployment: Obj) -> None:
    status = mapping_field(deployment, "status", deployment)
    job = mapping_field(status, "jobStatus", deployment, "status.jobStatus")
    state = string_field(job, "state", deployment, "status.jobStatus.state")
    if state != "RUNNING":
        raise InvalidInput(
            f"FlinkDeployment/{_name(deployment)}: the job is {state or 'not reported'}, not RUNNING; "
            "a savepoint can only be taken of a running job"
        )


def snapshot_name(deployment_name: str, at: datetime) -> str:
    return f"{deployment_name}-manual-{at.strftime('%Y%m%d-%H%M%S')}"


def _trigger_snapshot(cluster: Cluster, deployment: Obj, waiter: Waiter, at: datetime) -> TriggerResult:
    meta = deployment.get("metadata") or {}
    namespace = meta.get("namespace", "default")
    name = snapshot_name(_name(deployment), at)
    labels = {k: v for k, v in _labels(deployment).items() if k in (LABEL_INSTANCE, LABEL_COMPONENT, "app.kubernetes.io/name")}
    body = {
        "apiVersion": "flink.apache.org/v1beta1",
        "kind": "FlinkStateSnapshot",
        "metadata": {"name": name, "namespace": namespace, "labels": {**labels, "app.kubernetes.io/managed-by": "ranker-values"}},
        # no path: the operator uses the job's configured savepoint directory
        "spec": {
            "jobReference": {"kind": "FlinkDeployment", "name": _name(deployment)},
            "savepoint": {"disposeOnDelete": False},
            "backoffLimit": 0,
        },
    }
    cluster.create_custom(SNAPSHOTS, namespace, body)
    waiter.progress(f"created FlinkStateSnapshot/{name} in {namespace}; waiting up to {waiter.timeout:g}s")

    def poll() -> tuple[str, str | None]:
        snap = cluster.get_custom(SNAPSHOTS, name, namespace)
        if snap is None:
            raise ClusterError(f"FlinkStateSnapshot/{name} disappeared while waiting for it")
        status = mapping_field(snap, "status", snap)
        state = string_field(status, "state", snap, "status.state") or "TRIGGER_PENDING"
        if state == "COMPLETED":
            path = string_field(status, "path", snap, "status.path")
            if not path:
                raise _malformed(snap, "status.path", "is empty although status.state is COMPLETED")
            return state, path
        if state in ("FAILED", "ABANDONED"):
            error = string_field(status, "error", snap, "status.error") or "no error reported"
            raise InvalidInput(f"FlinkStateSnapshot/{name} {state}: {error}")
        return state, None

    path = _wait(poll, waiter, f"FlinkStateSnapshot/{name}")
    return TriggerResult(path, f"FlinkStateSnapshot/{name}")


def current_trigger_nonce(deployment: Obj) -> int:
    job = mapping_field(mapping_field(deployment, "spec", deployment), "job", deployment, "spec.job")
    return nonce_field(job.get("savepointTriggerNonce"), deployment, "spec.job.savepointTriggerNonce")


def _trigger_nonce(cluster: Cluster, deployment: Obj, waiter: Waiter) -> TriggerResult:
    """Legacy operators (< 1.10): bump ``spec.job.savepointTriggerNonce`` with a merge patch.

    The live object then differs from what Helm rendered. The operator ignores the nonce in its
    spec diff, so no upgrade follows; the next ``helm upgrade`` may drop the field again (removing
    a nonce never triggers anything). We print the values line that keeps both in agreement.
    """
    meta = deployment.get("metadata") or {}
    namespace = meta.get("namespace", "default")
    name = _name(deployment)
    nonce = current_trigger_nonce(deployment) + 1
    cluster.patch_custom(FLINKDEPLOYMENTS, name, namespace, {"spec": {"job": {"savepointTriggerNonce": nonce}}})
    waiter.progress(f"patched FlinkDeployment/{name} spec.job.savepointTriggerNonce={nonce}; waiting up to {waiter.timeout:g}s")

    def poll() -> tuple[str, str | None]:
        obj = cluster.get_custom(FLINKDEPLOYMENTS, name, namespace)
        if obj is None:
            raise ClusterError(f"FlinkDeployment/{name} disappeared while waiting for its savepoint")
        status = mapping_field(obj, "status", obj)
        job = mapping_field(status, "jobStatus", obj, "status.jobStatus")
        info = mapping_field(job, "savepointInfo", obj, "status.jobStatus.savepointInfo")
        last = mapping_field(info, "lastSavepoint", obj, "status.jobStatus.savepointInfo.lastSavepoint")
        if last.get("triggerNonce") == nonce and string_field(last, "location", obj, "lastSavepoint.location"):
            return "COMPLETED", last["location"]
        if string_field(info, "triggerId", obj, "status.jobStatus.savepointInfo.triggerId"):
            return "IN_PROGRESS", None
        error = string_field(status, "error", obj, "status.error")
        return ("TRIGGER_PENDING" if not error else f"TRIGGER_PENDING (status.error: {error[:200]})"), None

    path = _wait(poll, waiter, f"FlinkDeployment/{name} savepoint (nonce {nonce})")
    hint = f"stages:\n  update:\n    savepointTriggerNonce: {nonce}"
    return TriggerResult(path, f"savepointTriggerNonce={nonce}", values_hint=hint)


def _wait(poll: Callable[[], tuple[str, str | None]], waiter: Waiter, what: str) -> str:
    start = waiter.clock()
    last_state = None
    last_report = start
    while True:
        state, path = poll()
        elapsed = waiter.clock() - start
        if path is not None:
            waiter.progress(f"{what}: COMPLETED after {elapsed:.0f}s: {path}")
            return path
        if state != last_state or waiter.clock() - last_report >= 30:
            waiter.progress(f"{what}: {state} ({elapsed:.0f}s / {waiter.timeout:g}s)")
            last_state, last_report = state, waiter.clock()
        if elapsed >= waiter.timeout:
            raise InvalidInput(
                f"timed out after {waiter.timeout:g}s waiting for {what} (last state {state}); "
                "the operator may still complete it: check with `ranker-values savepoint latest`"
            )
        waiter.sleep(min(waiter.poll_interval, max(0.0, waiter.timeout - elapsed)))


# --- reading untrusted objects -------------------------------------------------------------


def _malformed(obj: Obj, where: str, problem: str) -> InvalidInput:
    meta = obj.get("metadata") or {}
    ref = f"{obj.get('kind', 'object')}/{meta.get('name', '?')} in {meta.get('namespace', 'default')}"
    return InvalidInput(f"{ref}: malformed {where}: {problem}")


def mapping_field(parent: dict[str, Any], key: str, obj: Obj, where: str | None = None) -> dict[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _malformed(obj, where or key, f"must be a mapping, got {type(value).__name__}")
    return value


def string_field(parent: dict[str, Any], key: str, obj: Obj, where: str) -> str:
    value = parent.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _malformed(obj, where, f"must be a string, got {type(value).__name__} {value!r}")
    return value


def nonce_field(value: Any, obj: Obj, where: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise _malformed(obj, where, f"must be an integer, got {type(value).__name__} {value!r}")
    return value


_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def _iso_time(value: Any, obj: Obj, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _malformed(obj, where, f"must be an ISO-8601 timestamp string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00"))
    except ValueError as exc:
        raise _malformed(obj, where, f"not an ISO-8601 timestamp: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
