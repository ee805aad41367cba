"""What the Flink Kubernetes operator does with a FlinkDeployment spec change, by its own rules.

Transcribed (not copied) from apache/flink-kubernetes-operator:

- ``ReflectiveDiffBuilder`` walks the spec field by field. A field annotated ``@SpecDiff(type)``
  gets that type (``mode=`` restricts it to native/standalone deployments, otherwise UPGRADE;
  ``onNullIgnore`` skips a change *to* null); nested spec objects are walked the same way; every
  other field is UPGRADE.
- ``DiffType`` is ordered IGNORE < SCALE < UPGRADE < SAVEPOINT_REDEPLOY; the change's type is the
  maximum over all differing fields.
- ``AbstractFlinkSpec``: ``restartNonce`` (plain field: UPGRADE); ``flinkConfiguration`` keys by
  prefix: ``job.autoscaler``, ``parallelism.default``, ``kubernetes.operator`` IGNORE,
  ``pipeline.jobvertex-parallelism-overrides`` SCALE (native mode only), anything else UPGRADE.
- ``JobSpec``: ``parallelism`` SCALE (standalone only); ``savepointTriggerNonce``,
  ``initialSavepointPath``, ``initialStateReference``, ``checkpointTriggerNonce``,
  ``upgradeMode``, ``allowNonRestoredState`` IGNORE; ``savepointRedeployNonce``
  SAVEPOINT_REDEPLOY with onNullIgnore; ``jarURI``, ``entryClass``, ``args``, ``state`` UPGRADE.
- ``TaskManagerSpec.replicas`` SCALE (standalone only).
- ``AbstractJobReconciler``: an UPGRADE of a job whose last reconciled state is *running*
  suspends it with the upgrade mode (``savepoint``: stop-with-savepoint) and redeploys. A job in a
  terminal state (a FINISHED batch job) without HA metadata is redeployed "from the last observed
  savepoint" — a batch job has none, so it simply runs again from the start.

Fields this module does not know are UPGRADE, as in the operator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class DiffType(IntEnum):
    IGNORE = 0
    SCALE = 1
    UPGRADE = 2
    SAVEPOINT_REDEPLOY = 3


# (prefix, type, only in this deployment mode or None)
CONFIG_RULES: tuple[tuple[str, DiffType, str | None], ...] = (
    ("job.autoscaler", DiffType.IGNORE, None),
    ("parallelism.default", DiffType.IGNORE, None),
    ("kubernetes.operator", DiffType.IGNORE, None),
    ("pipeline.jobvertex-parallelism-overrides", DiffType.SCALE, "native"),
)
# field -> (type, only in this mode or None, onNullIgnore)
JOB_RULES: dict[str, tuple[DiffType, str | None, bool]] = {
    "parallelism": (DiffType.SCALE, "standalone", False),
    "savepointTriggerNonce": (DiffType.IGNORE, None, False),
    "initialSavepointPath": (DiffType.IGNORE, None, False),
    "initialStateReference": (DiffType.IGNORE, None, False),
    "checkpointTriggerNonce": (DiffType.IGNORE, None, False),
    "upgradeMode": (DiffType.IGNORE, None, False),
    "allowNonRestoredState": (DiffType.IGNORE, None, False),
    "savepointRedeployNonce": (DiffType.SAVEPOINT_REDEPLOY, None, True),
}
TASK_MANAGER_RULES: dict[str, tuple[DiffType, str | None, bool]] = {
    "replicas": (DiffType.SCALE, "standalone", False),
}
# What Jackson fills in when a field is absent, so "absent" and "default" compare equal.
JOB_DEFAULTS = {"state": "running", "upgradeMode": "stateless", "args": []}


@dataclass(frozen=True)
class FieldChange:
    path: str  # e.g. "job.savepointRedeployNonce", "flinkConfiguration.state.savepoints.dir"
    old: Any
    new: Any
    type: DiffType


@dataclass
class SpecDiff:
    changes: list[FieldChange] = field(default_factory=list)

    @property
    def type(self) -> DiffType:
        return max((c.type for c in self.changes), default=DiffType.IGNORE)

    def changed(self, path: str) -> FieldChange | None:
        return next((c for c in self.changes if c.path == path), None)

    def of_type(self, kind: DiffType) -> list[FieldChange]:
        return [c for c in self.changes if c.type == kind]


def diff_spec(old: dict[str, Any], new: dict[str, Any]) -> SpecDiff:
    """The operator's view of a FlinkDeployment spec change."""
    mode = str(new.get("mode") or old.get("mode") or "native").lower()
    out = SpecDiff()
    for key in sorted(set(old) | set(new)):
        left, right = old.get(key), new.get(key)
        if key == "flinkConfiguration":
            out.changes.extend(_config_diff(left or {}, right or {}, mode))
        elif key == "job" and isinstance(left, dict) and isinstance(right, dict):
            out.changes.extend(_fields_diff("job", _with_defaults(left), _with_defaults(right), JOB_RULES, mode))
        elif key == "taskManager" and isinstance(left, dict) and isinstance(right, dict):
            out.changes.extend(_fields_diff("taskManager", left, right, TASK_MANAGER_RULES, mode))
        elif left != right:
            out.changes.append(FieldChange(key, left, right, DiffType.UPGRADE))
    return out


def _with_defaults(job: dict[str, Any]) -> dict[str, Any]:
    return {**JOB_DEFAULTS, **{k: v for k, v in job.items() if v is not None}}


def _fields_diff(prefix: str, old: dict, new: dict, rules: dict, mode: str) -> list[FieldChange]:
    changes = []
    for key in sorted(set(old) | set(new)):
        left, right = old.get(key), new.get(key)
        if left == right:
            continue
        kind, only_mode, null_ignored = rules.get(key, (DiffType.UPGRADE, None, False))
        if right is None and null_ignored:
            continue
        if only_mode is not None and only_mode != mode:
            kind = DiffType.UPGRADE
        changes.append(FieldChange(f"{prefix}.{key}", left, right, kind))
    return changes


def _config_diff(old: Any, new: Any, mode: str) -> list[FieldChange]:
    left, right = flatten_config(old), flatten_config(new)
    changes = []
    for key in sorted(set(left) | set(right)):
        if left.get(key) != right.get(key):
            changes.append(FieldChange(f"flinkConfiguration.{key}", left.get(key), right.get(key), config_key_type(key, mode)))
    return changes


def config_key_type(key: str, mode: str) -> DiffType:
    for prefix, kind, only_mode in CONFIG_RULES:
        if only_mode is not None and only_mode != mode:
            continue
        if key.startswith(prefix):
            return kind
    return DiffType.UPGRADE


def flatten_config(conf: Any, prefix: str = "") -> dict[str, str]:
    """Flink configuration as the operator compares it: flat dotted keys, string values."""
    if not isinstance(conf, dict):
        return {}
    out: dict[str, str] = {}
    for key, value in conf.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten_config(value, f"{name}."))
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = "" if value is None else str(value)
    return out


def effective_upgrade_mode(spec: dict[str, Any]) -> str:
    return str(((spec.get("job") or {}).get("upgradeMode")) or "stateless")
