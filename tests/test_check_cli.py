"""The runner (concurrency, timeouts, selection) and ``ranker-values check`` end to end."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ranker_values.ops.check.runner import Check, CheckResult, Status, passed, render_text, run_checks, select
from ranker_values.cli import app
from ranker_values.errors import UsageError
from support.net import free_port

REPO = Path(__file__).resolve().parents[1]


def test_checks_run_concurrently_and_a_slow_one_times_out_without_waiting():
    def slow(_):
        time.sleep(5)
        return passed("never seen")

    def sleepy(_):
        time.sleep(0.3)
        return passed("done")

    checks = [Check("a.slow", slow, timeout=0.5), *(Check(f"b.n{i}", sleepy) for i in range(5))]
    started = time.monotonic()
    results = run_checks(checks, None, default_timeout=2.0)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0  # five 0.3 s checks at once, and the 5 s one abandoned at 0.5 s
    assert results[0].status is Status.FAIL and results[0].reason == "timed out after 0.5s"
    assert [r.name for r in results] == ["a.slow", "b.n0", "b.n1", "b.n2", "b.n3", "b.n4"]


def test_an_exception_in_a_check_is_one_line_not_a_traceback():
    def broken(_):
        raise KeyError("boom")

    (result,) = run_checks([Check("x.broken", broken)], None, 1.0)
    assert result.status is Status.FAIL and result.reason == "KeyError: 'boom'" and "\n" not in result.reason


def test_selection_by_group_and_name_and_did_you_mean():
    checks = [Check("s3.workdir", lambda _: passed("")), Check("s3.events", lambda _: passed("")), Check("redis.connect", lambda _: passed(""))]
    assert [c.name for c in select(checks, only=["s3"], skip=["s3.events"])] == ["s3.workdir"]
    assert [c.name for c in select(checks, only=["redis,s3.events"])] == ["s3.events", "redis.connect"]
    with pytest.raises(UsageError, match="did you mean 's3.events'"):
        select(checks, skip=["s3.event"])


def test_table_has_symbols_reason_and_fix():
    text = render_text(
        [
            CheckResult("s3.workdir", Status.PASS, "ok"),
            CheckResult("redis.eviction", Status.FAIL, "policy is allkeys-lru", "set noeviction"),
            CheckResult("model.x", Status.WARN, "not there yet"),
        ]
    )
    lines = text.splitlines()
    assert lines[0].startswith("✓ s3.workdir") and lines[1].startswith("✗ redis.eviction")
    assert lines[2].strip() == "fix: set noeviction" and lines[3].startswith("! model.x")
    assert lines[-1] == "1 passed, 1 failed, 1 warnings — not ready"


def _config(tmp_path: Path, redis_port: int) -> Path:
    config = yaml.safe_load((REPO / "examples" / "config.yml").read_text())
    config["bootstrap"]["workdir"] = "s3://ranker/work"
    config["bootstrap"]["source"]["path"] = "s3://ranker/events/"
    config["models"]["xgboost"]["path"] = "s3://ranker/models/xgboost.model"
    config["inference"]["state"].update(host="127.0.0.1", port=redis_port)
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_cli_end_to_end_json_and_exit_codes(tmp_path, s3, moto_endpoint, redis_factory, monkeypatch):
    server = redis_factory("--save", "", "--appendonly", "yes", "--maxmemory", "64mb", "--maxmemory-policy", "noeviction")
    config = _config(tmp_path, server.port)
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"s3": {"endpoint": moto_endpoint, "region": "us-east-1", "pathStyleAccess": True}}))
    s3.put_object(Bucket="ranker", Key="events/part-0.jsonl", Body=b'{"event":"item","id":"1","item":"a","timestamp":1}\n')
    runner = CliRunner()

    ok = runner.invoke(app, ["check", str(config), "-f", str(values), "--only", "s3,redis,events", "--format", "json", "--timeout", "5"])
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.output)
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert report["ok"] is True and statuses["s3.workdir"] == "pass" and statuses["redis.eviction"] == "pass"
    assert statuses["s3.bootstrap-output"] == "warn" and statuses["events.schema"] == "pass"

    after = runner.invoke(app, ["check", str(config), "-f", str(values), "--only", "s3.bootstrap-output", "--done", "bootstrap"])
    assert after.exit_code == 1 and "✗ s3.bootstrap-output" in after.output

    usage = runner.invoke(app, ["check", str(config), "--only", "redis.evict"])
    assert usage.exit_code == 2 and "did you mean 'redis.eviction'" in usage.output


def test_cli_unreachable_everything_is_a_table_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    config = _config(tmp_path, free_port())
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"s3": {"endpoint": f"http://127.0.0.1:{free_port()}"}}))
    started = time.monotonic()
    result = CliRunner().invoke(app, ["check", str(config), "-f", str(values), "--skip", "cluster", "--timeout", "1.5"])
    assert time.monotonic() - started < 4
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "✗ redis.connect" in result.output and "✗ s3.workdir" in result.output


def test_help_imports_no_heavy_client():
    code = (
        "import sys; sys.argv=['ranker-values','check','--help']\n"
        "from ranker_values.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy=[m for m in ('boto3','botocore','redis','xgboost','kubernetes','numpy') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_skipping_every_check_is_a_usage_error_not_a_green_run(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text((REPO / "examples" / "config.yml").read_text())
    result = CliRunner().invoke(app, ["check", str(config), "--skip", "s3,redis,cluster,events,model"])
    assert result.exit_code == 2, result.output
    assert "leave no check to run" in result.output
