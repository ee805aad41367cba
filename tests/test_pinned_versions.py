"""constraints.txt pins what the suite depends on; the venv the tests run in must match it."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        found = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        assert found, f"constraints.txt: not an exact pin: {line!r}"
        pins[re.sub(r"[-_.]+", "-", found[1]).lower()] = found[2]
    return pins


def test_constraints_pin_every_direct_dependency_exactly():
    pins = _pins()
    for name in ("pyyaml", "typer", "jsonschema", "hypothesis", "pytest", "boto3", "moto", "check-jsonschema"):
        assert name in pins, f"{name} is not pinned in constraints.txt"
    assert "ranker-values" not in pins  # the project itself is installed editable, never pinned


def test_installed_packages_match_the_constraints():
    pins = _pins()
    drift = []
    for dist in metadata.distributions():
        name = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        if name in pins and dist.version != pins[name]:
            drift.append(f"{name} {dist.version} installed, {pins[name]} pinned")
    assert not drift, "re-run scripts/setup.sh test: " + "; ".join(drift)


def test_setup_installs_the_main_venv_with_the_constraints():
    # .venv (CLI + tests) only: .venv-tune (issue 12) pins its own older xgboost/numpy/boto3 in
    # the tune extra and cannot share these constraints
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    installs = [line for line in setup.splitlines() if line.strip().startswith(".venv/bin/python -m pip install") and "-e " in line]
    assert len(installs) == 2 and all("-c constraints.txt" in line for line in installs)
