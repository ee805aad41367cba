"""What a release publishes is what the chart and the docs point at (issue 18, item 1c).

The workflow's ``image`` job builds the Dockerfile and, on a release tag ``v<version>``, pushes it
as the chart's default ``stages.tune.image`` (registry/repository:tag from values.yaml, the tag
being pyproject's version); its ``publish`` job pushes the packaged chart to
``oci://ghcr.io/<owner>/charts``. GitHub does not run here: the image job's own script that
computes the reference runs against this checkout, and the rest is read from the workflow.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from support import CHART, REPO

WORKFLOW = yaml.safe_load((REPO / ".github" / "workflows" / "ranker-ci.yaml").read_text(encoding="utf-8"))
JOBS = WORKFLOW["jobs"]
VALUES = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
TUNE_IMAGE = VALUES["stages"]["tune"]["image"]
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
CHART_YAML = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))


def _step(job: str, **match: str) -> dict:
    (step,) = [s for s in JOBS[job]["steps"] if all(k in s and v in str(s[k]) for k, v in match.items())]
    return step


def _run_ref_step(tmp_path: Path) -> dict[str, str]:
    """The image job's `ref` step, run here (its PyYAML install left out: .venv has the pin)."""
    script = _step("image", id="ref")["run"]
    installs = [line for line in script.splitlines() if "pip install" in line]
    pins = (REPO / "constraints" / "main.txt").read_text(encoding="utf-8").splitlines()
    assert len(installs) == 1 and re.search(r'"PyYAML==([^"]+)"', installs[0])[0].strip('"') in pins, installs
    script = "\n".join(line for line in script.splitlines() if "pip install" not in line)
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "python").symlink_to(sys.executable)
    output = tmp_path / "github_output"
    output.touch()
    env = {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}", "GITHUB_OUTPUT": str(output)}
    done = subprocess.run(["bash", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines())


def test_the_chart_defaults_to_the_tune_image_the_workflow_publishes(tmp_path):
    assert TUNE_IMAGE["registry"] == "ghcr.io" and not TUNE_IMAGE["digest"]
    assert TUNE_IMAGE["tag"] == VERSION  # the ranker-values version the image carries
    outputs = _run_ref_step(tmp_path)
    image = f"ghcr.io/{TUNE_IMAGE['repository']}:{VERSION}"
    assert outputs == {"version": VERSION, "image": image, "ops_image": f"{image}-ops"}
    build = _step("image", uses="docker/build-push-action@", name="tune image")
    assert build["with"]["file"] == "Dockerfile" and build["with"]["tags"] == "${{ steps.ref.outputs.image }}"
    push = _step("image", name="Push to ghcr.io")
    assert push["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert push["env"]["IMAGE"] == "${{ steps.ref.outputs.image }}"
    assert 'docker push "${IMAGE}"' in push["run"] and 'docker login ghcr.io' in push["run"]
    assert '"v${VERSION}"' in push["run"]  # only the tag of this version publishes it
    assert JOBS["image"]["permissions"] == {"contents": "read", "packages": "write"}
    assert "v*" in WORKFLOW[True]["push"]["tags"]  # PyYAML reads `on:` as True


def test_the_pushed_image_is_the_one_the_smoke_test_ran():
    smoke = _step("image", name="The image runs as non-root")
    assert smoke["env"]["IMAGE"] == "${{ steps.ref.outputs.image }}"
    for command in ("tune --help", "tune-worker --help"):  # what the chart's tune pods run
        assert f'"${{IMAGE}}" {command}' in smoke["run"], command
    assert '== "1.6.1"' in smoke["run"]


def test_artifacthub_lists_the_published_tune_image():
    listed = {i["name"]: i["image"] for i in yaml.safe_load(CHART_YAML["annotations"]["artifacthub.io/images"])}
    assert listed["ranker-values"] == f"ghcr.io/{TUNE_IMAGE['repository']}:{VERSION}"


def test_the_dockerfile_installs_the_tune_extra_from_the_wheel():
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r'pip install -c /wheels/constraints.txt "\$\(ls /wheels/ranker_values-\*\.whl\)\[tune\]"', text)
    assert 'ENTRYPOINT ["ranker-values"]' in text


def test_the_chart_is_published_where_the_readme_says_with_the_pinned_helm():
    publish = JOBS["publish"]
    assert publish["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert set(publish["needs"]) == {"chart", "tests", "image"}
    assert publish["permissions"] == {"contents": "read", "packages": "write"}
    helm = _step("publish", uses="azure/setup-helm@")
    pins = dict(re.findall(r"^([A-Z0-9_]+_VERSION)=(\S+)", (REPO / "scripts" / "tools.sh").read_text(), re.M))
    assert helm["with"]["version"] == pins["HELM3_VERSION"]  # >= 3.18.1: pulls what it pushes with a .prov
    script = _step("publish", name="helm package")["run"]
    assert 'helm push dist/ranker-*.tgz "oci://ghcr.io/${owner}/charts"' in script
    assert "--sign --key" in script and "gpg --batch --export-secret-keys" in script
    owner = TUNE_IMAGE["repository"].split("/")[0]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"oci://ghcr.io/{owner}/charts/ranker" in readme


def test_the_packaged_install_docs_name_no_repository_path():
    """The README's OCI and provenance sections are for users without a clone."""
    from test_chart_packaging import REPO_PATHS

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for marker in ("<!-- oci -->", "<!-- provenance -->"):
        section = readme.split(marker, 1)[1].split("\n## ", 1)[0]
        section = re.sub(r"oci://\S+", "oci://REF", section)  # a registry path, not the clone's
        found = [m.group(0) for m in REPO_PATHS.finditer(section)]
        assert found == [], (marker, found)
