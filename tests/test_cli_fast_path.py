"""The fast path (ranker_values/cli/fast.py) behaves exactly like the typer app it bypasses.

Every command line below runs twice as a fresh process from the repository root: through the
entry point (``ranker_values.cli:main``: the fast path when it takes the line) and through the typer
app alone (``ranker_values.cli.commands:main``). stdout, stderr, the exit code and every file written
must be byte-identical. The lines cover both commands, every option in both spellings, every
output format, valid, invalid, warning-only, unreadable and missing inputs, an output gate
refusal, and a file name with a terminal escape code (click strips those off a pipe); lines the
fast path must leave to typer are included too (help, typos, missing or repeated values, ``--``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLE_CONFIG, REPO
from ranker_values.cli import fast

ENTRY = "from ranker_values.cli import main; main()"
TYPER_ONLY = "from ranker_values.cli.commands import main; main()"
ESC = "\x1b[31m"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("fast")
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    files = {
        "ok": text,
        "bad": text.replace("workdir:", "wrokdir:", 1),
        "warn": text.replace("bootstrap:\n", "bootstrap:\n  zz_unknown: 1\n", 1),
        "many": text.replace("parallelism: 2", "parallelism: two", 1).replace("port: 6379", "port: 99999", 1),
        "empty": "",
        f"esc{ESC}": text.replace("workdir:", "wrokdir:", 1),
    }
    paths = {}
    for name, content in files.items():
        path = root / f"{name}.yml"
        path.write_text(content, encoding="utf-8")
        paths[name] = str(path)
    (root / "binary.yml").write_bytes(b"\x00\x01\x02")
    paths["binary"] = str(root / "binary.yml")
    (root / "dir").mkdir()
    paths["dir"] = str(root / "dir")
    paths["missing"] = str(root / "missing.yml")
    paths["out"] = str(root / "out")
    paths["esc"] = paths.pop(f"esc{ESC}")
    inside = root / "out-onto-input"
    inside.mkdir()
    (inside / "update.yaml").write_text(text, encoding="utf-8")
    paths["onto"] = str(inside / "update.yaml")
    paths["onto_dir"] = str(inside)
    return paths


LINES = [
    # validate: formats, flags, several files, env, unreadable inputs
    "validate {ok}", "validate {ok} --format json", "validate --format=github {bad}", "validate {bad}",
    "validate -v {many}", "validate --verbose {many} --format json", "validate {warn}", "validate --strict {warn}",
    "validate {ok} {bad} {missing} {dir} {binary} {empty}", "validate --env prod {ok}", "validate --env=dev {bad}",
    "validate --env nope {ok}", "validate --env-file values/dev.yaml {ok}", "validate --env-file={missing} {ok}",
    "validate --env-file {dir} {ok}", "validate {esc}", "validate --format github {esc} {missing}",
    # gen: out in both spellings, formats, invalid, warnings, strict, env, gates
    "gen {ok} --out {out}", "gen --out={out} {ok} --format json", "gen {bad} --out {out}", "gen {bad} --out {out} --format json",
    "gen {warn} --out {out}", "gen --strict {warn} --out {out}", "gen -v {many} --out {out}", "gen {missing} --out {out}",
    "gen {dir} --out {out}", "gen --env prod {ok} --out {out}", "gen --env-file values/dev.yaml {ok} --out {out} --format json",
    "gen {onto} --out {onto_dir}", "gen {esc} --out {out}", "gen {binary} --out {out} --format json",
    # lines the fast path leaves to typer
    "gen", "gen {ok} {ok} --out {out}", "validate --format JSON {ok}", "validate --bogus {ok}", "gen {ok} --out",
    "validate -- {ok}", "validate -h", "gen {ok} --out {out} --out {out}", "validate -vv {ok}",
]
TYPER_LINES = LINES[-9:]


def run(code: str, args: list[str], out: Path) -> tuple[int, str, str, dict[str, bytes]]:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, cwd=REPO, timeout=120)
    files = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} if out.exists() else {}
    shutil.rmtree(out, ignore_errors=True)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"), files


@pytest.mark.parametrize("line", LINES)
def test_entry_point_equals_the_typer_app(inputs, line):
    args = [a.format(**inputs) for a in line.split()]
    out = Path(inputs["out"])
    shutil.rmtree(out, ignore_errors=True)
    onto = Path(inputs["onto"])
    before = onto.read_bytes()
    fast_result = run(ENTRY, args, out)
    typer_result = run(TYPER_ONLY, args, out)
    assert onto.read_bytes() == before
    assert fast_result == typer_result
    assert "Traceback" not in fast_result[2]
    assert (fast.parse(args) is None) == (line in TYPER_LINES), "the fast path takes a different set of lines"


def test_the_lines_cover_every_fast_option_and_outcome():
    words = " ".join(LINES[: -len(TYPER_LINES)])
    for option in ("--env ", "--env=", "--env-file ", "--env-file=", "--format ", "--format=", "--out ", "--out=", "-v ", "--verbose", "--strict"):
        assert option in words, option


def test_the_fast_path_imports_neither_typer_nor_jsonschema(inputs, tmp_path):
    probe = (
        "import sys\n"
        "from ranker_values.cli import main\n"
        "sys.argv = ['ranker-values', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit as stop:\n    code = stop.code\nelse:\n    code = 0\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'click', 'pydantic', 'jsonschema', 'rich'})\n"
        "print('PROBE', code, heavy, file=sys.stderr)\n"
    )
    for args, loaded in (
        (["gen", inputs["ok"], "--out", str(tmp_path / "o")], "[]"),
        (["validate", inputs["ok"]], "[]"),
        (["validate", inputs["bad"]], "['jsonschema']"),  # jsonschema words the problems
        (["validate", "-h"], None),  # typer's help
    ):
        proc = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=REPO, timeout=120)
        line = next(x for x in proc.stderr.splitlines() if x.startswith("PROBE"))
        if loaded is None:
            assert "typer" in line, line
        else:
            assert line.endswith(loaded), (args, line)


@pytest.mark.parametrize(
    "argv",
    [
        [], ["schema"], ["--version"], ["gen"], ["validate"], ["gen", "a", "b"], ["gen", "a", "--out"], ["gen", "a", "--out", "-x"],
        ["gen", "a", "--out="], ["gen", "", "--out", "o"], ["validate", "-"], ["validate", "--", "a"], ["validate", "a", "--help"],
        ["validate", "a", "-h"], ["validate", "a", "--format", "JSON"], ["gen", "a", "--format", "github"],
        ["validate", "a", "--verbose=1"], ["validate", "a", "-v", "--verbose"], ["validate", "a\udcff"], ["gen", "a", "--env"],
        ["validate", "a", "--out", "o"],
    ],
)
def test_parse_leaves_doubtful_lines_to_typer(argv):
    assert fast.parse(argv) is None


def test_parse_reads_what_typer_reads():
    command, arguments = fast.parse(["gen", "--format=json", "c.yml", "-v", "--env", "prod", "--env-file=e.yaml", "--strict"])
    assert command == "gen"
    assert arguments == {
        "config": Path("c.yml"), "out": Path("values/generated"), "env": "prod", "env_file": Path("e.yaml"),
        "output": "json", "verbose": True, "strict": True,
    }
    command, arguments = fast.parse(["validate", "a.yml", "b.yml"])
    assert arguments["configs"] == [Path("a.yml"), Path("b.yml")] and arguments["output"] == "text"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file: typer's readability check never fires")
def test_an_unreadable_config_is_left_to_typer(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text("x: 1\n")
    path.chmod(0)
    assert fast.parse(["validate", str(path)]) is None


def test_a_completion_request_or_a_non_utf8_stream_goes_to_typer(monkeypatch):
    monkeypatch.setenv(fast.COMPLETE_VAR, "complete_bash")
    assert fast.run(["validate", str(EXAMPLE_CONFIG)]) is False
    monkeypatch.delenv(fast.COMPLETE_VAR)

    class Ascii:
        encoding = "ascii"

    monkeypatch.setattr(sys, "stdout", Ascii())
    assert fast.run(["validate", str(EXAMPLE_CONFIG)]) is False


@pytest.mark.parametrize("message", ["plain", f"a {ESC}red\x1b[0m word", "", "two\nlines", "ünïcode ✓"])
@pytest.mark.parametrize("err", [False, True])
@pytest.mark.parametrize("nl", [True, False])
def test_echo_prints_what_click_echo_prints(capsys, message, err, nl):
    """The bodies print with run.echo in both parsers; it must print what typer.echo (click's)
    printed before: a newline, escape codes stripped off a stream that is not a terminal."""
    import typer

    from ranker_values.cli.run import echo

    typer.echo(message, err=err, nl=nl)
    clicks = capsys.readouterr()
    echo(message, err=err, nl=nl)
    assert capsys.readouterr() == clicks
