"""The fast path: a plain ``validate`` or ``gen`` command line, run without importing typer.

typer 0.29 builds a pydantic TypeAdapter for every parameter, so parsing a command line imports
typer, click and pydantic: most of a cold ``gen`` (bench/bench_vs_check_jsonschema.py). These two
commands are what editors, pre-commit hooks and CI run over and over, so their common command lines
are parsed here and handed to the same bodies the typer commands call (:mod:`ranker_values.cli.run`).

Only command lines whose meaning is beyond doubt take this path: the command first, then its
known options (``--opt VALUE``, ``--opt=VALUE``, the flags once each) and arguments in any order,
every value non-empty, UTF-8 and not starting with ``-``, a path that exists also readable (typer
checks that itself), ``--format`` one of its choices as typed. Anything else — help, a typo, a
missing or repeated value, ``--``, a shell completion request, a stream that is not UTF-8 — goes
to typer, which prints its own usage errors. tests/test_cli_fast_path.py runs both parsers on the
same command lines and compares stdout, stderr, exit codes and the files written.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Optional

COMPLETE_VAR = "_RANKER_VALUES_COMPLETE"  # set by the shell completion script: typer answers it

_FLAGS = {"--verbose": "verbose", "-v": "verbose", "--strict": "strict"}
_COMMON = {"--env": ("env", None), "--env-file": ("env_file", Path)}
_SPECS: dict[str, dict[str, tuple[str, Any]]] = {
    "validate": {**_COMMON, "--format": ("output", ("text", "json", "github"))},
    "gen": {**_COMMON, "--out": ("out", Path), "--format": ("output", ("text", "json"))},
}


def parse(argv: list[str]) -> Optional[tuple[str, dict[str, Any]]]:
    """(command, keyword arguments of its body) for a command line this path takes; else None."""
    if not argv or argv[0] not in _SPECS:
        return None
    command, options = argv[0], _SPECS[argv[0]]
    values: dict[str, Any] = {}
    positional: list[str] = []
    rest = argv[1:]
    while rest:
        token = rest.pop(0)
        if not _plain(token):
            return None
        if not token.startswith("-"):
            positional.append(token)
            continue
        name, eq, value = token.partition("=") if token.startswith("--") else (token, "", "")
        if name in _FLAGS and not eq:
            dest, value = _FLAGS[name], True
        elif name in options:
            if not eq:
                if not rest:
                    return None
                value = rest.pop(0)
            if not _plain(value) or value.startswith("-"):
                return None
            dest, kind = options[name]
            if isinstance(kind, tuple):
                if value not in kind:
                    return None
            elif kind is Path:
                if not _readable_if_there(value):
                    return None
                value = Path(value)
        else:
            return None
        if dest in values:
            return None  # given twice: typer decides what that means
        values[dest] = value
    if not positional or not all(_readable_if_there(p) for p in positional):
        return None
    common = {
        "env": values.get("env"), "env_file": values.get("env_file"), "output": values.get("output", "text"),
        "verbose": values.get("verbose", False), "strict": values.get("strict", False),
    }
    if command == "validate":
        return command, {"configs": [Path(p) for p in positional], **common}
    if len(positional) != 1:
        return None
    return command, {"config": Path(positional[0]), "out": values.get("out", Path("values/generated")), **common}


def _plain(text: str) -> bool:
    """Non-empty, valid UTF-8 (no surrogate-escaped bytes), not ``--`` or ``-``."""
    if text in ("", "-", "--"):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _readable_if_there(path: str) -> bool:
    """typer's Path parameters refuse an existing path that is not readable (exit 2, its words)."""
    try:
        os.stat(path)
    except OSError:
        return True
    except ValueError:
        return False
    return os.access(path, os.R_OK)


def _utf8(stream: Any) -> bool:
    encoding = getattr(stream, "encoding", None) or ""
    return encoding.lower().replace("-", "").replace("_", "") == "utf8"


def run(argv: list[str]) -> bool:
    """Run the command line if this path takes it (then it returns or raises SystemExit, like the
    typer command); False when typer must."""
    if os.environ.get(COMPLETE_VAR) or not (_utf8(sys.stdout) and _utf8(sys.stderr)):
        return False  # click re-wraps misconfigured streams; completion requests are typer's
    parsed = parse(argv)
    if parsed is None:
        return False
    import ranker_values.cli.run as bodies

    command, arguments = parsed
    getattr(bodies, command)(**arguments)
    return True
