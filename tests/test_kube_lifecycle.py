"""The lifecycle installed for real: the Helm CLI against a kube-apiserver (scripts/kube-up.sh),
the Flink Kubernetes operator reconciling the FlinkDeployments, kwok running the pods.

Each generated step file is installed in order with ``helm upgrade --install`` (dev and prod),
every object of the release must exist in the API server afterwards (so the server admitted it:
schemas, defaulting, RBAC escalation checks, CRD structural schemas), and the operator must
accept each FlinkDeployment: it creates the JobManager Deployment, its Services and ConfigMaps
and records the spec as reconciled, with no validation error in the status.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import CHART, ENV_VALUES
from support.generated import STEPS, generated_example_files
from support.kube import RUN_ID, KubeEnv, kube_env, release_secret_json, wait_until  # noqa: F401

pytestmark = pytest.mark.kube

RELEASE = f"ranker-{RUN_ID}"


@pytest.fixture(scope="module")
def chart() -> Path:
    """The chart as shipped: no remote dependency to fetch (the operator is installed apart)."""
    return CHART


def resource(obj: dict[str, Any]) -> str:
    """kubectl's resource name for an object: kind.group (core kinds without a group)."""
    group = obj["apiVersion"].rpartition("/")[0]
    return obj["kind"].lower() + (f".{group}" if group else "")


def manifest_objects(env: KubeEnv, namespace: str) -> list[dict[str, Any]]:
    text = env.helm("get", "manifest", RELEASE, "-n", namespace).stdout
    return [d for d in yaml.safe_load_all(text) if d]


def prerequisites(env: KubeEnv, namespace: str, which: str) -> None:
    """What the environment values expect to exist before the install (values/prod.yaml)."""
    if which == "prod":
        env.apply(
            {
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "ranker-redis", "namespace": namespace},
                "stringData": {"redis-password": "not-a-real-password"},
            }
        )


def operator_accepted(env: KubeEnv, name: str, namespace: str) -> dict[str, Any] | None:
    """The FlinkDeployment once the operator has reconciled it: lastReconciledSpec recorded."""
    fd = env.get("flinkdeployment.flink.apache.org", name, namespace)
    status = (fd or {}).get("status") or {}
    if (status.get("reconciliationStatus") or {}).get("lastReconciledSpec"):
        return fd
    return None


def assert_operator_deployed(env: KubeEnv, name: str, namespace: str) -> dict[str, Any]:
    fd = wait_until(lambda: operator_accepted(env, name, namespace), 180, f"the operator to reconcile {name}")
    error = str(fd["status"].get("error") or "")
    assert "ValidationException" not in error and "validation" not in error.lower(), error
    # what the operator (Flink's native Kubernetes client inside it) creates for the JobManager
    wait_until(lambda: env.get("deployment.apps", name, namespace), 120, f"JobManager Deployment {name}")
    wait_until(lambda: env.get("service", f"{name}-rest", namespace), 60, f"Service {name}-rest")
    wait_until(lambda: env.get("configmap", f"flink-config-{name}", namespace), 60, f"ConfigMap flink-config-{name}")
    jm = env.get("deployment.apps", name, namespace)
    owners = {(o["kind"], o["name"]) for o in jm["metadata"].get("ownerReferences") or []}
    assert ("FlinkDeployment", name) in owners, owners
    return fd


@pytest.mark.parametrize("which", ["dev", "prod"])
def test_each_generated_step_installs_in_order_and_the_operator_deploys_every_flink_job(kube_env, chart, which):
    env: KubeEnv = kube_env
    namespace = env.namespace(f"ranker-{which}")
    prerequisites(env, namespace, which)
    files = generated_example_files(which)
    kinds_seen: set[str] = set()
    for revision, step in enumerate(STEPS, start=1):
        env.helm(
            "upgrade", "--install", RELEASE, str(chart), "-n", namespace,
            "-f", str(ENV_VALUES[which]), "-f", str(files[step]),
        )
        history = json.loads(env.helm("history", RELEASE, "-n", namespace, "-o", "json").stdout)
        assert history[-1]["revision"] == revision and history[-1]["status"] == "deployed", history[-1]
        objects = manifest_objects(env, namespace)
        assert objects, f"step {step}: the release has no objects"
        for obj in objects:
            ns = obj["metadata"].get("namespace", namespace)
            live = env.get(resource(obj), obj["metadata"]["name"], ns)
            assert live is not None, f"step {step}: {obj['kind']}/{obj['metadata']['name']} was not created"
            assert live["metadata"]["labels"].get("app.kubernetes.io/managed-by") == "Helm"
            kinds_seen.add(obj["kind"])
        for fd in (o for o in objects if o["kind"] == "FlinkDeployment"):
            assert_operator_deployed(env, fd["metadata"]["name"], namespace)
    # the objects a server-side dry-run would not have proven: admitted and stored
    expected = {"ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Service", "Deployment", "FlinkDeployment", "Job"}
    if which == "prod":
        expected |= {"NetworkPolicy", "PodDisruptionBudget", "HorizontalPodAutoscaler"}
    assert expected <= kinds_seen, expected - kinds_seen


def test_helm_stores_the_release_as_a_gzipped_record_that_holds_the_user_values(kube_env):
    """What `plan --deployed` and `status` read: Helm's own release Secret."""
    env: KubeEnv = kube_env
    secrets = env.items("secret", "ranker-dev", f"owner=helm,name={RELEASE}")
    if not secrets:
        pytest.fail("no Helm release Secret in ranker-dev: the lifecycle test must run first in this module")
    newest = max(secrets, key=lambda s: int(s["metadata"]["labels"]["version"]))
    record = release_secret_json(newest)
    assert record["name"] == RELEASE and record["info"]["status"] == "deployed"
    assert record["config"]["stages"]["update"]["enabled"] is True
    assert "kind: FlinkDeployment" in record["manifest"]


def test_helm_test_creates_the_api_health_pod(kube_env):
    env: KubeEnv = kube_env
    done = env.helm("test", RELEASE, "-n", "ranker-dev", "--timeout", "20s", check=False)
    pods = env.items("pod", "ranker-dev", f"app.kubernetes.io/instance={RELEASE}")
    hooks = [p for p in pods if (p["metadata"].get("annotations") or {}).get("helm.sh/hook") == "test"]
    assert hooks, f"helm test created no test pod:\n{done.stderr}{done.stdout}"
