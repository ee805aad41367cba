"""Which bootstrap event files Metarank 0.4.1's file source reads, and how it decompresses them.

``FileEventSource.selectFile`` (src/main/scala/ai/metarank/source/FileEventSource.scala at tag
0.4.1, lines 26-46) lists the source path recursively (``NonSplittingRecursiveEnumerator`` with
``selectFile`` as its only filter, so names starting with ``.`` or ``_`` are not skipped) and
keeps a file when both hold:

* its name ends with ``.json`` or ``.jsonl`` (line 27), or with ``.`` + one of Flink's
  ``StandardDeCompressors.getCommonSuffixes`` (line 26; Flink 1.15: ``deflate``, ``gz``,
  ``gzip``, ``bz2``, ``xz`` - no ``zst``): ``String.endsWith``, so case-sensitive, and any
  compressed file is read (``events.csv.gz`` too, which then fails to decode as JSON lines);
* its modification time passes ``offset`` (lines 39-44): ``earliest`` (the default) keeps every
  file, ``latest`` keeps none, ``ts=<millis>`` keeps files modified after it, ``last=<n><s|m|h|d>``
  files modified within that window.

Flink's ``StreamFormatAdapter`` then decompresses by the name's suffix (``deflate`` is the zlib
stream of ``java.util.zip.InflaterInputStream``).
"""

from __future__ import annotations

import re
import time
from typing import Any

#: FileEventSource.scala:27 ``commonExts``
PLAIN_SUFFIXES = (".json", ".jsonl")
#: FileEventSource.scala:26 ``compressedExts``: Flink 1.15.2 StandardDeCompressors (Deflate, Gzip, Bzip2, XZ)
COMPRESSED_SUFFIXES = (".deflate", ".gz", ".gzip", ".bz2", ".xz")
READ_SUFFIXES = PLAIN_SUFFIXES + COMPRESSED_SUFFIXES
DESCRIBED = "*.json, *.jsonl and any *.gz, *.gzip, *.bz2, *.xz or *.deflate (case-sensitive)"

_TS = re.compile(r"ts=([0-9]+)")
_LAST = re.compile(r"last=([0-9]+)([smhd])")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def name_is_read(name: str) -> bool:
    """Whether the engine's suffix rule keeps a file (``name``: a key or a path)."""
    return name.rsplit("/", 1)[-1].endswith(READ_SUFFIXES)


def compression(name: str) -> str | None:
    """The compressed suffix the engine decompresses ``name`` by ("gz", ...), or None."""
    for suffix in COMPRESSED_SUFFIXES:
        if name.endswith(suffix):
            return suffix[1:]
    return None


def offset_filter(offset: Any, now_ms: int | None = None) -> tuple[Any, str | None]:
    """(predicate on a modification time in epoch millis, a description when it drops files).

    An offset the engine would refuse is the config's problem (validate reports it); here it
    keeps every file."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    text = "earliest" if offset is None else str(offset)
    if text == "latest":
        return (lambda _mtime: False), "offset latest: the file source selects no file at all"
    match = _TS.fullmatch(text)
    if match:
        after = int(match.group(1))
        return (lambda mtime: mtime > after), f"offset {text}: only files modified after {after} ms"
    match = _LAST.fullmatch(text)
    if match:
        after = now - int(match.group(1)) * _UNIT_MS[match.group(2)]
        return (lambda mtime: mtime > after), f"offset {text}: only files modified in that window"
    return (lambda _mtime: True), None
