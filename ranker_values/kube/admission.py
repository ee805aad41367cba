"""The Flink Kubernetes operator's admission rules for a FlinkDeployment, as code.

No operator (or API server) can run here, so the rules its webhook / reconciler enforce are
encoded from apache/flink-kubernetes-operator ``validation/DefaultValidator.java``
(``validateDeployment`` and the methods it calls); each rule below names its source method.
The operator stops at the first failure; ``admission_errors`` returns all of them.

Not encoded: checks that need the previous spec (``validateSpecChange`` session↔job and
native↔standalone switches; the nonce rule is checked statically), ingress URL templating, and
the autoscaler option ranges (the chart does not enable the autoscaler; a test asserts that).
Flink's defaults (the operator's own ``flink-conf.yaml``) are taken as empty: our renders must
carry every setting they rely on.
"""

from __future__ import annotations

import re
from typing import Any, Callable

MAIN_CONTAINER = "flink-main-container"
# DefaultValidator.DEPLOYMENT_NAME_PATTERN: the operator derives Service names from it.
DEPLOYMENT_NAME = re.compile(r"[a-z]([-a-z\d]{0,43}[a-z\d])?")
# FlinkVersion.isSupported: v1_15 and newer (v1_13/v1_14 are refused).
SUPPORTED_FLINK_VERSIONS = ("v1_15", "v1_16", "v1_17", "v1_18", "v1_19", "v1_20", "v2_0", "v2_1", "v2_2")
FORBIDDEN_KEYS = ("kubernetes.namespace", "kubernetes.cluster-id", "high-availability.cluster-id")
ALLOWED_LOG_CONFIG_KEYS = ("log4j-console.properties", "logback-console.xml")
# Flink option keys with their fallback keys, newest first (Configuration.getString resolves both).
CHECKPOINTS_DIR = ("execution.checkpointing.dir", "state.checkpoints.dir")
SAVEPOINTS_DIR = ("execution.checkpointing.savepoint-dir", "state.savepoints.dir")
HA_MODE = ("high-availability.type", "high-availability")
HA_STORAGE_DIR = ("high-availability.storageDir",)
PERIODIC_SAVEPOINT_INTERVAL = ("kubernetes.operator.periodic.savepoint.interval",)
LAST_STATE_MAX_AGE = ("kubernetes.operator.job.upgrade.last-state.max.allowed.checkpoint.age",)
ROLLBACK_ENABLED = ("kubernetes.operator.deployment.rollback.enabled",)
HEALTH_CHECK_ENABLED = ("kubernetes.operator.cluster.health-check.enabled",)
JM_RECOVERY_ENABLED = ("kubernetes.operator.jm-deployment-recovery.enabled",)

# Flink MemorySize units plus the Kubernetes quantities FlinkConfigBuilder.parseResourceMemoryString
# converts (Ki, Mi, Gi, ... and k, M, G, ...).
MEMORY = re.compile(
    r"^\d+(\.\d+)?\s*(b|bytes|k|kb|kibibytes|m|mb|mebibytes|g|gb|gibibytes|t|tb|tebibytes"
    r"|ki|mi|gi|ti|pi|ei|p|e)?$",
    re.IGNORECASE,
)
QUANTITY = re.compile(r"^[+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")

Rule = Callable[[dict[str, Any]], list[str]]


def admission_errors(fd: dict[str, Any]) -> list[str]:
    """Every admission rule ``fd`` (a FlinkDeployment) breaks; ``[]`` = the operator accepts it."""
    return [error for rule in RULES for error in rule(fd)]


# --- the rules, in DefaultValidator.validateDeployment order ---------------------------------


def deployment_name(fd: dict[str, Any]) -> list[str]:
    """validateDeploymentName: lower-case DNS label, starts with a letter, at most 45 chars."""
    name = str((fd.get("metadata") or {}).get("name", ""))
    if DEPLOYMENT_NAME.fullmatch(name):
        return []
    return [f"metadata.name {name!r} ({len(name)} chars) must match {DEPLOYMENT_NAME.pattern} (<= 45 chars)"]


def flink_version(fd: dict[str, Any]) -> list[str]:
    """validateFlinkVersion: defined and supported by the operator."""
    version = _spec(fd).get("flinkVersion")
    if version is None:
        return ["spec.flinkVersion must be defined"]
    if version not in SUPPORTED_FLINK_VERSIONS:
        return [f"spec.flinkVersion {version!r} is not supported by the operator"]
    return []


def flat_string_configuration(fd: dict[str, Any]) -> list[str]:
    """CRD 1.9.0 types flinkConfiguration as string→string; later CRDs accept any YAML.

    Both must work, so every value is a string and keys are flat (no nested maps).
    """
    conf = _spec(fd).get("flinkConfiguration")
    if conf is None:
        return []
    if not isinstance(conf, dict):
        return [f"spec.flinkConfiguration must be a map, got {type(conf).__name__}"]
    return [
        f"spec.flinkConfiguration[{key!r}] = {value!r} must be a string (flat keys, no nested maps)"
        for key, value in conf.items()
        if not isinstance(value, str)
    ]


def forbidden_configuration(fd: dict[str, Any]) -> list[str]:
    """validateFlinkDeploymentConfig: keys the operator sets itself."""
    conf = _conf(fd)
    return [f"spec.flinkConfiguration must not set {key!r} (forbidden by the operator)" for key in FORBIDDEN_KEYS if key in conf]


def rollback_needs_ha(fd: dict[str, Any]) -> list[str]:
    """validateFlinkDeploymentConfig: rollback support needs HA."""
    if _true(_get(_conf(fd), ROLLBACK_ENABLED)) and not ha_enabled(fd):
        return ["kubernetes.operator.deployment.rollback.enabled needs high availability"]
    return []


def health_check_needs_recovery(fd: dict[str, Any]) -> list[str]:
    """validateFlinkDeploymentConfig: the cluster health check needs JM deployment recovery."""
    conf = _conf(fd)
    recovery = _get(conf, JM_RECOVERY_ENABLED)
    if _true(_get(conf, HEALTH_CHECK_ENABLED)) and recovery is not None and not _true(recovery):
        return ["kubernetes.operator.cluster.health-check.enabled needs jm-deployment-recovery.enabled"]
    return []


def ingress_template(fd: dict[str, Any]) -> list[str]:
    """validateIngress: an ingress needs a template."""
    ingress = _spec(fd).get("ingress")
    if ingress is not None and not (ingress or {}).get("template"):
        return ["spec.ingress.template must be defined"]
    return []


def log_configuration(fd: dict[str, Any]) -> list[str]:
    """validateLogConfig: only the two console logging files."""
    keys = (_spec(fd).get("logConfiguration") or {}).keys()
    return [f"spec.logConfiguration key {k!r} is not one of {ALLOWED_LOG_CONFIG_KEYS}" for k in keys if k not in ALLOWED_LOG_CONFIG_KEYS]


def job_spec(fd: dict[str, Any]) -> list[str]:
    """validateJobSpec: state directories for stateful upgrade modes, parallelism."""
    job = _spec(fd).get("job")
    if job is None:
        return []
    conf = _conf(fd)
    mode = job.get("upgradeMode", "stateless")
    errors = []
    if not job.get("jarURI"):
        errors.append("spec.job.jarURI must be defined")
    if mode != "stateless" and _blank(_get(conf, CHECKPOINTS_DIR)):
        errors.append(f"upgradeMode {mode} needs state.checkpoints.dir")
    if mode == "last-state" and not ha_enabled(fd):
        errors.append("upgradeMode last-state needs high availability")
    if _blank(_get(conf, SAVEPOINTS_DIR)):
        if mode == "savepoint":
            errors.append("upgradeMode savepoint needs state.savepoints.dir")
        if job.get("savepointTriggerNonce") is not None:
            errors.append("spec.job.savepointTriggerNonce needs state.savepoints.dir")
        if _get(conf, PERIODIC_SAVEPOINT_INTERVAL) is not None:
            errors.append("periodic savepoints need state.savepoints.dir")
        if _get(conf, LAST_STATE_MAX_AGE) is not None:
            errors.append("last-state max checkpoint age needs state.savepoints.dir")
    tm_replicas = (_spec(fd).get("taskManager") or {}).get("replicas")
    if tm_replicas is not None and tm_replicas < 1:
        errors.append("spec.taskManager.replicas must be larger than 0")
    elif tm_replicas is None and not (isinstance(job.get("parallelism"), int) and job["parallelism"] >= 1):
        errors.append(f"spec.job.parallelism must be >= 1, got {job.get('parallelism')!r}")
    return errors


def high_availability(fd: dict[str, Any]) -> list[str]:
    """Flink refuses to start HA without a storage dir; with HA, checkpoints are needed too."""
    if not ha_enabled(fd):
        return []
    conf = _conf(fd)
    errors = []
    if _blank(_get(conf, HA_STORAGE_DIR)):
        errors.append("high availability needs high-availability.storageDir")
    if _blank(_get(conf, CHECKPOINTS_DIR)):
        errors.append("high availability needs state.checkpoints.dir")
    return errors


def jobmanager(fd: dict[str, Any]) -> list[str]:
    """validateJmSpec: memory defined and parseable, replicas >= 1, standby JMs need HA."""
    jm = _spec(fd).get("jobManager") or {}
    errors = _resources("jobManager", jm.get("resource"))
    replicas = jm.get("replicas", 1)
    if replicas < 1:
        errors.append("spec.jobManager.replicas must be >= 1")
    elif replicas > 1 and not ha_enabled(fd):
        errors.append("standby JobManagers (replicas > 1) need high availability")
    return errors


def taskmanager(fd: dict[str, Any]) -> list[str]:
    """validateTmSpec: memory defined and parseable, replicas >= 1 when set."""
    tm = _spec(fd).get("taskManager") or {}
    return _resources("taskManager", tm.get("resource"))


def savepoint_redeploy(fd: dict[str, Any]) -> list[str]:
    """validateSpecChange: a savepoint redeploy needs the savepoint to start from.

    The operator checks this when the nonce changes; the chart renders the nonce only when it
    was bumped, so a rendered nonce must always come with the path.
    """
    job = _spec(fd).get("job") or {}
    if job.get("savepointRedeployNonce") is not None and _blank(job.get("initialSavepointPath")):
        return ["spec.job.savepointRedeployNonce needs spec.job.initialSavepointPath"]
    return []


def service_account(fd: dict[str, Any]) -> list[str]:
    """validateServiceAccount."""
    if not _spec(fd).get("serviceAccount"):
        return ["spec.serviceAccount must be defined"]
    return []


def autoscaler_off(fd: dict[str, Any]) -> list[str]:
    """validateAutoScalerFlinkConfiguration only runs when the autoscaler is on; keep it off."""
    if _true(_conf(fd).get("job.autoscaler.enabled")):
        return ["job.autoscaler.enabled: the chart does not support the Flink autoscaler (unvalidated options)"]
    return []


def main_container_name(fd: dict[str, Any]) -> list[str]:
    """The operator merges its main container with the podTemplate container of this name.

    Any other name becomes a sidecar and the settings meant for Flink are silently lost.
    """
    spec = _spec(fd)
    templates = {
        "spec.podTemplate": spec.get("podTemplate"),
        "spec.jobManager.podTemplate": (spec.get("jobManager") or {}).get("podTemplate"),
        "spec.taskManager.podTemplate": (spec.get("taskManager") or {}).get("podTemplate"),
    }
    errors = []
    for where, template in templates.items():
        containers = ((template or {}).get("spec") or {}).get("containers") or []
        if containers and MAIN_CONTAINER not in [c.get("name") for c in containers]:
            names = [c.get("name") for c in containers]
            errors.append(f"{where}.spec.containers {names} has no {MAIN_CONTAINER!r}")
    return errors


RULES: tuple[Rule, ...] = (
    deployment_name,
    flink_version,
    flat_string_configuration,
    forbidden_configuration,
    rollback_needs_ha,
    health_check_needs_recovery,
    ingress_template,
    log_configuration,
    job_spec,
    high_availability,
    jobmanager,
    taskmanager,
    savepoint_redeploy,
    service_account,
    autoscaler_off,
    main_container_name,
)


# --- helpers ---------------------------------------------------------------------------------


def ha_enabled(fd: dict[str, Any]) -> bool:
    """HighAvailabilityMode.isHighAvailabilityModeActivated: any mode but NONE."""
    mode = _get(_conf(fd), HA_MODE)
    return mode is not None and str(mode).strip().upper() not in ("", "NONE")


def _resources(component: str, resource: dict[str, Any] | None) -> list[str]:
    """Memory and cpu set (our rule: no reliance on the operator's defaults); memory parseable."""
    resource = resource or {}
    errors = []
    memory = resource.get("memory")
    if _blank(memory):
        errors.append(f"spec.{component}.resource.memory must be set")
    elif not MEMORY.match(str(memory)):
        errors.append(f"spec.{component}.resource.memory {memory!r} is not a memory size")
    cpu = resource.get("cpu")
    if not isinstance(cpu, (int, float)) or isinstance(cpu, bool) or cpu <= 0:
        errors.append(f"spec.{component}.resource.cpu must be a positive number, got {cpu!r}")
    storage = resource.get("ephemeralStorage")
    if storage is not None and not QUANTITY.match(str(storage)):
        errors.append(f"spec.{component}.resource.ephemeralStorage {storage!r} is not a quantity")
    return errors


def _spec(fd: dict[str, Any]) -> dict[str, Any]:
    return fd.get("spec") or {}


def _conf(fd: dict[str, Any]) -> dict[str, Any]:
    conf = _spec(fd).get("flinkConfiguration")
    return conf if isinstance(conf, dict) else {}


def _get(conf: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in conf:
            return conf[key]
    return None


def _blank(value: Any) -> bool:
    return value is None or not str(value).strip()


def _true(value: Any) -> bool:
    return str(value).strip().lower() == "true"
