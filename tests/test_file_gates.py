"""The input gate (ranker_values/files/inputs.py) and the output gate (ranker_values/files/atomic.py):
every file-reading option refuses FIFOs, devices and directories with exit 2 and never hangs;
YAML inputs are bounded; outputs never replace an input, a device or a FIFO; symlinks are
written through; interrupts clean up and say so."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import EXAMPLE_CONFIG, REPO
from ranker_values.cli import app
from ranker_values.errors import InvalidInput, UsageError
from ranker_values.files import atomic, inputs

CHART = REPO / "charts" / "ranker"
CLI = str(Path(sys.executable).parent / "ranker-values")
runner = CliRunner()

ALIAS_BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(8))
)


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


def option_cases(tmp_path: Path, bad: Path) -> list[tuple[str, tuple]]:
    """Every option of every command that reads a file, with ``bad`` in that place."""
    ok_values = tmp_path / "ok.yaml"
    ok_values.write_text("{}\n")
    return [
        ("validate CONFIG", ("validate", bad)),
        ("validate --env-file", ("validate", EXAMPLE_CONFIG, "--env-file", bad)),
        ("gen CONFIG", ("gen", bad, "--out", tmp_path / "out")),
        ("gen --env-file", ("gen", EXAMPLE_CONFIG, "--env-file", bad, "--out", tmp_path / "out")),
        ("render -f", ("render", "-f", bad, "--chart", CHART)),
        ("plan OLD", ("plan", bad, ok_values, "--chart", CHART)),
        ("plan NEW", ("plan", ok_values, bad, "--chart", CHART)),
        ("plan -f", ("plan", ok_values, ok_values, "-f", bad, "--chart", CHART)),
        ("plan --add", ("plan", ok_values, ok_values, "--add", bad, "--chart", CHART)),
        ("check CONFIG", ("check", bad, "--only", "cluster.secrets")),
        ("check -f", ("check", EXAMPLE_CONFIG, "-f", bad, "--only", "cluster.secrets")),
        ("check --objects", ("check", EXAMPLE_CONFIG, "--objects", bad, "--only", "cluster.secrets")),
        ("check --env-file", ("check", EXAMPLE_CONFIG, "--env-file", bad, "--only", "cluster.secrets")),
        ("savepoint latest -f", ("savepoint", "latest", "-f", bad)),
        ("savepoint latest --objects", ("savepoint", "latest", "--objects", bad, "--release", "r")),
        ("savepoint trigger --objects", ("savepoint", "trigger", "--objects", bad, "--release", "r")),
        ("upgrade-values -f", ("upgrade-values", "--out", tmp_path / "u.yaml", "-f", bad)),
        ("upgrade-values --objects", ("upgrade-values", "--out", tmp_path / "u.yaml", "--objects", bad, "--release", "r")),
    ]


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_every_file_option_refuses_a_non_regular_file_with_exit_2_and_never_hangs(tmp_path, kind):
    if kind == "fifo":
        bad = tmp_path / "pipe"
        os.mkfifo(bad)
    elif kind == "directory":
        bad = tmp_path / "dir"
        bad.mkdir()
    else:
        bad = Path("/dev/zero")
    for label, args in option_cases(tmp_path, bad):
        # a subprocess with a timeout: a hang fails the test instead of blocking the suite
        proc = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=60, cwd=REPO)
        assert proc.returncode == 2, (label, proc.stdout, proc.stderr)
        assert "not a regular file" in proc.stderr + proc.stdout or "is a directory" in proc.stderr + proc.stdout, (label, proc.stderr)
        assert "Traceback" not in proc.stderr, (label, proc.stderr)


def test_every_yaml_option_refuses_an_alias_bomb_quickly(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(ALIAS_BOMB)  # 10^9 nodes when expanded
    for label, args in option_cases(tmp_path, bomb):
        if label in ("validate CONFIG", "gen CONFIG", "check CONFIG"):
            continue  # the config loader's own RV903 (tests/test_loader.py)
        started = time.monotonic()
        result = invoke(*args)
        assert time.monotonic() - started < 20, label
        assert result.exit_code in (1, 2), (label, result.output)
        assert "alias bomb" in result.output, (label, result.output)


def test_values_file_larger_than_the_bound_is_refused_without_reading_it_all(tmp_path, monkeypatch):
    monkeypatch.setattr(inputs, "MAX_YAML_BYTES", 1000)
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * 5000 + "\n")
    result = invoke("render", "-f", big, "--chart", CHART)
    assert result.exit_code == 1 and "larger than 1000 bytes" in result.output


def test_binary_values_file_is_one_line_usage_error(tmp_path):
    binary = tmp_path / "v.yaml"
    binary.write_bytes(b"a: 1\n\x00\x01\x02")
    result = invoke("render", "-f", binary, "--chart", CHART)
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "binary file" in result.output


def test_yaml_documents_are_built_without_recursion_and_keep_safe_load_semantics():
    text = "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\nlist: [1, 2.5, true, null, '7']\nwhen: 2024-01-01\n"
    import yaml

    assert inputs.parse_yaml_documents(text) == [yaml.safe_load(text)]
    assert inputs.parse_yaml_documents("a: 1\n---\n---\nb: 2\n") == [{"a": 1}, {"b": 2}]
    with pytest.raises(inputs.YamlRefused, match="unsupported YAML tag"):
        inputs.parse_yaml_documents("a: !!python/object:os.system {}\n")
    with pytest.raises(inputs.YamlRefused, match="nested deeper than 100"):
        inputs.parse_yaml_documents("a:\n" + "".join("  " * i + "b:\n" for i in range(1, 120)))


def test_bounded_lines_count_an_overlong_line_once():
    import io

    data = b'{"a": 1}\n' + b"x" * 5000 + b"\n" + b'{"b": 2}\n' + b"y" * 3000
    lines = list(inputs.bounded_lines(io.BytesIO(data), 1024))
    assert [(l.number, l.too_long) for l in lines] == [(1, False), (2, True), (3, False), (4, True)]
    assert lines[1].length == 5001 and lines[2].data == b'{"b": 2}\n'


# --- the output gate --------------------------------------------------------------------------


def test_gen_refuses_to_overwrite_its_own_config(tmp_path):
    out = tmp_path / "d"
    out.mkdir()
    config = out / "update.yaml"
    shutil.copy(EXAMPLE_CONFIG, config)
    before = config.read_bytes()
    result = invoke("gen", config, "--out", out)
    assert result.exit_code == 2 and "is one of this command's inputs" in result.output
    assert config.read_bytes() == before
    assert sorted(os.listdir(out)) == ["update.yaml"]  # nothing staged, nothing left behind


def test_upgrade_values_refuses_to_replace_the_deployed_values_it_reads(tmp_path):
    deployed = tmp_path / "deployed.yaml"
    deployed.write_text("s3: {region: us-east-1}\n")
    result = invoke("upgrade-values", "-f", deployed, "--out", deployed)
    assert result.exit_code == 2 and "is one of this command's inputs" in result.output
    assert deployed.read_text() == "s3: {region: us-east-1}\n"


def test_output_gate_refuses_fifos_and_devices(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="not a regular file"):
        atomic.write_text_atomic(fifo, "x")
    assert fifo.is_fifo()
    with pytest.raises(UsageError, match="not a regular file"):
        atomic.write_text_atomic(Path("/dev/full"), "x")
    assert Path("/dev/full").is_char_device()
    result = invoke("render", "-f", EXAMPLE_CONFIG.parent.parent / "values" / "dev.yaml", "--chart", CHART, "-o", "/dev/full", "--no-validate")
    assert result.exit_code == 2 and "not a regular file" in result.output


def test_output_symlink_is_written_through_atomically(tmp_path):
    real = tmp_path / "real" / "values.yaml"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    atomic.write_text_atomic(link, "new\n")
    assert link.is_symlink() and real.read_text() == "new\n"
    assert sorted(os.listdir(real.parent)) == ["values.yaml"] and sorted(os.listdir(tmp_path)) == ["link.yaml", "real"]
    dangling = tmp_path / "dangling.yaml"
    dangling.symlink_to(tmp_path / "nowhere" / "x.yaml")
    with pytest.raises(UsageError, match="does not exist"):
        atomic.write_text_atomic(dangling, "x")


def test_output_symlink_to_an_input_is_refused(tmp_path):
    deployed = tmp_path / "deployed.yaml"
    deployed.write_text("a: 1\n")
    link = tmp_path / "out.yaml"
    link.symlink_to(deployed)
    result = invoke("upgrade-values", "-f", deployed, "--out", link)
    assert result.exit_code == 2 and "is one of this command's inputs" in result.output


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_interrupted_gen_leaves_no_temp_files_and_says_so(tmp_path, signum, code, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    # a slow fsync stands in for a big write: the signal arrives while files are staged
    script = (
        "import os, sys, time\n"
        "real = os.fsync\n"
        "def slow(fd):\n"
        "    real(fd); sys.stderr.write('STAGING\\n'); sys.stderr.flush(); time.sleep(30)\n"
        "os.fsync = slow\n"
        "from ranker_values.cli import main\n"
        f"sys.argv = ['ranker-values', 'gen', {str(EXAMPLE_CONFIG)!r}, '--out', {str(out)!r}]\n"
        "main()\n"
    )
    def as_from_a_terminal():  # default dispositions, nothing blocked (pytest may run as a background job)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            preexec_fn=as_from_a_terminal)
    try:
        assert proc.stderr.readline().strip() == "STAGING"
        assert any(name.endswith(".tmp") for name in os.listdir(out))
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert f"interrupted ({signal.Signals(signum).name})" in err
    assert os.listdir(out) == []  # no temp file, no half-replaced target


def test_a_signal_ignored_at_start_stays_ignored():
    """Shells start background jobs with SIGINT ignored; Ctrl-C meant for the foreground must not
    interrupt them."""
    script = (
        "import signal\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "from ranker_values.files.atomic import install_interrupt_handlers\n"
        "install_interrupt_handlers()\n"
        "print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN, signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert proc.stdout.split() == ["True", "True"], proc.stderr
