"""Regression tests for issue 8's numbered findings (each named after the behaviour it pins), and
the whole error table printed without a repeated line."""

from __future__ import annotations

import json
import random
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import EXAMPLE_CONFIG, REPO
from ranker_values.cli import app
from ranker_values.config import text as text_module
from ranker_values.config.loader import parse_text
from ranker_values.pipeline import validate_config
from test_validate_errors import BASE, CASES

runner = CliRunner()
CLI = str(Path(sys.executable).parent / "ranker-values")


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


# --- 1. each diagnostic once ------------------------------------------------------------------


def _repeated(lines: list[str]) -> list[str]:
    seen, repeated = set(), []
    for line in lines:
        if line in seen:
            repeated.append(line)
        seen.add(line)
    return repeated


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_no_line_of_the_error_table_is_printed_twice(tmp_path, case):
    path = tmp_path / "config.yml"
    path.write_text(case.change(BASE))
    text = invoke("validate", "--verbose", path)
    assert not _repeated(text.output.splitlines()), text.output
    report = json.loads(invoke("validate", "--format", "json", path).output)
    items = [(d["code"], d["path"], d["message"]) for d in report["files"][0]["diagnostics"]]
    assert len(items) == len(set(items)), items
    github = invoke("validate", "--format", "github", path)
    assert not _repeated(github.output.splitlines()), github.output


def test_three_missing_top_level_keys_are_three_lines(tmp_path):
    path = tmp_path / "f.yml"
    path.write_text("features: []\n")
    lines = [l for l in invoke("validate", path).output.splitlines() if "RV011" in l]
    assert len(lines) == 3 and len(set(lines)) == 3


def test_a_feature_written_as_a_bare_string_is_one_type_error(tmp_path):
    path = tmp_path / "bare.yml"
    path.write_text(BASE.replace("  - name: popularity\n", "  - popularity\n  - name: popularity\n", 1))
    lines = [l for l in invoke("validate", "--verbose", path).output.splitlines() if "RV012" in l]
    assert len(lines) == 1, lines


# --- 2. no backtracking regex -------------------------------------------------------------------

_OLD_RV120 = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^/?#@\s:]*):(?P<password>[^/?#@\s]+)@")


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="ab1:/@?# .+-é\n", max_size=40))
def test_password_scan_finds_exactly_what_the_url_regex_found(value):
    assert text_module.has_password_in_url(value) == bool(_OLD_RV120.search(value))
    assert text_module.redact(value) == _OLD_RV120.sub(lambda m: f"{m['scheme']}{m['user']}:***@", value)


def test_a_million_character_value_is_checked_for_passwords_in_linear_time(tmp_path):
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    data["bootstrap"]["workdir"] = "s3://bucket/" + ("a://b:c" * 150_000)[:1_000_000]
    path = tmp_path / "long.yml"
    path.write_text(yaml.safe_dump(data, width=float("inf")))
    started = time.process_time()
    result = validate_config(path)
    # the regex took 116 s at 400k characters; linear takes ~1 s at 1M (generous bound)
    assert time.process_time() - started < 20
    assert "RV120" not in {d.code for d in result.diagnostics}  # no "user:password@" in it


# --- 7. tags on mappings and sequences ---------------------------------------------------------


@pytest.mark.parametrize("text", [
    "syntheticImpression: !!python/object:os.system {enabled: true}\n",
    "values: !custom [a, b]\n",
    "a: !!seq {x: 1}\n",
])
def test_yaml_tags_on_mappings_and_sequences_are_refused(text):
    doc = parse_text(text)
    assert [d.code for d in doc.diagnostics] == ["RV005"] and doc.data is None


def test_gen_never_copies_a_custom_tag_into_the_values(tmp_path):
    path = tmp_path / "tagged.yml"
    path.write_text(EXAMPLE_CONFIG.read_text().replace("features:\n", "features: !custom\n", 1))
    result = invoke("gen", path, "--out", tmp_path / "out")
    assert result.exit_code == 1 and "RV005" in result.output
    assert not (tmp_path / "out").exists()


# --- 8. hints name only what RV014 accepts ------------------------------------------------------


def test_storage_hints_recommend_only_s3(tmp_path):
    env = tmp_path / "env.yaml"
    env.write_text("sharedVolume: {enabled: false}\n")
    path = tmp_path / "local.yml"
    path.write_text(BASE.replace("workdir: s3://", "workdir: /tmp/", 1) if "workdir: s3://" in BASE else BASE)
    result = validate_config(path, "prod", env)
    messages = " ".join(d.message for d in result.diagnostics if d.code.startswith("RV20"))
    assert messages and "s3://" in messages
    assert "hdfs://" not in messages and "gs://" not in messages


# --- 9. a whole float parallelism ---------------------------------------------------------------


def test_parallelism_written_as_a_whole_float_generates_that_parallelism(tmp_path):
    path = tmp_path / "float.yml"
    text = EXAMPLE_CONFIG.read_text()
    assert re.search(r"\n  parallelism: \d+\n", text)
    path.write_text(re.sub(r"\n  parallelism: \d+\n", "\n  parallelism: 4.0\n", text, count=1))
    result = invoke("gen", path, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    values = yaml.safe_load((tmp_path / "out" / "update.yaml").read_text())
    assert values["ranking"]["parallelism"]["update"] == 4  # inference.parallelism: 4.0


def test_update_parallelism_as_a_whole_float_above_32_is_refused(tmp_path):
    path = tmp_path / "forty.yml"
    path.write_text(re.sub(r"\n  parallelism: \d+\n", "\n  parallelism: 40.0\n", EXAMPLE_CONFIG.read_text(), count=1))
    assert "RV114" in {d.code for d in validate_config(path).diagnostics}


def test_parallelism_as_a_huge_float_is_out_of_range(tmp_path):
    path = tmp_path / "huge.yml"
    path.write_text(re.sub(r"\n  parallelism: \d+\n", "\n  parallelism: 1.0e+6\n", EXAMPLE_CONFIG.read_text(), count=1))
    codes = [d.code for d in validate_config(path).diagnostics]
    assert "RV111" in codes


# --- 10. event lines -----------------------------------------------------------------------------


def _events_check(tmp_path: Path, lines: bytes) -> dict:
    events = tmp_path / "events"
    events.mkdir()
    (events / "part-0.jsonl").write_bytes(lines)
    config = tmp_path / "config.yml"
    text = EXAMPLE_CONFIG.read_text()
    data = yaml.safe_load(text)
    data["bootstrap"]["source"] = {"type": "file", "path": str(events)}
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    result = invoke("check", config, "--only", "events.schema", "--format", "json", "--env", "dev")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_an_event_line_of_100k_brackets_is_a_bad_line_not_a_bug(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    report = _events_check(tmp_path, b"[" * 100_000 + b"\n")
    text = json.dumps(report)
    assert "this is a bug" not in text and "RecursionError" not in text
    assert "part-0.jsonl:1" in text and "nested too deeply" in text


def test_a_5mb_event_line_counts_as_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    good = b'{"event":"item","id":"1","item":"a","timestamp":"1"}\n'
    report = _events_check(tmp_path, b"x" * 5_000_000 + b"\n" + b"oops\n" + good)
    text = json.dumps(report)
    assert "part-0.jsonl:1: line longer than" in text
    assert "part-0.jsonl:2: not JSON" in text  # not line 7: the long line was one line
    assert "3 events" in text


# --- 11. huge timeouts, silent endpoints ---------------------------------------------------------


@pytest.mark.parametrize("args", [
    ("check", str(EXAMPLE_CONFIG), "--timeout", "1e10"),
    ("savepoint", "trigger", "--release", "r", "--timeout", "1e308"),
    ("savepoint", "latest", "--request-timeout", "1e308"),
])
def test_huge_timeouts_are_usage_errors(args):
    result = invoke(*args)
    assert result.exit_code == 2 and "more than a week" in result.output


def test_a_silent_s3_endpoint_costs_about_one_request_timeout(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []

    def accept():
        while True:
            try:
                held.append(server.accept()[0])  # never answered
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    values = tmp_path / "values.yaml"
    values.write_text(
        f"s3:\n  endpoint: http://127.0.0.1:{server.getsockname()[1]}\n  pathStyleAccess: true\n"
        "  auth: {mode: secret, accessKeyId: a, secretAccessKey: b}\n"
        "ranking:\n  paths:\n    savepoints: s3://bucket/savepoints\n"
    )
    timeout = 6.0
    started = time.monotonic()
    proc = subprocess.run([CLI, "savepoint", "latest", "-f", str(values), "--request-timeout", str(timeout)],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    elapsed = time.monotonic() - started
    server.close()
    assert proc.returncode == 1 and "S3 unreachable" in proc.stderr
    # three attempts of a full timeout each took ~3x (18 s); start-up and back-off get slack
    assert elapsed < 1.5 * timeout + 4, elapsed


# --- 15. messages --------------------------------------------------------------------------------


def test_validate_usage_line_names_the_argument_once():
    result = invoke("validate", "--help")
    assert "{CONFIG...}..." not in result.output


def test_wrong_redis_password_in_the_url_points_at_the_url():
    from ranker_values.ops.check import redis_checks

    outcome = redis_checks._describe(Exception("WRONGPASS invalid username-password pair"), "h:1 (AUTH)",
                                     "REDIS_PASSWORD", "the password in --redis-url")
    assert "--redis-url" in outcome.fix and "REDIS_PASSWORD" not in outcome.fix


def test_example_script_validates_once_and_passes_crds():
    script = (REPO / "scripts" / "example.sh").read_text()
    assert '"$rv" validate' not in script  # gen validates and prints each warning once
    assert '"${@:3}"' in script and "--crds" in script


# --- 12. objects files without the snapshot CRD -------------------------------------------------

LEGACY_MODE = Path(__file__).parent / "data" / "cluster" / "update-legacy-mode.yaml"
SNAPSHOT_MODE = Path(__file__).parent / "data" / "cluster" / "update-snapshot-mode.yaml"


def test_latest_from_an_objects_file_without_snapshot_crd_says_what_it_could_not_read():
    result = invoke("savepoint", "latest", "--objects", LEGACY_MODE, "--release", "ranker", "-n", "ranking",
                    "--source", "cluster", "--no-verify")
    assert result.exit_code == 0, result.output
    assert "holds neither the FlinkStateSnapshot CRD nor any FlinkStateSnapshot" in result.stderr


def test_snapshots_in_an_objects_file_count_even_without_their_crd(tmp_path):
    docs = [d for d in yaml.safe_load_all(SNAPSHOT_MODE.read_text()) if d]
    without_crd = [d for d in docs if d.get("kind") != "CustomResourceDefinition"]
    assert any(d.get("kind") == "FlinkStateSnapshot" for d in without_crd)
    path = tmp_path / "objects.yaml"
    path.write_text(yaml.safe_dump_all(without_crd))
    from ranker_values.kube.cluster import ObjectCluster
    from ranker_values.ops import savepoint as sp

    assert sp.supports_snapshot_resources(ObjectCluster.from_file(str(path)))


def test_trigger_says_when_it_falls_back_to_the_nonce():
    result = invoke("savepoint", "trigger", "--objects", LEGACY_MODE, "--release", "ranker", "-n", "ranking",
                    "--timeout", "1", "--poll-interval", "1")
    assert "using the legacy spec.job.savepointTriggerNonce" in result.stderr


def test_no_savepoint_found_keeps_the_ignored_prefixes_note(monkeypatch):
    from types import SimpleNamespace

    from ranker_values.errors import InvalidInput
    from ranker_values.ops import savepoint as sp

    scanned = SimpleNamespace(complete=[], incomplete=[], ignored=["s3://b/sp/junk/", "s3://b/sp/tmp/"])
    monkeypatch.setattr(sp, "scan_s3", lambda *a, **k: scanned)
    with pytest.raises(InvalidInput) as raised:
        sp.latest_savepoint(cluster_found=None, s3_client=object(), savepoints_dir="s3://b/sp", scan=True)
    assert "no completed savepoint found in s3://b/sp" in raised.value.message
    assert "ignored 2 prefix(es)" in raised.value.message


# --- 13. an interrupted trigger says what it left behind ----------------------------------------


def test_interrupted_trigger_reports_the_nonce_left_on_the_live_object():
    from ranker_values import cli
    from ranker_values.files.atomic import Interrupted

    class Cluster:
        def patch_custom(self, plural, name, namespace, body):
            return body

        def create_custom(self, plural, namespace, body):
            return body

    cluster, changed = Cluster(), []
    cli._record_writes(cluster, changed)
    cluster.patch_custom("flinkdeployments", "ranker-update", "ranking", {"spec": {"job": {"savepointTriggerNonce": 7}}})
    cluster.create_custom("flinkstatesnapshots", "ranking", {"metadata": {"name": "snap-1"}})
    assert "savepointTriggerNonce=7 stays on the live object" in changed[0]
    assert "stages.update.savepointTriggerNonce: 7" in changed[0]
    assert "flinkstatesnapshots/snap-1" in changed[1]
    assert Interrupted(2).exit_code == 130 and Interrupted(15).exit_code == 143
