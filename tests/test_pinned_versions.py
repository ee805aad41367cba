"""constraints/<venv>.txt pin every package of each venv; the venvs the tests run in match them."""

from __future__ import annotations

import re
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENVS = {"main": ".venv", "checkov": ".venv-checkov", "tune": ".venv-tune"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(which: str) -> dict[str, str]:
    pins = {}
    path = ROOT / "constraints" / f"{which}.txt"
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        found = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        assert found, f"{path.name}: not an exact pin: {line!r}"
        pins[_norm(found[1])] = found[2]
    return pins


def test_constraints_pin_every_direct_dependency_exactly():
    pins = _pins("main")
    for name in ("pyyaml", "typer", "jsonschema", "hypothesis", "pytest", "boto3", "moto", "check-jsonschema"):
        assert name in pins, f"{name} is not pinned in constraints/main.txt"
    assert "ranker-values" not in pins  # the project itself is installed editable, never pinned
    assert _pins("tune")["xgboost"] == "1.6.1"  # the version Metarank 0.4.1's xgboost4j loads
    assert _pins("checkov")["checkov"] == "3.3.30"


def test_installed_packages_match_the_constraints():
    pins = _pins("main")
    drift = []
    for dist in metadata.distributions():
        name = _norm(dist.metadata["Name"])
        if name in pins and dist.version != pins[name]:
            drift.append(f"{name} {dist.version} installed, {pins[name]} pinned")
    assert not drift, "re-run scripts/setup.sh test: " + "; ".join(drift)


@pytest.mark.parametrize("which", ["checkov", "tune"])
def test_side_venvs_hold_exactly_the_pinned_packages(which):
    python = ROOT / VENVS[which] / "bin" / "python"
    if not python.exists():
        pytest.skip(f"{VENVS[which]} is not set up (scripts/setup.sh test creates it)")
    frozen = subprocess.run([str(python), "-m", "pip", "freeze"], capture_output=True, text=True, check=True).stdout
    installed = {}
    for line in frozen.splitlines():
        found = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line.strip())
        if found:
            installed[_norm(found[1])] = found[2]
    assert installed == _pins(which)


def test_setup_installs_every_venv_with_its_constraints_and_a_pinned_pip():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    pip_installs = [line.strip() for line in setup.splitlines() if "-m pip install" in line]
    assert pip_installs == ['"$dir/bin/python" -m pip install --quiet "pip==$PIP_VERSION"',
                            '"$dir/bin/python" -m pip install --quiet -c "$pins" "$@"']
    calls = {m[1]: m[2] for m in re.finditer(r"venv (\.venv[\w-]*) (constraints/\w+\.txt) ", setup)}
    assert calls == {".venv": "constraints/main.txt", ".venv-checkov": "constraints/checkov.txt", ".venv-tune": "constraints/tune.txt"}
    assert re.search(r"^PIP_VERSION=\d+(\.\d+)+ ", setup, re.M)
    assert "--upgrade" not in setup


def _tools_pins() -> dict[str, str]:
    text = (ROOT / "scripts" / "tools.sh").read_text()
    return dict(re.findall(r"^([A-Z0-9_]+_VERSION)=(\S+)", text, re.M))


@pytest.mark.parametrize("tool_name, pin, args", [
    ("registry", "REGISTRY_VERSION", ["--version"]),
    ("helm3", "HELM3_VERSION", ["version", "--short"]),
    ("helm4", "HELM4_VERSION", ["version", "--short"]),
    ("helm3.18", "HELM3_OLD_VERSION", ["version", "--short"]),
])
def test_built_tools_are_the_versions_tools_sh_pins(tool_name, pin, args):
    """scripts/tools.sh pins every tool exactly (vX.Y.Z); the binaries the tests run report it."""
    from support.tools import tool

    version = _tools_pins()[pin]
    assert re.fullmatch(r"v\d+\.\d+\.\d+", version), f"{pin}={version} is not an exact version"
    done = subprocess.run([str(tool(tool_name)), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert re.search(rf"(^|\s){re.escape(version)}(\+|\s|$)", done.stdout), f"{tool_name}: {done.stdout!r}, pinned {version}"
