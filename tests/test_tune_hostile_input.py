"""Issue 17, the tune findings: every output path through the output gate before the search,
interrupts with a process pool, the engine's original model kept, hostile dataset lines, FIFOs as
the broker file and the kubeconfig, both xgboost extras in one environment.

The tune runs go through .venv-tune (xgboost 1.6.1) as subprocesses, like tests/test_tune_cli.py.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from test_tune_support import REPO, TUNE_BIN, run_cli, tune_bin, tune_env, write_config, write_synthetic  # noqa: F401 - fixture

QUICK = ["--trials", "2", "--folds", "3", "--max-rounds", "20"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One synthetic dataset (400 queries) shared by the module's runs (none writes into it)."""
    if not (TUNE_BIN / "ranker-values").exists():
        pytest.skip("needs .venv-tune")
    root = tmp_path_factory.mktemp("ds") / "work"
    write_synthetic(str(root / "dataset-xgb"), 400)
    return root


@pytest.fixture
def ws(tmp_path: Path, dataset: Path, tune_bin: Path) -> dict:
    model = tmp_path / "models" / "xgb.model"
    config = write_config(tmp_path, workdir=str(dataset), model_path=str(model))
    values = tmp_path / "values.yaml"
    values.write_text("s3:\n  region: us-east-1\n")
    return {"tmp": tmp_path, "config": config, "model": model, "values": values, "dataset": dataset / "dataset-xgb"}


def tune(ws: dict, *args: str, timeout: float = 180, **env: str) -> subprocess.CompletedProcess:
    return run_cli(["tune", str(ws["config"]), "--model", "xgb", "-f", str(ws["values"]), *QUICK, *args], timeout=timeout, **env)


def searched(result: subprocess.CompletedProcess) -> bool:
    """Whether the run got as far as planning the search (its first line names the search)."""
    return "tune xgb:" in result.stdout


def dataset_file(ws: dict) -> Path:
    return sorted(ws["dataset"].rglob("*.json"))[0]


# --- 1. every output path through the output gate, before the search ------------------------


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("config", "is one of this command's inputs; refusing to overwrite it"),
        ("values", "is one of this command's inputs; refusing to overwrite it"),
        ("dataset file", "inside the dataset directory"),
        ("dataset file, hard-linked elsewhere", "is one of this command's inputs; refusing to overwrite it"),
        ("/dev/full", "is not a regular file (a device, FIFO or socket); refusing to replace it"),
        ("fifo", "is not a regular file (a device, FIFO or socket); refusing to replace it"),
        ("directory", "is a directory; give a file path"),
        ("dangling symlink", "which does not exist; give a file path"),
    ],
)
def test_tune_refuses_an_input_a_device_a_fifo_or_a_directory_as_the_model_path_before_the_search(ws: dict, target: str, message: str) -> None:
    tmp = ws["tmp"]
    paths = {
        "config": ws["config"],
        "values": ws["values"],
        "dataset file": dataset_file(ws),
        "dataset file, hard-linked elsewhere": tmp / "linked.model",
        "/dev/full": Path("/dev/full"),
        "fifo": tmp / "fifo.model",
        "directory": tmp / "dir.model",
        "dangling symlink": tmp / "dangling.model",
    }
    path = paths[target]
    if target == "dataset file, hard-linked elsewhere":
        os.link(dataset_file(ws), path)
    elif target == "fifo":
        os.mkfifo(path)
    elif target == "directory":
        path.mkdir()
    elif target == "dangling symlink":
        path.symlink_to(tmp / "nowhere")
    before = path.read_bytes() if path.is_file() else None
    started = time.monotonic()
    result = tune(ws, "--model-path", str(path), "--force", timeout=60)
    assert result.returncode == 2, result.stderr + result.stdout
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not searched(result) and time.monotonic() - started < 60
    if before is not None:
        assert path.read_bytes() == before
    assert not Path(f"{path}.tune").exists()  # /dev/full.tune included


def test_a_symlinked_model_path_is_written_through_and_stays_a_link(ws: dict) -> None:
    real = ws["tmp"] / "store" / "real.model"
    real.parent.mkdir()
    real.write_bytes(b"the engine's model")
    link = ws["tmp"] / "link.model"
    link.symlink_to(real)
    result = tune(ws, "--model-path", str(link), "--force")
    assert result.returncode == 0, result.stderr + result.stdout
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() != b"the engine's model" and real.stat().st_size > 0
    assert (ws["tmp"] / "link.model.tune" / "previous.model").read_bytes() == b"the engine's model"
    assert not [p for p in real.parent.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "{dataset}/tune"], "--out {dataset}/tune: inside the dataset directory {dataset}; the next run would read"),
        (["--out", "{dataset}"], "--out {dataset}: inside the dataset directory"),
        (["--model-path", "{dataset}/xgb.model"], "--model-path {dataset}/xgb.model: inside the dataset directory"),
        (["--out", "{tmp}/o", "--model-path", "{tmp}/o/report.json"], "is one of the files tune writes under"),
        (["--out", "{tmp}/values.yaml"], "exists and is not a directory"),
    ],
)
def test_outputs_inside_the_dataset_directory_or_over_each_other_are_refused_before_the_search(ws: dict, args: list, message: str) -> None:
    fill = {"dataset": str(ws["dataset"]), "tmp": str(ws["tmp"])}
    files_before = sorted(p for p in ws["dataset"].rglob("*"))
    result = tune(ws, *[a.format(**fill) for a in args], timeout=60)
    assert result.returncode == 2, result.stderr + result.stdout
    assert message.format(**fill) in result.stderr and not searched(result)
    assert sorted(p for p in ws["dataset"].rglob("*")) == files_before  # nothing written into the dataset


def _file_size_limit(limit: int):
    def apply() -> None:  # a disk that takes `limit` bytes per file; Python ignores SIGXFSZ, so writes fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_full_disk_is_refused_before_the_search_and_one_filling_up_during_it_is_a_clear_error(ws: dict) -> None:
    args = [str(TUNE_BIN / "ranker-values"), "tune", str(ws["config"]), "--model", "xgb", *QUICK, "--force",
            "--out", str(ws["tmp"] / "o"), "--model-path", str(ws["tmp"] / "m" / "xgb.model")]
    full = subprocess.run(args, capture_output=True, text=True, timeout=120, env=tune_env(), cwd=REPO, preexec_fn=_file_size_limit(32 * 1024))
    assert full.returncode == 2, full.stderr
    assert f"{ws['tmp'] / 'o'}: cannot write there: File too large; free space or choose another place" in full.stderr
    assert not searched(full) and not list((ws["tmp"] / "o").iterdir())
    # room for the write probe (64 KiB) and the trials, not for the report: the end of the run fails, clearly
    late = subprocess.run(args, capture_output=True, text=True, timeout=180, env=tune_env(), cwd=REPO, preexec_fn=_file_size_limit(70_000))
    assert late.returncode == 2, late.stderr
    assert "cannot write: File too large" in late.stderr and "Traceback" not in late.stderr and "internal error" not in late.stderr
    assert len(list((ws["tmp"] / "o" / "trials").glob("*.json"))) == 2  # the search is kept for the next run
    assert not [p for p in ws["tmp"].rglob("*.tmp")]


# --- 2. interrupts with a process pool --------------------------------------------------------


@pytest.mark.parametrize(("signum", "to_group", "code"), [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)], ids=["ctrl-c", "sigterm"])
def test_an_interrupt_with_local_workers_stops_within_seconds_keeps_finished_trials_and_leaves_no_process(
    ws: dict, signum: int, to_group: bool, code: int
) -> None:
    out = ws["tmp"] / "o"
    process = subprocess.Popen(
        [str(TUNE_BIN / "ranker-values"), "tune", str(ws["config"]), "--model", "xgb", "--trials", "40", "--folds", "3",
         "--max-rounds", "300", "--workers", "local:2", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=tune_env(), cwd=REPO, start_new_session=True,
    )
    try:
        for line in process.stderr:  # the progress bar: one line per finished trial
            if "/40 trials" in line:
                break
        started = time.monotonic()
        (os.killpg if to_group else os.kill)(process.pid, signum)  # Ctrl-C reaches the group, kubelet's SIGTERM the tasker
        stdout, stderr = process.communicate(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == code, stderr
    assert elapsed < 15, elapsed
    assert f"interrupted ({signal.Signals(signum).name})" in stderr
    stored = list((out / "trials").glob("*.json"))
    assert 1 <= len(stored) < 40
    assert f"stopped; {len(stored)} of 40 trials are stored in {out / 'trials'}" in stdout
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # no worker left behind (orphans are reaped by init)
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("a process of the tune run outlived it")
    upto = max(int(p.stem.rsplit("-", 1)[1]) for p in stored) + 1  # the pool finishes trials out of order
    resumed = run_cli(["tune", str(ws["config"]), "--model", "xgb", "--trials", str(upto), "--folds", "3", "--max-rounds", "300", "--out", str(out)])
    assert resumed.returncode == 0 and f"{upto} trials ({len(stored)} already done)" in resumed.stdout, resumed.stderr


# --- 3. previous.model keeps the engine's model -----------------------------------------------


def test_a_second_run_keeps_the_engines_model_in_previous_model(ws: dict) -> None:
    model, backup = ws["model"], ws["tmp"] / "models" / "xgb.model.tune" / "previous.model"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"the engine's model")
    first = tune(ws, "--force")
    assert first.returncode == 0, first.stderr
    tuned = model.read_bytes()
    assert backup.read_bytes() == b"the engine's model"
    second = tune(ws, "--force", "--seed", "1")  # another search: another tuned model replaces the first
    assert second.returncode == 0, second.stderr
    assert model.read_bytes() != tuned and backup.read_bytes() == b"the engine's model"
    model.write_bytes(b"a model the train stage wrote since")  # not tune's: backed up again
    third = tune(ws, "--force")
    assert third.returncode == 0, third.stderr
    assert backup.read_bytes() == b"a model the train stage wrote since"


# --- 4. hostile dataset lines -------------------------------------------------------------------


def test_a_dataset_value_beyond_float32_is_an_error_with_file_and_line_not_a_crash(ws: dict) -> None:
    root = ws["tmp"] / "dataset-bad"
    root.mkdir()
    good = dataset_file(ws).read_text().splitlines()[:40]
    bad = json.loads(good[0])
    bad["values"][0] = 1e308
    (root / "part-0.json").write_text("\n".join([*good[:5], json.dumps(bad), *good[5:]]) + "\n")
    result = tune(ws, "--dataset", str(root), "--out", str(ws["tmp"] / "o"))
    assert result.returncode == 1, result.stderr
    assert "part-0.json:6:1: values[0] = 1e+308 is outside the float32 range" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr and not searched(result)


def test_dataset_lines_with_strings_or_deep_nesting_are_skipped_with_file_and_line(ws: dict) -> None:
    root = ws["tmp"] / "dataset-odd"
    root.mkdir()
    good = dataset_file(ws).read_text().splitlines()[:60]
    odd = json.loads(good[0])
    odd["values"][2] = "NaN"
    lines = [*good[:3], json.dumps(odd), "[" * 50_000 + "]" * 50_000, *good[3:]]
    (root / "part-0.json").write_text("\n".join(lines) + "\n")
    result = tune(ws, "--dataset", str(root), "--out", str(ws["tmp"] / "o"))
    assert result.returncode == 0, result.stderr
    assert "2 dataset line(s) skipped" in result.stdout
    assert "part-0.json:4:1: values must be numbers" in result.stdout and "part-0.json:5:1: not JSON (nested too deeply)" in result.stdout


# --- 5. FIFOs as the broker file and the kubeconfig ---------------------------------------------


@pytest.mark.parametrize("command", ["tune", "tune-worker"])
def test_a_fifo_as_the_broker_file_is_a_usage_error_not_a_hang(ws: dict, command: str) -> None:
    fifo = ws["tmp"] / "broker-url"
    os.mkfifo(fifo)
    args = ["tune", str(ws["config"]), "--model", "xgb"] if command == "tune" else ["tune-worker"]
    result = run_cli([*args, "--broker-file", str(fifo)], timeout=30)
    assert result.returncode == 2
    assert f"--broker-file {fifo}: cannot read it (is a FIFO (named pipe), not a regular file" in result.stderr


@pytest.mark.parametrize("kubeconfig", ["fifo", "missing:fifo"])
def test_a_fifo_in_kubeconfig_is_a_usage_error_not_a_hang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kubeconfig: str) -> None:
    from ranker_values.cli import app

    fifo = tmp_path / "kubeconfig"
    os.mkfifo(fifo)
    value = str(fifo) if kubeconfig == "fifo" else f"{tmp_path / 'missing'}{os.pathsep}{fifo}"
    monkeypatch.setenv("KUBECONFIG", value)
    result = CliRunner().invoke(app, ["status", "--release", "ranker", "--request-timeout", "2"])
    assert result.exit_code == 2, result.output
    assert f"KUBECONFIG: {fifo}: is a FIFO (named pipe), not a regular file; give a kubeconfig file" in result.output


# --- 6. both xgboost extras in one environment --------------------------------------------------


def _fake_distribution(root: Path, name: str, version: str) -> None:
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


@pytest.mark.parametrize("venv", ["main (xgboost-cpu) + xgboost 1.6.1", "tune (xgboost 1.6.1) + xgboost-cpu"])
def test_both_xgboost_extras_in_one_environment_is_one_line_saying_what_to_do(tmp_path: Path, venv: str) -> None:
    """pip puts both distributions' files into one xgboost/ package; their metadata both stay,
    which is what the CLI looks at (a fake dist-info on the path stands for the second install)."""
    if venv.startswith("main"):
        binary, other = Path(sys.executable).parent / "ranker-values", ("xgboost", "1.6.1")
    else:
        binary, other = TUNE_BIN / "ranker-values", ("xgboost-cpu", "3.2.0")
        if not binary.exists():
            pytest.skip("needs .venv-tune")
    _fake_distribution(tmp_path / "site", *other)
    config = write_config(tmp_path, workdir=str(tmp_path / "work"), model_path=str(tmp_path / "m.model"))
    env = {**tune_env(), "PYTHONPATH": str(tmp_path / "site")}
    result = subprocess.run([str(binary), "tune", str(config), "--model", "xgb"], capture_output=True, text=True, timeout=60, env=env, cwd=REPO)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "both xgboost" in lines[0] and "xgboost-cpu" in lines[0]
    assert "pip uninstall -y xgboost xgboost-cpu" in lines[0] and "scripts/setup.sh tune" in lines[0]
    assert "please report it" not in result.stderr


def test_the_model_check_names_the_mixed_xgboost_environment_instead_of_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    from ranker_values.errors import UsageError
    from ranker_values.ops import xgb
    from ranker_values.ops.check.model_checks import read_model

    monkeypatch.setattr(xgb, "_installed", lambda name: {"xgboost": "1.6.1", "xgboost-cpu": "3.2.0"}[name])
    xgb.mixed_environment.cache_clear()
    try:
        with pytest.raises(UsageError, match="both xgboost 1.6.1 .* and xgboost-cpu 3.2.0"):
            read_model(b'{"learner": {}}')
    finally:
        xgb.mixed_environment.cache_clear()
