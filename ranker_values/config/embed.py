"""The config text that goes into the values files (and so into the ConfigMap every pod reads).

The config as written, with two edits that leave what the engine reads unchanged:

* **comments are removed**: a comment is free text (an old password, a token "for later") that no
  rule can tell from a harmless note, and the ConfigMap must never hold a secret; the values the
  engine reads are screened by RV120/RV121 instead. Whole-line comments go with their line, so a
  ``|+`` block scalar before them keeps its exact content.
* **mapping keys YAML might read as something else are single-quoted** (``yes``, ``on``, ``010``,
  ``0x1F``, ``1.0``, ``null``): Metarank (circe-yaml) and this generator read a key as the text
  written, but the chart's ``fromYaml``/``toYaml`` (Go YAML 1.1) turns ``yes:`` into ``true:``
  and ``010:`` into ``8:``, so a train Job would pass a model name the engine no longer has.
  Quoted, every reader sees the same string.

The result is parsed again and must give the same data (key order included) as the original; it
always does, but a config that did not would be refused (RV907) rather than changed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ranker_values.errors import Diagnostic

#: The API server refuses a ConfigMap whose data holds more than this (k8s.io/api core/v1
#: MaxSecretSize, used by ValidateConfigMap for data + binaryData).
CONFIGMAP_MAX_BYTES = 1024 * 1024

# A plain key every YAML reader (1.1 and 1.2, Go, Java, Python) takes as this very string.
_SAFE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
# ... unless it is one of YAML 1.1's booleans and nulls, or a word Go's ParseFloat reads.
_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "inf", "infinity", "nan"})
_MERGE = "<<"
_BREAK = re.compile(r"[\r\n]")


def needs_quotes(key: str) -> bool:
    """Whether a plain (unquoted) mapping key must be quoted to stay this string everywhere."""
    if key == _MERGE:
        return False  # the merge key: quoting it would change its meaning
    return not _SAFE_KEY.fullmatch(key) or key.lower() in _WORDS


def engine_text(text: str) -> str:
    """``text`` without comments and with ambiguous plain keys quoted (see the module doc).

    Raises ``ValueError`` only if the edit would change the data, which the verification in
    :func:`embedded_config` turns into a diagnostic."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    covered: list[tuple[int, int]] = []  # [start, end) of every token, in order
    quote: list[tuple[int, int, str]] = []
    after_key = False
    for token in yaml.scan(text, Loader=loader):
        start, end = token.start_mark.index, token.end_mark.index
        if end > start:
            covered.append((start, end))
        kind = type(token).__name__
        if kind == "ScalarToken" and after_key and token.plain and needs_quotes(token.value):
            quote.append((start, end, "'" + token.value.replace("'", "''") + "'"))
        after_key = kind == "KeyToken" or (after_key and kind == "AnchorToken")
    return _apply(text, _comment_edits(text, covered) + quote)


def _comment_edits(text: str, covered: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """(start, end, "") for every comment: a ``#`` outside every token, at a line start or after
    white space. A line holding only a comment is removed with its line break."""
    edits = []
    spans = iter(covered)
    span = next(spans, None)
    position = text.find("#")
    while position != -1:
        while span is not None and span[1] <= position:
            span = next(spans, None)
        inside = span is not None and span[0] <= position < span[1]
        if not inside and (position == 0 or text[position - 1] in " \t\r\n\ufeff"):
            line_start = position  # each search stops at the nearest break: linear overall
            while line_start > 0 and text[line_start - 1] not in "\r\n":
                line_start -= 1
            found = _BREAK.search(text, position)
            line_end = found.start() if found else len(text)
            if not text[line_start:position].strip(" \t\ufeff"):
                # the whole line: drop it with its line break (CRLF counts as one)
                stop = line_end
                if text.startswith("\r\n", stop):
                    stop += 2
                elif stop < len(text):
                    stop += 1
                edits.append((line_start, stop, ""))
            else:
                cut = position
                while cut > line_start and text[cut - 1] in " \t":
                    cut -= 1
                edits.append((cut, line_end, ""))
            position = text.find("#", line_end)
            continue
        position = text.find("#", position + 1)
    return edits


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    out, last = [], 0
    for start, end, new in sorted(edits):
        if start < last:  # cannot happen: comments and keys never overlap
            raise ValueError("overlapping edits")
        out.append(text[last:start])
        out.append(new)
        last = end
    out.append(text[last:])
    return "".join(out)


def embedded_config(doc: Any) -> tuple[str | None, list[Diagnostic]]:
    """The text for ``ranking.config`` of a usable :class:`LoadedDocument`, or None with the
    diagnostic that says why it cannot be embedded."""
    from ranker_values.config.loader import diagnostic_at, parse_text

    text = doc.text or ""
    try:
        edited = engine_text(text)
        same = _same(parse_text(edited, doc.file).data, doc.data)
    except Exception:  # noqa: BLE001 - the config parsed once already; never crash on the edit
        same, edited = False, text
    if not same:
        return None, [diagnostic_at(
            doc, "RV907", (),
            "the config cannot be embedded without its comments without changing what it means",
            hint="remove the comments yourself (the ConfigMap never holds them)",
        )]
    size = len(edited.encode("utf-8"))
    if size > CONFIGMAP_MAX_BYTES:
        return None, [diagnostic_at(
            doc, "RV907", (),
            f"the config is {size:,} bytes without comments; a Kubernetes ConfigMap holds at most "
            f"{CONFIGMAP_MAX_BYTES:,} bytes (1 MiB), so the API server would refuse it",
            hint="share features between models, or split the deployment into several releases",
        )]
    return edited, []


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, default=str, sort_keys=False) == json.dumps(b, default=str, sort_keys=False)
