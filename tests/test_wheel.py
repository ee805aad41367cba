"""The CLI as a wheel, used outside a clone (issue 18, item 1d): the wheel pyproject's backend
builds carries the chart, and an installed wheel's `render` and `plan` find it with no
`charts/ranker` around.

The wheel is built for real with the pinned backend (hatchling, the same version as
``build-system.requires``; installed in .venv by ``scripts/setup.sh test``, so the build runs
offline with ``--no-build-isolation``) and installed with ``--no-deps`` into a fresh venv. Its
dependencies come from the venv the tests run in (a ``.pth`` line: the pinned versions of
constraints/main.txt, no download), never the package itself: every command below runs from an
empty directory and the tests check that ``ranker_values`` is imported from the fresh venv.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from support import CHART, REPO, missing
from support.tools import run_tool

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
BUNDLED = "ranker_values/_data/charts/ranker"
EXAMPLE_CONFIG = REPO / "examples" / "config.yml"
PROD = REPO / "values" / "prod.yaml"
TUNE_PYTHON = REPO / ".venv-tune" / "bin" / "python"


def _chart_files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    try:
        import hatchling  # noqa: F401
    except ImportError:
        missing("hatchling is not installed in this venv: run scripts/setup.sh test (the test extra pins it)")
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "--disable-pip-version-check", "-q", "-w", str(out), str(REPO)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("ranker_values-*.whl")
    return built


def _fresh_venv(where: Path, wheel: Path, deps_python: Path) -> Path:
    """A venv holding only the wheel; ``deps_python``'s site-packages supply the dependencies."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120)
    python = where / "bin" / "python"
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                           "--disable-pip-version-check", "-q", str(wheel)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    deps = subprocess.run([str(deps_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    own = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    (Path(own) / "zz_test_dependencies.pth").write_text(deps + "\n", encoding="utf-8")
    return where


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    return _fresh_venv(tmp_path_factory.mktemp("venv") / "v", wheel, Path(sys.executable))


def _run(venv: Path, *args: str, cwd: Path, command: str = "ranker-values") -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{venv / 'bin'}{os.pathsep}/usr/bin:/bin", "HOME": str(cwd), "LC_ALL": "C.UTF-8"}
    return subprocess.run([str(venv / "bin" / command), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """An empty directory with a user's files: a config and an environment values file."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "config.yml").write_bytes(EXAMPLE_CONFIG.read_bytes())
    (work / "my-prod-values.yaml").write_bytes(PROD.read_bytes())
    return work


def test_the_backend_is_pinned_and_the_tests_build_with_the_same_version():
    requires = PYPROJECT["build-system"]["requires"]
    assert PYPROJECT["build-system"]["build-backend"] == "hatchling.build"
    assert len(requires) == 1 and re.fullmatch(r"hatchling==\d+\.\d+\.\d+", requires[0]), requires
    assert requires[0] in PYPROJECT["project"]["optional-dependencies"]["test"]
    pins = (REPO / "constraints" / "main.txt").read_text(encoding="utf-8").splitlines()
    assert requires[0] in pins


def test_the_wheel_carries_the_chart_byte_for_byte(wheel):
    """Every file of charts/ranker, nothing else, under ranker_values/_data/charts/ranker."""
    with zipfile.ZipFile(wheel) as archive:
        bundled = {name[len(BUNDLED) + 1:]: archive.read(name) for name in archive.namelist()
                   if name.startswith(BUNDLED + "/")}
    assert bundled == _chart_files(CHART)


def test_the_wheel_chart_has_every_file_helm_package_ships(wheel, tmp_path):
    done = run_tool("helm4", "package", str(CHART), "-d", str(tmp_path))
    assert done.returncode == 0, done.stderr
    (package,) = tmp_path.glob("ranker-*.tgz")
    with tarfile.open(package) as tgz:
        shipped = {m.name.split("/", 1)[1]: tgz.extractfile(m).read() for m in tgz.getmembers() if m.isfile()}
    with zipfile.ZipFile(wheel) as archive:
        for name, data in shipped.items():
            # helm package rewrites Chart.yaml (its own serialisation); every other file is copied
            if name.endswith("Chart.yaml"):
                continue
            assert archive.read(f"{BUNDLED}/{name}") == data, name


def test_the_dockerfile_copies_what_the_wheel_build_needs():
    """The image's build stage runs the same wheel build: every force-included path must be there."""
    lines = (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines()
    stages = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    build_stage = lines[stages[0]:stages[1]]
    assert any("pip wheel" in line for line in build_stage)
    copied = [line.split()[1:-1] for line in build_stage if line.startswith("COPY ")]
    sources = {src.rstrip("/") for group in copied for src in group}
    for source in PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]:
        assert source in sources or any(source.startswith(s + "/") for s in sources), source


def _dockerfile_stage(target: str) -> list[str]:
    lines = (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("FROM ")] + [len(lines)]
    for begin, end in zip(starts, starts[1:]):
        if lines[begin].endswith(f" AS {target}"):
            stage = lines[begin:end]
            while stage and not stage[-1].strip():
                stage.pop()
            return stage
    raise AssertionError(f"the Dockerfile has no stage {target}")


@pytest.mark.parametrize(("target", "extra", "constraints"), [
    ("ops", "ops", "constraints/main.txt"),    # = .venv, where the ops commands are tested below
    ("tune", "tune", "constraints/tune.txt"),  # = .venv-tune, the tune test below
])
def test_each_image_installs_this_wheel_with_its_extra_at_the_tested_pins(target, extra, constraints):
    """The images hold what the tests run: the wheel with the extra, pinned by the constraints file
    its test venv matches (tests/test_pinned_versions.py), as the non-root uid the chart runs."""
    stage = _dockerfile_stage(target)
    text = "\n".join(stage)
    assert f"COPY {constraints} /wheels/constraints.txt" in text
    assert re.search(r'pip install -c /wheels/constraints.txt "\$\(ls /wheels/ranker_values-\*\.whl\)\[' + extra + r'\]"', text)
    assert stage[-1] == "USER 9999:9999"
    assert (REPO / constraints).is_file()


def test_the_wheel_with_the_ops_extra_runs_every_operational_command(venv, elsewhere):
    """What the ops image holds (Dockerfile target ops: this wheel with [ops] at constraints/main.txt,
    the versions of this venv): every command but the tune stage's two starts, outside a clone."""
    from ranker_values.cli.commands import app

    commands = {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands}
    commands |= {g.name for g in app.registered_groups}
    for command in sorted(commands - {"tune", "tune-worker"}):
        done = _run(venv, command, "--help", cwd=elsewhere)
        assert done.returncode == 0, (command, done.stderr)
        assert "Usage: ranker-values " + command in " ".join(done.stdout.split()), command
    probe = _run(venv, "-c", "import helm_python, kubernetes, boto3, redis, xgboost, ranker_values; "
                 "print(xgboost.__version__, ranker_values.__file__)", cwd=elsewhere, command="python")
    assert probe.returncode == 0, probe.stderr
    version, package = probe.stdout.split()
    assert version.startswith("3.") and Path(package).is_relative_to(venv)


PROBE = """
import json, ranker_values
from ranker_values.values.files import default_chart, dig, installed_chart, release_values
from ranker_values.config.schema import schema_location
print(json.dumps({"package": ranker_values.__file__, "chart": str(installed_chart()), "default": str(default_chart()),
                  "schema": str(schema_location()),
                  "defaults": dig(release_values([]), "stages.update.savepoints")}))
"""


def test_the_installed_package_finds_its_own_chart_and_schema(venv, elsewhere):
    done = _run(venv, "-c", PROBE, cwd=elsewhere, command="python")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    site = Path(found["package"]).parent
    assert site.is_relative_to(venv), found  # not the clone
    assert found["chart"] == found["default"] == str(site / "_data" / "charts" / "ranker")
    assert found["schema"].startswith(str(site / "_data" / "schemas"))
    # savepoint / upgrade-values / check / tune read the chart's defaults from the installed chart
    chart_defaults = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    assert found["defaults"] == chart_defaults["stages"]["update"]["savepoints"]


def test_gen_render_and_plan_work_outside_a_clone(venv, elsewhere):
    gen = _run(venv, "gen", "config.yml", "--env-file", "my-prod-values.yaml", "--out", "generated", cwd=elsewhere)
    assert gen.returncode == 0, gen.stderr
    assert sorted(p.name for p in (elsewhere / "generated").iterdir()) == [
        "api.yaml", "bootstrap.yaml", "train.yaml", "update.yaml", "upload.yaml"]
    render = _run(venv, "render", "-f", "my-prod-values.yaml", "-f", "generated/update.yaml", "-n", "ranking",
                  cwd=elsewhere)
    assert render.returncode == 0, render.stderr
    assert "valid against Kubernetes 1.29, 1.34 (strict)" in render.stderr
    assert "kind: FlinkDeployment" in render.stdout and "name: ranker-update" in render.stdout
    # the same manifests as the clone's CLI rendering the clone's chart
    reference = subprocess.run([str(Path(sys.executable).parent / "ranker-values"), "render", "--chart", str(CHART),
                                "-f", "my-prod-values.yaml", "-f", "generated/update.yaml", "-n", "ranking"],
                               cwd=elsewhere, capture_output=True, text=True, timeout=300)
    assert reference.returncode == 0, reference.stderr
    assert render.stdout == reference.stdout
    plan = _run(venv, "plan", "generated/api.yaml", "generated/update.yaml", "-f", "my-prod-values.yaml",
                "-n", "ranking", cwd=elsewhere)
    assert plan.returncode == 0, plan.stderr
    assert "FlinkDeployment/ranker-update (update): new" in plan.stdout
    assert not list(elsewhere.glob("charts"))  # nothing was unpacked here


def test_a_clones_chart_wins_over_the_installed_one(venv, elsewhere):
    """In a clone (charts/ranker under the working directory) the copy you edit is rendered."""
    import shutil

    shutil.copytree(CHART, elsewhere / "charts" / "ranker")
    marker = elsewhere / "charts" / "ranker" / "templates" / "zz-marker.yaml"
    marker.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: clone-marker\ndata: {}\n", encoding="utf-8")
    _run(venv, "gen", "config.yml", "--env-file", "my-prod-values.yaml", "--out", "generated", cwd=elsewhere)
    render = _run(venv, "render", "-f", "my-prod-values.yaml", "-f", "generated/api.yaml", "--no-validate", cwd=elsewhere)
    assert render.returncode == 0, render.stderr
    assert "name: clone-marker" in render.stdout
    marker.unlink()
    shutil.rmtree(elsewhere / "charts")
    render = _run(venv, "render", "-f", "my-prod-values.yaml", "-f", "generated/api.yaml", "--no-validate", cwd=elsewhere)
    assert render.returncode == 0 and "clone-marker" not in render.stdout, render.stderr


def test_the_wheel_with_the_tune_extra_runs_the_commands_the_chart_runs(wheel, tmp_path):
    """What the image holds (Dockerfile: this wheel with [tune]): the tune stage's two commands.
    The tune extra's pinned packages come from .venv-tune (scripts/setup.sh test)."""
    if not TUNE_PYTHON.exists():
        missing(".venv-tune is missing: run scripts/setup.sh test")
    venv = _fresh_venv(tmp_path / "tune-venv", wheel, TUNE_PYTHON)
    work = tmp_path / "work"
    work.mkdir()
    chart_commands = set()
    for template in (CHART / "templates" / "tune").glob("*.yaml"):
        chart_commands |= set(re.findall(r'\$args := list "([a-z-]+)"', template.read_text(encoding="utf-8")))
    assert chart_commands == {"tune", "tune-worker"}
    for command in sorted(chart_commands):
        done = _run(venv, command, "--help", cwd=work)
        assert done.returncode == 0, done.stderr
    probe = _run(venv, "-c", "import xgboost, ranker_values; print(xgboost.__version__, ranker_values.__file__)", cwd=work,
                 command="python")
    version, package = probe.stdout.split()
    assert version == "1.6.1" and Path(package).is_relative_to(venv)
