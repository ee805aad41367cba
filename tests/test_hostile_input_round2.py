"""Regression tests for issue 17 ("Hostile input, second round"), each named after the behaviour
it pins: secrets in comments, model names YAML retypes, what the API server refuses, adding a
feature in the steady state, event files and Redis the engine cannot use."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import EXAMPLE_CONFIG, REPO
from generator.cli import app
from generator.config.embed import engine_text
from generator.config.loader import parse_text
from generator.kube.render import parse_manifests, render_texts
from generator.values.files import merge_values_files
from support import ENV_VALUES

CHART = REPO / "charts" / "ranker"
runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


def gen(config: Path, out: Path, env: str = "prod") -> dict[str, Path]:
    result = invoke("gen", config, "--env-file", ENV_VALUES[env], "--out", out)
    assert result.exit_code == 0, result.output
    return {p.stem: p for p in out.iterdir()}


def rendered(files: list[Path], release: str = "ranker") -> list[dict]:
    return [dict(o) for o in parse_manifests(render_texts(merge_values_files(files), CHART, release, "ranking"))]


# --- 1. a secret in a comment never leaves the config file ----------------------------------

SECRET = "hunter2-s3cr3t"
COMMENTED = EXAMPLE_CONFIG.read_text().replace(
    "features:\n",
    f"# old redis: redis://admin:{SECRET}@redis.internal:6379\n"
    f"features:  # password: {SECRET}\n"
    f"    # AWS_SECRET_ACCESS_KEY={SECRET}\n",
    1,
)


def test_a_secret_in_a_comment_reaches_no_values_file_and_no_configmap(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text(COMMENTED)
    for env in ("prod", "dev"):  # dev: the bundled Redis makes the chart re-parse the config
        files = gen(config, tmp_path / env, env)
        for path in files.values():
            assert SECRET not in path.read_text(), path
        objects = rendered([ENV_VALUES[env], files["update"]])
        configmap = next(o for o in objects if o["kind"] == "ConfigMap" and "config.yml" in o.get("data", {}))
        assert SECRET not in configmap["data"]["config.yml"]
        assert all(SECRET not in yaml.safe_dump(o) for o in objects)


def test_comments_are_dropped_but_what_the_engine_reads_is_unchanged():
    text = (
        "a: 1 # note\n"
        "# whole line\n"
        "b: 'x # not a comment' # but this is\n"
        "c: |+\n  kept # inside a block\n# after the block\n"
        "d: [1, 2] # flow\n"
        "e: b#c\n"
    )
    embedded = engine_text(text)
    assert embedded == "a: 1\nb: 'x # not a comment'\nc: |+\n  kept # inside a block\nd: [1, 2]\ne: b#c\n"
    assert parse_text(embedded).data == parse_text(text).data


# --- 2. model names YAML would retype -------------------------------------------------------

RETYPED = ["yes", "on", "010", "0x1F", "1.0", "null", "~", "Off", "1e3", ".inf"]


@pytest.mark.parametrize("name", RETYPED)
def test_a_model_named_like_a_yaml_scalar_is_trained_under_the_key_the_engine_reads(tmp_path, name):
    config = tmp_path / "config.yml"
    config.write_text(EXAMPLE_CONFIG.read_text().replace("\n  xgboost:\n", f"\n  {name}:\n", 1))
    assert f"\n  {name}:\n" in config.read_text()
    for env in ("prod", "dev"):  # prod: the config passes as generated; dev: the chart re-parses it
        files = gen(config, tmp_path / env, env)
        objects = rendered([ENV_VALUES[env], files["train"]])
        configmap = next(o for o in objects if o["kind"] == "ConfigMap" and "config.yml" in o.get("data", {}))
        engine_keys = list(parse_text(configmap["data"]["config.yml"]).data["models"])  # keys as written
        trained = [o["spec"]["template"]["spec"]["containers"][0]["args"][-1] for o in objects
                   if o["kind"] == "Job" and o["metadata"]["labels"]["app.kubernetes.io/component"] == "train"]
        assert name in engine_keys, (env, engine_keys)
        assert trained == [name], (env, trained)
