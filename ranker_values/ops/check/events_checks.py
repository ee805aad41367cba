"""Events checks: the first N events of the bootstrap source decode as Metarank 0.4 events and
come in timestamp order.

The schema is Metarank's Flink-era ``ai/metarank/model/Event.scala`` (the 0.4.x line, with
``tenant`` defaulting to "default"): a circe decoder dispatching on ``event``:

* ``item`` (also accepted as ``metadata``, its older name): ``id``, ``item``, ``timestamp``;
* ``user``: ``id``, ``user``, ``timestamp``;
* ``ranking``: ``id``, ``timestamp``, ``user``, ``session``, ``items`` (a non-empty list of
  ``{id, relevancy?}``);
* ``interaction``: ``id``, ``item``, ``timestamp``, ``ranking``, ``user``, ``session``, ``type``;

``fields`` is optional everywhere (a list of ``{name, value}``, value a string, number, boolean
or a list of strings or numbers); ``tenant`` is an optional string. Ids are strings (circe's
``Decoder[String]`` refuses numbers). ``timestamp`` is featury's ``Timestamp``, decoded with
circe's ``Decoder.decodeLong``: epoch milliseconds as a JSON integer or as a string of digits.

Only the files Metarank 0.4.1's file source reads are sampled (``event_files``: ``.json``,
``.jsonl`` and any ``.gz``/``.gzip``/``.bz2``/``.xz``/``.deflate``, within ``offset``), in
key/name order, decompressed by suffix as Flink does. Reading stops after N events or a byte
budget.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ranker_values.files.inputs import Line, bounded_lines
from ranker_values.ops.check import s3_checks
from ranker_values.ops.check.event_files import compression, name_is_read, offset_filter
from ranker_values.ops.check.context import CheckContext
from ranker_values.ops.check.runner import Check, CheckAbort, Outcome, failed, passed, warned
from ranker_values.values.model import is_object_store, local_path
from ranker_values.ops.s3 import S3Location

EVENT_TYPES = ("item", "metadata", "user", "ranking", "interaction")
REQUIRED_STRINGS = {
    "item": ("item",),
    "metadata": ("item",),
    "user": ("user",),
    "ranking": ("user", "session"),
    "interaction": ("item", "ranking", "user", "session", "type"),
}
MAX_LINE_BYTES = 1024 * 1024
SHOWN_PROBLEMS = 3


# --- one event ------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "list", dict: "object"}.get(type(value), type(value).__name__)


def parse_timestamp(value: Any) -> int | None:
    """Epoch millis as circe's decodeLong reads them: an integer, or a string of digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _field_problem(index: int, item: Any) -> str | None:
    if not isinstance(item, dict):
        return f"fields[{index}] must be an object, got {_kind(item)}"
    if not isinstance(item.get("name"), str) or not item["name"]:
        return f"fields[{index}].name must be a non-empty string"
    if "value" not in item:
        return f"fields[{index}] ({item['name']}) has no value"
    value = item["value"]
    if isinstance(value, (str, bool, int, float)):
        return None
    if isinstance(value, list) and (
        all(isinstance(v, str) for v in value)
        or all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        return None
    return f"fields[{index}] ({item['name']}): value must be a string, number, boolean or a list of strings or numbers"


def _items_problem(items: Any) -> str | None:
    if not isinstance(items, list) or not items:
        return "ranking.items must be a non-empty list"
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            return f"items[{i}].id must be a non-empty string"
        relevancy = item.get("relevancy")
        if relevancy is not None and (isinstance(relevancy, bool) or not isinstance(relevancy, (int, float))):
            return f"items[{i}].relevancy must be a number, got {_kind(relevancy)}"
    return None


def event_problem(event: Any) -> str | None:
    """Why Metarank 0.4 would refuse this decoded JSON value, or None when it is a valid event."""
    if not isinstance(event, dict):
        return f"an event must be a JSON object, got {_kind(event)}"
    kind = event.get("event")
    if kind not in EVENT_TYPES:
        return f"event must be one of item, user, ranking, interaction; got {kind!r}"
    for key in ("id", *REQUIRED_STRINGS[kind]):
        if key not in event:
            return f"{kind} event without {key!r}"
        if not isinstance(event[key], str) or not event[key]:
            return f"{kind}.{key} must be a non-empty string, got {_kind(event[key])}"
    if "timestamp" not in event:
        return f"{kind} event without 'timestamp'"
    if parse_timestamp(event["timestamp"]) is None:
        return f"timestamp must be epoch millis (an integer or a string of digits), got {event['timestamp']!r}"
    if "tenant" in event and not isinstance(event["tenant"], str):
        return f"tenant must be a string, got {_kind(event['tenant'])}"
    fields = event.get("fields", [])
    if not isinstance(fields, list):
        return f"fields must be a list, got {_kind(fields)}"
    for i, item in enumerate(fields):
        problem = _field_problem(i, item)
        if problem:
            return problem
    if kind == "ranking":
        return _items_problem(event.get("items"))
    return None


# --- reading the sample ---------------------------------------------------------------------


@dataclass
class EventSample:
    source: str
    files: int = 0
    events: int = 0  # lines read (blank lines excluded)
    bytes: int = 0
    bad: list[tuple[str, str]] = field(default_factory=list)  # ("file:line", problem)
    backwards: list[tuple[str, int, int]] = field(default_factory=list)  # ("file:line", ts, previous max)
    truncated_by_bytes: bool = False


class _ChunkStream(io.RawIOBase):
    """A read-only stream over an iterator of byte chunks (an S3 body)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._rest:
            try:
                self._rest = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._rest))
        buffer[:n] = self._rest[:n]
        self._rest = self._rest[n:]
        return n


def _event_files(ctx: CheckContext, path: str) -> list[tuple[str, Any]]:
    """(display name, opener) per file the engine reads (name and offset), in name order."""
    in_time, _ = offset_filter(ctx.deployment.bootstrap_source.get("offset"))

    if is_object_store(path):
        objects, _ = s3_checks.list_objects(ctx, S3Location.parse(path))
        location = S3Location.parse(path)
        return [
            (f"s3://{location.bucket}/{o.key}", lambda key=o.key: _ChunkStream(s3_checks.object_iter_bytes(ctx, S3Location(location.bucket, key))))
            for o in sorted(objects, key=lambda o: o.key)
            if name_is_read(o.key) and in_time(o.modified_ms)
        ]
    root = local_path(path) or path
    if os.path.isfile(root):
        names = [root]
    elif os.path.isdir(root):
        names = sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files)
    else:
        raise CheckAbort(warned(f"bootstrap source {path!r} is not on this machine: events not sampled"))
    return [(name, lambda name=name: _open_local(name)) for name in names if name_is_read(name) and in_time(_mtime_ms(name))]


def _mtime_ms(name: str) -> int:
    try:
        return os.stat(name).st_mtime_ns // 1_000_000
    except OSError:
        return 0


def _open_local(name: str) -> Any:
    """Through the input gate: a FIFO or a device among the event files is refused, never read
    (a FIFO without a writer would block the check past its deadline)."""
    from ranker_values.errors import UsageError
    from ranker_values.files.inputs import open_regular

    try:
        return open_regular(name, "event file")
    except UsageError as exc:
        raise OSError(exc.message) from None


def _lines(raw: Any, compressed: str | None) -> Iterator[Line]:
    """Numbered lines, each at most MAX_LINE_BYTES in memory; a longer line is one Line with
    ``too_long`` (so the numbers after it stay right). ``compressed``: the suffix the engine
    decompresses by (event_files.compression)."""
    stream = io.BufferedReader(raw) if isinstance(raw, io.RawIOBase) else raw
    if compressed in ("gz", "gzip"):
        stream = gzip.GzipFile(fileobj=stream)
    elif compressed == "bz2":
        stream = bz2.BZ2File(stream)
    elif compressed == "xz":
        stream = lzma.LZMAFile(stream)
    elif compressed == "deflate":
        stream = io.BufferedReader(_Inflate(stream))
    with stream:
        yield from bounded_lines(stream, MAX_LINE_BYTES)


class _Inflate(io.RawIOBase):
    """A zlib stream, read incrementally (java.util.zip.InflaterInputStream, Flink's ``deflate``)."""

    def __init__(self, source: Any):
        self._source = source
        self._inflater = zlib.decompressobj()
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._rest:
            if self._inflater.eof:
                return 0
            data = self._inflater.unconsumed_tail or self._source.read(64 * 1024)
            if not data:
                raise EOFError("compressed stream ended early")
            self._rest = self._inflater.decompress(data, 1024 * 1024)  # bounded output per call
        n = min(len(buffer), len(self._rest))
        buffer[:n] = self._rest[:n]
        self._rest = self._rest[n:]
        return n

    def close(self) -> None:
        try:
            self._source.close()
        finally:
            super().close()


def _read_sample(ctx: CheckContext) -> EventSample:
    source = ctx.deployment.bootstrap_source
    if source.type != "file":
        raise CheckAbort(warned(f"bootstrap source is {source.type!r}, not files: events not sampled"))
    path = str(source.get("path", ""))
    sample = EventSample(source=path)
    limit, budget = ctx.options.events_sample, ctx.options.events_max_bytes
    newest: int | None = None
    for name, opener in _event_files(ctx, path):
        if sample.events >= limit:
            break
        sample.files += 1
        try:
            for line in _lines(opener(), compression(name)):
                if sample.events >= limit:
                    break
                if sample.bytes >= budget:
                    sample.truncated_by_bytes = True
                    break
                sample.bytes += line.length
                newest = _take(sample, f"{name}:{line.number}", line, newest)
        except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:  # BadGzipFile/bz2 errors are OSError
            sample.bad.append((name, f"cannot read the file: {exc}"))
        if sample.truncated_by_bytes:
            break
    return sample


def _take(sample: EventSample, where: str, line: Line, newest: int | None) -> int | None:
    """Validate one line, record problems; returns the newest timestamp seen so far."""
    if line.too_long:
        sample.events += 1
        sample.bad.append((where, f"line longer than {MAX_LINE_BYTES} bytes ({line.length} bytes)"))
        return newest
    if not line.data.strip():
        return newest
    sample.events += 1
    try:
        event = json.loads(line.data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        sample.bad.append((where, f"not JSON: {exc.msg if hasattr(exc, 'msg') else exc}"))
        return newest
    except RecursionError:  # "[[[[…" nested past Python's recursion limit
        sample.bad.append((where, "not an event: JSON nested too deeply"))
        return newest
    problem = event_problem(event)
    if problem:
        sample.bad.append((where, problem))
        return newest
    ts = parse_timestamp(event["timestamp"])
    assert ts is not None  # event_problem checked it
    if newest is not None and ts < newest:
        sample.backwards.append((where, ts, newest))
        return newest
    return ts


def sample(ctx: CheckContext) -> EventSample:
    return ctx.shared("events.sample", lambda: _read_sample(ctx))


# --- the checks -----------------------------------------------------------------------------


def _where(sample: EventSample) -> str:
    cut = " (byte budget reached)" if sample.truncated_by_bytes else ""
    return f"{sample.events} events from {sample.files} files{cut}"


def check_schema(ctx: CheckContext) -> Outcome:
    s = sample(ctx)
    if s.events == 0 and not s.bad:
        return failed(f"no events in {s.source}", "upload the historical events there, or fix bootstrap.source.path")
    if s.bad:
        shown = "; ".join(f"{where}: {problem}" for where, problem in s.bad[:SHOWN_PROBLEMS])
        more = f" (+{len(s.bad) - SHOWN_PROBLEMS} more)" if len(s.bad) > SHOWN_PROBLEMS else ""
        return failed(
            f"{len(s.bad)} bad lines in {_where(s)}: {shown}{more}",
            "fix the exporter: Metarank 0.4 cannot decode these lines",
        )
    return passed(f"{_where(s)} decode as Metarank 0.4 events")


def check_order(ctx: CheckContext) -> Outcome:
    s = sample(ctx)
    if s.events == 0:
        return warned("no events sampled: order not checked")
    if s.backwards:
        where, ts, newest = s.backwards[0]
        return failed(
            f"timestamps go backwards {len(s.backwards)} times in {_where(s)}; first at {where} ({ts} < {newest})",
            "sort the events by timestamp (files in name order, lines in time order) before bootstrap",
        )
    return passed(f"timestamps are in order in {_where(s)}")


def checks() -> list[Check]:
    return [Check("events.schema", check_schema), Check("events.order", check_order)]
