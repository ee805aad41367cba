"""Compile the bundled config schema into Python: a yes/no validator that needs no jsonschema.

``python -m ranker_values.config.schema_compile`` writes :mod:`ranker_values.config.schema_generated`
from ``schemas/ranking-config.schema.json`` (run it after every schema change;
``tests/test_schema_generated.py`` fails while the committed module is stale). It is a build step,
never run by the CLI.

Why: importing jsonschema (and referencing, rpds, attrs) is most of a cold ``gen``. The generated
function answers one question — does jsonschema's Draft 2020-12 validator, with the engine's
formats, report *nothing* for this document? — with each keyword's semantics copied from
jsonschema 4.x (``_keywords.py``, ``_types.py``, ``_utils.equal``). :func:`check_structure` asks it
first and returns no problems when it says yes; for a no (or an exception, or a schema whose
hash differs from the one compiled) jsonschema itself runs and reports, so every message, path
and code still comes from jsonschema. Only the verdict has to agree, and the test proves it does
on the test corpus and on thousands of mutations of it, and that dropping any one keyword from
the compiler makes the corpus find a disagreement.

Only the keywords the schema uses are compiled; anything else is a :class:`CompileError` (extend
the compiler and its test together).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: Keywords the compiler turns into checks.
KEYWORDS = frozenset({
    "type", "const", "enum", "pattern", "format", "minLength", "minimum", "exclusiveMinimum",
    "minItems", "minProperties", "required", "properties", "additionalProperties", "items",
    "allOf", "$ref", "if", "then",
})
#: Keywords that validate nothing (annotations, and ``$defs``, reached through ``$ref``).
ANNOTATIONS = frozenset({
    "$schema", "$id", "$comment", "$defs", "title", "description", "examples", "default", "x-ranker-warning",
})
TYPES = {
    "object": "isinstance(x, dict)",
    "array": "isinstance(x, list)",
    "string": "isinstance(x, str)",
    "boolean": "isinstance(x, bool)",
    "null": "x is None",
    "number": "(isinstance(x, _Number) and not isinstance(x, bool))",
    # draft 2020-12: a float with an integral value is an integer
    "integer": "((isinstance(x, int) and not isinstance(x, bool)) or (isinstance(x, float) and x.is_integer()))",
}
TARGET = Path(__file__).with_name("schema_generated.py")


class CompileError(Exception):
    pass


class _Compiler:
    def __init__(self, root: Any, formats: Iterable[str], drop: Iterable[str]) -> None:
        self.root = root
        self.formats = frozenset(formats)
        self.drop = frozenset(drop)
        self.names: dict[int, str] = {}
        self.functions: list[str] = []
        self.constants: list[str] = []
        self.pending: list[tuple[str, Any, str]] = []

    def constant(self, value: Any) -> str:
        # a frozenset's repr follows string hashing, which changes per process: sorted, stable
        text = f"frozenset({sorted(value, key=repr)!r})" if isinstance(value, frozenset) else repr(value)
        self.constants.append(text)
        return f"_C{len(self.constants) - 1}"

    def function(self, node: Any, where: str) -> str:
        if node is True:
            return "_true"
        if node is False:
            return "_false"
        if not isinstance(node, dict):
            raise CompileError(f"{where}: a schema must be an object or a boolean")
        if id(node) not in self.names:
            self.names[id(node)] = name = f"_s{len(self.names)}"
            self.pending.append((name, node, where))
        return self.names[id(node)]

    def resolve(self, ref: str, where: str) -> Any:
        if not ref.startswith("#"):
            raise CompileError(f"{where}: $ref {ref!r} is not local to the schema")
        node = self.root
        for part in filter(None, ref[1:].split("/")):
            part = part.replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(part)] if isinstance(node, list) else node[part]
            except (KeyError, IndexError, ValueError):
                raise CompileError(f"{where}: $ref {ref!r} points nowhere") from None
        return node

    def run(self) -> str:
        entry = self.function(self.root, "#")
        while self.pending:
            name, node, where = self.pending.pop(0)
            self.functions.append(self.body(name, node, where))
        return entry

    def body(self, name: str, node: dict, where: str) -> str:
        unknown = sorted(set(node) - KEYWORDS - ANNOTATIONS)
        if unknown:
            raise CompileError(f"{where}: keyword(s) {', '.join(unknown)} are not compiled; extend ranker_values/config/schema_compile.py")
        lines = [f"def {name}(x):  # {where}"]
        use = {k: v for k, v in node.items() if k in KEYWORDS and k not in self.drop}
        if "type" in use:
            types = use["type"] if isinstance(use["type"], list) else [use["type"]]
            if any(t not in TYPES for t in types):
                raise CompileError(f"{where}: type {use['type']!r}")
            lines.append(f"    if not ({' or '.join(TYPES[t] for t in types)}):\n        return False")
        if "const" in use:
            lines.append(f"    if not _equal(x, {self.constant(use['const'])}):\n        return False")
        if "enum" in use:
            lines.append(f"    if not any(_equal(x, each) for each in {self.constant(list(use['enum']))}):\n        return False")
        if "pattern" in use:
            lines.append(f"    if isinstance(x, str) and not _re.search({use['pattern']!r}, x):\n        return False")
        if "format" in use:
            if use["format"] not in self.formats:
                raise CompileError(f"{where}: format {use['format']!r} has no checker")
            lines.append(f"    if not _F[{use['format']!r}](x):\n        return False")
        if "minLength" in use:
            lines.append(f"    if isinstance(x, str) and len(x) < {use['minLength']!r}:\n        return False")
        if "minimum" in use:
            lines.append(f"    if {TYPES['number']} and x < {use['minimum']!r}:\n        return False")
        if "exclusiveMinimum" in use:
            lines.append(f"    if {TYPES['number']} and x <= {use['exclusiveMinimum']!r}:\n        return False")
        if "minItems" in use:
            lines.append(f"    if isinstance(x, list) and len(x) < {use['minItems']!r}:\n        return False")
        if "minProperties" in use:
            lines.append(f"    if isinstance(x, dict) and len(x) < {use['minProperties']!r}:\n        return False")
        object_checks = []
        if "required" in use and use["required"]:
            test = " or ".join(f"{key!r} not in x" for key in use["required"])
            object_checks.append(f"        if {test}:\n            return False")
        if "properties" in use:
            for key, sub in use["properties"].items():
                fn = self.function(sub, f"{where}/properties/{key}")
                if fn != "_true":
                    object_checks.append(f"        if {key!r} in x and not {fn}(x[{key!r}]):\n            return False")
        if "additionalProperties" in use:
            known = self.constant(frozenset(node.get("properties") or {}))  # jsonschema: schema.get("properties", {})
            fn = self.function(use["additionalProperties"], f"{where}/additionalProperties")
            if fn == "_false":
                object_checks.append(f"        for key in x:\n            if key not in {known}:\n                return False")
            elif fn != "_true":
                object_checks.append(
                    f"        for key in x:\n            if key not in {known} and not {fn}(x[key]):\n                return False"
                )
        if object_checks:
            lines.append("    if isinstance(x, dict):\n" + "\n".join(object_checks))
        if "items" in use:
            fn = self.function(use["items"], f"{where}/items")
            if fn == "_false":
                lines.append("    if isinstance(x, list) and x:\n        return False")
            elif fn != "_true":
                lines.append(f"    if isinstance(x, list):\n        for item in x:\n            if not {fn}(item):\n                return False")
        for i, sub in enumerate(use.get("allOf", [])):
            lines.append(f"    if not {self.function(sub, f'{where}/allOf/{i}')}(x):\n        return False")
        if "$ref" in use:
            target = self.resolve(use["$ref"], where)
            lines.append(f"    if not {self.function(target, use['$ref'])}(x):\n        return False")
        if "if" in use and "then" in use and "then" not in self.drop:
            cond = self.function(use["if"], f"{where}/if")
            then = self.function(use["then"], f"{where}/then")
            lines.append(f"    if {cond}(x) and not {then}(x):\n        return False")
        lines.append("    return True")
        return "\n".join(lines)


HEADER = '''# Generated by `python -m ranker_values.config.schema_compile` from schemas/{schema}: do not edit.
"""Does jsonschema's Draft 2020-12 validator (with the engine's formats) report nothing for a
config? A yes/no answer without importing jsonschema: see ranker_values/config/schema_compile.py."""

# fmt: off
# ruff: noqa
from __future__ import annotations

import re as _re
from collections.abc import Mapping as _Mapping, Sequence as _Sequence
from numbers import Number as _Number

SCHEMA_SHA256 = {digest!r}
_F: dict = {{}}


def is_valid(data, formats) -> bool:
    """True when the schema has nothing to report for ``data``; ``formats``: name -> checker."""
    global _F
    _F = formats
    return {entry}(data)


def _true(x):
    return True


def _false(x):
    return False


def _equal(one, two):  # jsonschema._utils.equal: True is not 1, 1.0 is 1, deep for lists and mappings
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, _Sequence) and isinstance(two, _Sequence):
        return len(one) == len(two) and all(_equal(i, j) for i, j in zip(one, two))
    if isinstance(one, _Mapping) and isinstance(two, _Mapping):
        return len(one) == len(two) and all(key in two and _equal(value, two[key]) for key, value in one.items())
    return _unbool(one) == _unbool(two)


_TRUE, _FALSE = object(), object()


def _unbool(element):
    if element is True:
        return _TRUE
    if element is False:
        return _FALSE
    return element


'''


def schema_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def compile_schema(text: str, formats: Iterable[str], drop: Iterable[str] = (), schema_name: str = "ranking-config.schema.json") -> str:
    """The source of the generated module. ``drop``: keywords to leave out (tests only: the
    corpus must then find a disagreement)."""
    compiler = _Compiler(json.loads(text), formats, drop)
    entry = compiler.run()
    constants = "".join(f"{f'_C{i}'} = {value}\n" for i, value in enumerate(compiler.constants))
    header = HEADER.format(schema=schema_name, digest=schema_digest(text), entry=entry)
    return header + constants + "\n\n" + "\n\n\n".join(compiler.functions) + "\n"


def generated_source() -> str:
    """What :data:`TARGET` must hold for the bundled schema."""
    from ranker_values.config.schema import ENGINE_FORMATS, schema_text

    return compile_schema(schema_text(), ENGINE_FORMATS)


def main() -> int:
    source = generated_source()
    TARGET.write_text(source, encoding="utf-8")
    print(f"wrote {TARGET} ({len(source.splitlines())} lines)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
