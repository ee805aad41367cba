"""``ranker-values status``: where a release is in the lifecycle.

For each stage (bootstrap, train, upload, api, update) the release's objects (found by the
chart's selector labels, never by guessing names), a phase read from them (FlinkDeployment job
state and lifecycle state, Job completions, api replicas ready), the newest completed savepoint
of the update job and its age, and the next step to run. Reads only, through
:class:`ranker_values.kube.cluster.Cluster`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from ranker_values.errors import InvalidInput
from ranker_values.kube.cluster import Cluster, ClusterError, HelmRelease, deployed_release

STAGES = ("bootstrap", "train", "upload", "api", "update")
BATCH_STAGES = ("bootstrap", "train", "upload")
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
KINDS = ("FlinkDeployment", "Job", "Deployment", "Service", "ConfigMap")

# phase words, also the JSON values
NOT_DEPLOYED = "not deployed"
DONE = "done"
RUNNING = "running"
PENDING = "pending"
FAILED = "failed"


@dataclass
class StageStatus:
    stage: str
    enabled: bool  # enabled in the deployed Helm values
    phase: str  # not deployed | pending | running | done | failed
    detail: str  # e.g. "job FINISHED, lifecycle STABLE" / "1/1 completions" / "2/2 ready"
    objects: list[str] = field(default_factory=list)  # "Kind/name"
    savepoint: str | None = None
    savepoint_time: str | None = None  # ISO 8601
    savepoint_age_seconds: float | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class ReleaseStatus:
    release: str
    namespace: str
    revision: int | None
    helm_status: str | None
    stages: list[StageStatus]
    next_step: str

    @property
    def batch_in_progress(self) -> bool:
        return any(s.stage in BATCH_STAGES and s.phase in (RUNNING, PENDING) for s in self.stages)

    def to_json(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "namespace": self.namespace,
            "revision": self.revision,
            "helmStatus": self.helm_status,
            "stages": [asdict(s) for s in self.stages],
            "nextStep": self.next_step,
        }


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# --- phases per kind --------------------------------------------------------------------------


def flink_phase(obj: dict[str, Any]) -> tuple[str, str, list[str]]:
    """(phase, detail, problems) of a FlinkDeployment from its operator-written status."""
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    job_state = str(_get(status, "jobStatus", "state") or "")
    lifecycle = str(status.get("lifecycleState") or "")
    jm = str(status.get("jobManagerDeploymentStatus") or "")
    error = str(status.get("error") or "")
    detail = ", ".join(
        p for p in (f"job {job_state}" if job_state else "job not reported",
                    f"lifecycle {lifecycle}" if lifecycle else "",
                    f"JobManager {jm}" if jm else "") if p
    )
    problems = [f"status.error: {error[:300]}"] if error else []
    if job_state == "FINISHED":
        return DONE, detail, problems
    if job_state in ("FAILED", "FAILING") or lifecycle == "FAILED":
        return FAILED, detail, problems
    if job_state == "RUNNING":
        return RUNNING, detail, problems
    return PENDING, detail, problems


def job_phase(obj: dict[str, Any]) -> tuple[str, str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    want = _int(spec.get("completions")) or 1
    ok, bad, active = _int(status.get("succeeded")), _int(status.get("failed")), _int(status.get("active"))
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or [] if isinstance(c, dict)}
    detail = f"{ok}/{want} completions" + (f", {bad} failed" if bad else "") + (f", {active} active" if active else "")
    if conditions.get("Complete") == "True" or ok >= want:
        return DONE, detail
    if conditions.get("Failed") == "True":
        return FAILED, detail
    return (RUNNING if active else PENDING), detail


def deployment_phase(obj: dict[str, Any]) -> tuple[str, str]:
    want = _int(_get(obj, "spec", "replicas"))
    ready = _int(_get(obj, "status", "readyReplicas"))
    detail = f"{ready}/{want} replicas ready"
    if want and ready >= want:
        return RUNNING, detail
    return PENDING, detail


def _worst(phases: list[str]) -> str:
    for phase in (FAILED, PENDING, RUNNING, DONE):
        if phase in phases:
            return phase
    return NOT_DEPLOYED


# --- the status -------------------------------------------------------------------------------


def stage_status(
    cluster: Cluster, release: str, namespace: str, stage: str, enabled: bool, now: datetime
) -> StageStatus:
    selector = f"{LABEL_INSTANCE}={release},{LABEL_COMPONENT}={stage}"
    found: dict[str, list[dict[str, Any]]] = {kind: cluster.list_labeled(kind, namespace, selector) for kind in KINDS}
    # the operator's own objects for a FlinkDeployment carry its name, not our labels
    objects = sorted(f"{kind}/{_meta(o).get('name', '?')}" for kind, objs in found.items() for o in objs)
    phases: list[str] = []
    details: list[str] = []
    problems: list[str] = []
    for fd in found["FlinkDeployment"]:
        phase, detail, probs = flink_phase(fd)
        phases.append(phase)
        details.append(detail)
        problems.extend(f"FlinkDeployment/{_meta(fd).get('name')}: {p}" for p in probs)
    for job in found["Job"]:
        phase, detail = job_phase(job)
        phases.append(phase)
        details.append(f"Job/{_meta(job).get('name')}: {detail}" if len(found["Job"]) > 1 else detail)
    for dep in found["Deployment"]:
        phase, detail = deployment_phase(dep)
        phases.append(phase)
        details.append(detail)
    result = StageStatus(stage, enabled, _worst(phases), "; ".join(details) or "-", objects, problems=problems)
    if stage == "update" and found["FlinkDeployment"]:
        _add_savepoint(cluster, found["FlinkDeployment"][0], result, now)
    return result


def _add_savepoint(cluster: Cluster, deployment: dict[str, Any], result: StageStatus, now: datetime) -> None:
    from ranker_values.ops import savepoint as sp

    found: list[Any] = []
    try:
        if sp.supports_snapshot_resources(cluster):
            found.extend(sp.snapshot_savepoints(cluster, deployment))
        if isinstance(deployment.get("status"), dict):
            found.extend(sp.status_savepoints(deployment))
    except InvalidInput as exc:
        result.problems.append(f"savepoints: {exc.message}")
        return
    dated = [s for s in found if s.time is not None]
    if not dated:
        if found:
            result.savepoint = found[0].path
        return
    newest = max(dated, key=lambda s: s.time)
    result.savepoint = newest.path
    result.savepoint_time = newest.time.isoformat()
    result.savepoint_age_seconds = max(0.0, (now - newest.time).total_seconds())


def _enabled(release: HelmRelease | None, stage: str) -> bool:
    if release is None:
        return False
    for values in (release.config, release.chart_values):
        flag = _get(values, "stages", stage, "enabled")
        if isinstance(flag, bool):
            return flag
    return False


def _state_type(release: HelmRelease | None) -> str:
    if release is None:
        return ""
    for values in (release.config, release.chart_values):
        value = _get(values, "ranking", "state", "type")
        if isinstance(value, str) and value:
            return value
    return ""


def next_step(stages: list[StageStatus], state_type: str, helm_status: str | None) -> str:
    by = {s.stage: s for s in stages}
    failed = [s for s in stages if s.phase == FAILED]
    if failed:
        return f"fix the failed {failed[0].stage} stage (see its problems), then re-run its step"
    if helm_status is None:
        return "install step bootstrap: helm upgrade --install … -f values/<env>.yaml -f values/generated/bootstrap.yaml"
    if helm_status not in ("deployed",):
        return f"the Helm release is {helm_status}: finish or roll back that operation first (helm history)"
    for stage in BATCH_STAGES:
        s = by[stage]
        if s.enabled and s.phase in (PENDING, RUNNING):
            return f"wait for {stage} to finish ({s.detail})"
    order = ["bootstrap", "train"] + (["upload"] if state_type == "redis" else []) + ["api", "update"]
    deployed = [st for st in order if by[st].enabled]
    if by["update"].enabled:
        if by["update"].phase == RUNNING and by["api"].phase == RUNNING:
            return "none: steady state (update job running, api ready); upgrade with plan + upgrade-values"
        return f"wait for the update job and api ({by['update'].detail}; {by['api'].detail})"
    last = max((order.index(st) for st in deployed), default=-1)
    if last + 1 >= len(order):
        return "none"
    step = order[last + 1]
    if order[last] == "api" and by["api"].phase != RUNNING:
        return f"wait for the api ({by['api'].detail})"
    return f"install step {step}: helm upgrade --install … -f values/<env>.yaml -f values/generated/{step}.yaml"


def release_status(
    cluster: Cluster, release: str, namespace: str, now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
) -> ReleaseStatus:
    try:
        helm: HelmRelease | None = deployed_release(cluster, release, namespace)
    except ClusterError as exc:
        if "no Helm release" not in exc.message:
            raise
        helm = None
    at = now()
    stages = [stage_status(cluster, release, namespace, st, _enabled(helm, st), at) for st in STAGES]
    return ReleaseStatus(
        release=release,
        namespace=namespace,
        revision=helm.revision if helm else None,
        helm_status=helm.status if helm else None,
        stages=stages,
        next_step=next_step(stages, _state_type(helm), helm.status if helm else None),
    )


def _age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(seconds)
    if s >= 86400:
        return f"{s // 86400}d{(s % 86400) // 3600}h"
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60}m"
    if s >= 60:
        return f"{s // 60}m{s % 60}s"
    return f"{s}s"


def render_table(status: ReleaseStatus) -> str:
    head = (
        f"release {status.release} in {status.namespace}: "
        + (f"revision {status.revision} ({status.helm_status})" if status.revision else "no Helm release found")
    )
    rows = [("STAGE", "ENABLED", "PHASE", "DETAIL", "SAVEPOINT (AGE)")]
    for s in status.stages:
        sp = f"{s.savepoint} ({_age(s.savepoint_age_seconds)} ago)" if s.savepoint and s.savepoint_age_seconds is not None else (s.savepoint or "")
        rows.append((s.stage, "yes" if s.enabled else "no", s.phase, s.detail, sp))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [head, ""]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.append("")
    for s in status.stages:
        if s.objects:
            lines.append(f"{s.stage}: " + ", ".join(s.objects))
        for p in s.problems:
            lines.append(f"{s.stage}: ! {p}")
    lines.append(f"next: {status.next_step}")
    return "\n".join(lines)


def watch(
    read: Callable[[], ReleaseStatus],
    show: Callable[[ReleaseStatus, int], None],
    interval: float,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReleaseStatus:
    """Refresh until no batch stage is pending/running (or ``timeout``); returns the last status."""
    start = clock()
    rounds = 0
    while True:
        status = read()
        rounds += 1
        show(status, rounds)
        if not status.batch_in_progress:
            return status
        if clock() - start >= timeout:
            raise InvalidInput(
                f"timed out after {timeout:g}s with a batch stage still in progress: {status.next_step}"
            )
        sleep(interval)
