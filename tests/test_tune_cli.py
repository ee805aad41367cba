"""``ranker-values tune`` end to end with the local runner, on synthetic datasets in the engine's
format, through .venv-tune (xgboost 1.6.1, the version Metarank 0.4.1 loads models with)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from test_tune_support import run_cli, run_py, tune_bin, write_config, write_synthetic  # noqa: F401 - fixture

SMALL = ["--trials", "4", "--folds", "3", "--max-rounds", "60"]


@pytest.fixture
def workspace(tmp_path: Path, tune_bin: Path) -> dict:
    work, models = tmp_path / "work", tmp_path / "models"
    write_synthetic(str(work / "dataset-xgb"), 400)
    write_synthetic(str(tmp_path / "small"), 60, seed=2)
    config = write_config(tmp_path, workdir=str(work), model_path=str(models / "xgb.model"))
    return {"config": str(config), "model": models / "xgb.model", "tune": models / "xgb.model.tune", "tmp": tmp_path, "small": str(tmp_path / "small")}


def test_tuned_model_beats_the_engines_training_and_is_written_with_report_and_plot(workspace: dict) -> None:
    result = run_cli(["tune", workspace["config"], "--model", "xgb", "--workers", "local:2", *SMALL])
    assert result.returncode == 0, result.stderr + result.stdout
    report = json.loads((workspace["tune"] / "report.json").read_text())
    assert report["search"]["trials"] == 4 and report["search"]["ok"] == 4 and len(report["trials"]) == 4
    assert {"cv_mean", "cv_std", "params", "seconds", "folds"} <= set(report["trials"][0])
    assert report["engine_settings"]["iterations"] == 10  # the config's backend, engine defaults for the rest
    t = report["test"]
    assert t["ndcg"]["tuned"] > t["ndcg"]["engine"]
    assert t["comparisons"]["tuned_vs_engine"]["low"] > 0 and t["candidate_beats_engine"] is True
    assert report["model_written"] is True and workspace["model"].stat().st_size > 0
    assert (workspace["tune"] / "search.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "tuned − engine" in result.stdout and "wrote tuned model" in result.stdout
    assert "4/4 trials" in result.stderr  # the progress bar


def test_the_written_model_loads_in_xgboost_1_6_1_from_a_buffer_and_scores_like_the_trained_one(workspace: dict) -> None:
    code = f"""
import json, numpy as np, xgboost as xgb
from ranker_values.ops.tune.dataset import load_dataset
from ranker_values.ops.tune.locations import Location
from ranker_values.ops.tune.engine import dmatrix, split_queries, train_tuned, predict
from ranker_values.ops.tune.search import sample_params
from ranker_values.ops.tune.writer import write_model
assert xgb.__version__ == "1.6.1", xgb.__version__
ds = load_dataset(Location({str(workspace['tmp'] / 'work' / 'dataset-xgb')!r}))
train, test = split_queries(ds.queries, 0)
bst = train_tuned(dmatrix(ds, train), sample_params(0, 1, 60))
target = {str(workspace['tmp'] / 'out.model')!r}
write_model(bst, Location(target), None)
data = open(target, 'rb').read()
loaded = xgb.Booster()
loaded.load_model(bytearray(data))   # XGBoosterLoadModelFromBuffer, what xgboost4j's loadModel calls
rows = ds.rows_of(test)
engine_like = loaded.predict(xgb.DMatrix(ds.X[rows], missing=0.0))   # predictMat: 0 is missing
print(json.dumps({{"head": data[:1].hex(), "same": bool(np.array_equal(engine_like, predict(bst, ds, test))),
                   "n": int(len(rows)), "trees": len(loaded.get_dump())}}))
"""
    result = run_py(code)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["same"] is True and out["n"] > 0 and out["trees"] > 0
    assert out["head"] not in ("7b",)  # legacy binary, not JSON/UBJSON ('{')


def test_a_rerun_resumes_without_recomputing_and_fresh_starts_over(workspace: dict) -> None:
    args = ["tune", workspace["config"], "--model", "xgb", "--dataset", workspace["small"], "--trials", "4", "--folds", "3", "--max-rounds", "20"]
    first = run_cli(args)
    assert first.returncode == 0, first.stderr
    trials = sorted((workspace["tune"] / "trials").glob("*.json"))
    stamps = {p.name: p.read_text() for p in trials}
    again = run_cli(args)
    assert again.returncode == 0, again.stderr
    assert "4 trials (4 already done)" in again.stdout
    assert {p.name: p.read_text() for p in sorted((workspace["tune"] / "trials").glob("*.json"))} == stamps
    more = run_cli([*args, "--trials", "5"])  # the last --trials wins
    assert "5 trials (4 already done)" in more.stdout and len(list((workspace["tune"] / "trials").glob("*.json"))) == 5
    fresh = run_cli([*args, "--fresh"])
    assert fresh.returncode == 0 and "4 trials (0 already done)" in fresh.stdout


def test_a_model_that_does_not_beat_the_engine_is_not_written_unless_forced(tmp_path: Path, tune_bin: Path) -> None:
    work, model = tmp_path / "work", tmp_path / "models" / "xgb.model"
    write_synthetic(str(work / "dataset-xgb"), 150, noise_only=True)  # labels unrelated to the features
    model.parent.mkdir(parents=True)
    model.write_bytes(b"the model the train stage wrote")
    config = write_config(tmp_path, workdir=str(work), model_path=str(model), iterations=20)
    args = ["tune", str(config), "--model", "xgb", "--trials", "2", "--folds", "3", "--max-rounds", "30"]
    result = run_cli(args)
    assert result.returncode == 0, result.stderr
    assert "model NOT written" in result.stdout and model.read_bytes() == b"the model the train stage wrote"
    replaced = run_cli([*args, "--replace-train"])  # resumes: no trial recomputed
    assert replaced.returncode == 0 and "wrote the engine-trained model" in replaced.stdout
    report = json.loads((tmp_path / "models" / "xgb.model.tune" / "report.json").read_text())
    assert report["model_written_from"] == "engine" and report["test"]["candidate_beats_engine"] is False
    model.write_bytes(b"the model the train stage wrote")
    forced = run_cli([*args, "--force"])
    assert forced.returncode == 0 and "forced" in forced.stdout
    assert model.read_bytes() != b"the model the train stage wrote"
    assert (tmp_path / "models" / "xgb.model.tune" / "previous.model").read_bytes() == b"the model the train stage wrote"


def test_tune_reads_and_writes_s3_with_the_values_s3_settings(tmp_path: Path, tune_bin: Path, s3, moto_endpoint: str) -> None:
    write_synthetic("s3://ranker/work/dataset-xgb", 80, endpoint=moto_endpoint)
    config = write_config(tmp_path, workdir="s3://ranker/work", model_path="s3://ranker/models/xgb.model")
    values = tmp_path / "values.yaml"
    values.write_text(f"s3:\n  endpoint: {moto_endpoint}\n  region: us-east-1\n  pathStyleAccess: true\n  auth: {{mode: serviceAccount}}\n")
    result = run_cli(["tune", str(config), "--model", "xgb", "--values", str(values), "--trials", "2", "--folds", "3", "--max-rounds", "20", "--force"])
    assert result.returncode == 0, result.stderr + result.stdout
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="ranker", Prefix="models/")["Contents"]}
    assert {"models/xgb.model", "models/xgb.model.tune/report.json", "models/xgb.model.tune/search.png"} <= keys
    assert sum(k.startswith("models/xgb.model.tune/trials/") for k in keys) == 2


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--model", "nope"], 2, "not a lambdamart model of the config; tunable: xgb"),
        (["--model", "xgb", "--workers", "remote:3"], 2, "expected local:N"),
        (["--model", "xgb", "--broker", "http://x"], 2, "expected amqp://"),
        (["--model", "xgb", "--dataset", "/nonexistent/dataset-xgb"], 1, "zero training files found"),
    ],
)
def test_bad_tune_input_is_a_clear_error_with_the_right_exit_code(workspace: dict, args: list, code: int, message: str) -> None:
    result = run_cli(["tune", workspace["config"], *args])
    assert result.returncode == code, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_tune_refuses_an_xgboost_whose_files_the_engine_cannot_load(tmp_path: Path) -> None:
    """In the project's main venv (xgboost-cpu 3.x) tune stops before training anything."""
    from ranker_values.cli import app

    config = write_config(tmp_path, workdir=str(tmp_path / "work"), model_path=str(tmp_path / "m.model"))
    result = CliRunner().invoke(app, ["tune", str(config), "--model", "xgb"])
    assert result.exit_code == 2
    assert "tune needs xgboost 1.6.x or 1.7.x" in result.output and "xgboost4j 1.6.1" in result.output


def test_the_broker_url_can_come_from_a_mounted_secret_file_and_a_missing_file_is_a_usage_error(tmp_path: Path, tune_bin: Path) -> None:
    missing = run_cli(["tune-worker", "--broker-file", str(tmp_path / "nope")])
    assert missing.returncode == 2 and "--broker-file" in missing.stderr and "cannot read it" in missing.stderr
    url_file = tmp_path / "url"
    url_file.write_text("amqp://u:hidden@127.0.0.1:9/\n")
    closed = run_cli(["tune-worker", "--timeout", "2"], RANKER_TUNE_BROKER_FILE=str(url_file))
    assert closed.returncode == 1 and "amqp://u:***@127.0.0.1:9/" in closed.stderr and "hidden" not in closed.stderr
