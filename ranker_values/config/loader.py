"""Read a YAML config into plain Python data, remembering where every key and value came from.

The document is built straight from the parser's event stream (libyaml when available) with an
explicit stack, never recursively, so hostile input fails fast and cleanly:

* the file is read with a size bound (``MAX_BYTES``);
* nesting deeper than ``MAX_DEPTH`` is refused before it can exhaust a stack (the C composer
  segfaults near 100k levels);
* alias expansion is counted as the document is built (``MAX_NODES``), so a "billion laughs"
  stops after a bounded amount of work; a recursive alias is refused;
* duplicate mapping keys, custom tags, non-scalar keys and extra documents are diagnostics.

Problems that make the document unusable come back as diagnostics on a :class:`LoadedDocument`
with ``data=None``; problems the document survives (a duplicate key) come back alongside data.
Only an unreadable file (missing, a directory, no permission) raises: :class:`UsageError`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ranker_values.errors import Diagnostic, UsageError
from ranker_values.values.numbers import json_number

MAX_BYTES = 10 * 1024 * 1024  # a 2,000-feature config is ~200 KiB
MAX_DEPTH = 64  # real configs nest 5 levels
MAX_NODES = 1_000_000  # nodes after alias expansion; a 2,000-feature config has ~20k

JsonPath = tuple[str | int, ...]
Mark = tuple[int, int]  # 1-based (line, col)


def json_path(path: JsonPath) -> str:
    """``("models", "xgb", "features", 0)`` → ``$.models.xgb.features[0]``."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += "[" + repr(part) + "]"
    return out


@dataclass
class Positions:
    """Where each part of the document starts: the key of a mapping entry, and each value."""

    keys: dict[JsonPath, Mark] = field(default_factory=dict)
    values: dict[JsonPath, Mark] = field(default_factory=dict)

    def of_key(self, path: JsonPath) -> Mark | None:
        """The entry's key (for a sequence item: the item), else the nearest ancestor's."""
        for cut in range(len(path), -1, -1):
            prefix = path[:cut]
            mark = self.keys.get(prefix) or self.values.get(prefix)
            if mark:
                return mark
        return None

    def of_value(self, path: JsonPath) -> Mark | None:
        return self.values.get(path) or self.of_key(path)


@dataclass
class LoadedDocument:
    file: str  # as given (for messages)
    text: str | None  # decoded text; None when the bytes are not UTF-8 text
    sha256: str
    data: Any = None  # None when the document could not be built
    positions: Positions = field(default_factory=Positions)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.data is not None and not any(d.severity == "error" for d in self.diagnostics)


class _Refused(Exception):
    """The document cannot be built; carries the one diagnostic that says why."""

    def __init__(self, code: str, message: str, mark: Mark | None, path: JsonPath = ()):
        super().__init__(message)
        self.code, self.message, self.mark, self.path = code, message, mark, path


def read_config(path: Path, display: str | None = None) -> LoadedDocument:
    """Read and parse one config file. Raises UsageError only when the file cannot be read."""
    name = display if display is not None else str(path)
    raw = _read_bytes(path, name)
    digest = hashlib.sha256(raw).hexdigest()
    if len(raw) > MAX_BYTES:
        return _refused(name, None, digest, "RV901", f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    text, problem = _decode(raw)
    if problem:
        return _refused(name, None, digest, "RV902", problem)
    return parse_text(text, name, digest)


def parse_text(text: str, name: str = "<config>", digest: str | None = None) -> LoadedDocument:
    digest = digest or hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    doc = LoadedDocument(file=name, text=text, sha256=digest)
    try:
        _Builder(doc).build(text)
    except _Refused as refused:
        doc.data = None
        doc.diagnostics.append(_diagnostic(name, refused.code, refused.message, refused.mark, refused.path))
    return doc


def _read_bytes(path: Path, name: str) -> bytes:
    """At most MAX_BYTES + 1 bytes through the input gate (regular files only: a FIFO or a
    device is a usage error, never a hang)."""
    from ranker_values.files.inputs import open_regular

    with open_regular(path, "config file") as handle:
        try:
            return handle.read(MAX_BYTES + 1)
        except OSError as exc:
            raise UsageError(f"{name}: cannot read: {exc.strerror or exc}") from None


def _decode(raw: bytes) -> tuple[str, str | None]:
    if b"\x00" in raw:
        return "", "binary file (contains NUL bytes); a config must be UTF-8 YAML text"
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return "", f"not UTF-8 text (invalid byte 0x{raw[exc.start]:02x} at offset {exc.start})"


def _refused(name: str, text: str | None, digest: str, code: str, message: str) -> LoadedDocument:
    return LoadedDocument(name, text, digest, diagnostics=[_diagnostic(name, code, message, None)])


def _diagnostic(name: str, code: str, message: str, mark: Mark | None, path: JsonPath = ()) -> Diagnostic:
    line, col = mark if mark else (None, None)
    return Diagnostic(code=code, message=message, path=json_path(path), file=name, line=line, col=col)


def _mark(event: Any) -> Mark:
    return (event.start_mark.line + 1, event.start_mark.column + 1)


@dataclass
class _Frame:
    """An open mapping or sequence while its events arrive."""

    container: dict | list
    path: JsonPath
    mark: Mark
    anchor: str | None
    size: int = 1  # nodes in this subtree after alias expansion
    pending_key: str | None = None  # mapping: the key whose value comes next
    pending_key_mark: Mark | None = None
    merges: list[tuple[Any, Mark]] = field(default_factory=list)  # `<<: *base` entries

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.container, dict)

    def child_path(self) -> JsonPath:
        if self.is_mapping:
            return (*self.path, self.pending_key)
        return (*self.path, len(self.container))


class _Builder:
    def __init__(self, doc: LoadedDocument):
        import yaml

        self.yaml = yaml
        self.doc = doc
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int]] = {}  # anchor → (value, expanded size)
        self.open_anchors: set[str] = set()
        self.total_nodes = 0
        self.documents = 0
        self.root: Any = None
        self.have_root = False
        self._scalar_loader = yaml.SafeLoader("")  # only its resolver and scalar constructors

    # -- driving the event stream ------------------------------------------------------------

    def build(self, text: str) -> None:
        yaml = self.yaml
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            for event in yaml.parse(text, Loader=loader):
                self._on_event(event)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = (mark.line + 1, mark.column + 1) if mark else None
            problem = exc.problem or exc.context or "invalid YAML"
            if exc.context and exc.context_mark and exc.problem:
                started = exc.context_mark
                problem += f" ({exc.context} at line {started.line + 1}, col {started.column + 1})"
            raise _Refused("RV001", f"YAML syntax error: {problem}", where) from None
        except yaml.YAMLError as exc:  # reader errors: unacceptable characters and the like
            problem, where = _reader_problem(exc, text)
            raise _Refused("RV001", f"YAML syntax error: {problem}", where) from None
        if not self.have_root or self.root is None:
            raise _Refused("RV002", "the document is empty; expected a mapping with bootstrap, inference, models, features", (1, 1))
        self.doc.data = self.root

    def _on_event(self, event: Any) -> None:
        kind = type(event).__name__
        if kind == "DocumentStartEvent":
            self.documents += 1
            if self.documents > 1:
                raise _Refused("RV004", "more than one YAML document in the file; a config is one document", _mark(event))
        elif kind == "ScalarEvent":
            self._add_node(self._scalar(event), event, size=1)
        elif kind in ("MappingStartEvent", "SequenceStartEvent"):
            self._open(event, {} if kind == "MappingStartEvent" else [])
        elif kind in ("MappingEndEvent", "SequenceEndEvent"):
            self._close()
        elif kind == "AliasEvent":
            self._alias(event)

    # -- containers --------------------------------------------------------------------------

    def _open(self, event: Any, container: dict | list) -> None:
        self._check_tag(event, event.tag)  # the tag as written (None when untagged), not the default
        if self.stack and self.stack[-1].is_mapping and self.stack[-1].pending_key is None:
            raise _Refused("RV006", "a mapping key must be a plain scalar, not a mapping or list", _mark(event), self.stack[-1].path)
        if len(self.stack) >= MAX_DEPTH:
            raise _Refused("RV905", f"nested deeper than {MAX_DEPTH} levels", _mark(event), self.stack[-1].path)
        path = self.stack[-1].child_path() if self.stack else ()
        if event.anchor:
            self.open_anchors.add(event.anchor)
        self._count(1, event)
        self.stack.append(_Frame(container, path, _mark(event), event.anchor))

    def _close(self) -> None:
        frame = self.stack.pop()
        if frame.is_mapping and frame.merges:
            self._apply_merges(frame)
        if frame.anchor:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = (frame.container, frame.size)
        self._attach(frame.container, frame.path, frame.mark, frame.size, already_counted=True)

    def _alias(self, event: Any) -> None:
        name = event.anchor
        if name in self.open_anchors:
            raise _Refused("RV903", f"recursive alias *{name} (an anchor used inside itself)", _mark(event), self._here())
        if name not in self.anchors:
            raise _Refused("RV001", f"YAML syntax error: undefined alias *{name}", _mark(event), self._here())
        value, size = self.anchors[name]
        if self.stack and self.stack[-1].is_mapping and self.stack[-1].pending_key is None:
            if isinstance(value, (dict, list)):
                raise _Refused("RV006", "a mapping key must be a plain scalar, not a mapping or list", _mark(event), self.stack[-1].path)
            self._add_node(value, event, size=0)  # a scalar alias used as a key
            return
        self._count(size, event)
        self._attach(value, self._here(), _mark(event), size, already_counted=True)

    def _here(self) -> JsonPath:
        return self.stack[-1].child_path() if self.stack else ()

    # -- scalars -----------------------------------------------------------------------------

    def _scalar(self, event: Any) -> Any:
        from yaml.nodes import ScalarNode

        loader = self._scalar_loader
        tag = event.tag
        if tag is None or tag == "!":
            tag = loader.resolve(ScalarNode, event.value, event.implicit)
            if tag == _STR and event.implicit[0] and _SNAKEYAML_FLOAT.match(event.value):
                # SnakeYAML (the engine's YAML 1.1) reads 1e3 as a float; PyYAML as text
                self._check_engine_number(event, _FLOAT)
                number = json_number(event.value)
                return event.value if number is None else float(number)
        self._check_tag(event, tag)
        if tag in (_INT, _FLOAT):
            self._check_engine_number(event, tag)
        if tag in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"):
            return event.value  # keep as written: the config stays text, and JSON has no dates
        if tag == "tag:yaml.org,2002:merge":
            at_key = bool(self.stack) and self.stack[-1].is_mapping and self.stack[-1].pending_key is None
            return _MERGE if at_key else event.value
        if tag == _FLOAT and json_number(event.value) is not None:
            return float(event.value)  # 1e3 (SnakeYAML's float, not PyYAML's)
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return loader.yaml_constructors[tag](loader, node)
        except Exception:  # noqa: BLE001 - e.g. "!!int abc": report, never crash
            raise _Refused("RV012", f"{event.value!r} is not a valid {tag.rsplit(':', 1)[-1]}", _mark(event), self._here()) from None

    def _check_engine_number(self, event: Any, tag: str) -> None:
        """RV007: a number Metarank 0.4.1 cannot read. circe-yaml turns an int or float node into
        JSON with ``JsonNumber.fromString`` (JSON's grammar), except ints that start with ``0x`` or
        contain ``_``, which SnakeYAML constructs; anything else fails the whole config
        ("Invalid numeric string"). ``010``, ``+8``, ``.5``, ``0b101``, ``1:30``, ``-0x1F``,
        ``.inf`` and ``.nan`` are numbers to YAML 1.1 but not to the engine."""
        text = event.value
        if self.stack and self.stack[-1].is_mapping and self.stack[-1].pending_key is None:
            return  # a mapping key: circe-yaml keeps its text
        if tag == _INT and (text.startswith("0x") or "_" in text):
            return
        if json_number(text) is not None:
            return
        line, col = _mark(event)
        self.doc.diagnostics.append(Diagnostic(
            code="RV007", path=json_path(self._here()), file=self.doc.file, line=line, col=col,
            hint="write it as a plain decimal number (8, 0.5, 1000), or quote it if it is text",
            message=f"{text!r} is a YAML 1.1 number that Metarank 0.4.1 cannot read: its YAML reader (circe-yaml) "
            "takes JSON number syntax only (no leading +, no leading zeros, no .5, no .inf/.nan; "
            "0x.. and digits with _ are fine) and stops with 'Invalid numeric string'",
        ))

    def _check_tag(self, event: Any, tag: str | None) -> None:
        allowed = _SCALAR_TAGS | {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:merge"}
        if tag is not None and tag != "!" and tag not in allowed:
            raise _Refused("RV005", f"unsupported YAML tag {tag[:60]}", _mark(event), self._here())
        if type(event).__name__ == "ScalarEvent" or tag is None:
            return
        expected = "tag:yaml.org,2002:map" if type(event).__name__ == "MappingStartEvent" else "tag:yaml.org,2002:seq"
        if tag != "!" and tag != expected:
            raise _Refused("RV005", f"YAML tag {tag[:60]} does not fit this node", _mark(event), self._here())

    # -- attaching nodes to their parent -----------------------------------------------------

    def _add_node(self, value: Any, event: Any, size: int) -> None:
        mark = _mark(event)
        if self.stack and self.stack[-1].is_mapping and self.stack[-1].pending_key is None:
            self._take_key(self.stack[-1], value, event, mark)
            return
        if getattr(event, "anchor", None):
            self.anchors[event.anchor] = (value, 1)
        self._count(size, event)
        self._attach(value, self._here(), mark, size, already_counted=True)

    def _take_key(self, frame: _Frame, value: Any, event: Any, mark: Mark) -> None:
        if getattr(event, "anchor", None):
            self.anchors[event.anchor] = (value, 1)
        if value is _MERGE:
            frame.pending_key, frame.pending_key_mark = _MERGE_KEY, mark
            return
        # keys keep their text as written ("1", "true"): Metarank reads them as JSON object keys
        key = event.value if type(event).__name__ == "ScalarEvent" else str(value)
        if key in frame.container and key != _MERGE_KEY:
            first = self.doc.positions.keys.get((*frame.path, key))
            where = f" (first at line {first[0]})" if first else ""
            self.doc.diagnostics.append(
                _diagnostic(self.doc.file, "RV904", f"duplicate key {key!r}{where}", mark, (*frame.path, key))
            )
        frame.pending_key, frame.pending_key_mark = key, mark

    def _attach(self, value: Any, path: JsonPath, mark: Mark, size: int, already_counted: bool) -> None:
        if not self.stack:
            self.root, self.have_root = value, True
            self.doc.positions.values[()] = mark
            return
        frame = self.stack[-1]
        frame.size += size
        if frame.is_mapping:
            key, key_mark = frame.pending_key, frame.pending_key_mark
            frame.pending_key = frame.pending_key_mark = None
            if key == _MERGE_KEY:
                frame.merges.append((value, key_mark or mark))
                return
            if key in frame.container:  # duplicate: already reported, the first one stays
                return
            frame.container[key] = value
            self.doc.positions.keys[path] = key_mark or mark
        else:
            frame.container.append(value)
        self.doc.positions.values[path] = mark

    def _apply_merges(self, frame: _Frame) -> None:
        """YAML merge keys (``<<: *defaults``): explicit keys win, earlier merges win."""
        for value, mark in frame.merges:
            sources = value if isinstance(value, list) else [value]
            for source in sources:
                if not isinstance(source, dict):
                    raise _Refused("RV012", "a merge key (<<) needs a mapping or a list of mappings", mark, frame.path)
                for key, item in source.items():
                    if key not in frame.container:
                        frame.container[key] = item
                        self.doc.positions.keys.setdefault((*frame.path, key), mark)

    def _count(self, nodes: int, event: Any) -> None:
        self.total_nodes += nodes
        if self.total_nodes > MAX_NODES:
            raise _Refused(
                "RV903",
                f"aliases expand to more than {MAX_NODES:,} nodes (an alias bomb?); refusing to expand",
                _mark(event),
                self._here(),
            )


_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:binary",
    "tag:yaml.org,2002:merge",
}
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
#: SnakeYAML 1.x's implicit float (org/yaml/snakeyaml/resolver/Resolver.class in metarank.jar):
#: unlike PyYAML's, the dot and the exponent's sign are optional (1e3, 1.0e3)
_SNAKEYAML_FLOAT = re.compile(
    r"^([-+]?(\.[0-9]+|[0-9_]+(\.[0-9_]*)?)([eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_MERGE = object()
_MERGE_KEY = "\x00<<"  # cannot collide: a NUL never survives decoding (binary files are refused)


def _reader_problem(exc: Exception, text: str) -> tuple[str, Mark | None]:
    """libyaml's reader errors carry a character offset, not a mark: turn it into line:col."""
    message = " ".join(str(exc).split())
    found = re.search(r'\s*in "<unicode string>", position (\d+)', message)
    if not found:
        return message[:200], None
    offset = int(found.group(1))
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return message[: found.start()].rstrip(":; ")[:200], (line, col)


def diagnostic_at(
    doc: LoadedDocument,
    code: str,
    path: JsonPath,
    message: str,
    *,
    hint: str | None = None,
    severity: str = "error",
    point_at: str = "key",
) -> Diagnostic:
    """A diagnostic located in ``doc``: at the entry's key (default) or at its value."""
    mark = doc.positions.of_value(path) if point_at == "value" else doc.positions.of_key(path)
    line, col = mark if mark else (None, None)
    return Diagnostic(
        code=code, message=message, path=json_path(path), file=doc.file,
        line=line, col=col, severity=severity, hint=hint,  # type: ignore[arg-type]
    )
