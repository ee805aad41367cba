"""Start-up stays light: --help, validate and gen import none of the heavy operational libraries.

Each command runs in a fresh interpreter (the real entry point, ``ranker_values.cli:main``); after it
finishes, ``sys.modules`` is checked. Other commands import these libraries inside themselves.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import EXAMPLE_CONFIG, REPO

HEAVY = ("boto3", "botocore", "kubernetes", "xgboost", "helm_python", "redis", "numpy")

PROBE = """
import json, sys
from ranker_values.cli import main
args, heavy = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.argv = ["ranker-values", *args]
try:
    main()
except SystemExit as exit:
    code = exit.code
else:
    code = 0
loaded = sorted({name.split(".")[0] for name in sys.modules} & set(heavy))
print("PROBE", json.dumps({"code": code, "loaded": loaded}))
"""


def run_probe(args: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    line = next((line for line in proc.stdout.splitlines() if line.startswith("PROBE ")), None)
    assert line, f"probe printed nothing: {proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    return json.loads(line[len("PROBE ") :])


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["validate", "--help"],
        ["validate", str(EXAMPLE_CONFIG)],
        ["validate", "--env", "prod", str(EXAMPLE_CONFIG)],
        ["gen", str(EXAMPLE_CONFIG), "--out", "{tmp}"],
        ["schema"],
    ],
    ids=["help", "validate-help", "validate", "validate-env", "gen", "schema"],
)
def test_no_heavy_imports(args, tmp_path):
    args = [a.replace("{tmp}", str(tmp_path / "out")) for a in args]
    result = run_probe(args)
    assert result["code"] in (0, None), result
    assert result["loaded"] == [], f"{args} imported {result['loaded']}"


def test_the_probe_would_notice_a_heavy_import():
    """The check above can fail: a module that is imported shows up."""
    proc = subprocess.run(
        [sys.executable, "-c", "import sys, redis; print('redis' in sys.modules)"], capture_output=True, text=True
    )
    assert proc.stdout.strip() == "True"
