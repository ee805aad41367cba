"""``ranker-values plan OLD NEW``: render both with the Helm SDK and say, per Flink job, what the
operator will do with the change (rules in :mod:`ranker_values.kube.operator_rules`), plus what happens
to the plain Kubernetes objects (a Job whose spec changed is recreated under a new name, so it
runs again).

Exit codes: 0 nothing dangerous (or every danger listed in ``--intended``), 1 a dangerous change
not declared intended (or invalid input), 2 usage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ranker_values.errors import InvalidInput, UsageError
from ranker_values.kube.operator_rules import DiffType, SpecDiff, diff_spec, effective_upgrade_mode, flatten_config
from ranker_values.values.files import deep_merge, merge_values_files, read_values_file

DANGERS: dict[str, str] = {
    "redeploy": "savepoint redeploy: the update job's running state is discarded",
    "stateless-upgrade": "stateless upgrade: the update job restarts from empty state",
    "delete": "the update FlinkDeployment is deleted: the streaming job is cancelled",
    "bootstrap-rerun": "the finished bootstrap runs again",
    "upload-rerun": "the upload Job runs again: Redis feature values are overwritten with the bootstrap's",
    "model-retrain": "the api would serve a model file trained on other features: the model must be retrained "
    "(run the train step with this config) before the api gets it",
}
BATCH_COMPONENTS = ("bootstrap",)
LABEL_COMPONENT = "app.kubernetes.io/component"
_JOB_HASH = re.compile(r"-[0-9a-f]{8}$")


@dataclass
class Verdict:
    ref: str  # "FlinkDeployment/ranker-update (update)"
    action: str  # unchanged | ignored | scale | upgrade | redeploy | rerun | deploy | delete | recreate | suspend | resume | change
    summary: str
    diff: SpecDiff | None = None
    warnings: list[str] = field(default_factory=list)
    danger: str | None = None  # a key of DANGERS


@dataclass
class Plan:
    flink: list[Verdict]
    other: list[Verdict]

    @property
    def dangers(self) -> list[str]:
        return sorted({v.danger for v in self.flink + self.other if v.danger})

    def undeclared(self, intended: set[str]) -> list[str]:
        return [d for d in self.dangers if d not in intended]


# --- rendering ------------------------------------------------------------------------------


def layered_values(base: list[Path], top: Path, extra: list[Path] | None = None) -> dict[str, Any]:
    return deep_merge(deep_merge(merge_values_files(base), read_values_file(top)), merge_values_files(extra or []))


def render_objects(chart: Path, values: dict[str, Any], release: str, namespace: str, label: str) -> list[dict]:
    """Every object the chart renders (helm test hooks excluded); a fresh chart handle each time."""
    from ranker_values.kube.render import is_test_hook, parse_manifests, render_texts

    try:
        texts = render_texts(values, chart, release, namespace)
    except InvalidInput as exc:
        raise InvalidInput(f"rendering {label}: {exc.message}") from exc
    return [dict(obj) for obj in parse_manifests(texts) if not is_test_hook(obj)]


# --- pairing and classification -------------------------------------------------------------


def _component(obj: dict) -> str:
    return str(((obj.get("metadata") or {}).get("labels") or {}).get(LABEL_COMPONENT, ""))


def _name(obj: dict) -> str:
    return str((obj.get("metadata") or {}).get("name", "?"))


def _pair_key(obj: dict) -> tuple[str, str, str]:
    kind = str(obj.get("kind"))
    if kind == "FlinkDeployment":
        return (kind, _component(obj), "")
    if kind == "Job":  # the chart names Jobs <name>-<spec hash>: same Job, new hash = recreated
        return (kind, _component(obj), _JOB_HASH.sub("", _name(obj)))
    return (kind, "", _name(obj))


def _by_key(objects: list[dict]) -> dict[tuple[str, str, str], dict]:
    out: dict[tuple[str, str, str], dict] = {}
    for obj in objects:
        key = _pair_key(obj)
        if key in out:
            raise InvalidInput(f"the chart rendered two {key[0]} objects for component {key[1] or key[2]!r}: cannot pair them")
        out[key] = obj
    return out


def make_plan(old_objects: list[dict], new_objects: list[dict]) -> Plan:
    old, new = _by_key(old_objects), _by_key(new_objects)
    flink, other = [], []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if key[0] == "FlinkDeployment":
            flink.append(classify_flink(key[1], before, after))
        elif key[0] == "Job":
            other.append(classify_job(key[1], before, after))
        else:
            verdict = classify_other(before, after)
            if verdict is not None:
                other.append(verdict)
    _warn_config_not_picked_up(old, new, flink)
    other.extend(stale_models(old_objects, new_objects))
    return Plan(flink, other)


def _ref(obj: dict, component: str) -> str:
    return f"{obj.get('kind')}/{_name(obj)} ({component})" if component else f"{obj.get('kind')}/{_name(obj)}"


def classify_flink(component: str, old: dict | None, new: dict | None) -> Verdict:
    ref = _ref(new or old or {}, component)
    batch = component in BATCH_COMPONENTS
    if old is None:
        if batch:
            return Verdict(ref, "deploy", "new: the bootstrap runs")
        start = ((new or {}).get("spec", {}).get("job") or {}).get("initialSavepointPath") or ""
        verdict = Verdict(ref, "deploy", f"new: first start, from initialSavepointPath {start!r}")
        if not start:
            verdict.warnings.append("no initialSavepointPath: the job starts from empty state")
        return verdict
    if new is None:
        if batch:
            return Verdict(ref, "delete", "deleted: the finished bootstrap's cluster is removed (adding it back later runs it again)")
        conf = flatten_config((old.get("spec") or {}).get("flinkConfiguration"))
        on_delete = conf.get("kubernetes.operator.job.savepoint-on-deletion", "false")
        how = "a savepoint is taken first (savepoint-on-deletion)" if on_delete == "true" else "NO savepoint is taken (savepoint-on-deletion is off)"
        return Verdict(ref, "delete", f"deleted: the job is cancelled; {how}", danger="delete")
    diff = diff_spec(old.get("spec") or {}, new.get("spec") or {})
    verdict = _batch_verdict(ref, diff) if batch else _streaming_verdict(ref, diff, new.get("spec") or {})
    verdict.diff = diff
    return verdict


def _batch_verdict(ref: str, diff: SpecDiff) -> Verdict:
    if not diff.changes:
        return Verdict(ref, "unchanged", "unchanged")
    if diff.type == DiffType.IGNORE:
        return Verdict(ref, "ignored", "ignored by the operator (only fields it does not act on changed)")
    return Verdict(
        ref, "rerun",
        "RE-RUN of the finished bootstrap: the operator redeploys a FINISHED job on any spec change, "
        "and a batch job has no savepoint, so it runs again from the start",
        danger="bootstrap-rerun",
    )


def _streaming_verdict(ref: str, diff: SpecDiff, new_spec: dict) -> Verdict:
    if not diff.changes:
        return Verdict(ref, "unchanged", "unchanged")
    kind = diff.type
    if kind == DiffType.SAVEPOINT_REDEPLOY:
        start = (new_spec.get("job") or {}).get("initialSavepointPath") or "(none)"
        verdict = Verdict(ref, "redeploy", f"SAVEPOINT REDEPLOY from {start}: the running state is discarded", danger="redeploy")
        if not diff.changed("job.initialSavepointPath"):
            verdict.warnings.append(f"initialSavepointPath did not change: the job goes back to {start}")
        return verdict
    if kind == DiffType.UPGRADE:
        return _upgrade_verdict(ref, diff, new_spec)
    if kind == DiffType.SCALE:
        return Verdict(ref, "scale", "scale: rescaled in place when the job supports it (else the operator upgrades with a savepoint)")
    verdict = Verdict(ref, "ignored", "ignored by the operator: " + ", ".join(c.path for c in diff.changes))
    trigger = diff.changed("job.savepointTriggerNonce")
    if trigger and trigger.new is not None:
        verdict.summary += "; the new savepointTriggerNonce triggers a manual savepoint"
    if diff.changed("job.initialSavepointPath"):
        verdict.warnings.append(
            "initialSavepointPath changed alone: this does nothing to a running job (it is read only on the "
            "first deployment or with a savepointRedeployNonce bump; see upgrade-values --reseed)"
        )
    return verdict


def _upgrade_verdict(ref: str, diff: SpecDiff, new_spec: dict) -> Verdict:
    state = diff.changed("job.state")
    if state and state.new == "suspended":
        return Verdict(ref, "suspend", f"suspend: the job stops ({effective_upgrade_mode(new_spec)} mode)")
    if state and state.old == "suspended":
        return Verdict(ref, "resume", "resume: the job starts again from its suspend savepoint/checkpoint")
    mode = effective_upgrade_mode(new_spec)
    fields = ", ".join(c.path for c in diff.of_type(DiffType.UPGRADE)[:6])
    if mode == "stateless":
        return Verdict(ref, "upgrade", f"STATELESS upgrade ({fields}): the job restarts from empty state", danger="stateless-upgrade")
    how = "stop-with-savepoint, then start from it" if mode == "savepoint" else "from the latest checkpoint (last-state, HA metadata)"
    return Verdict(ref, "upgrade", f"upgrade via {how}: {fields}")


def classify_job(component: str, old: dict | None, new: dict | None) -> Verdict:
    ref = _ref(new or old or {}, component)
    if old is None:
        return Verdict(ref, "deploy", "new Job: runs")
    if new is None:
        return Verdict(ref, "delete", "deleted (a finished Job's record is removed; adding it back runs it again)")
    if _name(old) == _name(new) and old.get("spec") == new.get("spec"):
        return Verdict(ref, "unchanged", "unchanged")
    danger = {"bootstrap": "bootstrap-rerun", "upload": "upload-rerun"}.get(component)
    what = {"train": "the model is trained again and its file rewritten"}.get(component, "it runs again")
    return Verdict(ref, "recreate", f"spec changed: Job/{_name(old)} is replaced by Job/{_name(new)}, so {what}", danger=danger)


def classify_other(old: dict | None, new: dict | None) -> Verdict | None:
    obj = new or old or {}
    ref = _ref(obj, _component(obj))
    if old is None:
        return Verdict(ref, "deploy", "new")
    if new is None:
        return Verdict(ref, "delete", "deleted")
    if old == new:
        return None
    return Verdict(ref, "change", "changed")


# --- models the api would serve with a feature list they were not trained on -----------------

TRAINED_TYPES = ("lambdamart",)


def stale_models(old_objects: list[dict], new_objects: list[dict]) -> list[Verdict]:
    """A lambdamart model's file holds one column per feature, in the order the model lists them,
    each computed as its feature is defined. When NEW changes that (a feature added, removed,
    reordered or redefined), or adds the model, and NEW runs no train (or tune) Job for it while
    the api serves, the api loads the old file with the new feature list."""
    old_config, new_config = _ranking_config(old_objects), _ranking_config(new_objects)
    if old_config is None or new_config is None:
        return []  # first install, or a render without the config: nothing was trained before
    if not any(o.get("kind") == "Deployment" and _component(o) == "api" for o in new_objects):
        return []  # nothing serves the models in NEW
    trained = _models_trained_by(new_objects)
    old_models, new_models = _dict(old_config.get("models")), _dict(new_config.get("models"))
    verdicts = []
    for name, model in new_models.items():
        if _dict(model).get("type") not in TRAINED_TYPES or name in trained:
            continue
        before = old_models.get(name)
        if not isinstance(before, dict) or before.get("type") not in TRAINED_TYPES:
            why = "is new (or newly lambdamart): no model file was trained for this config"
        else:
            why = _feature_change(_columns(before, old_config), _columns(model, new_config))
            if why is None:
                continue
        verdicts.append(Verdict(
            f"model {name!r} (api)", "stale",
            f"{why}, and no train Job runs for it in NEW: the api would serve the file trained for the old list",
            danger="model-retrain",
        ))
    return verdicts


def _ranking_config(objects: list[dict]) -> dict | None:
    """The ranking config of a render: the data of the chart's config ConfigMap, keys as written
    (what the engine reads)."""
    from ranker_values.config.loader import parse_text

    for obj in objects:
        if obj.get("kind") == "ConfigMap" and _component(obj) == "config":
            text = (obj.get("data") or {}).get("config.yml")
            if isinstance(text, str):
                data = parse_text(text, "ConfigMap config.yml").data
                return data if isinstance(data, dict) else None
    return None


def _models_trained_by(objects: list[dict]) -> set[str]:
    """Model names the train Jobs (last argument) and tune Jobs (``--model NAME``) of a render train."""
    names = set()
    for obj in objects:
        if obj.get("kind") != "Job" or _component(obj) not in ("train", "tune"):
            continue
        for container in (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []:
            args = [str(a) for a in container.get("args") or []]
            if _component(obj) == "train" and args:
                names.add(args[-1])
            names.update(args[i + 1] for i, a in enumerate(args[:-1]) if a == "--model")
    return names


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _columns(model: dict, config: dict) -> list[tuple[str, str]]:
    """(feature name, its definition as JSON) per column of the model, in column order."""
    import json

    definitions = {f.get("name"): f for f in config.get("features") or [] if isinstance(f, dict)}
    return [
        (str(name), json.dumps(definitions.get(name), sort_keys=True, default=str))
        for name in model.get("features") or []
    ]


def _feature_change(before: list[tuple[str, str]], after: list[tuple[str, str]]) -> str | None:
    old_names, new_names = [n for n, _ in before], [n for n, _ in after]
    added = [n for n in new_names if n not in old_names]
    removed = [n for n in old_names if n not in new_names]
    if added or removed:
        parts = ([f"features added: {', '.join(added)}"] if added else []) + (
            [f"features removed: {', '.join(removed)}"] if removed else [])
        return "; ".join(parts)
    if old_names != new_names:
        return "its features are listed in another order (the model's columns follow the list)"
    redefined = [n for (n, a), (_, b) in zip(before, after) if a != b]
    if redefined:
        return f"features redefined: {', '.join(redefined)}"
    return None


def _warn_config_not_picked_up(old: dict, new: dict, flink: list[Verdict]) -> None:
    """The ranking config lives in a ConfigMap; the operator only reacts to the FlinkDeployment spec."""
    changed_maps = [k[2] for k in new if k[0] == "ConfigMap" and k in old and old[k] != new[k]]
    if not changed_maps:
        return
    for verdict in flink:
        if verdict.action in ("unchanged", "ignored"):
            verdict.warnings.append(
                f"ConfigMap {', '.join(changed_maps)} changed but this spec did not: the operator does not "
                "restart the job, which keeps the config it started with"
            )


# --- report -------------------------------------------------------------------------------


def render_report(plan: Plan, intended: set[str]) -> str:
    lines = ["Flink jobs (what the operator will do):"]
    for v in plan.flink:
        lines.append(f"  {v.ref}: {v.summary}")
        if v.diff is not None:
            for change in v.diff.changes[:12]:
                lines.append(f"      {change.type.name:<18} {change.path}: {_short(change.old)} -> {_short(change.new)}")
            if len(v.diff.changes) > 12:
                lines.append(f"      ... {len(v.diff.changes) - 12} more")
        lines.extend(f"      warning: {w}" for w in v.warnings)
    shown = [v for v in plan.other if v.action != "unchanged"]
    if shown:
        lines.append("Other objects:")
        lines.extend(f"  {v.ref}: {v.summary}" for v in shown)
    dangers = plan.dangers
    if not dangers:
        lines.append("Safe: no state is discarded and nothing finished runs again.")
    for d in dangers:
        mark = "intended" if d in intended else "NOT DECLARED"
        lines.append(f"DANGER [{d}] ({mark}): {DANGERS[d]}")
    missing = plan.undeclared(intended)
    if missing:
        lines.append(f"Refusing (exit 1): pass --intended {','.join(missing)} if this is what you want.")
    return "\n".join(lines)


def plan_json(plan: Plan | None, intended: set[str]) -> dict[str, Any]:
    """The plan's keys of ``plan --format json`` (README, CLI output); empty for no plan (a failure)."""
    if plan is None:
        return {"jobs": [], "objects": [], "dangers": [], "undeclared": []}
    return {
        "jobs": [_verdict_json(v) for v in plan.flink],
        "objects": [_verdict_json(v) for v in plan.other if v.action != "unchanged"],
        "dangers": [{"name": d, "description": DANGERS[d], "intended": d in intended} for d in plan.dangers],
        "undeclared": plan.undeclared(intended),
    }


def _verdict_json(v: Verdict) -> dict[str, Any]:
    changes = v.diff.changes if v.diff is not None else []
    return {
        "ref": v.ref,
        "action": v.action,
        "summary": v.summary,
        "danger": v.danger,
        "warnings": list(v.warnings),
        "changes": [{"type": c.type.name, "path": c.path, "old": c.old, "new": c.new} for c in changes],
    }


def _short(value: Any) -> str:
    text = "(absent)" if value is None else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def parse_intended(text: str | None) -> set[str]:
    names = {n.strip() for n in (text or "").split(",") if n.strip()}
    unknown = sorted(names - set(DANGERS))
    if unknown:
        raise UsageError(f"--intended: unknown {', '.join(unknown)} (known: {', '.join(DANGERS)})")
    return names


def plan_files(
    old: Path, new: Path, base: list[Path], chart: Path, release: str, namespace: str, add: list[Path] | None = None
) -> Plan:
    old_values = layered_values(base, old)  # every input read (and refused) before any render
    new_values = layered_values(base, new, add)
    old_objects = render_objects(chart, old_values, release, namespace, f"OLD ({old})")
    new_objects = render_objects(chart, new_values, release, namespace, f"NEW ({new})")
    return make_plan(old_objects, new_objects)


# --- the deployed release as OLD (Helm's release record in the cluster) -----------------------


def deployed_objects(manifest: str, label: str) -> list[dict]:
    """The objects of a release's stored manifest (what Helm applied; hooks are stored apart)."""
    from ranker_values.kube.render import is_test_hook, parse_manifests

    try:
        return [dict(obj) for obj in parse_manifests({"manifest.yaml": manifest}) if not is_test_hook(obj)]
    except InvalidInput as exc:
        raise InvalidInput(f"{label}: {exc.message}") from exc


def plan_deployed(
    cluster: Any, new: Path, base: list[Path], chart: Path, release: str, namespace: str, add: list[Path] | None = None
) -> tuple[Plan, str]:
    """Plan NEW against what the release has deployed now: the manifest of its current revision,
    read from Helm's release Secret, so the user's old values file is not needed.
    Returns the plan and a one-line description of the revision it compared against."""
    from ranker_values.kube.cluster import deployed_release

    rel = deployed_release(cluster, release, namespace)
    label = f"release {release} revision {rel.revision} ({rel.status}, chart {rel.chart_version})"
    old_objects = deployed_objects(rel.manifest, label)
    new_objects = render_objects(chart, layered_values(base, new, add), release, namespace, f"NEW ({new})")
    return make_plan(old_objects, new_objects), label
