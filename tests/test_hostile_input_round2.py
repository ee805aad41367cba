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


# --- 3. render refuses what the API server refuses ------------------------------------------

GENERATED = CHART / "tests" / "values" / "generated"  # gen examples/config.yml --env prod (kept current)


def render_cli(*args, release: str = "ranker"):
    return invoke("render", "--chart", CHART, "--release", release, *args)


def test_render_refuses_a_configmap_over_one_mib_once_with_the_limit(tmp_path):
    big = tmp_path / "big.yaml"
    config = yaml.safe_load(GENERATED.joinpath("update.yaml").read_text())["ranking"]["config"]
    big.write_text(yaml.safe_dump({"ranking": {"config": config + "\n# " + "x" * (1024 * 1024) + "\n"}}))
    result = render_cli("-f", ENV_VALUES["prod"], "-f", GENERATED / "update.yaml", "-f", big, "-o", tmp_path / "out.yaml")
    assert result.exit_code == 1, result.output
    assert "the API server accepts at most 1048576 (1 MiB)" in result.output
    assert result.output.count("1048576") == 1
    assert not (tmp_path / "out.yaml").exists()


def test_api_server_rules_refuse_big_configmaps_and_a_mount_path_used_twice():
    from generator.kube.render import Manifest, validate_manifests

    configmap = Manifest({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                          "data": {"config.yml": "x" * (1024 * 1024)}}, "t")
    mounts = [{"name": "config", "mountPath": "/config"}, {"name": "shared", "mountPath": "/config"}]
    pod = {"containers": [{"name": "api", "image": "i", "volumeMounts": mounts}],
           "volumes": [{"name": "config", "emptyDir": {}}, {"name": "shared", "emptyDir": {}}]}
    deployment = Manifest({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                           "spec": {"selector": {"matchLabels": {"a": "b"}},
                                    "template": {"metadata": {"labels": {"a": "b"}}, "spec": pod}}}, "t")
    result = validate_manifests([configmap, deployment], kube_versions=("1.29", "1.34"))
    assert result.problems == [
        "ConfigMap/c (t): Kubernetes API server: ConfigMap data is 1,048,586 bytes: the API server accepts at most 1,048,576 (1 MiB)",
        "Deployment/d (t): Kubernetes API server: spec.template.spec.containers[api].volumeMounts: mountPath '/config' is used 2 times (must be unique)",
    ]
    fd = {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment", "metadata": {"name": "f"},
          "spec": {"podTemplate": {"spec": pod}}}
    from generator.kube.schemas import api_server_errors

    assert api_server_errors(fd) == [
        "spec.podTemplate.spec.containers[api].volumeMounts: mountPath '/config' is used 2 times (must be unique)"
    ]


@pytest.mark.parametrize("mount", ["/config", "/config/", "/tmp", "/config/shared"])
def test_render_refuses_a_shared_volume_on_a_mount_point_the_chart_uses(tmp_path, mount):
    shared = tmp_path / "shared.yaml"
    shared.write_text(yaml.safe_dump({"sharedVolume": {"enabled": True, "existingClaim": "rwx", "mountPath": mount}}))
    result = render_cli("-f", ENV_VALUES["prod"], "-f", GENERATED / "update.yaml", "-f", shared, "-o", tmp_path / "o.yaml")
    assert result.exit_code == 1, result.output
    assert f'sharedVolume.mountPath "{mount}" is a mount point the chart already uses' in result.output
    assert "ranker: 1 problem(s)" in result.output


def test_render_refuses_a_release_name_starting_with_a_digit_once_when_a_service_renders(tmp_path):
    result = render_cli("-f", ENV_VALUES["prod"], "-f", GENERATED / "update.yaml", "-o", tmp_path / "o.yaml", release="123")
    assert result.exit_code == 1, result.output
    assert 'release name "123": the api Service would be named "123-ranker-api", but a Service name must start with a letter' in result.output
    assert "ranker: 1 problem(s)" in result.output


@pytest.mark.parametrize("release", ["123", "1e3", "0x1f"])
def test_a_release_name_yaml_reads_as_a_number_renders_string_labels(tmp_path, release):
    result = render_cli("-f", ENV_VALUES["prod"], "-f", GENERATED / "bootstrap.yaml", "-o", tmp_path / "o.yaml", release=release)
    assert result.exit_code == 0, result.output
    for obj in yaml.safe_load_all((tmp_path / "o.yaml").read_text()):
        if obj:
            assert obj["metadata"]["labels"]["app.kubernetes.io/instance"] == release


# --- 4. plan: a model's features change in the steady state ---------------------------------

WITH_FEATURE = EXAMPLE_CONFIG.read_text().replace(
    "  - name: retrieval_score\n    type: relevancy\n",
    "  - name: retrieval_score\n    type: relevancy\n\n  - name: discount\n    type: number\n    scope: item\n    source: item.discount\n",
    1,
).replace("      - retrieval_score\n", "      - retrieval_score\n      - discount\n", 1)
UNUSED_FEATURE = EXAMPLE_CONFIG.read_text().replace(
    "  - name: retrieval_score\n    type: relevancy\n",
    "  - name: retrieval_score\n    type: relevancy\n\n  - name: discount\n    type: number\n    scope: item\n    source: item.discount\n",
    1,
)


def plan_between(tmp_path: Path, new_text: str, step: str = "update", *extra: str):
    assert new_text != EXAMPLE_CONFIG.read_text()
    new_config = tmp_path / "new.yml"
    new_config.write_text(new_text)
    new = gen(new_config, tmp_path / "new")
    return invoke("plan", GENERATED / "update.yaml", new[step], "--chart", CHART, "-f", ENV_VALUES["prod"], *extra)


def test_plan_refuses_adding_a_feature_to_a_served_model_without_retraining(tmp_path):
    result = plan_between(tmp_path, WITH_FEATURE)
    assert result.exit_code == 1, result.output
    assert "model 'xgboost' (api): features added: discount" in result.output
    assert "DANGER [model-retrain] (NOT DECLARED)" in result.output
    assert "Safe:" not in result.output
    declared = plan_between(tmp_path, WITH_FEATURE, "update", "--intended", "model-retrain")
    assert declared.exit_code == 0, declared.output
    assert "DANGER [model-retrain] (intended)" in declared.output


def test_plan_does_not_ask_for_retraining_when_the_new_config_trains_the_model(tmp_path):
    result = plan_between(tmp_path, WITH_FEATURE, "api")  # the api step runs the train Job again
    assert "model-retrain" not in result.output, result.output


def test_plan_does_not_ask_for_retraining_when_the_models_features_are_unchanged(tmp_path):
    result = plan_between(tmp_path, UNUSED_FEATURE)
    assert "model-retrain" not in result.output, result.output
    assert "Safe: no state is discarded" in result.output and result.exit_code == 0, result.output
