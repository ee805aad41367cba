"""Cluster checks through ObjectCluster: the upstream CRDs from ../shared/crds and core objects
that pass Kubernetes' own schemas (kubernetes-validate, strict). No API server runs here."""

from __future__ import annotations

import base64
import copy
from functools import lru_cache
from typing import Any

import pytest
import yaml

from ranker_values.ops.check.cluster_checks import operator_range
from ranker_values.ops.check.runner import Status
from ranker_values.kube.cluster import ObjectCluster
from support import CRD_DIR, require_shared
from support.k8s import validation_errors
from check_support import (
    make_deployment,
    run,
)

NS = "ranking"


@lru_cache(maxsize=None)
def _load_crds(version: str) -> tuple[dict[str, Any], ...]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the CRDs are large: libyaml when present
    return tuple(yaml.load(p.read_text(), Loader=loader) for p in sorted((CRD_DIR / version).glob("*.yml")))


def crds(version: str) -> list[dict[str, Any]]:
    require_shared(CRD_DIR / version)
    return copy.deepcopy(list(_load_crds(version)))


def valid(obj: dict[str, Any]) -> dict[str, Any]:
    errors = validation_errors(obj, "1.34")
    assert not errors, errors
    return obj


def operator_deployment(ready: int) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": "flink-kubernetes-operator"}
    return valid(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "flink-kubernetes-operator", "namespace": "flink-operator", "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "operator", "image": "ghcr.io/apache/flink-kubernetes-operator:1.15.0"}]},
                },
            },
            "status": {"replicas": 1, "readyReplicas": ready} if ready else {"replicas": 1},
        }
    )


def service_account(name: str) -> dict[str, Any]:
    return valid({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": NS}})


def secret(name: str, *keys: str) -> dict[str, Any]:
    data = {k: base64.b64encode(b"not-read").decode() for k in keys}
    return valid({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS}, "type": "Opaque", "data": data})


def cluster(version: str = "1.15.0", ready: int = 1, **extra: Any) -> ObjectCluster:
    return ObjectCluster(
        crds=crds(version),
        deployments=[operator_deployment(ready)],
        service_accounts=extra.get("service_accounts", [service_account("flink")]),
        secrets=extra.get("secrets", []),
    )


def check(k8s: ObjectCluster, values: dict[str, Any] | None = None) -> dict[str, Any]:
    return run(make_deployment(), ["cluster"], cluster=k8s, namespace=NS, values=values or {})


def test_operator_1_15_cluster_passes_everything():
    results = check(cluster("1.15.0"))
    assert {r.status for r in results.values()} == {Status.PASS}, results
    assert "operator ≥1.13" in results["cluster.crd"].reason and "v2_2" in results["cluster.crd"].reason
    assert "image tag 1.15.0" in results["cluster.operator"].reason


def test_operator_1_9_has_no_snapshot_crd_and_a_bounded_range():
    results = check(cluster("1.9.0"))
    assert results["cluster.crd"].status is Status.PASS and "operator 1.8–1.9" in results["cluster.crd"].reason
    assert results["cluster.snapshot-crd"].status is Status.WARN and "< 1.10" in results["cluster.snapshot-crd"].reason


def test_range_from_the_schema_alone():
    (fd_1_9,) = [c for c in crds("1.9.0") if c["spec"]["names"]["kind"] == "FlinkDeployment"]
    (fd_1_15,) = [c for c in crds("1.15.0") if c["spec"]["names"]["kind"] == "FlinkDeployment"]
    assert operator_range(fd_1_9, has_snapshot_crd=False) == "1.8–1.9"
    assert operator_range(fd_1_15, has_snapshot_crd=True) == "≥1.13"


def test_no_operator_installed():
    results = check(ObjectCluster())
    assert results["cluster.crd"].status is Status.FAIL and "not installed" in results["cluster.crd"].reason
    assert results["cluster.operator"].status is Status.FAIL


def test_operator_not_ready():
    result = check(cluster(ready=0))["cluster.operator"]
    assert result.status is Status.FAIL and "no ready replica" in result.reason


def test_flink_service_account_missing_unless_the_chart_creates_it():
    k8s = cluster(service_accounts=[service_account("default")])
    own = {"flink": {"serviceAccount": {"create": False}}}
    missing = check(k8s, own)["cluster.serviceaccount"]
    assert missing.status is Status.FAIL and f"{NS}/flink" in missing.reason
    named = check(
        cluster(service_accounts=[service_account("ranker-flink")]),
        {"flink": {"serviceAccount": {"create": False, "name": "ranker-flink"}}},
    )
    assert named["cluster.serviceaccount"].status is Status.PASS
    created = check(k8s)["cluster.serviceaccount"]  # chart default: flink.serviceAccount.create true
    assert created.status is Status.PASS and "creates" in created.reason


def test_existing_secrets_need_the_keys_the_chart_reads():
    values = {
        "s3": {"auth": {"mode": "existingSecret", "existingSecret": "s3-keys"}},
        "externalRedis": {"auth": {"enabled": True, "existingSecret": "redis", "existingSecretPasswordKey": "password"}},
    }
    missing = check(cluster(secrets=[]), values)["cluster.secrets"]
    assert missing.status is Status.FAIL and f"{NS}/redis does not exist" in missing.reason

    wrong_keys = cluster(secrets=[secret("s3-keys", "AWS_ACCESS_KEY_ID"), secret("redis", "redis-password")])
    result = check(wrong_keys, values)["cluster.secrets"]
    assert result.status is Status.FAIL
    assert "s3-keys lacks key(s) AWS_SECRET_ACCESS_KEY" in result.reason and "redis lacks key(s) password" in result.reason

    right = cluster(secrets=[secret("s3-keys", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), secret("redis", "password")])
    assert check(right, values)["cluster.secrets"].status is Status.PASS


def test_existing_secret_mode_without_a_name_fails():
    result = check(cluster(), {"s3": {"auth": {"mode": "existingSecret"}}})["cluster.secrets"]
    assert result.status is Status.FAIL and "s3.auth.existingSecret is empty" in result.reason


def test_unreachable_api_server_gives_one_line_per_check(tmp_path, monkeypatch):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "ctx",
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    results = run(make_deployment(), ["cluster.crd", "cluster.operator"], timeout=2.0)
    assert {r.status for r in results.values()} == {Status.FAIL}
    assert all("Kubernetes API unreachable" in r.reason for r in results.values()), results


@pytest.mark.parametrize("version", ["1.9.0", "1.15.0"])
def test_fixture_crds_are_the_upstream_ones(version):
    names = {c["metadata"]["name"] for c in crds(version)}
    assert "flinkdeployments.flink.apache.org" in names
    assert ("flinkstatesnapshots.flink.apache.org" in names) == (version == "1.15.0")
