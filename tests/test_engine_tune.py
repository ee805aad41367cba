"""Tune meets the engine: ``ranker-values tune`` on Metarank 0.4.1's own bootstrap output, and the
engine's api serving the model tune wrote.

One dev lifecycle (``support.lifecycle``, the chart's pods as processes) runs bootstrap and
train; then ``.venv-tune/bin/ranker-values tune`` (the way users run it, xgboost 1.6.1) reads the
engine's ``dataset-xgboost`` JSON lines from the shared volume with the same config and writes its
model where the engine's train Job wrote one (``--force``: this proves the file works in the
engine; whether tuning wins is measured by ``bench/bench_tune_engine.py``). Then upload and the
api Deployment run, and ``POST /rank/xgboost?explain=true`` (0.4.1's ``RankApi`` returns the
feature values it scored with) lets Python's xgboost 1.6.1 score the very rows the JVM's
xgboost4j 1.6.1 scored, with the tuned model and with the engine's own model.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from support import missing
from support.podrun import PodError, namespaces_unavailable
from test_tune_support import TUNE_BIN, run_cli, tune_bin  # noqa: F401 - fixture

pytestmark = pytest.mark.engine

TUNE_ARGS = ["--trials", "6", "--folds", "3", "--max-rounds", "150", "--workers", "local:2", "--seed", "0", "--force"]
STEPS = ("storage", "bootstrap", "train", "tune", "upload", "api", "rank")
SESSION = "s-tune"
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/101.0 Safari/537.36"

# Python xgboost 1.6.1 scoring rows the way ltrlib's XGBoostBooster does (a DMatrix with 0.0 as
# the missing value, float32 values); stdin: {"model": path, "rows": [[...], ...]}.
SCORE_PY = """
import json, sys
import numpy as np
import xgboost as xgb
job = json.load(sys.stdin)
booster = xgb.Booster(model_file=job["model"])
rows = np.asarray(job["rows"], dtype=np.float32)
print(json.dumps({"xgboost": xgb.__version__, "scores": booster.predict(xgb.DMatrix(rows, missing=0.0)).tolist()}))
"""


def _rank_request(items: list[str]) -> dict[str, Any]:
    return {
        "event": "ranking", "id": "rank-tune", "timestamp": "1700000000000", "user": "u-tune", "session": SESSION,
        "fields": [{"name": "query", "value": "trail shoes"}, {"name": "user_agent", "value": UA}],
        "items": [{"id": item, "relevancy": round(1 - i / 10, 2)} for i, item in enumerate(items)],
    }  # fmt: skip


def flatten(features: list[dict[str, Any]]) -> list[float]:
    """One item's row as ``ClickthroughQuery`` builds it from 0.4.1's MValues, in their order:
    SingleValue ``value``, VectorValue ``values``, CategoryValue ``index``."""
    row: list[float] = []
    for value in features:
        if "values" in value:
            row += [float(v) for v in value["values"]]
        elif "index" in value:
            row.append(float(value["index"]))
        else:
            row.append(float(value["value"]))
    return row


@dataclass
class Run:
    lc: Any = None
    failed: dict[str, str] = field(default_factory=dict)
    engine_model: bytes = b""
    tune: subprocess.CompletedProcess | None = None
    report: dict[str, Any] = field(default_factory=dict)
    models_dir: Path = Path()
    explained: tuple[int, bytes] | None = None
    plain: tuple[int, bytes] | None = None
    items: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def need(self, *steps: str) -> None:
        """Fail with the first failure among the steps this test needs (steps run in order, so a
        step's failure is also every later step's)."""
        for step in steps:
            if step in self.failed:
                pytest.fail(self.failed[step])


def _lifecycle(workspace: Path) -> Run:
    from support.lifecycle import Lifecycle

    run = Run()
    run.lc = lc = Lifecycle("dev", workspace, seed=7, sessions=400)
    data = lc.runner.claim_dir("ranker-data")
    run.models_dir = data / "ranker" / "models"
    step = "storage"
    try:
        started = time.monotonic()
        lc.start_storage()
        for step, fn in (("bootstrap", lc.bootstrap), ("train", lc.train)):
            started = time.monotonic()
            fn()
            run.timings[step] = round(time.monotonic() - started, 1)
        run.engine_model = lc.model_bytes()
        step, started = "tune", time.monotonic()
        run.tune = run_cli(
            ["tune", str(lc.config_path), "--model", "xgboost", *TUNE_ARGS,
             "--dataset", str(data / "ranker" / "workdir" / "dataset-xgboost"),
             "--model-path", str(run.models_dir / "xgboost.model")],
            timeout=900,
        )  # fmt: skip
        run.timings[step] = round(time.monotonic() - started, 1)
        if run.tune.returncode != 0:
            raise AssertionError(f"ranker-values tune exited {run.tune.returncode}:\n{run.tune.stdout}\n{run.tune.stderr[-3000:]}")
        run.report = json.loads((run.models_dir / "xgboost.model.tune" / "report.json").read_text())
        for step, fn in (("upload", lc.upload), ("api", lc.api)):
            started = time.monotonic()
            fn()
            run.timings[step] = round(time.monotonic() - started, 1)
        step = "rank"
        run.items = [item.id for item in lc.items[:10]]
        run.explained = lc.http("POST", "/rank/xgboost?explain=true", _rank_request(run.items))
        run.plain = lc.http("POST", "/rank/xgboost", _rank_request(run.items))
    except (PodError, AssertionError, OSError, subprocess.TimeoutExpired) as error:
        message = f"{step} failed: {error!r}"
        if lc.api_pod is not None:
            message += f"\napi log tail:\n{lc.api_pod.tail(60)}"
        for later in STEPS[STEPS.index(step):]:
            run.failed[later] = message
    return run


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, tune_bin: Path) -> Any:  # noqa: F811 - fixture
    reason = namespaces_unavailable()
    if reason:
        missing(reason, f"the engine lifecycle cannot run: {reason}")
    result = _lifecycle(tmp_path_factory.mktemp("engine-tune"))
    print(f"\nstep timings (s): {json.dumps(result.timings)}")
    yield result
    result.lc.close()


def _scores(model: Path, rows: list[list[float]]) -> list[float]:
    result = subprocess.run(
        [str(TUNE_BIN / "python"), "-c", SCORE_PY],
        input=json.dumps({"model": str(model), "rows": rows}), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["xgboost"] == "1.6.1", out["xgboost"]
    return out["scores"]


# --- tune reads the engine's dataset ------------------------------------------------------------


def test_tune_reads_every_line_of_the_engines_bootstrap_dataset(run: Run) -> None:
    from ranker_values.ops.check.columns import model_columns

    run.need("tune")
    config = run.lc.config
    stats = run.report["dataset_stats"]
    lines = [
        line
        for name in run.lc.list_workdir("dataset-xgboost") if name.endswith(".json")
        for line in run.lc.read_workdir(name).splitlines() if line.strip()
    ]  # fmt: skip
    assert stats["skipped_lines"] == 0, run.tune.stdout
    assert stats["queries"] == len(lines) > 0
    assert stats["rows"] == sum(json.loads(line)["rows"] for line in lines)
    assert stats["columns"] == sum(c.dim for c in model_columns(config["models"]["xgboost"]["features"], config["features"]))
    assert run.report["search"]["ok"] == run.report["search"]["trials"] == 6, run.report["failed_trials"]


def test_tune_settings_of_the_engines_training_come_from_the_same_config(run: Run) -> None:
    run.need("tune")
    backend = run.lc.config["models"]["xgboost"]["backend"]
    settings = run.report["engine_settings"]
    assert (settings["iterations"], settings["learning_rate"], settings["max_depth"], settings["ndcg_cutoff"], settings["seed"]) == (
        backend["iterations"], backend["learningRate"], backend["maxDepth"], backend["ndcgCutoff"], backend["seed"]
    )  # fmt: skip


def test_tuned_model_replaces_the_engines_and_keeps_it_as_previous_model(run: Run) -> None:
    run.need("tune")
    written = (run.models_dir / "xgboost.model").read_bytes()
    out = run.models_dir / "xgboost.model.tune"
    assert run.report["model_written"] and run.report["model_written_from"] in ("tuned", "baseline")
    assert written != run.engine_model
    assert (out / "previous.model").read_bytes() == run.engine_model
    assert (out / "written.sha256").read_text().strip() == hashlib.sha256(written).hexdigest()


# --- the engine's api serves it -------------------------------------------------------------------


def test_api_loads_the_tuned_model_file(run: Run) -> None:
    run.need("api")
    written = (run.models_dir / "xgboost.model").read_bytes()
    log = run.lc.api_pod.output()
    # Api.scala logs the bytes it read from the model path; the engine's file is ~60× larger
    assert f"loaded model xgboost file, size={len(written)}b" in log, log[-3000:]
    assert len(written) != len(run.engine_model)


def test_api_ranks_with_the_tuned_model_as_python_xgboost_scores_the_same_rows(run: Run) -> None:
    run.need("rank")
    status, body = run.explained
    assert status == 200, body[:500]
    items = json.loads(body)["items"]
    assert sorted(i["item"] for i in items) == sorted(run.items)
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True), "the api returns items by descending score"
    rows = [flatten(i["features"]) for i in items]
    assert {len(r) for r in rows} == {run.report["dataset_stats"]["columns"]}
    tuned = _scores(run.models_dir / "xgboost.model", rows)
    assert tuned == pytest.approx(scores, rel=1e-5, abs=1e-5), list(zip(scores, tuned))
    engine = _scores(run.models_dir / "xgboost.model.tune" / "previous.model", rows)
    assert max(abs(a - b) for a, b in zip(scores, engine)) > 1e-3, "the api's scores are the engine model's, not the tuned one's"
    assert len(set(scores)) > 1, "a constant ranking proves nothing about the model"


def test_api_scores_do_not_depend_on_explain(run: Run) -> None:
    run.need("rank")
    status, body = run.plain
    assert status == 200, body[:500]
    plain = {i["item"]: i["score"] for i in json.loads(body)["items"]}
    explained = {i["item"]: i["score"] for i in json.loads(run.explained[1])["items"]}
    assert plain == pytest.approx(explained, rel=1e-6)
    assert all(i["features"] == [] for i in json.loads(body)["items"])
