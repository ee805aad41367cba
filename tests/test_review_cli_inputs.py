"""Adversarial command lines: every one ends in exit 1 (invalid input) or 2 (usage) with a clear
one-line reason, never a traceback or the internal-error exit 70.

Each case here was an exit 70, a hang/busy loop, a misleading message or a leaked secret before
the fix it pins (see the test names).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import EXAMPLE_CONFIG, REPO
from ranker_values.cli import app

CHART = REPO / "charts" / "ranker"
LEGACY_MODE = Path(__file__).parent / "data" / "cluster" / "update-legacy-mode.yaml"

runner = CliRunner()


def invoke(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output)
    return result


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def deep_yaml(tmp_path: Path, depth: int = 150) -> Path:
    """Nested deeper than any values or objects file (PyYAML's composer recursed out). 150
    levels: past our bound (100), below libyaml's own flow-depth limit (1,000 in PyYAML 6.0.4)."""
    return write(tmp_path, "deep.yaml", "a: " + "[" * depth + "]" * depth + "\n")


# --- values and objects files ----------------------------------------------------------------


def test_deeply_nested_values_files_are_refused_not_a_recursion_error(tmp_path):
    deep = deep_yaml(tmp_path)
    ok = write(tmp_path, "ok.yaml", "a: 1\n")
    cases = [
        (("validate", EXAMPLE_CONFIG, "--env-file", deep), 2),
        (("render", "-f", deep, "--chart", CHART), 1),
        (("plan", deep, ok, "--chart", CHART), 1),
        (("upgrade-values", "--out", tmp_path / "o.yaml", "-f", deep), 1),
        (("check", EXAMPLE_CONFIG, "-f", deep, "--only", "cluster.secrets"), 1),
        (("savepoint", "latest", "--objects", deep, "--release", "r"), 1),
    ]
    for args, code in cases:
        result = invoke(*args)
        assert result.exit_code == code, (args, result.output)
        assert "nested deeper than 100 levels" in result.stderr, (args, result.output)
    deep_yaml(tmp_path, 3000)  # whichever layer stops it (libyaml or our bound): refused with a location
    for args, code in cases:
        result = invoke(*args)
        assert result.exit_code == code, (args, result.output)
        assert "deep.yaml:1:" in result.stderr and "Traceback" not in result.output, (args, result.output)


def test_objects_file_that_cannot_be_read_is_a_usage_error(tmp_path):
    latin1 = write(tmp_path, "objects.yaml", b"kind: caf\xe9\n")
    result = invoke("savepoint", "latest", "--objects", latin1, "--release", "r")
    assert result.exit_code == 2
    assert "objects file is not UTF-8 text" in result.stderr
    result = invoke("savepoint", "latest", "--objects", tmp_path / "missing.yaml", "--release", "r")
    assert result.exit_code == 2
    assert "missing.yaml: no such file" in result.stderr


@pytest.mark.parametrize("metadata", ["[]", "{labels: {a: b}}", "{name: x, labels: [a]}"])
def test_objects_without_usable_metadata_are_invalid_input(tmp_path, metadata):
    objects = write(tmp_path, "objects.yaml", f"apiVersion: flink.apache.org/v1beta1\nkind: FlinkDeployment\nmetadata: {metadata}\n")
    result = invoke("savepoint", "latest", "--objects", objects, "--release", "r", "--source", "cluster", "--no-verify")
    assert result.exit_code == 1
    assert "FlinkDeployment" in result.stderr and "metadata" in result.stderr


def test_multi_document_values_file_is_invalid_input(tmp_path):
    two = write(tmp_path, "two.yaml", "a: 1\n---\nb: 2\n")
    result = invoke("render", "-f", two, "--chart", CHART)
    assert result.exit_code == 1
    assert "must be one YAML document, found 2" in result.stderr


@pytest.mark.parametrize("stages", ["stages: null", "stages: []", "stages:\n  update: 5"])
def test_upgrade_values_with_odd_stages_is_not_an_internal_error(tmp_path, stages):
    values = write(tmp_path, "v.yaml", stages + "\n")
    out = tmp_path / "upgrade.yaml"
    result = invoke("upgrade-values", "--out", out, "-f", values, "--allow-empty-state")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(out.read_text())["stages"]["update"]["enabled"] is True


def test_upgrade_values_accepts_a_savepoint_on_the_shared_volume(tmp_path):
    """A first deployment with sharedVolume storage: the savepoint is a local path that only the
    pods see. It used to fail with "is not an S3 URI"."""
    values = write(
        tmp_path, "v.yaml",
        "ranking:\n  paths:\n    savepoint: /data/ranker/savepoint\nstages:\n  update:\n    enabled: true\n",
    )
    out = tmp_path / "upgrade.yaml"
    result = invoke("upgrade-values", "--out", out, "-f", values)
    assert result.exit_code == 0, result.output
    assert "/data/ranker/savepoint (not verified: not on S3)" in result.stderr


def test_wrongly_typed_s3_settings_name_the_key_not_the_value(tmp_path):
    values = write(tmp_path, "v.yaml", "s3:\n  endpoint: 12\n")
    result = invoke("savepoint", "latest", "-f", values, "--savepoints-dir", "s3://b/x", "--request-timeout", "1")
    assert result.exit_code == 1
    assert "s3.endpoint in the values must be a string, got int" in result.stderr
    values = write(tmp_path, "v.yaml", "s3:\n  auth:\n    secretAccessKey: [hunter2]\n")
    result = invoke("savepoint", "latest", "-f", values, "--savepoints-dir", "s3://b/x", "--request-timeout", "1")
    assert result.exit_code == 1
    assert "s3.auth.secretAccessKey in the values must be a string" in result.stderr
    assert "hunter2" not in result.output


def test_absurd_savepoint_timestamp_is_malformed_status_not_an_overflow(tmp_path):
    objects = list(yaml.safe_load_all(LEGACY_MODE.read_text()))
    objects[0]["status"]["jobStatus"]["savepointInfo"]["lastSavepoint"]["timeStamp"] = 10**20
    path = write(tmp_path, "objects.yaml", yaml.safe_dump_all(objects))
    result = invoke("savepoint", "latest", "--objects", path, "--release", "ranker", "-n", "ranking",
                    "--source", "cluster", "--no-verify")
    assert result.exit_code == 1
    assert "lastSavepoint.timeStamp: 100000000000000000000 is not a plausible" in result.stderr


# --- numbers on the command line ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1"])
def test_timeouts_must_be_positive_and_finite(tmp_path, value):
    """nan made every deadline comparison false (a busy loop without sleeping); inf overflowed
    queue.get in the check runner (exit 70) or waited forever."""
    objects = write(tmp_path, "objects.yaml", "")
    commands = [
        ("savepoint", "trigger", "--release", "r", "--objects", objects, "--timeout", value),
        ("savepoint", "trigger", "--release", "r", "--objects", objects, "--poll-interval", value),
        ("savepoint", "latest", "--savepoints-dir", "s3://b/x", "--request-timeout", value),
        ("upgrade-values", "--out", tmp_path / "o.yaml", "--request-timeout", value),
        ("check", EXAMPLE_CONFIG, "--only", "cluster.secrets", "--timeout", value),
    ]
    for args in commands:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        flat = " ".join(result.output.replace("│", " ").split())  # typer wraps usage errors in a box
        assert "is not a positive number of seconds" in flat, (args, result.output)


def test_events_sample_must_be_at_least_one():
    result = invoke("check", EXAMPLE_CONFIG, "--only", "cluster.secrets", "--events-sample", "0")
    assert result.exit_code == 2


# --- where output goes -----------------------------------------------------------------------


def test_out_that_is_a_directory_is_named_in_the_error(tmp_path):
    (tmp_path / "dir").mkdir()
    result = invoke("upgrade-values", "--out", tmp_path / "dir", "--allow-empty-state")
    assert result.exit_code == 2
    assert f"{tmp_path / 'dir'}: is a directory" in result.stderr


# --- render / plan options -------------------------------------------------------------------


@pytest.mark.parametrize(
    "option, message",
    [
        (("--release", ""), "--release '': a release name"),
        (("--release", "Bad_Name"), "--release 'Bad_Name': a release name"),
        (("--release", "r" * 54), "a release name is 1-53"),
        (("-n", ""), "--namespace '': a namespace"),
    ],
)
def test_render_and_plan_refuse_names_helm_would_refuse(tmp_path, option, message):
    """An empty release name used to render silently as "release-name-ranker-..."."""
    values = write(tmp_path, "v.yaml", "")
    for command in (("render", "-f", values), ("plan", values, values)):
        result = invoke(*command, "--chart", CHART, *option)
        assert result.exit_code == 2, (command, result.output)
        assert message in result.stderr


def test_render_refuses_bad_validation_options_before_writing(tmp_path):
    out = tmp_path / "manifests.yaml"
    values = write(tmp_path, "v.yaml", "")
    result = invoke("render", "-f", values, "--chart", CHART, "--kube-version", "9.99", "--out", out)
    assert result.exit_code == 2
    assert "--kube-version 9.99" in result.stderr
    assert not out.exists()
    crds = tmp_path / "crds"
    crds.mkdir()
    (crds / "broken.yaml").write_text("kind: CustomResourceDefinition\nspec: [\n")
    result = invoke("render", "-f", values, "--chart", CHART, "--crds", crds, "--out", out)
    assert result.exit_code == 2
    assert "broken.yaml: cannot read a CRD file" in result.stderr
    (crds / "broken.yaml").write_text("kind: CustomResourceDefinition\nspec: {}\n")
    result = invoke("render", "-f", values, "--chart", CHART, "--crds", crds)
    assert result.exit_code == 2
    assert "without spec.names.kind" in result.stderr
    assert not out.exists()


# --- secrets ---------------------------------------------------------------------------------


def test_storage_rule_messages_redact_a_password_in_a_file_uri(tmp_path):
    text = EXAMPLE_CONFIG.read_text().replace(
        "workdir: s3://acme-ranking/ranker/workdir", "workdir: file://admin:hunter2@nas/data/ranker"
    )
    config = write(tmp_path, "config.yml", text)
    for env in ("prod", "dev"):
        for fmt in ("text", "json", "github"):
            result = invoke("validate", "--env-file", REPO / "values" / f"{env}.yaml", "--format", fmt, config)
            assert result.exit_code == 1
            assert "RV201" in result.output, result.output
            assert "hunter2" not in result.output


# --- check: clients that cannot even be built ------------------------------------------------


def local_events_config(tmp_path: Path, events: Path) -> Path:
    text = EXAMPLE_CONFIG.read_text().replace("path: s3://acme-ranking/events/", f"path: {events}")
    assert str(events) in text
    return write(tmp_path, "config.yml", text)


def check_json(*args: str) -> dict:
    result = invoke("check", *args, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    return {c["name"]: c for c in json.loads(result.stdout)["checks"]}


def test_corrupt_gzip_events_are_a_finding_not_a_bug(tmp_path):
    events = tmp_path / "events"
    events.mkdir()
    good = gzip.compress(b'{"event":"user","id":"1","user":"u","timestamp":1}\n' * 50)
    (events / "a.jsonl.gz").write_bytes(good[:20] + b"\x00garbage" * 20)  # valid header, broken stream
    checks = check_json(local_events_config(tmp_path, events), "--only", "events.schema")
    schema = checks["events.schema"]
    assert schema["status"] == "fail"
    assert "cannot read the file" in schema["reason"]
    assert "bug" not in schema["fix"]


def test_unusable_redis_url_is_a_finding_not_a_bug():
    checks = check_json(EXAMPLE_CONFIG, "--only", "redis.connect", "--redis-url", "http://:hunter2@127.0.0.1:1")
    connect = checks["redis.connect"]
    assert connect["status"] == "fail"
    assert connect["reason"].startswith("--redis-url: Redis URL must specify one of the following schemes")
    assert "bug" not in connect["fix"] and "hunter2" not in json.dumps(connect)


# --- without the ops extra ---------------------------------------------------------------------

MISSING_EXTRA_PROBE = """
import json, sys
for name in json.loads(sys.argv[1]):
    sys.modules[name] = None  # what a plain `pip install ranker-values` looks like to an import
from ranker_values.cli import main
sys.argv = ["ranker-values", *json.loads(sys.argv[2])]
main()
"""


def run_without(modules: list[str], args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", MISSING_EXTRA_PROBE, json.dumps(modules), json.dumps(args)],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )


def test_commands_without_the_ops_extra_say_how_to_install_it(tmp_path):
    """These used to end in exit 70 ("internal error: No module named 'helm_python'") or in
    "S3 unreachable: No module named 'boto3'"."""
    values = write(tmp_path, "v.yaml", "")
    proc = run_without(["helm_python"], ["render", "-f", str(values)])
    assert proc.returncode == 2, proc.stderr
    assert "needs the 'helm_python' package of the ops extra: pip install 'ranker-values[ops]'" in proc.stderr
    proc = run_without(["boto3"], ["savepoint", "latest", "-f", str(values), "--savepoints-dir", "s3://b/x"])
    assert proc.returncode == 2, proc.stderr
    assert "'boto3' package of the ops extra" in proc.stderr
    proc = run_without(["kubernetes"], ["savepoint", "trigger", "--release", "r"])
    assert proc.returncode == 2, proc.stderr
    assert "'kubernetes' package of the ops extra" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_check_without_the_ops_extra_names_the_package_in_every_row():
    proc = run_without(["boto3", "redis", "kubernetes"], ["check", str(EXAMPLE_CONFIG), "--format", "json"])
    assert proc.returncode == 1, proc.stderr
    checks = json.loads(proc.stdout)["checks"]
    needing = [c for c in checks if c["name"].split(".")[0] in ("s3", "events", "redis", "model")
               or c["name"] in ("cluster.crd", "cluster.snapshot-crd", "cluster.operator")]
    assert needing
    for check in needing:
        assert check["status"] == "fail"
        assert check["reason"] in ("boto3 is not installed here", "redis is not installed here", "kubernetes is not installed here"), check
        assert check["fix"] == "pip install 'ranker-values[ops]'"
