"""The chart as a packaged install sees it (issue 18, item 6, the chart's part): NOTES.txt and the
README name no paths of this repository (a user of `helm install ranker-0.1.0.tgz` or an OCI
reference has none of them), NOTES tells how to reach the api, and Chart.yaml carries the
metadata Artifact Hub shows, kept equal to CHANGELOG.md and to the images the chart runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import CHART, REPO, require_chart
from support.cli import NAMESPACE, RELEASE
from support.generated import STEPS
from support.render import render_texts
from support.tools import run_tool

FIXTURES = CHART / "tests" / "values" / "generated"
ENVS = {"dev": REPO / "values" / "dev.yaml", "prod": REPO / "values" / "prod.yaml"}
# Paths that exist only in a clone of this repository.
REPO_PATHS = re.compile(r"charts/ranker|values/generated|values/(dev|prod)\.yaml|\.\./|docs/|scripts/|tests/")
CHART_YAML = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
CHANGE_KINDS = {"added": "Added", "changed": "Changed", "deprecated": "Deprecated", "removed": "Removed",
                "fixed": "Fixed", "security": "Security"}


@pytest.fixture(autouse=True, scope="module")
def _chart_exists():
    require_chart()


def notes(env: str, step: str, overrides: dict[str, Any] | None = None) -> str:
    texts = render_texts([ENVS[env], FIXTURES / f"{step}.yaml"], overrides or {})
    return next(text for name, text in texts.items() if name.endswith("NOTES.txt"))


@pytest.mark.parametrize("env", sorted(ENVS))
@pytest.mark.parametrize("step", STEPS)
def test_notes_name_no_repository_path(env: str, step: str) -> None:
    text = notes(env, step)
    assert not REPO_PATHS.search(text), f"{env}/{step}: {REPO_PATHS.search(text).group(0)!r} in\n{text}"
    if step != "update":
        assert "CHART" in text and "GEN_DIR/" in text, text  # the next step, for any chart reference


def test_notes_tell_how_to_reach_the_api() -> None:
    text = notes("prod", "api")
    assert "http://ranker-api.ranking.svc:8080/rank/xgboost" in text
    assert "https://ranker.example.com/rank/xgboost" in text  # prod's Ingress, with TLS
    assert "kubectl -n ranking port-forward svc/ranker-api 8080:8080" in text
    assert "helm test ranker -n ranking" in text
    route = {"stages": {"api": {"ingress": {"enabled": False}, "httpRoute": {
        "enabled": True, "parentRefs": [{"name": "public", "namespace": "gateway"}], "hostnames": ["rank.example.org"]}}}}
    text = notes("prod", "update", route)
    assert "through the Gateway (gateway/public):  http(s)://rank.example.org/rank/xgboost" in text
    assert "through the Ingress" not in text
    assert "Reaching the api" not in notes("prod", "upload")


def test_a_packaged_install_prints_notes_without_repository_paths(tmp_path: Path) -> None:
    """`helm package`, then `helm install --dry-run` from the .tgz with files outside the clone."""
    done = run_tool("helm4", "package", str(CHART), "-d", str(tmp_path))
    assert done.returncode == 0, done.stderr
    (package,) = tmp_path.glob("ranker-*.tgz")
    env_values = tmp_path / "my-prod-values.yaml"
    env_values.write_text(ENVS["prod"].read_text(encoding="utf-8"), encoding="utf-8")
    generated = tmp_path / "generated"
    generated.mkdir()
    (generated / "api.yaml").write_text((FIXTURES / "api.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    done = run_tool("helm4", "install", RELEASE, str(package), "-n", NAMESPACE, "--dry-run=client",
                    "-f", str(env_values), "-f", str(generated / "api.yaml"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = done.stdout.split("NOTES:", 1)[1]
    assert "Reaching the api" in text and "GEN_DIR/update.yaml" in text, text
    assert not REPO_PATHS.search(text), text
    listed = run_tool("helm4", "show", "chart", str(package))
    assert "artifacthub.io/changes" in listed.stdout
    readme = run_tool("helm4", "show", "readme", str(package))
    assert readme.returncode == 0 and "## Parameters" in readme.stdout


def test_the_readme_names_no_repository_path_and_links_nowhere_relative() -> None:
    text = (CHART / "README.md").read_text(encoding="utf-8")
    found = [m.group(0) for m in REPO_PATHS.finditer(text)]
    assert found == [], found
    prose = re.sub(r"`[^`\n]*`", "", re.sub(r"(?s)```.*?```", "", text))  # code is not a link
    relative = re.findall(r"\]\((?!https?://|#)([^)]*)\)", prose)
    assert relative == [], relative


def test_chart_yaml_has_maintainers_and_no_borrowed_home() -> None:
    assert CHART_YAML["maintainers"] and all(m.get("name") for m in CHART_YAML["maintainers"])
    # Metarank's repository is the engine's home, not this chart's
    assert "metarank/metarank" not in CHART_YAML.get("home", "")


def test_artifacthub_changes_are_this_versions_changelog() -> None:
    changes = yaml.safe_load(CHART_YAML["annotations"]["artifacthub.io/changes"])
    assert changes and all(set(c) == {"kind", "description"} and c["kind"] in CHANGE_KINDS for c in changes), changes
    changelog = (CHART / "CHANGELOG.md").read_text(encoding="utf-8")
    version = CHART_YAML["version"]
    sections = re.split(r"(?m)^## ", changelog)
    (mine,) = [s for s in sections if s.startswith(f"{version} ") or s.startswith(f"{version}\n")]
    for change in changes:
        heading = f"### {CHANGE_KINDS[change['kind']]}"
        assert heading in mine, f"CHANGELOG {version} has no {heading} section for {change['description']!r}"
        block = mine.split(heading, 1)[1].split("\n### ", 1)[0]
        key = re.sub(r"\W+", " ", change["description"].split(":")[0]).split()[:2]
        assert all(word in block for word in key), f"{change['description']!r} not under {heading}"


def _image(values: dict[str, Any], default_registry: str = "docker.io") -> str:
    registry = values.get("registry") or default_registry
    ref = f"{registry}/{values['repository']}"
    return f"{ref}@{values['digest']}" if values.get("digest") else f"{ref}:{values['tag']}"


def test_artifacthub_images_are_the_images_the_chart_runs_by_default() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    expected = {
        _image(values["image"]),
        _image(values["stages"]["tune"]["image"], values["image"]["registry"]),
        _image(values["stages"]["api"]["test"]["image"]),
    }
    for sub in ("redis", "rabbitmq"):
        expected.add(_image(yaml.safe_load((CHART / "charts" / sub / "values.yaml").read_text(encoding="utf-8"))["image"]))
    listed = {i["image"] for i in yaml.safe_load(CHART_YAML["annotations"]["artifacthub.io/images"])}
    assert listed == expected
