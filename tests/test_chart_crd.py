"""FlinkDeployments the chart renders: valid against both operator CRDs, accepted by the operator.

Also tests the harness itself (``support.crd`` translation, ``support.admission`` rules) so a
check that cannot fail is caught here rather than trusted.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from support import CRD_VERSIONS
from support.admission import admission_errors, ha_enabled
from support.crd import (
    CustomResourceInvalid,
    crd_validator,
    custom_resource_errors,
    strict_schema,
    validate_custom_resource,
)
from support.matrix import CASES, Case, case_params
from support.render import by_kind, component, render

# --- a known-good FlinkDeployment (what the update stage should look like) -------------------


def good_flink_deployment() -> dict[str, Any]:
    return {
        "apiVersion": "flink.apache.org/v1beta1",
        "kind": "FlinkDeployment",
        "metadata": {"name": "ranker-update", "labels": {"app.kubernetes.io/name": "ranker"}},
        "spec": {
            "image": "metarank/metarank:0.4.1",
            "flinkVersion": "v1_15",
            "serviceAccount": "ranker-flink",
            "flinkConfiguration": {
                "taskmanager.numberOfTaskSlots": "2",
                "state.checkpoints.dir": "s3://b/ranker/update/checkpoints",
                "state.savepoints.dir": "s3://b/ranker/update/savepoints",
                "high-availability": "kubernetes",
                "high-availability.storageDir": "s3://b/ranker/update/ha",
                "kubernetes.operator.job.savepoint-on-deletion": "true",
                "kubernetes.operator.periodic.savepoint.interval": "1h",
            },
            "jobManager": {"resource": {"memory": "2048m", "cpu": 1}, "replicas": 1},
            "taskManager": {"resource": {"memory": "4Gi", "cpu": 2.5}},
            "podTemplate": {
                "apiVersion": "v1",
                "kind": "Pod",
                "spec": {
                    "containers": [
                        {
                            "name": "flink-main-container",
                            "env": [{"name": "X", "value": "1"}],
                            "resources": {"limits": {"memory": "4Gi", "cpu": "2"}},
                        }
                    ]
                },
            },
            "job": {
                "jarURI": "local:///app/metarank.jar",
                "parallelism": 2,
                "upgradeMode": "savepoint",
                "state": "running",
                "initialSavepointPath": "s3://b/ranker/savepoint",
                "args": ["update", "--config", "/etc/ranker/config.yml"],
            },
        },
        "status": {
            "lifecycleState": "STABLE",
            "jobStatus": {"state": "RUNNING", "jobId": "abc"},
            "reconciliationStatus": {"state": "DEPLOYED", "lastReconciledSpec": "{}"},
        },
    }


# --- support.crd: the translation itself --------------------------------------------------------


def test_translation_int_or_string_accepts_exactly_integer_or_string():
    schema = strict_schema({"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]})
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid(3) and validator.is_valid("50%")
    assert not validator.is_valid(1.5) and not validator.is_valid([1]) and not validator.is_valid(None)


def test_translation_nullable_adds_null_to_type_and_enum():
    schema = strict_schema({"type": "string", "enum": ["a"], "nullable": True})
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid(None) and validator.is_valid("a")
    assert not validator.is_valid("b")
    not_nullable = jsonschema.Draft202012Validator(strict_schema({"type": "string"}))
    assert not not_nullable.is_valid(None)


def test_translation_closes_objects_unless_preserve_unknown_fields():
    schema = strict_schema(
        {
            "type": "object",
            "properties": {
                "closed": {"type": "object", "properties": {"a": {"type": "string"}}},
                "open": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "map": {"type": "object", "additionalProperties": {"type": "integer"}},
            },
        }
    )
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"closed": {"a": "x"}, "open": {"anything": {"nested": 1}}, "map": {"k": 1}})
    assert not validator.is_valid({"closed": {"b": "x"}})
    assert not validator.is_valid({"map": {"k": "not an int"}})
    assert not validator.is_valid({"unknown": 1})


def test_translation_embedded_resource_allows_type_meta():
    schema = strict_schema({"type": "object", "x-kubernetes-embedded-resource": True, "properties": {"spec": {"type": "object"}}})
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}})
    assert not validator.is_valid({"metadata": {"bogus": 1}})


@pytest.mark.parametrize("operator", CRD_VERSIONS)
def test_known_good_flink_deployment_validates(operator):
    crd_validator("FlinkDeployment", operator)(good_flink_deployment())


@pytest.mark.parametrize("operator", CRD_VERSIONS)
@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda fd: fd["spec"].__setitem__("bogusField", 1), "bogusField"),
        (lambda fd: fd["spec"]["job"].__setitem__("parallelism", "2"), "spec.job.parallelism"),
        (lambda fd: fd["spec"]["jobManager"]["resource"].__setitem__("cpu", "1"), "spec.jobManager.resource.cpu"),
        (lambda fd: fd["spec"]["job"].__setitem__("upgradeMode", "savepoints"), "spec.job.upgradeMode"),
        (lambda fd: fd["spec"].__setitem__("flinkVersion", "v1_12"), "spec.flinkVersion"),
        (lambda fd: fd["spec"]["job"].__setitem__("initialSavepointPath", None), "spec.job.initialSavepointPath"),
        (lambda fd: fd["spec"]["podTemplate"]["spec"]["containers"][0].__setitem__("imagePullPolice", "x"), "containers.0"),
        (lambda fd: fd["status"].__setitem__("lifecycleState", "HAPPY"), "status.lifecycleState"),
        (lambda fd: fd["status"]["jobStatus"].__setitem__("bogus", "x"), "status.jobStatus"),
        (lambda fd: fd.__setitem__("apiVersion", "flink.apache.org/v1alpha1"), "apiVersion"),
        (lambda fd: fd["metadata"].__setitem__("labels", {"a": 1}), "metadata.labels.a"),
    ],
    ids=["unknown-field", "int-as-string", "cpu-as-string", "bad-enum", "old-flink", "null-not-nullable",
         "podtemplate-typo", "status-enum", "status-unknown-field", "api-version", "label-not-string"],
)
def test_crd_rejects(operator, mutate, where):
    fd = good_flink_deployment()
    mutate(fd)
    with pytest.raises(CustomResourceInvalid) as exc:
        crd_validator("FlinkDeployment", operator)(fd)
    assert any(where in e for e in exc.value.errors), exc.value.errors


def test_crd_versions_differ_where_the_operator_changed():
    """1.9.0 types flinkConfiguration as string→string and stops at v1_19; 1.15.0 does not."""
    nested = good_flink_deployment()
    nested["spec"]["flinkConfiguration"]["nested"] = {"a": "b"}
    assert custom_resource_errors(nested, "1.9.0")
    assert not custom_resource_errors(nested, "1.15.0")
    flink2 = good_flink_deployment()
    flink2["spec"]["flinkVersion"] = "v2_0"
    assert custom_resource_errors(flink2, "1.9.0")
    assert not custom_resource_errors(flink2, "1.15.0")


def test_state_snapshot_kind_only_in_newer_operator():
    snapshot = {
        "apiVersion": "flink.apache.org/v1beta1",
        "kind": "FlinkStateSnapshot",
        "metadata": {"name": "s"},
        "spec": {"savepoint": {"path": "s3://b/sp", "alreadyExists": True}, "jobReference": {"kind": "FlinkDeployment", "name": "x"}},
        "status": {"state": "COMPLETED", "path": "s3://b/sp"},
    }
    validate_custom_resource(snapshot, "1.15.0")
    assert any("no CRD for FlinkStateSnapshot" in e for e in custom_resource_errors(snapshot, "1.9.0"))
    snapshot["status"]["state"] = "DONE"
    assert custom_resource_errors(snapshot, "1.15.0")


# --- support.admission: each rule can fail ------------------------------------------------------


def test_known_good_flink_deployment_is_admitted():
    assert admission_errors(good_flink_deployment()) == []


def _conf(fd):
    return fd["spec"]["flinkConfiguration"]


ADMISSION_VIOLATIONS = {
    "name-too-long": (lambda fd: fd["metadata"].__setitem__("name", "r" * 46), "metadata.name"),
    "name-uppercase": (lambda fd: fd["metadata"].__setitem__("name", "Ranker"), "metadata.name"),
    "no-flink-version": (lambda fd: fd["spec"].pop("flinkVersion"), "flinkVersion must be defined"),
    "unsupported-flink": (lambda fd: fd["spec"].__setitem__("flinkVersion", "v1_14"), "not supported"),
    "non-string-value": (lambda fd: _conf(fd).__setitem__("parallelism.default", 2), "must be a string"),
    "nested-config": (lambda fd: _conf(fd).__setitem__("state", {"backend": "rocksdb"}), "must be a string"),
    "forbid-namespace": (lambda fd: _conf(fd).__setitem__("kubernetes.namespace", "x"), "kubernetes.namespace"),
    "forbid-cluster-id": (lambda fd: _conf(fd).__setitem__("kubernetes.cluster-id", "x"), "kubernetes.cluster-id"),
    "forbid-ha-cluster-id": (lambda fd: _conf(fd).__setitem__("high-availability.cluster-id", "x"), "high-availability.cluster-id"),
    "no-checkpoints-dir": (lambda fd: _conf(fd).pop("state.checkpoints.dir"), "state.checkpoints.dir"),
    "no-savepoints-dir": (lambda fd: _conf(fd).pop("state.savepoints.dir"), "state.savepoints.dir"),
    "ha-without-storage": (lambda fd: _conf(fd).pop("high-availability.storageDir"), "high-availability.storageDir"),
    "last-state-without-ha": (
        lambda fd: (_conf(fd).pop("high-availability"), fd["spec"]["job"].__setitem__("upgradeMode", "last-state")),
        "last-state needs high availability",
    ),
    "standby-jm-without-ha": (
        lambda fd: (_conf(fd).pop("high-availability"), fd["spec"]["jobManager"].__setitem__("replicas", 2)),
        "standby JobManagers",
    ),
    "no-jm-memory": (lambda fd: fd["spec"]["jobManager"]["resource"].pop("memory"), "jobManager.resource.memory"),
    "bad-tm-memory": (lambda fd: fd["spec"]["taskManager"]["resource"].__setitem__("memory", "lots"), "taskManager.resource.memory"),
    "no-tm-cpu": (lambda fd: fd["spec"]["taskManager"]["resource"].pop("cpu"), "taskManager.resource.cpu"),
    "no-jar": (lambda fd: fd["spec"]["job"].pop("jarURI"), "jarURI"),
    "zero-parallelism": (lambda fd: fd["spec"]["job"].__setitem__("parallelism", 0), "parallelism"),
    "redeploy-nonce-without-path": (
        lambda fd: (fd["spec"]["job"].__setitem__("savepointRedeployNonce", 1), fd["spec"]["job"].pop("initialSavepointPath")),
        "savepointRedeployNonce needs",
    ),
    "no-service-account": (lambda fd: fd["spec"].pop("serviceAccount"), "serviceAccount"),
    "main-container-renamed": (
        lambda fd: fd["spec"]["podTemplate"]["spec"]["containers"][0].__setitem__("name", "metarank"),
        "flink-main-container",
    ),
    "bad-log-config": (lambda fd: fd["spec"].__setitem__("logConfiguration", {"log4j.properties": "x"}), "logConfiguration"),
    "ingress-without-template": (lambda fd: fd["spec"].__setitem__("ingress", {"className": "nginx"}), "ingress.template"),
    "autoscaler-on": (lambda fd: _conf(fd).__setitem__("job.autoscaler.enabled", "true"), "autoscaler"),
    "rollback-without-ha": (
        lambda fd: (_conf(fd).pop("high-availability"), _conf(fd).__setitem__("kubernetes.operator.deployment.rollback.enabled", "true")),
        "rollback",
    ),
}


@pytest.mark.parametrize("name", sorted(ADMISSION_VIOLATIONS))
def test_admission_rule_fails(name):
    mutate, expected = ADMISSION_VIOLATIONS[name]
    fd = good_flink_deployment()
    mutate(fd)
    errors = admission_errors(fd)
    assert any(expected in e for e in errors), errors


# --- the chart's FlinkDeployments -------------------------------------------------------------


@pytest.mark.parametrize("case", case_params(CASES))
def test_flink_deployments_match_crds_and_operator_rules(case: Case):
    problems = []
    for fd in by_kind(case.objects(), "FlinkDeployment"):
        for operator in CRD_VERSIONS:
            problems += [f"{fd.ref} CRD {operator}: {e}" for e in custom_resource_errors(fd, operator)]
        problems += [f"{fd.ref} admission: {e}" for e in admission_errors(fd)]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("case", case_params(CASES))
def test_flink_deployments_use_metarank_flink_and_a_named_main_container(case: Case):
    for fd in by_kind(case.objects(), "FlinkDeployment"):
        spec = fd["spec"]
        assert spec["flinkVersion"] == "v1_15", f"{fd.ref}: Metarank 0.4.1 runs on Flink 1.15"
        conf = spec.get("flinkConfiguration") or {}
        if ha_enabled(fd):
            # Flink 1.15 reads only "high-availability"; ".type" arrived in 1.16
            assert conf.get("high-availability"), f"{fd.ref}: Flink 1.15 needs the 'high-availability' key"
        containers = ((spec.get("podTemplate") or {}).get("spec") or {}).get("containers") or []
        assert [c["name"] for c in containers][:1] == ["flink-main-container"], f"{fd.ref}: {containers}"


def _stage_fd(case: Case, stage: str) -> dict[str, Any] | None:
    found = [fd for fd in by_kind(case.objects(), "FlinkDeployment") if component(fd) == stage]
    assert len(found) <= 1, f"{case.id}: {len(found)} {stage} FlinkDeployments"
    return found[0] if found else None


@pytest.mark.parametrize("case", case_params(CASES))
def test_bootstrap_flink_deployment_is_batch_like(case: Case):
    fd = _stage_fd(case, "bootstrap")
    if not (case.values().get("stages", {}).get("bootstrap", {}).get("enabled")):
        assert fd is None, f"{case.id}: bootstrap disabled but rendered"
        return
    assert fd is not None, f"{case.id}: bootstrap enabled but no bootstrap FlinkDeployment"
    job = fd["spec"]["job"]
    assert job.get("upgradeMode", "stateless") == "stateless", job
    assert "initialSavepointPath" not in job and "savepointRedeployNonce" not in job, job


@pytest.mark.parametrize("case", case_params(CASES))
def test_update_flink_deployment_starts_from_the_bootstrap_savepoint(case: Case):
    values = case.values()
    fd = _stage_fd(case, "update")
    if not values.get("stages", {}).get("update", {}).get("enabled"):
        assert fd is None, f"{case.id}: update disabled but rendered"
        return
    assert fd is not None, f"{case.id}: update enabled but no update FlinkDeployment"
    job, conf = fd["spec"]["job"], fd["spec"]["flinkConfiguration"]
    # Flink refuses scheme-less state paths (E28, run): local paths get file://
    paths = {k: f"file://{v}" if str(v).startswith("/") else v for k, v in values["ranking"]["paths"].items()}
    start = values["stages"]["update"].get("initialSavepointPath") or values["ranking"]["paths"]["savepoint"]
    expected_start = f"file://{start}" if start.startswith("/") else start
    assert job["upgradeMode"] == "savepoint"
    assert job["initialSavepointPath"] == expected_start
    assert conf.get("kubernetes.operator.job.savepoint-on-deletion") == "true"
    assert conf.get("state.checkpoints.dir") == paths["checkpoints"]
    assert conf.get("state.savepoints.dir") == paths["savepoints"]
    if ha_enabled(fd):
        assert conf.get("high-availability.storageDir") == paths["ha"]


def test_flink_deployment_names_fit_45_chars_with_a_53_char_release():
    release = "a-release-name-of-exactly-fifty-three-characters-long"
    assert len(release) == 53
    case = next(c for c in CASES if c.step == "update" and c.config == "handwritten" and c.env == "prod")
    fds = by_kind(case.objects(release=release), "FlinkDeployment")
    assert fds, "no FlinkDeployment rendered"
    problems = [f"{fd.ref}: {e}" for fd in fds for e in admission_errors(fd)]
    assert problems == [], "\n".join(problems)
    names = [fd["metadata"]["name"] for fd in fds]
    assert len(set(names)) == len(names), f"truncation made names collide: {names}"


def test_update_nonces_render_only_when_bumped():
    case = next(c for c in CASES if c.step == "update" and c.config == "handwritten" and c.env == "prod")
    base = render(case.values_files(), case.overrides)
    job = next(fd for fd in by_kind(base, "FlinkDeployment") if component(fd) == "update")["spec"]["job"]
    for nonce in ("savepointRedeployNonce", "savepointTriggerNonce"):
        assert nonce not in job, f"{nonce} rendered while 0"
    bumped = render(
        case.values_files(),
        {**case.overrides, "stages": {"update": {"savepointRedeployNonce": 3, "initialSavepointPath": "s3://b/sp-7"}}},
    )
    fd = next(fd for fd in by_kind(bumped, "FlinkDeployment") if component(fd) == "update")
    assert fd["spec"]["job"]["savepointRedeployNonce"] == 3
    assert fd["spec"]["job"]["initialSavepointPath"] == "s3://b/sp-7"
    assert admission_errors(fd) == []
    for operator in CRD_VERSIONS:
        validate_custom_resource(copy.deepcopy(fd), operator)


@pytest.mark.parametrize("case", case_params([c for c in CASES if c.step == "update"]))
def test_flink_pods_are_hardened_like_the_rest(case: Case):
    """checkov cannot look inside a custom resource, so the Flink pod templates are checked here."""
    problems = []
    for fd in by_kind(case.objects(), "FlinkDeployment"):
        pod = fd["spec"]["podTemplate"]["spec"]
        if not (pod.get("securityContext") or {}).get("runAsNonRoot"):
            problems.append(f"{fd.ref}: pod securityContext.runAsNonRoot is not true")
        for container in pod.get("containers", []):
            sc = container.get("securityContext") or {}
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{fd.ref} {container['name']}: allowPrivilegeEscalation is not false")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                problems.append(f"{fd.ref} {container['name']}: capabilities.drop lacks ALL")
            if sc.get("privileged"):
                problems.append(f"{fd.ref} {container['name']}: privileged")
    assert problems == [], "\n".join(problems)
