"""Print diagnostics: ranked most relevant first, as text, JSON or GitHub annotations.

Relevance (``rank_key``): errors before warnings; then problems that explain others come first —
file-level and structure (RV0xx up to RV006, RV9xx), then near misses ("did you mean"), then other
schema errors, semantic rules (RV1xx) and environment rules (RV2xx); ties in document order.
"""

from __future__ import annotations

import json
from typing import Iterable

from ranker_values.errors import Diagnostic, RankerError

TEXT_LIMIT = 10  # errors shown without --verbose
FORMATS = ("text", "json", "github")


def rank_key(d: Diagnostic) -> tuple:
    return (d.severity != "error", _tier(d), d.file, d.line or 0, d.col or 0, d.code, d.path)


def _tier(d: Diagnostic) -> int:
    number = int(d.code[2:]) if d.code[2:].isdigit() else 999
    if number < 10 or number >= 900:
        return 0
    if d.hint:
        return 1
    if number < 100:
        return 2
    if number < 200:
        return 3
    return 4


def unique(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Each problem once: the same code, file, path and message is one diagnostic, whichever
    schema branches or rules found it (the first one, with its hint, stays)."""
    seen: set[tuple] = set()
    out = []
    for d in diagnostics:
        key = (d.file, d.code, d.path, d.message, d.severity)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def ranked(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Deduplicated (:func:`unique`) and sorted most relevant first."""
    return sorted(unique(diagnostics), key=rank_key)


# -- text ---------------------------------------------------------------------------------------


def format_line(d: Diagnostic) -> str:
    hint = f"; {d.hint}" if d.hint else ""
    return f"{d.location}: {d.severity}[{d.code}] {d.path}: {d.message}{hint}"


def render_text(file: str, diagnostics: list[Diagnostic], verbose: bool = False) -> str:
    """The ranked problems of one file, the first TEXT_LIMIT errors unless verbose, and a summary."""
    items = ranked(diagnostics)
    errors = [d for d in items if d.severity == "error"]
    warnings = [d for d in items if d.severity != "error"]
    shown_errors = errors if verbose else errors[:TEXT_LIMIT]
    lines = [format_line(d) for d in shown_errors]
    hidden = len(errors) - len(shown_errors)
    if hidden:
        lines.append(f"... {hidden} other error{'s' if hidden != 1 else ''} (use --verbose to see all)")
    lines.extend(format_line(d) for d in warnings)
    lines.append(summary(file, len(errors), len(warnings)))
    return "\n".join(lines)


def summary(file: str, errors: int, warnings: int) -> str:
    if not errors and not warnings:
        return f"{file}: valid"
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return f"{file}: {', '.join(parts)}"


# -- json ---------------------------------------------------------------------------------------


def diagnostic_dict(d: Diagnostic) -> dict:
    return {
        "file": d.file, "line": d.line, "col": d.col, "severity": d.severity,
        "code": d.code, "path": d.path, "message": d.message, "hint": d.hint,
    }


def render_json(results: list[tuple[str, list[Diagnostic], str | None]]) -> str:
    """``results``: (file, diagnostics, fatal message or None) per file; everything, ranked."""
    files = []
    for file, diagnostics, fatal in results:
        items = ranked(diagnostics)
        files.append({
            "file": file,
            "valid": fatal is None and not any(d.severity == "error" for d in items),
            "fatal": fatal,
            "errors": sum(d.severity == "error" for d in items),
            "warnings": sum(d.severity != "error" for d in items),
            "diagnostics": [diagnostic_dict(d) for d in items],
        })
    return json.dumps({"files": files}, indent=2, ensure_ascii=False)


#: Version of the ``--format json`` document of gen, plan and upgrade-values; bumped only when a
#: key changes meaning or goes away (new keys may be added without a bump).
JSON_VERSION = 1


def json_document(command: str, exit_code: int, error: str | None, diagnostics: list[Diagnostic], fields: dict) -> str:
    """The ``--format json`` document: the same envelope for every command (README, CLI output),
    then the command's own keys, which are present (empty or null) also when it failed."""
    doc = {
        "command": command,
        "version": JSON_VERSION,
        "ok": exit_code == 0,
        "exit_code": exit_code,
        "error": error,
        "diagnostics": [diagnostic_dict(d) for d in ranked(diagnostics)],
        **fields,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str)


# -- GitHub Actions workflow commands -----------------------------------------------------------


def render_github(diagnostics: list[Diagnostic]) -> str:
    return "\n".join(_github_line(d) for d in ranked(diagnostics))


def render_github_fatal(file: str, message: str) -> str:
    """A file that could not be read at all (no line to point at)."""
    return f"::error file={_gh_prop(file)},title=ranker-values::{_gh_data(message)}"


def _github_line(d: Diagnostic) -> str:
    props = [f"file={_gh_prop(d.file)}"]
    if d.line is not None:
        props += [f"line={d.line}", f"col={d.col or 1}"]
    props.append(f"title={_gh_prop(d.code)}")
    hint = f"; {d.hint}" if d.hint else ""
    return f"::{d.severity} {','.join(props)}::{_gh_data(f'{d.path}: {d.message}{hint}')}"


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


# -- a RankerError as a whole (used by cli.fail) ------------------------------------------------


def render_error(err: RankerError, verbose: bool = False) -> str:
    if not err.diagnostics:
        return f"error: {err.message}"
    files = list(dict.fromkeys(d.file for d in err.diagnostics))
    blocks = [render_text(f, [d for d in err.diagnostics if d.file == f], verbose) for f in files]
    return "\n".join(blocks)
