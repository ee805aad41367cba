"""Trials over a real RabbitMQ (Debian rabbitmq-server on 127.0.0.1): a worker killed mid-trial
loses nothing, a restarted tasker resumes, a poison trial lands in the dead-letter queue and is
reported, an unreachable broker is a clear error within the timeout."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from support.net import free_port
from test_tune_support import (  # noqa: F401 - fixtures
    REPO,
    TUNE_BIN,
    purge,
    rabbitmq,
    run_cli,
    run_py,
    start_worker,
    stop,
    tune_bin,
    tune_env,
    wait_for,
    write_config,
    write_synthetic,
)


@pytest.fixture
def search(tmp_path: Path, tune_bin: Path, rabbitmq: str) -> dict:
    purge(rabbitmq)
    work = tmp_path / "work"
    write_synthetic(str(work / "dataset-xgb"), 150, seed=5)
    config = write_config(tmp_path, workdir=str(work), model_path=str(tmp_path / "models" / "xgb.model"))
    started: list[subprocess.Popen] = []
    yield {"config": str(config), "trials": tmp_path / "models" / "xgb.model.tune" / "trials", "tmp": tmp_path, "procs": started, "url": rabbitmq}
    for process in started:
        stop(process)


def tasker(s: dict, *args: str, log: str = "tasker.log") -> subprocess.Popen:
    handle = open(s["tmp"] / log, "w")
    process = subprocess.Popen(
        [str(TUNE_BIN / "ranker-values"), "tune", s["config"], "--model", "xgb", "--folds", "3", *args],
        stdout=handle, stderr=subprocess.STDOUT, env=tune_env(RANKER_TUNE_BROKER=s["url"]), cwd=REPO, start_new_session=True,
    )
    s["procs"].append(process)
    return process


def worker(s: dict, name: str) -> tuple[subprocess.Popen, Path]:
    log = s["tmp"] / f"{name}.log"
    process = start_worker(s["url"], "--idle-exit", "120", log=log)
    s["procs"].append(process)
    return process, log


def results(s: dict) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(s["trials"].glob("*.json"))} if s["trials"].is_dir() else {}


def test_a_worker_killed_mid_trial_loses_nothing_the_trial_completes_on_another_worker_once(search: dict) -> None:
    a, a_log = worker(search, "a")
    wait_for(lambda: "consuming" in a_log.read_text(), 30, "worker a to consume")
    a_id = re.search(r"tune-worker (\S+):", a_log.read_text()).group(1)
    # seed 84: trial 0 grows 335 trees of depth 8 (seconds), so the kill lands mid-trial
    t = tasker(search, "--trials", "2", "--max-rounds", "400", "--seed", "84")
    wait_for(lambda: "started" in a_log.read_text(), 60, "worker a to start a trial")
    killed_trial = re.search(r"trial (\S+) started", a_log.read_text()).group(1)
    os.killpg(a.pid, signal.SIGKILL)  # mid-trial: no ack, no result
    a.wait()
    assert killed_trial not in results(search)
    b, b_log = worker(search, "b")
    assert t.wait(timeout=240) == 0, (search["tmp"] / "tasker.log").read_text()
    done = results(search)
    assert len(done) == 2 and all(r["status"] == "ok" for r in done.values())
    assert done[killed_trial]["worker"] != a_id  # completed elsewhere
    assert f"trial {killed_trial} done" in b_log.read_text()
    assert len(list(search["trials"].glob(f"{killed_trial}*"))) == 1  # one result, no duplicate
    assert "2/2 trials ok" in (search["tmp"] / "tasker.log").read_text()


def test_a_stopped_tasker_resumes_on_restart_without_recomputing_finished_trials(search: dict) -> None:
    w, w_log = worker(search, "w")
    first = tasker(search, "--trials", "5", "--max-rounds", "60", log="first.log")
    wait_for(lambda: len(results(search)) >= 1, 120, "a first result")
    stop(first)  # SIGTERM: the tasker goes away mid-search
    before = {k: json.dumps(v, sort_keys=True) for k, v in results(search).items()}
    second = tasker(search, "--trials", "5", "--max-rounds", "60", log="second.log")
    assert second.wait(timeout=240) == 0, (search["tmp"] / "second.log").read_text()
    log = (search["tmp"] / "second.log").read_text()
    already = int(re.search(r"5 trials \((\d+) already done\)", log).group(1))
    assert already >= len(before) >= 1
    after = results(search)
    assert len(after) == 5 and "5/5 trials ok" in log
    assert {k: json.dumps(after[k], sort_keys=True) for k in before} == before  # never recomputed
    started = re.findall(r"trial (\S+) started", w_log.read_text())
    done = re.findall(r"trial (\S+) done", w_log.read_text())
    assert sorted(started) == sorted(done) == sorted(after)  # each trial computed exactly once


def test_a_poison_trial_goes_to_the_dead_letter_queue_after_max_attempts_and_is_reported(search: dict) -> None:
    w, w_log = worker(search, "w")
    code = f"""
import json
from pathlib import Path
from ranker_values.pipeline import load_deployment
from ranker_values.ops.tune.amqp import AmqpRunner, BrokerSettings
from ranker_values.ops.tune.tune import TuneOptions, plan_for, prepare
from ranker_values.ops.tune.trial import make_task
options = TuneOptions(model="xgb", trials=3, folds=3, max_rounds=20)
plan = plan_for(load_deployment(Path({search['config']!r})), options)
ds, spec, trials, store = prepare(plan, options)
trials[1].params["max_depth"] = "poison"   # xgboost rejects it on every attempt
tasks = [make_task(plan.dataset_uri, plan.out_uri, None, spec, t, plan.columns) for t in trials]
out = []
AmqpRunner(BrokerSettings.parse({search['url']!r}, timeout=10, max_attempts=3)).run(tasks, out.append)
print(json.dumps(out))
"""
    result = run_py(code, timeout=240)
    assert result.returncode == 0, result.stderr
    out = {r["index"]: r for r in json.loads(result.stdout.strip().splitlines()[-1])}
    assert out[0]["status"] == "ok" and out[2]["status"] == "ok"
    poison = out[1]
    assert poison["status"] == "failed" and "max_depth" in poison["error"] and poison["attempts"] == 3
    assert len(re.findall(rf"trial {poison['trial_id']} failed", w_log.read_text())) == 3  # not retried forever
    assert results(search)[poison["trial_id"]]["status"] == "failed"  # final for this search: a re-run reports it


@pytest.mark.parametrize("command", [["tune", "CONFIG", "--model", "xgb"], ["tune-worker"]])
def test_an_unreachable_broker_is_a_clear_error_within_the_timeout(search: dict, command: list[str]) -> None:
    port = free_port()  # nothing listens there
    url = f"amqp://guest:s3cret@127.0.0.1:{port}/"
    args = [search["config"] if a == "CONFIG" else a for a in command]
    started = time.monotonic()
    result = run_cli([*args, "--broker", url, "--timeout", "3"], timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert f"cannot reach RabbitMQ at amqp://guest:***@127.0.0.1:{port}/ within 3s" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout and "Traceback" not in result.stderr
    assert elapsed < 30
