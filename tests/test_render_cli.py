"""`ranker-values render`: the README's main job (gen → render offline → validate what it renders)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ranker_values.cli import app
from ranker_values.kube.render import Manifest, manifest_text, parse_manifests, render_texts, validate_manifests
from ranker_values.values.files import merge_values_files
from support import CRD_DIR, CRD_VERSIONS, ENV_VALUES, REPO, require_shared

EXAMPLE = REPO / "examples" / "config.yml"
STEPS = ("bootstrap", "train", "upload", "api", "update")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    result = CliRunner().invoke(app, ["gen", str(EXAMPLE), "--env-file", str(ENV_VALUES["prod"]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def run(*args: str):
    return CliRunner().invoke(app, ["render", "--chart", str(REPO / "charts" / "ranker"), *args])


def crd_args() -> list[str]:
    require_shared(CRD_DIR)
    return [arg for version in CRD_VERSIONS for arg in ("--crds", str(CRD_DIR / version))]


@pytest.mark.parametrize("step", STEPS)
def test_every_step_renders_and_validates_with_both_crd_versions(generated, tmp_path, step):
    out = tmp_path / f"{step}.yaml"
    result = run("-f", str(ENV_VALUES["prod"]), "-f", str(generated / f"{step}.yaml"), "--out", str(out), *crd_args())
    assert result.exit_code == 0, result.output
    assert "valid against Kubernetes 1.29, 1.34 (strict); FlinkDeployment CRDs" in result.stdout
    objects = [d for d in yaml.safe_load_all(out.read_text()) if d]
    kinds = {o["kind"] for o in objects}
    assert "FlinkDeployment" in kinds  # the bootstrap is in every step
    assert ("Deployment" in kinds) == (step in ("api", "update"))
    assert f"rendered {len(objects)} objects" in result.stdout


def test_manifest_stream_names_each_template_like_helm_template(generated):
    values = merge_values_files([ENV_VALUES["dev"], generated / "update.yaml"])
    texts = render_texts(values, REPO / "charts" / "ranker")
    stream = manifest_text(texts)
    sources = [line for line in stream.splitlines() if line.startswith("# Source: ")]
    assert sources == sorted(sources) and any("update/flinkdeployment.yaml" in s for s in sources)
    assert "NOTES.txt" not in stream
    assert len([d for d in yaml.safe_load_all(stream) if d]) == len(parse_manifests(texts))


def test_without_crds_flink_deployments_are_a_warning_not_a_pass(generated):
    result = run("-f", str(ENV_VALUES["dev"]), "-f", str(generated / "bootstrap.yaml"))
    assert result.exit_code == 0, result.output
    assert "not checked against a CRD" in result.stderr
    assert "FlinkDeployment CRDs" not in result.stdout


def test_missing_generated_values_fail_once_naming_gen():
    result = run("-f", str(ENV_VALUES["prod"]))
    assert result.exit_code == 1
    assert result.stderr.count("ranker-values gen") == 1
    assert "Traceback" not in result.output


def test_unknown_value_is_refused_by_the_chart_schema(generated, tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text("stages:\n  api:\n    replicas: 3\n")  # the key is replicaCount
    result = run("-f", str(ENV_VALUES["dev"]), "-f", str(generated / "api.yaml"), "-f", str(extra))
    assert result.exit_code == 1
    assert "replicas" in result.stderr and "not allowed" in result.stderr


def test_usage_errors_exit_2(generated):
    assert run("-f", "/no/such/values.yaml").exit_code == 2
    bad_version = run("-f", str(ENV_VALUES["dev"]), "-f", str(generated / "api.yaml"), "--kube-version", "1.10")
    assert bad_version.exit_code == 2, bad_version.output
    assert "--kube-version 1.10" in bad_version.stderr
    assert run("-f", str(ENV_VALUES["dev"]), "--chart", "/no/chart").exit_code == 2


# --- validate_manifests can fail: each kind of problem is reported ----------------------------


@pytest.fixture(scope="module")
def objects(generated) -> list[Manifest]:
    values = merge_values_files([ENV_VALUES["prod"], generated / "update.yaml"])
    return parse_manifests(render_texts(values, REPO / "charts" / "ranker"))


def _with(objects: list[Manifest], kind: str, change) -> list[Manifest]:
    """A deep copy of the render with ``change`` applied to the first object of ``kind``."""
    out = [Manifest(copy.deepcopy(dict(o)), o.template) for o in objects]
    change(next(o for o in out if o["kind"] == kind))
    return out


def crd_dirs() -> tuple[Path, ...]:
    require_shared(CRD_DIR)
    return tuple(CRD_DIR / v for v in CRD_VERSIONS)


def test_rendered_objects_are_valid(objects):
    result = validate_manifests(objects, ("1.29", "1.34"), crd_dirs())
    assert result.ok, result.problems
    assert result.counts["FlinkDeployment"] == 1  # the steady state: update only (the finished bootstrap left)


def test_an_unknown_field_in_a_builtin_object_is_a_problem_for_each_version(objects):
    broken = _with(objects, "Deployment", lambda d: d["spec"].__setitem__("replica", 2))
    problems = validate_manifests(broken, ("1.29", "1.34"), crd_dirs()).problems
    assert len([p for p in problems if "Deployment/" in p and "replica" in p]) == 2, problems


def test_a_crd_violation_is_a_problem_for_each_operator_version(objects):
    broken = _with(objects, "FlinkDeployment", lambda d: d["spec"]["job"].__setitem__("parallelism", "two"))
    problems = validate_manifests(broken, ("1.29",), crd_dirs()).problems
    assert len([p for p in problems if "CRD" in p and "parallelism" in p]) == len(CRD_VERSIONS), problems


def test_an_operator_admission_violation_is_a_problem(objects):
    def forbid(d):
        d["spec"]["flinkConfiguration"]["kubernetes.namespace"] = "elsewhere"

    problems = validate_manifests(_with(objects, "FlinkDeployment", forbid), ("1.29",), crd_dirs()).problems
    assert any("operator admission" in p and "kubernetes.namespace" in p for p in problems), problems


def test_a_kind_ranker_does_not_render_is_a_problem(objects):
    stray = Manifest({"apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler",
                      "metadata": {"name": "old"}}, "stray.yaml")
    problems = validate_manifests([*objects, stray], ("1.29",), crd_dirs()).problems
    assert problems == ["HorizontalPodAutoscaler/old (stray.yaml): autoscaling/v2beta2 HorizontalPodAutoscaler is not a kind ranker renders"]
