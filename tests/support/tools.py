"""The chart toolchain ``scripts/tools.sh`` installs: where each tool is, and how to run it.

Tools live in ``$RANKER_TOOLS_DIR/bin/<tool>`` (default ``.tools/`` in the repository). A test
that needs one skips with the install command when it is missing, except under CI (``CI`` set),
where a missing tool is a failure: CI installs every one of them first (``.ci/run``).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from support import REPO, missing

# The latest Helm 3.x and 4.x (built from the Go module proxy) and Helm 3.18 (npm), which hands
# numbers to templates as json.Number.
HELM_CLIS = ("helm3.18", "helm3", "helm4")
KUBECONFORM_KUBE_VERSIONS = ("1.29.0", "1.34.0")


def tools_dir() -> Path:
    return Path(os.environ.get("RANKER_TOOLS_DIR") or REPO / ".tools").resolve()


def tool(name: str) -> Path:
    """The installed tool's path; skips (fails under CI) when scripts/tools.sh has not run."""
    path = tools_dir() / "bin" / name
    if path.is_file() and os.access(path, os.X_OK):
        return path
    message = f"{path} is missing: run scripts/tools.sh (installs the pinned chart toolchain)"
    missing(message, message + "; CI must run every chart tool")


def schema_dir() -> Path:
    """The kubeconform schema folder scripts/tools.sh writes (skips/fails like ``tool``)."""
    path = tools_dir() / "schemas"
    if (path / "kubernetes").is_dir():
        return path
    missing(f"{path} is missing: run scripts/tools.sh (writes the kubeconform schemas)")


def tool_env() -> dict[str, str]:
    """Environment for tools that call others from PATH (ct calls helm, yamllint, yamale)."""
    env = dict(os.environ)
    env["PATH"] = f"{tools_dir() / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("HOME", str(tools_dir()))
    # Helm keeps its repository cache and config here; never the user's own.
    for key, sub in (("HELM_CACHE_HOME", "cache"), ("HELM_CONFIG_HOME", "config"), ("HELM_DATA_HOME", "data")):
        env[key] = str(tools_dir() / "helm-home" / sub)
    return env


def run_tool(name: str, *args: str, cwd: Path = REPO, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run an installed tool; returns the completed process (the caller checks returncode)."""
    return subprocess.run(
        [str(tool(name)), *args],
        cwd=cwd,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
