"""The schema of an installed wheel is found at ``ranker_values/_data/schemas/`` (pyproject's
force-include), without the repository's ``schemas/`` next to it.

This lays the package out the way the wheel installs it and runs the CLI from there, outside the
repository; tests/test_wheel.py builds the real wheel (pinned hatchling, offline) and runs it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib

from conftest import EXAMPLE_CONFIG, REPO
from ranker_values.config.schema import SCHEMA_NAME

PROBE = """
import json, sys
import ranker_values
from ranker_values.config.schema import schema_location
print(json.dumps({"package": ranker_values.__file__, "schema": str(schema_location())}))
"""


def test_pyproject_puts_the_schema_where_the_package_looks_for_it():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["force-include"]["schemas"] == "ranker_values/_data/schemas"
    assert (REPO / "schemas" / SCHEMA_NAME).is_file()


def test_installed_layout_finds_the_bundled_schema_outside_the_repo(tmp_path):
    site = tmp_path / "site-packages"
    shutil.copytree(REPO / "ranker_values", site / "ranker_values", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "schemas", site / "ranker_values" / "_data" / "schemas")
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess:
        # -I would drop PYTHONPATH; -s keeps the user site out, the venv's site-packages stay (deps)
        env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
        return subprocess.run([sys.executable, "-s", *args], capture_output=True, text=True, cwd=elsewhere, env=env, timeout=60)

    found = json.loads(run("-c", PROBE).stdout)
    assert found["package"] == str(site / "ranker_values" / "__init__.py")
    assert found["schema"] == str(site / "ranker_values" / "_data" / "schemas" / SCHEMA_NAME)

    cli = "from ranker_values.cli import main; main()"
    schema = run("-c", cli, "schema")
    assert schema.returncode == 0, schema.stderr
    assert json.loads(schema.stdout) == json.loads((REPO / "schemas" / SCHEMA_NAME).read_text())
    validate = run("-c", cli, "validate", str(EXAMPLE_CONFIG))
    assert validate.returncode == 0, validate.stderr
    assert validate.stdout.strip() == f"{EXAMPLE_CONFIG}: valid"

    # without the bundled copy (and no repository beside the package) it is an install problem
    shutil.rmtree(site / "ranker_values" / "_data")
    broken = run("-c", cli, "validate", str(EXAMPLE_CONFIG))
    assert broken.returncode == 2, broken.stderr
    assert "the config schema is missing from this installation" in broken.stdout + broken.stderr
