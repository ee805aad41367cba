"""`ranker-values gen`: five self-contained values files, deterministic, atomic, secret-free."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import EXAMPLE_CONFIG, REPO
from ranker_values import __version__
from ranker_values.config.embed import engine_text
from ranker_values.files import atomic
from ranker_values.cli import app
from ranker_values.values.emit import dump_yaml, render_values, write_values
from ranker_values.errors import InvalidInput
from ranker_values.values.model import STEPS
from ranker_values.pipeline import load_deployment

runner = CliRunner()
FILES = [f"{step}.yaml" for step in STEPS]
CHART_SCHEMA = REPO / "charts" / "ranker" / "values.schema.json"


def gen(*args: str):
    return runner.invoke(app, ["gen", *args])


def load_all(out: Path) -> dict[str, dict]:
    return {name: yaml.safe_load((out / name).read_text()) for name in FILES}


# -- the real configs ------------------------------------------------------------------------------


def test_real_configs_validate_and_generate(shared_configs, tmp_path):
    for config in shared_configs:
        assert runner.invoke(app, ["validate", str(config)]).exit_code == 0
        out = tmp_path / config.stem
        result = gen(str(config), "--out", str(out))
        assert result.exit_code == 0, result.output
        assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
        docs = load_all(out)
        for doc in docs.values():
            assert doc["ranking"]["config"] == engine_text(config.read_text())  # byte for byte, comments dropped
            assert doc["ranking"] == docs["update.yaml"]["ranking"]  # every file is self-contained


def test_example_generates_for_prod(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    result = gen("examples/config.yml", "--env", "prod", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    ranking = load_all(tmp_path)["update.yaml"]["ranking"]
    assert ranking["generated"] == {
        "by": f"ranker-values {__version__}", "from": "examples/config.yml",
        "sha256": ranking["generated"]["sha256"], "env": "prod",
    }
    assert ranking["workdir"] == "s3://acme-ranking/ranker/workdir"
    assert ranking["paths"] == {
        "savepoint": "s3://acme-ranking/ranker/workdir/savepoint",
        "features": "s3://acme-ranking/ranker/workdir/features",
        "checkpoints": "s3://acme-ranking/ranker/workdir/update/checkpoints",
        "savepoints": "s3://acme-ranking/ranker/workdir/update/savepoints",
        "ha": "s3://acme-ranking/ranker/workdir/update/ha",
    }
    assert ranking["models"] == [
        {"name": "xgboost", "type": "lambdamart", "backend": "xgboost",
         "path": "s3://acme-ranking/ranker/models/xgboost.model",
         "dataset": "s3://acme-ranking/ranker/workdir/dataset-xgboost", "train": True},
        {"name": "baseline", "type": "shuffle", "backend": "", "path": "",
         "dataset": "s3://acme-ranking/ranker/workdir/dataset-baseline", "train": False},
    ]  # fmt: skip
    assert ranking["state"] == {"type": "redis", "host": "redis-master.ranking.svc", "port": 6379, "format": "protobuf"}
    assert ranking["api"] == {"host": "0.0.0.0", "port": 8080}
    assert ranking["parallelism"] == {"bootstrap": 0, "update": 2}
    assert ranking["sources"]["bootstrap"] == {"type": "file", "path": "s3://acme-ranking/events/"}
    assert ranking["sources"]["inference"]["type"] == "kafka"
    assert ranking["sources"]["inference"]["brokers"][0] == "kafka-0.kafka-headless.streaming.svc:9092"


@pytest.mark.skipif(not CHART_SCHEMA.is_file(), reason="charts/ranker/values.schema.json not written yet (H2)")
def test_generated_files_satisfy_the_chart_schema(shared_configs):
    from jsonschema import validators

    schema = json.loads(CHART_SCHEMA.read_text())
    validator = validators.validator_for(schema)(schema)
    for config in [EXAMPLE_CONFIG, *shared_configs]:
        for name, text in render_values(load_deployment(config)).items():
            errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(yaml.safe_load(text))]
            assert not errors, (config.name, name, errors)


# -- determinism, header, provenance ---------------------------------------------------------------


def test_output_is_byte_identical_across_runs_and_directories(tmp_path, monkeypatch):
    workspace = tmp_path / "ws"
    (workspace / "cfg").mkdir(parents=True)
    (workspace / "cfg" / "config.yml").write_bytes(EXAMPLE_CONFIG.read_bytes())
    monkeypatch.chdir(workspace)
    assert gen("cfg/config.yml", "--out", "a").exit_code == 0
    assert gen("cfg/config.yml", "--out", "a").exit_code == 0  # re-run over existing files
    first = {name: (workspace / "a" / name).read_bytes() for name in FILES}
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "cfg").mkdir()
    (other / "cfg" / "config.yml").write_bytes(EXAMPLE_CONFIG.read_bytes())
    monkeypatch.chdir(other)
    assert gen("cfg/config.yml", "--out", "a").exit_code == 0
    assert {name: (other / "a" / name).read_bytes() for name in FILES} == first
    assert b"/tmp" not in b"".join(first.values())  # nothing machine-specific


def test_header(tmp_path, monkeypatch):
    import hashlib

    monkeypatch.chdir(REPO)
    sha = hashlib.sha256(EXAMPLE_CONFIG.read_bytes()).hexdigest()
    texts = render_values(load_deployment(Path("examples/config.yml"), env="prod"))
    for step in STEPS:
        first = texts[f"{step}.yaml"].splitlines()[0]
        assert first == (
            f"# Generated by ranker-values {__version__} from examples/config.yml (sha256 {sha}), step {step}. "
            "Do not edit; re-run: ranker-values gen examples/config.yml --env prod"
        )
    out = write_values(load_deployment(Path("examples/config.yml")), tmp_path / "o")
    assert out[0].read_text().splitlines()[0].endswith(f"re-run: ranker-values gen examples/config.yml --out {tmp_path / 'o'}")


# -- stage switches ------------------------------------------------------------------------------------

MEMORY_SHUFFLE = """\
features:
  - {name: popularity, type: number, scope: item, source: item.popularity}
models:
  random: {type: shuffle, maxPositionChange: 2}
bootstrap:
  workdir: s3://bkt/ranker
  source: {type: file, path: s3://bkt/events/}
inference:
  state: {type: memory}
  source: {type: rest}
"""


def stages(out: Path) -> dict[str, dict[str, bool]]:
    return {name[:-5]: {s: v["enabled"] for s, v in doc["stages"].items()} for name, doc in load_all(out).items()}


def test_steps_are_cumulative_until_the_steady_state(tmp_path):
    assert gen(str(EXAMPLE_CONFIG), "--out", str(tmp_path)).exit_code == 0
    on = {step: [s for s, v in flags.items() if v] for step, flags in stages(tmp_path).items()}
    assert on == {
        "bootstrap": ["bootstrap"],
        "train": ["bootstrap", "train"],
        "upload": ["bootstrap", "train", "upload"],
        "api": ["bootstrap", "train", "upload", "api"],
        "update": ["api", "update"],  # steady state: the finished bootstrap and one-shot Jobs leave the release
    }


def test_memory_state_and_no_trained_model_skip_upload_and_train(tmp_path, write_file):
    config = write_file(MEMORY_SHUFFLE)
    assert gen(str(config), "--out", str(tmp_path / "o")).exit_code == 0
    on = {step: [s for s, v in flags.items() if v] for step, flags in stages(tmp_path / "o").items()}
    assert on["update"] == ["api", "update"]
    assert on["upload"] == ["bootstrap"]


def test_env_without_update_keeps_it_off_in_the_steady_state(tmp_path, write_file):
    config = write_file(MEMORY_SHUFFLE.replace("state: {type: memory}", "state: {type: redis, host: redis, port: 6379}"))
    env = write_file("stages:\n  update:\n    enabled: false\n", "dev.yaml")
    assert gen(str(config), "--env-file", str(env), "--out", str(tmp_path / "o")).exit_code == 0
    assert stages(tmp_path / "o")["update"] == {"bootstrap": False, "train": False, "upload": False, "api": True, "update": False}
    assert stages(tmp_path / "o")["upload"]["upload"] is True  # redis state: the upload step loads it


def test_finished_batch_stages_keep_identical_values_in_later_steps(tmp_path):
    """Re-applying a step never re-runs a finished job: nothing a batch stage reads changes."""
    assert gen(str(EXAMPLE_CONFIG), "--out", str(tmp_path)).exit_code == 0
    docs = load_all(tmp_path)
    for later in FILES[1:]:
        assert docs[later]["ranking"] == docs["bootstrap.yaml"]["ranking"]
    for later in ("train.yaml", "upload.yaml", "api.yaml"):
        assert docs[later]["stages"]["bootstrap"] == {"enabled": True}


# -- the config survives byte for byte ---------------------------------------------------------------


@pytest.mark.parametrize(
    "suffix",
    [
        "",
        "# trailing spaces   \n# and a tab\there\n",
        "# no final newline",
        "\n\n\n",
        "# unicode: café ✓ 日本\n",
    ],
)
def test_config_round_trips_exactly_without_its_comments(tmp_path, write_file, suffix):
    text = MEMORY_SHUFFLE + suffix
    config = write_file(text)
    assert gen(str(config), "--out", str(tmp_path / "o")).exit_code == 0
    emitted = (tmp_path / "o" / "api.yaml").read_text(encoding="utf-8")
    expected = MEMORY_SHUFFLE + "".join(line for line in suffix.splitlines(keepends=True) if not line.startswith("#"))
    assert yaml.safe_load(emitted)["ranking"]["config"] == expected
    assert "  config: |" in emitted  # a readable literal block, not an escaped one-liner


def test_crlf_and_bom_configs_round_trip_through_a_quoted_scalar(tmp_path, write_file):
    text = "\ufeff" + MEMORY_SHUFFLE.replace("\n", "\r\n")
    config = write_file(text)
    assert gen(str(config), "--out", str(tmp_path / "o")).exit_code == 0
    emitted = (tmp_path / "o" / "api.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(emitted)["ranking"]["config"] == engine_text(text)
    assert "\r\n" in engine_text(text)  # line breaks kept as written
    assert '  config: "' in emitted


def test_dump_yaml_never_changes_a_string():
    for text in ["a\n  \n b\n", " lead\n", "x\x85y\n", "tab\t\n", "a\n\n", "\u2028z\n", "#c\n- x\n"]:
        assert yaml.safe_load(dump_yaml({"config": text}))["config"] == text


def test_yaml_anchors_in_the_config_do_not_leak_into_the_values(tmp_path, write_file):
    text = MEMORY_SHUFFLE.replace("  source: {type: file, path: s3://bkt/events/}", "  source: &src {type: file, path: s3://bkt/events/}")
    text = text.replace("  random: {type: shuffle, maxPositionChange: 2}", "  random: {type: shuffle, maxPositionChange: 2}\n  other: {type: noop}")
    config = write_file(text)
    assert gen(str(config), "--out", str(tmp_path / "o")).exit_code == 0
    emitted = (tmp_path / "o" / "api.yaml").read_text()
    body = emitted.split("\n  workdir:", 1)[1]
    assert "&" not in body and "*" not in body


# -- failures leave nothing behind --------------------------------------------------------------------


def test_invalid_config_writes_nothing(tmp_path, write_file):
    config = write_file(MEMORY_SHUFFLE.replace("type: shuffle", "type: shufle"))
    out = tmp_path / "o"
    result = gen(str(config), "--out", str(out))
    assert result.exit_code == 1
    assert "error[RV013]" in result.output and "nothing generated" in result.output
    assert not out.exists()


def test_secrets_refused_and_never_written(tmp_path, write_file):
    config = write_file(MEMORY_SHUFFLE.replace("s3://bkt/ranker", "s3://AKIAKEY:wJalrXUtnFEMI@bkt/ranker"))
    out = tmp_path / "o"
    result = gen(str(config), "--out", str(out))
    assert result.exit_code == 1 and "RV120" in result.output
    assert "wJalrXUtnFEMI" not in result.output
    assert not out.exists()


def test_strict_makes_warnings_fail(tmp_path, write_file):
    config = write_file(MEMORY_SHUFFLE)  # rest source: a warning
    assert gen(str(config), "--out", str(tmp_path / "a")).exit_code == 0
    result = gen(str(config), "--strict", "--out", str(tmp_path / "b"))
    assert result.exit_code == 1 and "warning[RV112]" in result.output
    assert not (tmp_path / "b").exists()


def test_a_failure_while_writing_leaves_old_files_and_no_temp_files(tmp_path, monkeypatch):
    out = tmp_path / "o"
    out.mkdir()
    for name in FILES:
        (out / name).write_text("old\n")
    real_stage = atomic._stage
    calls = []

    def failing_stage(directory, name, text):
        calls.append(name)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real_stage(directory, name, text)

    monkeypatch.setattr(atomic, "_stage", failing_stage)
    result = gen(str(EXAMPLE_CONFIG), "--out", str(out))
    assert result.exit_code == 2 and "No space left on device" in result.output
    assert sorted(os.listdir(out)) == sorted(FILES)  # no temp file left
    assert all((out / name).read_text() == "old\n" for name in FILES)


def test_an_interrupted_write_leaves_no_temp_file(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic.write_files_atomic(tmp_path, {"a.yaml": "x", "b.yaml": "y"})
    assert os.listdir(tmp_path) == []


def test_out_is_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    result = gen(str(EXAMPLE_CONFIG), "--out", str(target))
    assert result.exit_code == 2 and "not a directory" in result.output


def test_load_deployment_raises_with_diagnostics(tmp_path, write_file):
    config = write_file(MEMORY_SHUFFLE.replace("type: shuffle", "type: shufle"))
    with pytest.raises(InvalidInput) as caught:
        load_deployment(config)
    assert [d.code for d in caught.value.diagnostics if d.severity == "error"] == ["RV013"]


# -- schema command, pre-commit hook, README ------------------------------------------------------------


def test_schema_command_prints_the_bundled_schema():
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert result.output == (REPO / "schemas" / "ranking-config.schema.json").read_text()
    assert json.loads(result.output)["$schema"].endswith("2020-12/schema")


def test_pre_commit_hook_definition():
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "ranker-values-validate"]
    assert hook["entry"] == "ranker-values validate"
    assert hook["language"] == "python"
    assert re.search(hook["files"], "ranking/config.yml") and re.search(hook["files"], "deploy/metarank.yaml")
    assert not re.search(hook["files"], "values/prod.yaml") and not re.search(hook["files"], "app/config.yml")


def test_readme_lists_the_lifecycle_commands():
    readme = (REPO / "README.md").read_text()
    assert "ranker-values gen examples/config.yml --env prod" in readme
    for step in STEPS:
        assert f"-f values/generated/{step}.yaml" in readme
    assert "# yaml-language-server: $schema=" in readme
