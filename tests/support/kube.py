"""A real Kubernetes control plane for the ``kube`` tests (``scripts/kube-up.sh``), the Helm CLI
against it, and small kubectl helpers.

The ``kube_env`` session fixture uses a control plane that is already up (``.ci/run`` starts
one; so does a developer with ``scripts/kube-up.sh``) or starts one and stops it at the end of
the session. The tools come from ``scripts/kube-tools.sh`` in ``${RANKER_TOOLS_DIR:-.tools}``:
missing tools skip with the reason locally and FAIL under ``CI``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from support import CHART, REPO, SHARED, missing

TOOLS = Path(os.environ.get("RANKER_TOOLS_DIR") or REPO / ".tools")
if not TOOLS.is_absolute():
    TOOLS = REPO / TOOLS
BIN = TOOLS / "bin"
KUBE_DIR = Path(os.environ.get("RANKER_KUBE_DIR") or TOOLS / "kube")
#: Releases in the namespaces the operator reconciles get a per-session name: the operator caches
#: each FlinkDeployment's last status by namespace/name, and one whose finalizer a test lifted
#: (it never gets its savepoint here) would hand that stale status to a new one of the same name.
RUN_ID = os.urandom(2).hex()
CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl")


def shared_dir() -> Path:
    """../shared, or $RANKER_SHARED_DIR (a worktree's parent has no shared/ beside it)."""
    return Path(os.environ.get("RANKER_SHARED_DIR") or SHARED)


def missing_or_fail(reason: str) -> None:
    """A tool CI installs is missing: fail under CI, skip with the reason elsewhere."""
    missing(reason, f"{reason} (CI installs it: scripts/kube-tools.sh)")


def helm_binary() -> Path:
    """Helm 4 (the version that renders this chart from a clone; see ../shared/TOOLS.md)."""
    for name in ("helm4", "helm"):
        if (BIN / name).is_file():
            return BIN / name
    missing_or_fail(f"{BIN}/helm4 is missing")
    raise AssertionError  # unreachable


@dataclass
class KubeEnv:
    kubeconfig: Path
    started_here: bool

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(BIN / "kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            input=input, capture_output=True, text=True, timeout=timeout,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({done.returncode}):\n{done.stderr}{done.stdout}")
        return done

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        args = ["get", kind, name, "-o", "json"] + (["-n", namespace] if namespace else [])
        done = self.kubectl(*args, check=False)
        if done.returncode != 0:
            if "NotFound" in done.stderr:
                return None
            raise AssertionError(done.stderr)
        return json.loads(done.stdout)

    def items(self, kind: str, namespace: str, selector: str | None = None) -> list[dict[str, Any]]:
        args = ["get", kind, "-n", namespace, "-o", "json"] + (["-l", selector] if selector else [])
        return json.loads(self.kubectl(*args).stdout)["items"]

    def apply(self, objects: list[dict[str, Any]] | dict[str, Any], namespace: str | None = None, *extra: str) -> None:
        docs = objects if isinstance(objects, list) else [objects]
        text = yaml.safe_dump_all(docs)
        self.kubectl("apply", "-f", "-", *(["-n", namespace] if namespace else []), *extra, input=text)

    def patch_status(self, resource: str, name: str, namespace: str, status: dict[str, Any]) -> None:
        """Write an object's status through the status subresource, as a controller would."""
        self.kubectl(
            "patch", resource, name, "-n", namespace, "--subresource=status", "--type=merge",
            "-p", json.dumps({"status": status}),
        )

    def helm(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(helm_binary()), "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True, text=True, timeout=timeout, env=self.env,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed ({done.returncode}):\n{done.stderr}{done.stdout}")
        return done

    def namespace(self, name: str) -> str:
        """A new, empty namespace: one left by an earlier run on a reused control plane is deleted
        first (the operator's finalizers on FlinkDeployments lifted, as the operator cannot take
        their savepoints here)."""
        if self.get("namespace", name) is not None:
            # deleting first: the operator re-adds its finalizer to a live object, not to a deleted one
            self.kubectl("delete", "namespace", name, "--wait=false", check=False)

            def gone() -> bool:
                done = self.kubectl("get", "flinkdeployment.flink.apache.org", "-n", name, "-o", "name", check=False)
                for ref in done.stdout.split():
                    self.kubectl("patch", ref, "-n", name, "--type=merge", "-p", '{"metadata":{"finalizers":null}}', check=False)
                return self.get("namespace", name) is None

            wait_until(gone, 180, f"namespace {name} from an earlier run to go", interval=2)
        self.kubectl("create", "namespace", name)
        # the controller-manager creates the default service account in a new namespace
        wait_until(lambda: self.get("serviceaccount", "default", name) is not None, 60, f"default SA in {name}")
        return name


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.5) -> Any:
    end = time.monotonic() + timeout
    last = None
    while True:
        last = condition()
        if last:
            return last
        if time.monotonic() >= end:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def _api_ready(kubeconfig: Path) -> bool:
    if not kubeconfig.is_file() or not (BIN / "kubectl").is_file():
        return False
    done = subprocess.run(
        [str(BIN / "kubectl"), "--kubeconfig", str(kubeconfig), "get", "--raw", "/readyz"],
        capture_output=True, text=True, timeout=30,
    )
    return done.returncode == 0


def start_control_plane() -> KubeEnv:
    missing = [name for name in CONTROL_PLANE if not (BIN / name).is_file()]
    if missing:
        missing_or_fail(f"control-plane tools missing in {BIN}: {', '.join(missing)} (run scripts/kube-tools.sh)")
    kubeconfig = KUBE_DIR / "admin.kubeconfig"
    already = _api_ready(kubeconfig)
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "kube-up.sh")], capture_output=True, text=True, timeout=600,
    )
    if done.returncode != 0:
        pytest.fail(f"scripts/kube-up.sh failed ({done.returncode}):\n{done.stderr[-4000:]}")
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("KUBECONFIG="), f"kube-up.sh's last line is not KUBECONFIG=…: {last!r}"
    return KubeEnv(Path(last.split("=", 1)[1]), started_here=not already)


def stop_control_plane(env: KubeEnv) -> None:
    if env.started_here:
        subprocess.run(["bash", str(REPO / "scripts" / "kube-down.sh"), "--purge"], capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def kube_env() -> Any:
    env = start_control_plane()
    try:
        yield env
    finally:
        stop_control_plane(env)


# --- the chart as Helm installs it ------------------------------------------------------------


def release_secret_json(secret: dict[str, Any]) -> dict[str, Any]:
    import gzip

    return json.loads(gzip.decompress(base64.b64decode(base64.b64decode(secret["data"]["release"]))))


def temp_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
