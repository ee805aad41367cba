"""Structural validation: the config against ``schemas/ranking-config.schema.json``.

jsonschema's errors are turned into :class:`Diagnostic` s with a stable code per kind of problem,
located at the offending key (or, for a missing key, at the mapping that lacks it), with
"did you mean ...?" for near-miss keys and enum values. Before the schema runs, two checks give
one pointed message instead of a wall of schema errors: the root must be a mapping, and a
Metarank ≥0.5 config is recognised and refused (RV003).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from dataclasses import replace
from typing import Any, Iterable

from ranker_values.errors import Diagnostic, UsageError
from ranker_values.values.numbers import INT_MAX, INT_MIN, LONG_MAX, engine_double, engine_int
from ranker_values.config.text import near_miss, redact
from ranker_values.config.loader import JsonPath, LoadedDocument, diagnostic_at, json_path

SCHEMA_NAME = "ranking-config.schema.json"

# Metarank 0.5 replaced bootstrap/inference by these top-level sections.
MODERN_SECTIONS = ("api", "state", "input", "core", "train")
LEGACY_SECTIONS = ("bootstrap", "inference", "models", "features")

# Values people write because upstream documents them, though 0.4.1 does not implement them.
UNSUPPORTED_VALUES = {
    "list_size": " (documented by Metarank but not implemented in 0.4.x: the engine stops with "
    "'feature type list_size is not supported')",
}

CODE_BY_KEYWORD = {
    "additionalProperties": "RV010",
    "unevaluatedProperties": "RV010",
    "required": "RV011",
    "dependentRequired": "RV011",
    "type": "RV012",
    "enum": "RV013",
    "const": "RV013",
    "pattern": "RV014",
    "format": "RV014",
    "minimum": "RV015",
    "maximum": "RV015",
    "exclusiveMinimum": "RV015",
    "exclusiveMaximum": "RV015",
    "multipleOf": "RV015",
    "minItems": "RV016",
    "maxItems": "RV016",
    "minLength": "RV016",
    "maxLength": "RV016",
    "minProperties": "RV016",
    "maxProperties": "RV016",
    "uniqueItems": "RV017",
}
OTHER_SCHEMA_CODE = "RV019"
#: Schema problems collected before giving up (RV906): a 900k-item list of wrong values would
#: otherwise produce 900k diagnostics, minutes and gigabytes for nobody to read.
MAX_SCHEMA_PROBLEMS = 1_000


# -- locating and loading the schema ---------------------------------------------------------


def schema_location() -> Path:
    """The bundled schema: package data in a wheel, ``schemas/`` in a source checkout."""
    from importlib import resources

    try:
        bundled = resources.files("ranker_values") / "_data" / "schemas" / SCHEMA_NAME
        if bundled.is_file():
            return Path(str(bundled))
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        pass
    return Path(__file__).resolve().parents[2] / "schemas" / SCHEMA_NAME


def schema_text() -> str:
    path = schema_location()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"the config schema is missing from this installation ({path}): {exc.strerror}") from None


@lru_cache(maxsize=4)
def _validator_for(text: str) -> Any:
    """The validator of the bundled schema. It is *not* re-checked against the 2020-12
    meta-schema here: that costs most of a cold ``gen`` and the bundled file cannot change at run
    time; tests/test_schema.py checks it once (``test_schema_is_a_valid_draft_2020_12_schema``)."""
    from jsonschema import Draft202012Validator, FormatChecker

    try:
        schema = json.loads(text)
    except ValueError as exc:  # a truncated or edited installation
        raise UsageError(f"the bundled config schema is not valid JSON: {str(exc).splitlines()[0]}") from None
    if not isinstance(schema, dict):
        raise UsageError("the bundled config schema is not a JSON Schema (not an object)")
    checker = FormatChecker()
    for name, check in ENGINE_FORMATS.items():
        checker.checks(name)(check)
    return Draft202012Validator(schema, format_checker=checker)


# -- the engine's own value formats (custom JSON Schema formats) --------------------------------

_DURATION = re.compile(r"([0-9]+)([smhd])")
_NANOS = {"s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9, "d": 86400 * 10**9}


def _is_duration(value: Any) -> bool:
    """``util/DurationJson.scala``: ``([0-9]+)([smhd])`` (the whole string), then
    ``FiniteDuration(num.toLong, unit)``, which fails above Long.MaxValue nanoseconds
    (~292 years) and when the number does not fit a Long."""
    if not isinstance(value, str):
        return True  # the type keyword speaks
    found = _DURATION.fullmatch(value)
    return bool(found) and int(found.group(1)) * _NANOS[found.group(2)] <= LONG_MAX


def _is_offset(value: Any) -> bool:
    """``config/EventSourceConfig.scala`` ``sourceOffsetDecoder``: earliest, latest,
    ``ts=<Long>``, ``last=<duration>`` (whole string)."""
    if not isinstance(value, str):
        return True
    if value in ("earliest", "latest"):
        return True
    if value.startswith("ts=") and value[3:].isascii() and value[3:].isdigit():
        return int(value[3:]) <= LONG_MAX
    return value.startswith("last=") and _is_duration(value[5:])


def _is_int(value: Any) -> bool:
    return isinstance(value, bool) or not isinstance(value, (int, float, str)) or engine_int(value) is not None


def _is_double(value: Any) -> bool:
    return isinstance(value, bool) or not isinstance(value, (int, float, str)) or engine_double(value) is not None


ENGINE_FORMATS = {
    "metarank-int": _is_int,
    "metarank-double": _is_double,
    "metarank-duration": _is_duration,
    "metarank-offset": _is_offset,
}
FORMAT_WORDS = {
    "metarank-int": "Metarank 0.4.1 reads it with circe's Decoder[Int]: a whole number from "
    f"{INT_MIN} to {INT_MAX}, written as a number or as a quoted number in JSON syntax",
    "metarank-double": "Metarank 0.4.1 reads it with circe's Decoder[Double]: a number, or a quoted "
    "number in JSON syntax",
    "metarank-duration": "a duration <number><s|m|h|d> of at most ~292 years (Long.MaxValue nanoseconds), "
    "e.g. '24h' or '30d'",
    "metarank-offset": "earliest, latest, ts=<epoch millis> or last=<number><s|m|h|d>",
}


def validator() -> Any:
    return _validator_for(schema_text())


@lru_cache(maxsize=4)
def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def nothing_to_report(data: Any) -> bool:
    """True only when jsonschema would report nothing for ``data``, decided without importing it:
    :mod:`ranker_values.config.schema_generated` is the bundled schema compiled to Python
    (:mod:`ranker_values.config.schema_compile`; tests/test_schema_generated.py proves the verdicts
    agree). False means "ask jsonschema", which then finds and words every problem: also when the
    generated module was compiled from another schema than the one installed, or raised."""
    try:
        from ranker_values.config import schema_generated as generated
    except ImportError:  # pragma: no cover - an installation without it: jsonschema decides
        return False
    if generated.SCHEMA_SHA256 != _digest(schema_text()):
        return False
    try:
        return generated.is_valid(data, ENGINE_FORMATS) is True
    except Exception:  # noqa: BLE001 - jsonschema decides, and reports whatever this was
        return False


# -- the checks --------------------------------------------------------------------------------


def check_structure(doc: LoadedDocument) -> list[Diagnostic]:
    """Root shape, release format, then the JSON Schema. Expects ``doc.data`` to be set."""
    data = doc.data
    if not isinstance(data, dict):
        return [
            diagnostic_at(
                doc, "RV002",
                (), f"the config must be a mapping with {', '.join(LEGACY_SECTIONS)}; got {_json_type(data)}",
            )
        ]
    version = check_release_format(doc)
    if version:
        return [version]
    if nothing_to_report(data):
        return []  # what jsonschema's iter_errors would give, without importing it
    out: list[Diagnostic] = []
    seen: set[tuple[str, str, str]] = set()
    for error in validator().iter_errors(data):
        for d in _convert(doc, error):
            key = (d.code, d.path, d.message)  # anyOf/allOf branches report one problem many times
            if d.code in ("RV012", "RV014"):  # one value failing its type, pattern and engine format: once
                key = ("value", d.path, "")
            if key not in seen:
                seen.add(key)
                out.append(d)
        if len(out) >= MAX_SCHEMA_PROBLEMS:
            out.append(diagnostic_at(
                doc, "RV906", (),
                f"more than {MAX_SCHEMA_PROBLEMS:,} schema problems: stopped looking; fix these first",
            ))
            break
    return out


# Signals of a Metarank >= 0.5 config below the top level, each with the release that introduced
# it (from the docs at those tags: doc/configuration/features/*.md, feature-extractors.md,
# supported-ranking-models.md, recommendations/*.md in github.com/metarank/metarank; scope
# "global": src/main/scala/ai/metarank/model/ScopeType.scala at 0.5.0). Table test:
# tests/test_release_detection.py.
MODERN_FEATURE_TYPES = {
    "estimate_histogram": "0.5", "items_count": "0.5", "minmax": "0.5", "relative_number": "0.5",
    "position": "0.6", "vector": "0.6",
    "bi-encoder": "0.7", "cross-encoder": "0.7", "diversity": "0.7",
}  # fmt: skip
MODERN_MODEL_TYPES = {"als": "0.6", "trending": "0.6", "semantic": "0.7"}
MODERN_MODEL_KEYS = {"factors": "0.6", "encoder": "0.7", "itemFields": "0.7"}
# 0.5 renamed the feature key `source` to `field` for these extractors (0.4.1: `source`)
SOURCE_TO_FIELD_TYPES = {"number", "boolean", "word_count", "string", "local_time", "item_age", "referer"}


def release_signals(data: dict) -> list[tuple[JsonPath, str, str]]:
    """(path, what, release) for every part of ``data`` that exists only in Metarank >= 0.5."""
    found: list[tuple[JsonPath, str, str]] = []
    for key in MODERN_SECTIONS:
        if key in data:
            found.append(((key,), f"top-level {key!r}", "0.6" if key in ("core", "train") else "0.5"))
    models = data.get("models")
    for name, model in models.items() if isinstance(models, dict) else ():
        if not isinstance(model, dict):
            continue
        kind = model.get("type")
        if isinstance(kind, str) and kind in MODERN_MODEL_TYPES:
            found.append((("models", name, "type"), f"model {name!r} of type {kind!r}", MODERN_MODEL_TYPES[kind]))
        for key, since in MODERN_MODEL_KEYS.items():
            if key in model:
                found.append((("models", name, key), f"model {name!r} key {key!r}", since))
    features = data.get("features")
    for i, feature in enumerate(features if isinstance(features, list) else ()):
        if not isinstance(feature, dict):
            continue
        kind, label = feature.get("type"), f"feature {feature.get('name', i)!r}"
        if isinstance(kind, str) and kind in MODERN_FEATURE_TYPES:
            found.append((("features", i, "type"), f"{label} of type {kind!r}", MODERN_FEATURE_TYPES[kind]))
        method = feature.get("method")
        if kind == "field_match" and isinstance(method, dict) and str(method.get("type", "")).startswith("bm"):
            found.append((("features", i, "method", "type"), f"{label}: field_match method {method['type']!r}", "0.7"))
        if "field" in feature and "source" not in feature and kind in SOURCE_TO_FIELD_TYPES:
            found.append((("features", i, "field"), f"{label} with 'field' (0.4: 'source')", "0.5"))
        if isinstance(feature.get("field"), list):
            found.append((("features", i, "field"), f"{label} with a list-valued 'field'", "0.5"))
        if feature.get("scope") == "global":
            found.append((("features", i, "scope"), f"{label} with scope 'global' (0.4: 'tenant')", "0.5"))
    return found


def check_release_format(doc: LoadedDocument) -> Diagnostic | None:
    """A Metarank >= 0.5 config: no ``bootstrap``, and any part that exists only in >= 0.5 —
    top-level ``state``/``api``/``input``/``core``/``train``, but also model types (``als``,
    ``trending``, ``semantic``), feature types, ``field`` instead of ``source``, list-valued
    ``field``, ``bm25`` matching, scope ``global``."""
    data = doc.data
    if "bootstrap" in data:
        return None
    signals = release_signals(data)
    if not signals:
        return None
    newest = max((since for _, _, since in signals), key=lambda v: tuple(int(p) for p in v.split(".")))
    shown = "; ".join(what for _, what, _ in signals[:4]) + (f"; +{len(signals) - 4} more" if len(signals) > 4 else "")
    return diagnostic_at(
        doc, "RV003", signals[0][0],
        f"this is a Metarank {newest} or later config ({shown}; no 'bootstrap'); ranker deploys "
        "Metarank 0.4.1, whose config has top-level bootstrap, inference, models and features. "
        "Rewrite it in the 0.4 format (see examples/config.yml)",
    )


# -- jsonschema error → diagnostics -----------------------------------------------------------


def _convert(doc: LoadedDocument, error: Any) -> list[Diagnostic]:
    path: JsonPath = tuple(error.absolute_path)
    keyword = error.validator
    if keyword in ("anyOf", "oneOf") and error.context:
        return _convert(doc, _best_context(error))
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        return _unknown_keys(doc, error, path)
    if keyword in ("required", "dependentRequired"):
        return _missing_keys(doc, error, path)
    code = CODE_BY_KEYWORD.get(keyword, OTHER_SCHEMA_CODE)
    if isinstance(error.schema, dict) and keyword in error.schema.get("x-ranker-warning", ()):
        # the engine loads the value; ranker finds it meaningless and says so
        found = _convert_plain(doc, error, path, code)
        return [replace(d, severity="warning", message=d.message + "; Metarank 0.4.1 accepts it") for d in found]
    return _convert_plain(doc, error, path, code)


def _convert_plain(doc: LoadedDocument, error: Any, path: JsonPath, code: str) -> list[Diagnostic]:
    keyword = error.validator
    if keyword == "type":
        return [diagnostic_at(doc, code, path, f"expected {_expected_types(error.validator_value)}, got {_describe(error.instance)}")]
    if keyword in ("enum", "const"):
        return [_bad_enum(doc, error, path)]
    if keyword in ("pattern", "format"):
        return [diagnostic_at(doc, code, path, _format_message(error, path))]
    return [diagnostic_at(doc, code, path, _plain_message(error))]


def _unknown_keys(doc: LoadedDocument, error: Any, path: JsonPath) -> list[Diagnostic]:
    instance = error.instance if isinstance(error.instance, dict) else {}
    known = _known_properties(error.schema)
    patterns = list(error.schema.get("patternProperties", {}))
    extras = [k for k in instance if k not in known and not _matches_any(k, patterns)]
    candidates = [k for k in known if k not in instance]
    required = set(error.schema.get("required", ())) if isinstance(error.schema, dict) else set()
    out = []
    for key in extras:
        guess = near_miss(str(key), candidates)
        where = f" in {_where(path)}" if path else " at the top level"
        allowed = "" if guess else _allowed_list(known)
        if guess in required:  # the engine stops: the key it needs is missing
            out.append(diagnostic_at(
                doc, "RV010", (*path, key),
                f"unknown key {key!r}{where}, and the required key {guess!r} is missing",
                hint=f"did you mean {guess!r}?",
            ))
            continue
        # Metarank 0.4.1's decoders skip unknown keys: the config loads, the key does nothing
        out.append(
            diagnostic_at(
                doc, "RV010", (*path, key),
                f"unknown key {key!r}{where}{allowed}; Metarank 0.4.1 ignores it",
                hint=f"did you mean {guess!r}?" if guess else None,
                severity="warning",
            )
        )
    return out


def _missing_keys(doc: LoadedDocument, error: Any, path: JsonPath) -> list[Diagnostic]:
    instance = error.instance if isinstance(error.instance, dict) else {}
    if error.validator == "dependentRequired":
        needed = [k for trigger, keys in error.validator_value.items() if trigger in instance for k in keys]
    else:
        needed = list(error.validator_value)
    where = _where(path) if path else "the top level"
    return [
        diagnostic_at(doc, "RV011", path, f"missing required key {key!r} in {where}")
        for key in needed
        if key not in instance and not _misspelled_in(instance, key, error.schema)
    ]


def _misspelled_in(instance: dict, key: str, schema: Any) -> bool:
    """``wrokdir:`` already gets the error "unknown key 'wrokdir', and the required key 'workdir'
    is missing" from the same (closed) mapping schema; a second "missing required key 'workdir'"
    would say nothing new. Only then: a schema that does not close the mapping reports no
    unknown key, and the missing key must be reported here."""
    if not isinstance(schema, dict) or schema.get("additionalProperties") is not False:
        return False
    known = _known_properties(schema)
    candidates = [k for k in known if k not in instance]
    return any(isinstance(k, str) and k not in known and near_miss(k, candidates) == key for k in instance)


def _bad_enum(doc: LoadedDocument, error: Any, path: JsonPath) -> Diagnostic:
    allowed = [error.validator_value] if error.validator == "const" else list(error.validator_value)
    value = error.instance
    guess = near_miss(value, [a for a in allowed if isinstance(a, str)]) if isinstance(value, str) else None
    listed = ", ".join(_show(a) for a in allowed[:20]) + (", ..." if len(allowed) > 20 else "")
    what = f"{path[-1]!s}" if path and isinstance(path[-1], str) else "value"
    why = UNSUPPORTED_VALUES.get(value, "") if isinstance(value, str) else ""
    return diagnostic_at(
        doc, CODE_BY_KEYWORD[error.validator], path,
        f"{_show(value)} is not a valid {what}{why}; expected one of: {listed}",
        hint=f"did you mean {guess!r}?" if guess else None,
    )


def _best_context(error: Any) -> Any:
    from jsonschema.exceptions import best_match

    return best_match(error.context)


def _format_message(error: Any, path: JsonPath) -> str:
    what = f"{path[-1]}" if path and isinstance(path[-1], str) else "value"
    rule = error.validator_value
    if error.validator == "format" and rule in FORMAT_WORDS:
        return f"{_show(error.instance)} is not a valid {what}: {FORMAT_WORDS[rule]}"
    shown = f"pattern {rule}" if error.validator == "pattern" and len(str(rule)) <= 40 else ""
    examples = error.schema.get("examples") or []
    if examples and all(isinstance(e, str) for e in examples):
        shown += ("; " if shown else "") + "e.g. " + " or ".join(repr(e) for e in examples[:3])
    if not shown:
        shown = _first_line(error.schema.get("description", "")) or f"format {rule}"
    return f"{_show(error.instance)} is not a valid {what} ({shown})"


# -- helpers -----------------------------------------------------------------------------------


def _known_properties(schema: Any) -> list[str]:
    """Property names a (sub)schema declares, through allOf/if/then/else branches."""
    out: list[str] = []
    stack = [schema]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        out.extend(k for k in node.get("properties", {}) if k not in out)
        for keyword in ("allOf", "anyOf", "oneOf"):
            stack.extend(node.get(keyword, []))
        stack.extend(node[k] for k in ("then", "else") if k in node)
    return out


def _matches_any(key: Any, patterns: list[str]) -> bool:
    import re

    return any(re.search(p, str(key)) for p in patterns)


def _allowed_list(known: list[str]) -> str:
    if not known:
        return ""
    shown = ", ".join(known[:15]) + (", ..." if len(known) > 15 else "")
    return f"; allowed: {shown}"


def _where(path: JsonPath) -> str:
    return json_path(path)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_TYPE_WORDS = {
    "object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
    "number": "a number", "boolean": "a boolean (true/false)", "null": "null",
}


def _expected_types(value: Any) -> str:
    types = value if isinstance(value, list) else [value]
    return " or ".join(_TYPE_WORDS.get(t, t) for t in types)


def _describe(value: Any) -> str:
    if isinstance(value, (dict, list)) or value is None:
        return _json_type(value)
    return f"{_json_type(value)} ({_show(value)})"


def _show(value: Any) -> str:

    text = repr(redact(value) if isinstance(value, str) else value)
    return text if len(text) <= 60 else text[:57] + "..."


def _first_line(text: str) -> str:
    return str(text).strip().splitlines()[0][:120] if str(text).strip() else str(text)


def _plain_message(error: Any) -> str:
    keyword = error.validator
    limit = error.validator_value
    value = error.instance
    if keyword in ("minimum", "exclusiveMinimum"):
        return f"{_show(value)} is too small (minimum {limit}{', exclusive' if keyword.startswith('exclusive') else ''})"
    if keyword in ("maximum", "exclusiveMaximum"):
        return f"{_show(value)} is too large (maximum {limit}{', exclusive' if keyword.startswith('exclusive') else ''})"
    if keyword in ("minItems", "minProperties"):
        return f"needs at least {limit} {'item' if keyword == 'minItems' else 'entry'}{'s' if limit != 1 else ''}"
    if keyword in ("maxItems", "maxProperties"):
        return f"allows at most {limit} {'items' if keyword == 'maxItems' else 'entries'}"
    if keyword == "minLength":
        return "must not be empty" if limit == 1 else f"must be at least {limit} characters long"
    if keyword == "maxLength":
        return f"must be at most {limit} characters long"
    if keyword == "uniqueItems":
        return "list items must be unique"
    return _first_line(error.message)
