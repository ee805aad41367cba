"""The input gate: every file the CLI reads comes through here.

Configs, values files (``-f``), env files (``--env-file``), objects files (``--objects``), local
event files and local model files are all opened by :func:`open_regular`, which

* opens with ``O_NONBLOCK`` *before* ``fstat``, so a FIFO cannot block the open (a FIFO with no
  writer would otherwise hang ``open()`` forever), then refuses anything that is not a regular
  file — FIFOs, character/block devices (``/dev/zero``), sockets, directories — as a usage error
  (exit 2) naming what the path is;
* reads at most ``max_bytes`` (:func:`read_bounded`), so ``/dev/zero``-sized inputs cannot grow
  memory without bound.

YAML inputs other than the config (values, env and objects files) are parsed by
:func:`load_yaml_documents`: the parser's event stream is built into plain data with an explicit
stack (no recursion), bounded in depth and in nodes *after* alias expansion, so an alias bomb
stops after a bounded amount of work instead of hanging ``deep_merge``/``copy.deepcopy``. The
config has its own event builder with positions (:mod:`ranker_values.config.loader`), using the same
open and size bound.

Line-oriented inputs (event files) are split by :func:`bounded_lines`: a line longer than the
bound is reported once, as one line, and skipped without being held in memory, so line numbers
after it stay right.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from ranker_values.errors import InvalidInput, UsageError

#: Default size bound of a YAML input (values, env). A values file is a few KiB; the chart's
#: own values.yaml ~40 KiB.
MAX_YAML_BYTES = 10 * 1024 * 1024
#: ``kubectl get ... -o yaml`` of a namespace with operator CRDs can be several MiB.
MAX_OBJECTS_BYTES = 64 * 1024 * 1024
#: Deepest nesting accepted in a values or objects file. Helm values nest < 10 levels, a
#: ``kubectl get crd -o yaml`` of the Flink operator ~35.
MAX_YAML_DEPTH = 100
#: Nodes after alias expansion in one values/objects file (the Flink operator CRDs: ~60k).
MAX_YAML_NODES = 2_000_000


_INPUTS: set[tuple[int, int]] = set()


def inputs_read() -> frozenset[tuple[int, int]]:
    """(device, inode) of every file read through the gate since :func:`forget_inputs`: the
    output gate refuses to replace any of them."""
    return frozenset(_INPUTS)


def forget_inputs() -> None:
    """Start a new command (the CLI calls this; tests run many commands in one process)."""
    _INPUTS.clear()


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(path: Path | str, what: str = "file", register: bool = True) -> BinaryIO:
    """Open ``path`` for reading in binary mode if it is a regular file; UsageError otherwise.

    ``O_NONBLOCK`` makes ``open`` return at once for a FIFO without a writer (and for devices
    that would block); ``fstat`` on the open descriptor then decides, so there is no window
    between checking and opening. For a regular file the flag is cleared again (it has no effect
    on regular files anyway). ``register=False`` reads a file the command is about to replace
    (a backup copy of its own output), which must not count as an input."""
    name = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags)
    except FileNotFoundError:
        raise UsageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{name}: is a directory, not a {what}") from None
    except PermissionError:
        raise UsageError(f"{name}: permission denied") from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket, or a FIFO on some systems
            raise UsageError(f"{name}: is not a regular file; give a {what}") from None
        raise UsageError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        kind = _kind(st.st_mode)
        if kind is not None:
            raise UsageError(f"{name}: is {kind}, not a regular file; give a {what}")
        if register:
            _INPUTS.add((st.st_dev, st.st_ino))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def file_identity(path: Path | str) -> tuple[int, int] | None:
    """(device, inode) of an existing path (through symlinks), for the output gate."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


@dataclass
class Bounded:
    data: bytes
    too_large: bool


def read_bounded(path: Path | str, what: str, max_bytes: int, register: bool = True) -> Bounded:
    """At most ``max_bytes`` of a regular file; ``too_large`` when it holds more."""
    chunks: list[bytes] = []
    total = 0
    with open_regular(path, what, register) as handle:
        try:
            while total <= max_bytes:  # in chunks: a large bound never allocates the bound up front
                chunk = handle.read(min(_CHUNK, max_bytes + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    data = b"".join(chunks)
    return Bounded(data[:max_bytes], len(data) > max_bytes)


_CHUNK = 16 * 1024 * 1024


def read_text(path: Path | str, what: str, max_bytes: int = MAX_YAML_BYTES) -> str:
    """A bounded UTF-8 text file: UsageError when unreadable or not text, InvalidInput when too large."""
    got = read_bounded(path, what, max_bytes)
    if got.too_large:
        raise InvalidInput(f"{path}: {what} is larger than {_size(max_bytes)}; refusing to read it")
    if b"\x00" in got.data:
        raise UsageError(f"{path}: {what} is a binary file (contains NUL bytes), not YAML text")
    try:
        return got.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: {what} is not UTF-8 text (invalid byte 0x{got.data[exc.start]:02x} at offset {exc.start})") from None


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n} bytes"


# -- bounded YAML ---------------------------------------------------------------------------------


class YamlRefused(Exception):
    def __init__(self, message: str, line: int | None = None, col: int | None = None):
        super().__init__(message)
        self.message, self.line, self.col = message, line, col


_STD_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:binary", "tag:yaml.org,2002:merge",
}
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"


def parse_yaml_documents(text: str, max_depth: int = MAX_YAML_DEPTH, max_nodes: int = MAX_YAML_NODES) -> list[Any]:
    """Every document of ``text`` as plain data (like ``yaml.safe_load_all``), built from the event
    stream with an explicit stack: nesting past ``max_depth`` and more than ``max_nodes`` nodes
    after alias expansion raise :class:`YamlRefused`, as do YAML errors and non-standard tags.
    Merge keys (``<<``) are applied like PyYAML's SafeLoader (explicit keys win)."""
    import yaml
    from yaml.nodes import ScalarNode

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    scalars = yaml.SafeLoader("")
    docs: list[Any] = []
    # frame: [container, pending key, has key, anchor, expanded size, merges]
    stack: list[list[Any]] = []
    anchors: dict[str, tuple[Any, int]] = {}
    open_anchors: set[str] = set()
    nodes = 0
    merge = object()

    def where(event: Any) -> tuple[int, int]:
        return event.start_mark.line + 1, event.start_mark.column + 1

    def count(n: int, event: Any) -> None:
        nonlocal nodes
        nodes += n
        if nodes > max_nodes:
            raise YamlRefused(f"aliases expand to more than {max_nodes:,} nodes (an alias bomb?)", *where(event))

    def attach(value: Any, size: int) -> None:
        if not stack:
            docs.append(value)
            return
        frame = stack[-1]
        frame[4] += size
        container = frame[0]
        if isinstance(container, dict):
            if not frame[2]:
                if isinstance(value, (dict, list)):
                    raise YamlRefused("a mapping key must be a scalar, not a mapping or list")
                frame[1], frame[2] = value, True
                return
            key = frame[1]
            frame[1], frame[2] = None, False
            if key is merge:
                frame[5].append(value)
            else:
                try:
                    container[key] = value
                except TypeError:
                    raise YamlRefused(f"unhashable mapping key {key!r}") from None
        else:
            container.append(value)

    def check_tag(event: Any, expected: str) -> None:
        tag = event.tag
        if tag not in (None, "!", expected):
            raise YamlRefused(f"unsupported YAML tag {str(tag)[:60]}", *where(event))

    try:
        for event in yaml.parse(text, Loader=loader_cls):
            kind = type(event).__name__
            if kind == "ScalarEvent":
                tag = event.tag
                if tag is None or tag == "!":
                    tag = scalars.resolve(ScalarNode, event.value, event.implicit)
                if tag not in _STD_TAGS:
                    raise YamlRefused(f"unsupported YAML tag {str(tag)[:60]}", *where(event))
                if tag == "tag:yaml.org,2002:merge" and stack and isinstance(stack[-1][0], dict) and not stack[-1][2]:
                    value: Any = merge
                else:
                    node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
                    try:
                        value = scalars.yaml_constructors[tag](scalars, node)
                    except Exception:  # noqa: BLE001 - "!!int abc"
                        raise YamlRefused(f"{event.value[:60]!r} is not a valid {tag.rsplit(':', 1)[-1]}", *where(event)) from None
                if event.anchor:
                    anchors[event.anchor] = (value, 1)
                count(1, event)
                attach(value, 1)
            elif kind in ("MappingStartEvent", "SequenceStartEvent"):
                is_map = kind == "MappingStartEvent"
                check_tag(event, _MAP if is_map else _SEQ)
                if len(stack) >= max_depth:
                    raise YamlRefused(f"nested deeper than {max_depth} levels", *where(event))
                if event.anchor:
                    open_anchors.add(event.anchor)
                count(1, event)
                stack.append([{} if is_map else [], None, False, event.anchor, 1, []])
            elif kind in ("MappingEndEvent", "SequenceEndEvent"):
                container, _, _, anchor, size, merges = stack.pop()
                for source in merges:
                    for item in source if isinstance(source, list) else [source]:
                        if not isinstance(item, dict):
                            raise YamlRefused("a merge key (<<) needs a mapping or a list of mappings", *where(event))
                        for key, value in item.items():
                            container.setdefault(key, value)
                if anchor:
                    open_anchors.discard(anchor)
                    anchors[anchor] = (container, size)
                attach(container, size)
            elif kind == "AliasEvent":
                name = event.anchor
                if name in open_anchors:
                    raise YamlRefused(f"recursive alias *{name}", *where(event))
                if name not in anchors:
                    raise YamlRefused(f"undefined alias *{name}", *where(event))
                value, size = anchors[name]
                count(size, event)
                attach(value, size)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlRefused(f"not valid YAML: {problem}", *((mark.line + 1, mark.column + 1) if mark else (None, None))) from None
    except yaml.YAMLError as exc:
        raise YamlRefused(f"not valid YAML: {' '.join(str(exc).split())[:200]}") from None
    return [doc for doc in docs if doc is not None]


def load_yaml_documents(path: Path | str, what: str = "values file", max_bytes: int = MAX_YAML_BYTES) -> list[Any]:
    """Every document of a YAML (or JSON) file through the gate: UsageError when it cannot be read
    (missing, not a regular file, not UTF-8 text), InvalidInput when it is too large, not YAML,
    too deep or expands too far."""
    text = read_text(path, what, max_bytes)
    try:
        return parse_yaml_documents(text)
    except YamlRefused as refused:
        at = f"{path}:{refused.line}:{refused.col}" if refused.line else str(path)
        raise InvalidInput(f"{at}: {refused.message}") from None


# -- bounded lines --------------------------------------------------------------------------------


@dataclass
class Line:
    number: int
    data: bytes  # the line (with its newline); empty when ``too_long``
    too_long: bool = False
    length: int = 0  # bytes in the line, also when too long


def bounded_lines(stream: BinaryIO, max_line: int) -> Iterator[Line]:
    """Lines of a binary stream, each at most ``max_line`` bytes held in memory; a longer line
    comes back once, as one :class:`Line` with ``too_long`` (its bytes are read and dropped), so
    the numbers of the lines after it stay right."""
    number = 0
    while True:
        chunk = stream.readline(max_line + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) <= max_line:
            yield Line(number, chunk, length=len(chunk))
            continue
        length = len(chunk)
        while not chunk.endswith(b"\n"):
            chunk = stream.readline(max_line + 1)
            if not chunk:
                break
            length += len(chunk)
        yield Line(number, b"", too_long=True, length=length)
