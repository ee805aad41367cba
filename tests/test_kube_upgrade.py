"""Upgrades, rollback and uninstall with the Helm CLI against a real kube-apiserver and the real
Flink operator (scripts/kube-up.sh; namespace ``ranker-ops`` is watched by the operator).

README ("Upgrading"): a config change reaches the update job through the config checksum in its
podTemplate and an image change through ``spec.image``; either is an UPGRADE for the operator
(which takes it with ``upgradeMode: savepoint``). The steady state lets the FINISHED bootstrap
leave the release, so no later change can re-run it.
``helm rollback`` re-applies the old spec; ``helm uninstall`` keeps the Flink ServiceAccount, Role
and RoleBinding (``helm.sh/resource-policy: keep``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from support import CHART, ENV_VALUES
from support.generated import generated_example_files
from support.kube import RUN_ID, KubeEnv, kube_env, wait_until  # noqa: F401

pytestmark = pytest.mark.kube

NS = "ranker-ops"
RELEASE = f"ranker-{RUN_ID}"
FD = "flinkdeployment.flink.apache.org"
CHECKSUM = "checksum/config"


@pytest.fixture(scope="module")
def chart() -> Path:
    """The chart as shipped: no remote dependency to fetch (the operator is installed apart)."""
    return CHART


def upgrade(env: KubeEnv, chart: Path, *extra: str, values: Path | None = None) -> None:
    files = generated_example_files("dev")
    env.helm("upgrade", "--install", RELEASE, str(chart), "-n", NS, "-f", str(ENV_VALUES["dev"]),
             "-f", str(values or files["update"]), *extra)


def fd_names(env: KubeEnv, component: str) -> list[str]:
    items = env.items(FD, NS, f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component={component}")
    return [i["metadata"]["name"] for i in items if not i["metadata"].get("deletionTimestamp")]


@pytest.fixture(scope="module")
def installed(kube_env, chart) -> dict[str, Any]:
    """The api step (bootstrap + api), then the steady state, as README's lifecycle applies them;
    returns the FlinkDeployment names and the revision that installed the steady state."""
    env: KubeEnv = kube_env
    env.namespace(NS)
    upgrade(env, chart, values=generated_example_files("dev")["api"])
    [bootstrap] = fd_names(env, "bootstrap")
    assert fd_names(env, "update") == []
    upgrade(env, chart)
    [update] = fd_names(env, "update")
    wait_until(lambda: reconciled(env, update), 180, f"the operator to reconcile {update}")
    history = yaml.safe_load(env.helm("history", RELEASE, "-n", NS, "-o", "yaml").stdout)
    return {"bootstrap": bootstrap, "update": update, "steady_revision": history[-1]["revision"]}


def test_the_steady_state_lets_the_finished_bootstrap_leave_the_release(kube_env, installed):
    env: KubeEnv = kube_env
    manifest = [d for d in yaml.safe_load_all(env.helm("get", "manifest", RELEASE, "-n", NS).stdout) if d]
    assert [d["metadata"]["name"] for d in manifest if d["kind"] == "FlinkDeployment"] == [installed["update"]]
    assert fd_names(env, "bootstrap") == []  # deleted (or on its way out) by Helm


def reconciled(env: KubeEnv, name: str) -> dict[str, Any] | None:
    fd = env.get(FD, name, NS)
    if fd and ((fd.get("status") or {}).get("reconciliationStatus") or {}).get("lastReconciledSpec"):
        return fd
    return None


def spec_changed_events(env: KubeEnv, name: str) -> list[dict[str, Any]]:
    events = env.items("event", NS)
    return [
        e for e in events
        if e.get("involvedObject", {}).get("name") == name and e.get("reason") == "SpecChanged"
    ]


def checksum(fd: dict[str, Any]) -> str | None:
    for where in (fd["spec"].get("podTemplate") or {}, fd["spec"].get("jobManager", {}).get("podTemplate") or {}):
        value = ((where.get("metadata") or {}).get("annotations") or {}).get(CHECKSUM)
        if value:
            return value
    return None


def test_config_change_upgrades_the_update_job_with_a_savepoint(kube_env, chart, installed, tmp_path):
    env: KubeEnv = kube_env
    update_before = env.get(FD, installed["update"], NS)
    assert update_before["spec"]["job"]["upgradeMode"] == "savepoint"
    changed = yaml.safe_load(generated_example_files("dev")["update"].read_text())
    assert "refresh: 1h" in changed["ranking"]["config"]
    changed["ranking"]["config"] = changed["ranking"]["config"].replace("refresh: 1h", "refresh: 2h", 1)
    path = tmp_path / "update-changed.yaml"
    path.write_text(yaml.safe_dump(changed))
    upgrade(env, chart, values=path)

    update_after = env.get(FD, installed["update"], NS)
    assert checksum(update_after) and checksum(update_after) != checksum(update_before)
    assert update_after["metadata"]["generation"] > update_before["metadata"]["generation"]
    events = wait_until(lambda: spec_changed_events(env, installed["update"]), 120, "the operator's SpecChanged event")
    assert any("UPGRADE" in e.get("message", "") for e in events), [e.get("message") for e in events]
    assert fd_names(env, "bootstrap") == []  # nothing brought the finished bootstrap back


def test_image_change_upgrades_the_update_job_and_cannot_re_run_the_bootstrap(kube_env, chart, installed):
    env: KubeEnv = kube_env
    seen_before = {e["metadata"]["name"] for e in spec_changed_events(env, installed["update"])}
    upgrade(env, chart, "--set", "image.tag=0.4.1-test")

    update_after = env.get(FD, installed["update"], NS)
    assert update_after["spec"]["image"].endswith(":0.4.1-test")
    assert fd_names(env, "bootstrap") == []

    def new_upgrade_event():
        fresh = [e for e in spec_changed_events(env, installed["update"])
                 if e["metadata"]["name"] not in seen_before or e.get("count", 1) > 1]
        return [e for e in fresh if "UPGRADE" in e.get("message", "")]

    wait_until(new_upgrade_event, 120, "an UPGRADE SpecChanged event for the image change")


def test_rollback_reapplies_the_first_steady_state_spec(kube_env, chart, installed):
    env: KubeEnv = kube_env
    revision = str(installed["steady_revision"])
    first = [d for d in yaml.safe_load_all(env.helm("get", "manifest", RELEASE, "-n", NS, "--revision", revision).stdout) if d]
    first_update = next(d for d in first if d["kind"] == "FlinkDeployment" and d["metadata"]["name"] == installed["update"])
    env.helm("rollback", RELEASE, revision, "-n", NS)
    live = env.get(FD, installed["update"], NS)
    assert live["spec"]["image"] == first_update["spec"]["image"]
    assert checksum(live) == checksum(first_update)
    history = yaml.safe_load(env.helm("history", RELEASE, "-n", NS, "-o", "yaml").stdout)
    assert history[-1]["status"] == "deployed" and f"Rollback to {revision}" in history[-1]["description"]


def test_uninstall_keeps_the_flink_rbac_while_the_operator_holds_the_update_job_for_its_savepoint(kube_env, chart, installed):
    env: KubeEnv = kube_env
    manifest = [d for d in yaml.safe_load_all(env.helm("get", "manifest", RELEASE, "-n", NS).stdout) if d]
    kept = [d for d in manifest if (d["metadata"].get("annotations") or {}).get("helm.sh/resource-policy") == "keep"]
    assert {d["kind"] for d in kept} == {"ServiceAccount", "Role", "RoleBinding"}, [(d["kind"], d["metadata"]["name"]) for d in kept]
    gone = [d for d in manifest if d not in kept and d["kind"] != "FlinkDeployment"]
    env.helm("uninstall", RELEASE, "-n", NS)

    def ref(d):
        group = d["apiVersion"].rpartition("/")[0]
        return d["kind"].lower() + (f".{group}" if group else ""), d["metadata"]["name"]

    for d in kept:
        assert env.get(*ref(d), NS) is not None, f"{d['kind']}/{d['metadata']['name']} was deleted"
    for d in gone:
        wait_until(lambda d=d: env.get(*ref(d), NS) is None, 120, f"{d['kind']}/{d['metadata']['name']} to be deleted")
    # savepoint-on-deletion: the operator keeps its finalizer on the update job until it has taken
    # the savepoint. No JobManager answers here, so it stays Terminating: the reason the Flink
    # ServiceAccount and RBAC must outlive the release.
    update = wait_until(lambda: (env.get(FD, installed["update"], NS) or {}).get("metadata", {}).get("deletionTimestamp")
                        and env.get(FD, installed["update"], NS), 60, "the update FlinkDeployment to be Terminating")
    assert "flinkdeployments.flink.apache.org/finalizer" in update["metadata"]["finalizers"]
    wait_until(
        lambda: any(e.get("reason") == "Cleanup" and e.get("involvedObject", {}).get("name") == installed["update"]
                    for e in env.items("event", NS)),
        60, "the operator's Cleanup event for the update job",
    )
    # once released (what the operator does after the savepoint), the JobManager goes with it
    env.kubectl("patch", FD, installed["update"], "-n", NS, "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    wait_until(lambda: env.get(FD, installed["update"], NS) is None, 60, "the update FlinkDeployment to go")
    wait_until(lambda: env.get("deployment.apps", installed["update"], NS) is None, 120,
               "the JobManager Deployment to be garbage-collected (owner reference)")
