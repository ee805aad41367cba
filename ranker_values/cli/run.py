"""What a command does once its arguments are parsed, without typer: printing, the error guard,
``--format json``, and the bodies of ``validate`` and ``gen``.

Both parsers call these: the typer app (:mod:`ranker_values.cli.app`, every command, help, usage
errors) and the fast path (:mod:`ranker_values.cli.fast`, the plain ``validate``/``gen`` command lines,
which would otherwise spend most of their time importing typer and pydantic). So what a command
prints and how it exits is written once; tests/test_cli_fast_path.py runs both on the same
command lines and compares stdout, stderr, exit codes and written files byte for byte.
"""

from __future__ import annotations

import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

from ranker_values.errors import RankerError

EXIT_INTERNAL = 70  # a bug in ranker-values (EX_SOFTWARE): reported in one line, never a traceback
OUTPUT_FORMATS = ("text", "json", "github")  # validate --format
PLAIN_OR_JSON = ("text", "json")  # gen --format (and plan, upgrade-values)

_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")  # click's _compat._ansi_re


def echo(message: str = "", err: bool = False, nl: bool = True) -> None:
    """click.echo for text: a newline, ANSI codes stripped when the stream is not a terminal
    (click does that too), then a flush."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:
        return
    out = message + ("\n" if nl else "")
    if not out:
        stream.flush()
        return
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty:
        out = _ANSI.sub("", out)
    stream.write(out)
    stream.flush()


def fail(err: RankerError) -> SystemExit:
    """Print a domain error (message + diagnostics) to stderr and return the exit to raise."""
    from ranker_values.config.report import render_error

    echo(render_error(err), err=True)
    return SystemExit(err.exit_code)


class JsonOut:
    """``--format json``: one JSON document on stdout, also when the command fails (stderr then
    keeps the same error text as in text mode). Its shape is documented in README (CLI output)."""

    def __init__(self, command: str, **fields) -> None:
        self.command, self.fields = command, fields

    def emit(self, exit_code: int, error: Optional[str] = None, diagnostics=(), **fields) -> None:
        from ranker_values.config.report import json_document

        echo(json_document(self.command, exit_code, error, list(diagnostics), {**self.fields, **fields}))


@contextmanager
def guarded(json_out: Optional[JsonOut] = None, passthrough: tuple[type[BaseException], ...] = ()):
    """RankerError → its report and exit code; anything else → one line and EXIT_INTERNAL.
    With ``json_out`` the failure is also one JSON document on stdout. ``passthrough``: exception
    types that are exits of the parser in use (typer's Exit and Abort), raised on unchanged."""
    from ranker_values.files.inputs import forget_inputs

    forget_inputs()  # the output gate refuses to overwrite what this command reads
    try:
        yield
    except passthrough:
        raise
    except RankerError as err:
        raise _failed(err, json_out) from None
    except ModuleNotFoundError as exc:
        from ranker_values.errors import missing_extra

        extra = missing_extra(exc)
        raise (_failed(extra, json_out) if extra else internal(exc, json_out)) from None
    except Exception as exc:  # noqa: BLE001 - the last line of defence against a traceback
        raise internal(exc, json_out) from None


def _failed(err: RankerError, json_out: Optional[JsonOut]) -> SystemExit:
    exit_ = fail(err)
    if json_out is not None:
        json_out.emit(err.exit_code, err.message, err.diagnostics)
    return exit_


def internal(exc: BaseException, json_out: Optional[JsonOut] = None) -> SystemExit:
    """A bug: one line on stderr, never a traceback; returns the exit to raise."""
    message = f"internal error ({type(exc).__name__}: {exc}); please report it"
    echo(f"ranker-values: {message}", err=True)
    if json_out is not None:
        json_out.emit(EXIT_INTERNAL, message)
    return SystemExit(EXIT_INTERNAL)


# --- validate / gen ---------------------------------------------------------------------------


def validate(
    configs: list[Path], env: Optional[str], env_file: Optional[Path], output: str, verbose: bool, strict: bool,
    passthrough: tuple[type[BaseException], ...] = (),
) -> None:
    """``ranker-values validate``; always ends in SystemExit (0 valid, 1 invalid, 2 usage)."""
    from ranker_values.errors import EXIT_INVALID, EXIT_OK
    from ranker_values.pipeline import load_env_profile, validate_config
    from ranker_values.config.report import render_github, render_github_fatal, render_json, render_text

    exit_code = EXIT_OK
    results = []
    with guarded(passthrough=passthrough):
        load_env_profile(env, env_file)  # a bad --env is one usage error, not one per file
        for config in configs:
            try:
                result = validate_config(config, env, env_file)
            except RankerError as err:  # this file cannot be read: report it, go on with the rest
                results.append((str(config), err.diagnostics, err.message))
                exit_code = max(exit_code, err.exit_code)
                continue
            results.append((result.file, result.diagnostics, None))
            if not result.ok or (strict and result.warnings):
                exit_code = max(exit_code, EXIT_INVALID)
        if output == "json":
            echo(render_json(results))
        elif output == "github":
            lines = [render_github(diagnostics) for _, diagnostics, _ in results if diagnostics]
            lines += [render_github_fatal(file, fatal) for file, _, fatal in results if fatal]
            if lines:
                echo("\n".join(lines))
        else:
            for file, diagnostics, fatal in results:
                echo(_fatal_line(file, fatal) if fatal else render_text(file, diagnostics, verbose))
    raise SystemExit(exit_code)


def _fatal_line(file: str, message: str) -> str:
    """``x: error: no such file``: the file named once, also when the message starts with it."""
    prefix = f"{file}: "
    return f"{file}: error: {message[len(prefix):] if message.startswith(prefix) else message}"


def gen(
    config: Path, env: Optional[str], env_file: Optional[Path], out: Path, verbose: bool, strict: bool, output: str,
    passthrough: tuple[type[BaseException], ...] = (),
) -> None:
    """``ranker-values gen``: returns normally after writing (exit 0), SystemExit otherwise."""
    from ranker_values.values.emit import write_values
    from ranker_values.pipeline import validate_config
    from ranker_values.config.report import format_line, render_text

    env_name = env or (env_file.stem if env_file is not None else None)
    as_json = JsonOut("gen", config=str(config), env=env_name, out=str(out), written=[]) if output == "json" else None
    with guarded(as_json, passthrough):
        result = validate_config(config, env, env_file)
        if not result.ok or result.deployment is None or (strict and result.warnings):
            echo(render_text(result.file, result.diagnostics, verbose), err=True)
            echo(f"{result.file}: nothing generated", err=True)
            if as_json is not None:
                as_json.emit(1, f"{result.file}: nothing generated", result.diagnostics)
            raise SystemExit(1)
        if as_json is None:
            for warning in result.warnings:
                echo(format_line(warning), err=True)
        paths = write_values(result.deployment, out)
        if as_json is not None:
            as_json.emit(0, None, result.diagnostics, written=[{"step": p.stem, "path": str(p)} for p in paths])
        else:
            for path in paths:
                echo(f"wrote {path}")
