"""``ranker-values upgrade-values``: the one values file for an upgrade of the update job.

Two paths (README "Upgrading"):

- **normal** (new image or config): the operator itself stops the job with a savepoint and starts
  the new spec from it (``upgradeMode: savepoint``/``last-state``). The file only *pins* what must
  not move: every nonce (a changed ``savepointRedeployNonce`` discards state, a changed
  ``rerunNonce`` re-runs the bootstrap), ``initialSavepointPath`` and ``stages.update.enabled``.
- **re-seed** (a new bootstrap): ``initialSavepointPath`` = a savepoint verified complete on S3
  and ``savepointRedeployNonce`` = current + 1. The operator then redeploys from that savepoint
  and the running state is discarded, so it needs ``--yes`` or a typed confirmation.

Either way the result must not start the update job from empty state unless
``--allow-empty-state`` says so.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from ranker_values import __version__
from ranker_values.kube.cluster import Cluster, Obj
from ranker_values.errors import InvalidInput
from ranker_values.ops.inputs import ValuesInput
from ranker_values.ops.s3 import is_s3_uri
from ranker_values.values.files import dig
from ranker_values.ops.savepoint import (
    mapping_field,
    nonce_field,
    string_field,
    find_stage_deployment,
    status_savepoints,
    verify_complete,
)

REDEPLOY = "stages.update.savepointRedeployNonce"
RESTART = "stages.update.restartNonce"
TRIGGER = "stages.update.savepointTriggerNonce"
RERUN = "stages.bootstrap.rerunNonce"
INITIAL = "stages.update.initialSavepointPath"
BOOTSTRAP_SAVEPOINT = "ranking.paths.savepoint"


@dataclass
class Current:
    """What is deployed now: the values files, corrected by the live objects when we have them."""

    redeploy: int
    restart: int
    trigger: int
    rerun: int
    initial_savepoint: str  # "" = the bootstrap savepoint
    bootstrap_savepoint: str
    update_enabled: bool
    live_update: Obj | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def effective_initial_savepoint(self) -> str:
        return self.initial_savepoint or self.bootstrap_savepoint


def read_current(values: ValuesInput, cluster: Cluster | None, release: str | None, namespace: str) -> Current:
    update_enabled = dig(values.merged, "stages.update.enabled", True)
    if update_enabled is None:
        update_enabled = True
    if not isinstance(update_enabled, bool):
        raise InvalidInput(f"{values.where('stages.update.enabled')}: must be true or false, got {update_enabled!r}")
    current = Current(
        redeploy=values.nonce(REDEPLOY),
        restart=values.nonce(RESTART),
        trigger=values.nonce(TRIGGER),
        rerun=values.nonce(RERUN),
        initial_savepoint=values.string(INITIAL),
        bootstrap_savepoint=values.string(BOOTSTRAP_SAVEPOINT),
        update_enabled=update_enabled,
    )
    if cluster is not None and release:
        _apply_live(current, cluster, release, namespace)
    return current


def _apply_live(current: Current, cluster: Cluster, release: str, namespace: str) -> None:
    """The live spec is what the operator compares against: it wins over stale values files."""
    update = find_stage_deployment(cluster, release, namespace, "update")
    if update is not None:
        current.live_update = update
        spec = mapping_field(update, "spec", update)
        job = mapping_field(spec, "job", update, "spec.job")
        _adopt(current, "redeploy", nonce_field(job.get("savepointRedeployNonce"), update, "spec.job.savepointRedeployNonce"), REDEPLOY)
        _adopt(current, "restart", nonce_field(spec.get("restartNonce"), update, "spec.restartNonce"), RESTART)
        _adopt(current, "trigger", nonce_field(job.get("savepointTriggerNonce"), update, "spec.job.savepointTriggerNonce"), TRIGGER)
        live_initial = string_field(job, "initialSavepointPath", update, "spec.job.initialSavepointPath")
        if live_initial and live_initial != current.effective_initial_savepoint:
            current.notes.append(f"{INITIAL}: the values give {current.effective_initial_savepoint!r}, the cluster has {live_initial!r}: pinning the cluster's")
            current.initial_savepoint = live_initial
    else:
        current.notes.append(f"release {release!r} has no update FlinkDeployment in {namespace!r} yet: this is its first deployment")
    bootstrap = find_stage_deployment(cluster, release, namespace, "bootstrap")
    if bootstrap is not None:
        spec = mapping_field(bootstrap, "spec", bootstrap)
        _adopt(current, "rerun", nonce_field(spec.get("restartNonce"), bootstrap, "spec.restartNonce"), RERUN)


def _adopt(current: Current, attr: str, live: int, dotted: str) -> None:
    mine = getattr(current, attr)
    if live != mine:
        current.notes.append(f"{dotted}: the values give {mine}, the cluster runs {live}: using {live}")
        setattr(current, attr, live)


# --- where would the update job start from? ------------------------------------------------


@dataclass
class StartPoint:
    description: str
    empty: bool


def normal_start_point(current: Current, s3_client: Any | None) -> StartPoint:
    live = current.live_update
    if not current.update_enabled:
        return StartPoint("stages.update.enabled is false: no update job is deployed", empty=False)
    if live is not None:
        spec = mapping_field(live, "spec", live)
        job = mapping_field(spec, "job", live, "spec.job")
        mode = string_field(job, "upgradeMode", live, "spec.job.upgradeMode") or "stateless"
        if mode == "stateless":
            return StartPoint("the live update job has upgradeMode stateless: an upgrade restarts it empty", empty=True)
        status = mapping_field(live, "status", live)
        state = string_field(mapping_field(status, "jobStatus", live, "status.jobStatus"), "state", live, "status.jobStatus.state")
        if state in ("RUNNING", "CREATED", "RESTARTING", "INITIALIZING", "RECONCILING"):
            return StartPoint(f"the operator's upgrade savepoint ({mode} upgrade of the {state} job)", empty=False)
        known = status_savepoints(live)
        if known:
            return StartPoint(f"the last savepoint the operator recorded ({known[0].path}); the job is {state or 'not reported'}", empty=False)
        return StartPoint(f"nothing: the job is {state or 'not reported'} and the operator recorded no savepoint", empty=True)
    path = current.effective_initial_savepoint
    if not path:
        return StartPoint("nothing: neither initialSavepointPath nor ranking.paths.savepoint is set", empty=True)
    if s3_client is None:
        return StartPoint(f"{path} (not verified: no S3 access)", empty=False)
    if not is_s3_uri(path):  # a shared volume path (sharedVolume.mountPath): only the pods see it
        return StartPoint(f"{path} (not verified: not on S3)", empty=False)
    try:
        when = verify_complete(s3_client, path)
    except InvalidInput as exc:
        if "not a complete savepoint" in exc.message:
            return StartPoint(f"nothing: {exc.message}", empty=True)
        raise
    return StartPoint(f"{path} (complete, _metadata written {when:%Y-%m-%d %H:%M:%S} UTC)", empty=False)


# --- the values file ---------------------------------------------------------------------


@dataclass
class UpgradeValues:
    mode: str  # "normal" | "reseed"
    values: dict[str, Any]
    start: StartPoint
    notes: list[str]


def normal_upgrade(current: Current, s3_client: Any | None, allow_empty_state: bool) -> UpgradeValues:
    start = normal_start_point(current, s3_client)
    _refuse_empty(start, allow_empty_state)
    values = _pins(current, initial=current.initial_savepoint, redeploy=current.redeploy)
    return UpgradeValues("normal", values, start, list(current.notes))


def reseed(current: Current, s3_client: Any | None, savepoint: str | None, allow_empty_state: bool) -> UpgradeValues:
    path = savepoint or current.bootstrap_savepoint
    if not path:
        raise InvalidInput("no savepoint to re-seed from: pass --savepoint or set ranking.paths.savepoint in the values")
    if s3_client is None:
        raise InvalidInput("a re-seed needs S3 access to verify the savepoint is complete")
    try:
        when = verify_complete(s3_client, path)
        start = StartPoint(f"{path} (complete, _metadata written {when:%Y-%m-%d %H:%M:%S} UTC)", empty=False)
    except InvalidInput as exc:
        if "not a complete savepoint" not in exc.message:
            raise
        start = StartPoint(f"nothing: {exc.message}", empty=True)
    _refuse_empty(start, allow_empty_state)
    values = _pins(current, initial=path, redeploy=current.redeploy + 1)
    return UpgradeValues("reseed", values, start, list(current.notes))


def _refuse_empty(start: StartPoint, allow: bool) -> None:
    if start.empty and not allow:
        raise InvalidInput(
            f"refusing: the update job would start from empty state ({start.description}); "
            "pass --allow-empty-state if that is really intended"
        )


def _pins(current: Current, *, initial: str, redeploy: int) -> dict[str, Any]:
    update: dict[str, Any] = {
        "enabled": current.update_enabled,
        "initialSavepointPath": initial,
        "savepointRedeployNonce": redeploy,
        "restartNonce": current.restart,
        "savepointTriggerNonce": current.trigger,
    }
    return {"stages": {"bootstrap": {"rerunNonce": current.rerun}, "update": update}}


def render_file(result: UpgradeValues, sources: list[str], now: datetime | None = None) -> str:
    import yaml

    now = now or datetime.now(timezone.utc)
    what = {
        "normal": "normal upgrade: the operator takes the savepoint itself; this file pins what must not move",
        "reseed": "RE-SEED: savepoint redeploy from initialSavepointPath; the running state is DISCARDED",
    }[result.mode]
    header = [
        f"# Generated by ranker-values {__version__} upgrade-values at {now:%Y-%m-%dT%H:%M:%SZ}.",
        f"# {what}.",
        f"# From: {', '.join(sources) or '(no values files)'}",
        f"# The update job will start from: {result.start.description}",
        *[f"# note: {n}" for n in result.notes],
        "# Layer it last: helm upgrade RELEASE charts/ranker -f <env values> -f <generated values> -f THIS_FILE",
        "# Check first: ranker-values plan <current values> <these values>",
    ]
    return "\n".join(header) + "\n" + yaml.safe_dump(result.values, sort_keys=False)


# --- confirmation -----------------------------------------------------------------------------


def confirm_reseed(
    expected: str,
    warning: str,
    *,
    yes: bool,
    is_tty: Callable[[], bool] = lambda: sys.stdin.isatty(),
    ask: Callable[[str], str] = input,
    err: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
) -> None:
    """``--yes``, or the operator types ``expected`` exactly on a terminal; otherwise refuse."""
    banner = "!" * 78
    err(f"{banner}\n{warning}\n{banner}")
    if yes:
        err("--yes given: continuing")
        return
    if not is_tty():
        raise InvalidInput("refusing to re-seed without confirmation: stdin is not a terminal; pass --yes")
    try:
        answer = ask(f"Type {expected!r} to continue: ")
    except EOFError:
        answer = ""
    if answer.strip() != expected:
        raise InvalidInput(f"not confirmed (expected {expected!r}): nothing written")


def reseed_warning(current: Current, release: str | None, result: UpgradeValues) -> str:
    who = f"release {release!r}" if release else "the release"
    return (
        f"RE-SEED of the update job of {who}: the operator will throw away the running state and\n"
        f"restart the job from {result.values['stages']['update']['initialSavepointPath']}\n"
        f"(savepointRedeployNonce {current.redeploy} -> {current.redeploy + 1}). Events processed since that\n"
        "savepoint are not in the new state. This cannot be rolled back."
    )


def write_upgrade_values(out: Path, text: str) -> Path:
    from ranker_values.files.atomic import write_text_atomic

    return write_text_atomic(out, text)
