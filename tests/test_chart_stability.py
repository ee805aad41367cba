"""Stability of renders: what must NOT change, and what may change only on purpose.

- two renders of the same release are byte-identical (no random names, timestamps, map order);
- the bootstrap FlinkDeployment and the finished batch Jobs keep an identical spec in every later
  lifecycle step (else the operator re-runs bootstrap, and Helm cannot patch a Job's template);
- each nonce moves only when its own value moves, and moves nothing else;
- no Secret value appears in a ConfigMap, any other non-Secret object, or a generated file.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import ENV_VALUES, SHARED_CONFIGS, require_chart, require_shared
from support.generated import EXAMPLE_CONFIG, STEPS, generate_texts, require_generator
from support.matrix import CASES, HANDWRITTEN, UPDATE_CASES, Case, case_params
from support.render import Manifest, by_kind, component, render, render_texts_uncached


@pytest.fixture(autouse=True, scope="module")
def _chart_exists():
    require_chart()


@pytest.mark.parametrize("case", case_params(UPDATE_CASES))
def test_two_renders_are_byte_identical(case: Case):
    first = render_texts_uncached(case.values_files(), case.overrides)
    second = render_texts_uncached(case.values_files(), case.overrides)
    assert first.keys() == second.keys()
    changed = [t for t in first if first[t] != second[t]]
    assert changed == [], f"templates render differently each time: {changed}"


# --- finished batch stages keep their spec ----------------------------------------------------


def _lifecycle_groups() -> list[list[Case]]:
    """The five steps of one (env, config, redis) release, in order."""
    groups: dict[tuple, list[Case]] = {}
    for case in CASES:
        if case.config != HANDWRITTEN:
            groups.setdefault((case.env, case.config, case.redis), []).append(case)
    return [sorted(g, key=lambda c: STEPS.index(c.step)) for g in groups.values()]


def _batch_objects(objects: list[Manifest]) -> dict[str, Any]:
    """Bootstrap FlinkDeployment (or Job in local mode) and train/upload Jobs, keyed by kind/name."""
    found = {}
    for obj in objects:
        if (obj["kind"] == "FlinkDeployment" and component(obj) == "bootstrap") or (
            obj["kind"] == "Job" and component(obj) in ("bootstrap", "train", "upload")
        ):
            found[f"{obj['kind']}/{obj['metadata']['name']}"] = {
                "labels": obj["metadata"].get("labels"),
                "annotations": obj["metadata"].get("annotations"),
                "spec": obj["spec"],
            }
    return found


LOCAL_BOOTSTRAP = {"stages": {"bootstrap": {"mode": "local"}}}
#: The steady state has no bootstrap: tests of its nonce switch it back on, as a re-bootstrap would.
BOOTSTRAP_ON = {"stages": {"bootstrap": {"enabled": True}}}


@pytest.mark.parametrize("bootstrap_mode", ["flink", "local"])
@pytest.mark.parametrize("group", [pytest.param(g, id=g[0].id.replace("-bootstrap", "")) for g in _lifecycle_groups()])
def test_finished_batch_stages_keep_an_identical_spec_in_later_steps(group: list[Case], bootstrap_mode: str):
    extra = LOCAL_BOOTSTRAP if bootstrap_mode == "local" else {}
    first_seen: dict[str, tuple[str, Any]] = {}
    problems = []
    for case in group:
        objects = render(case.values_files(), _merge(case.overrides, extra))
        for key, obj in _batch_objects(objects).items():
            if key not in first_seen:
                first_seen[key] = (case.step, obj)
            elif obj != first_seen[key][1]:
                problems.append(f"{key} changed between step {first_seen[key][0]} and {case.step}:\n" + _diff(first_seen[key][1], obj))
    expected_kind = "Job" if bootstrap_mode == "local" else "FlinkDeployment"
    bootstrap = [k for k, (_, obj) in first_seen.items() if obj["labels"].get("app.kubernetes.io/component") == "bootstrap"]
    assert [k.split("/")[0] for k in bootstrap] == [expected_kind], f"bootstrap objects: {bootstrap}"
    assert problems == [], "\n".join(problems)


def test_batch_stages_stay_rendered_once_enabled():
    """Steps are cumulative up to api: a batch object rendered in one step is still there in later
    ones. The steady state (update) keeps none: the finished bootstrap, train and upload leave the
    release so no later upgrade can re-run them (docs/engine-0.4.1.md E22)."""
    problems = []
    for group in _lifecycle_groups():
        seen: set[str] = set()
        for case in group:
            present = set(_batch_objects(case.objects()))
            expected = seen if case.step != "update" else set()
            if expected - present:
                problems.append(f"{case.id}: {sorted(expected - present)} disappeared")
            if case.step == "update" and present:
                problems.append(f"{case.id}: batch stages still in the steady state: {sorted(present)}")
            seen |= present
    assert problems == [], "\n".join(problems)


def test_local_bootstrap_rerun_nonce_starts_a_new_job_and_moves_nothing_else():
    """In local mode the nonce is part of the Job's pod template, so a bump makes a new Job."""
    case = _nonce_case()
    base = render(case.values_files(), _merge(_merge(case.overrides, BOOTSTRAP_ON), LOCAL_BOOTSTRAP))
    bumped = render(case.values_files(), _merge(_merge(case.overrides, BOOTSTRAP_ON), {"stages": {"bootstrap": {"mode": "local", "rerunNonce": 2}}}))
    jobs = lambda objs: [o for o in objs if o["kind"] == "Job" and component(o) == "bootstrap"]  # noqa: E731
    assert len(jobs(base)) == len(jobs(bumped)) == 1
    assert jobs(base)[0]["metadata"]["name"] != jobs(bumped)[0]["metadata"]["name"], "same Job name: no re-run"
    others = lambda objs: [o for o in objs if not (o["kind"] == "Job" and component(o) == "bootstrap")]  # noqa: E731
    assert others(base) == others(bumped), "the bootstrap rerun nonce moved other objects"


def test_changing_the_upload_deadline_keeps_the_upload_job_name_and_template():
    """activeDeadlineSeconds is mutable on a Job: a new limit patches the Job in place (helm
    upgrade) instead of naming a new Job, which would re-run a finished upload."""
    case = next(c for c in CASES if c.id == "prod-example-upload-redis_off")
    uploads = lambda objs: [o for o in objs if o["kind"] == "Job" and component(o) == "upload"]  # noqa: E731
    base = uploads(render(case.values_files(), case.overrides))
    longer = uploads(render(case.values_files(), _merge(case.overrides, {"stages": {"upload": {"activeDeadlineSeconds": 7200}}})))
    unlimited = uploads(render(case.values_files(), _merge(case.overrides, {"stages": {"upload": {"activeDeadlineSeconds": None}}})))
    assert len(base) == len(longer) == len(unlimited) == 1
    assert base[0]["spec"]["activeDeadlineSeconds"] == 3600 and longer[0]["spec"]["activeDeadlineSeconds"] == 7200
    assert "activeDeadlineSeconds" not in unlimited[0]["spec"]
    assert {o["metadata"]["name"] for o in base + longer + unlimited} == {base[0]["metadata"]["name"]}
    assert base[0]["spec"]["template"] == longer[0]["spec"]["template"] == unlimited[0]["spec"]["template"]


# --- nonces -----------------------------------------------------------------------------------

# (values override, component, object path that must move, its value after the bump)
NONCES = {
    "bootstrap.rerunNonce": ({"stages": {"bootstrap": {"rerunNonce": 4}}}, "bootstrap", ("spec", "restartNonce"), 4),
    "update.restartNonce": ({"stages": {"update": {"restartNonce": 5}}}, "update", ("spec", "restartNonce"), 5),
    "update.savepointRedeployNonce": (
        {"stages": {"update": {"savepointRedeployNonce": 6}}},
        "update",
        ("spec", "job", "savepointRedeployNonce"),
        6,
    ),
    "update.savepointTriggerNonce": (
        {"stages": {"update": {"savepointTriggerNonce": 7}}},
        "update",
        ("spec", "job", "savepointTriggerNonce"),
        7,
    ),
}
UNRENDERED_WHEN_ZERO = ("update.restartNonce", "update.savepointRedeployNonce", "update.savepointTriggerNonce")


def _nonce_case() -> Case:
    return next(c for c in UPDATE_CASES if c.env == "prod" and not c.redis)


@pytest.mark.parametrize("nonce", sorted(NONCES))
def test_a_nonce_moves_only_its_own_field(nonce: str):
    override, stage, path, bumped_value = NONCES[nonce]
    case = _nonce_case()
    overrides = _merge(case.overrides, BOOTSTRAP_ON)
    base = _flatten_all(render(case.values_files(), overrides))
    bumped = _flatten_all(render(case.values_files(), _merge(overrides, override)))
    fd_key = next(k for k in bumped if k[0] == "FlinkDeployment" and k[2] == stage and k[3] == path)
    assert bumped[fd_key] == bumped_value
    if nonce in UNRENDERED_WHEN_ZERO:
        assert fd_key not in base, f"{nonce} rendered while 0: {base.get(fd_key)!r}"
    else:
        assert base.get(fd_key) in (None, 0), base.get(fd_key)
    moved = sorted(k for k in base.keys() | bumped.keys() if base.get(k) != bumped.get(k))
    assert moved == [fd_key], f"bumping {nonce} moved {moved}"


def test_nonces_stay_put_when_other_values_move():
    """Changing parallelism, the savepoint interval and the config text moves no nonce."""
    case = _nonce_case()
    base = _flatten_all(render(case.values_files(), case.overrides))
    other = _merge(
        case.overrides,
        {
            "ranking": {"parallelism": {"update": 7, "bootstrap": 5}},
            "stages": {"update": {"savepoints": {"interval": "3h"}}},
        },
    )
    changed = _flatten_all(render(case.values_files(), other))
    nonce_fields = {path[-1] for _, _, path, _ in NONCES.values()}
    moved = sorted(k for k in base.keys() | changed.keys() if k[3][-1] in nonce_fields and base.get(k) != changed.get(k))
    assert moved == [], f"nonces moved without their values: {moved}"
    assert base != changed, "the other values had no effect at all: the test proves nothing"


# --- secrets ----------------------------------------------------------------------------------

SECRET_VALUES = {
    "s3": {
        "auth": {
            "mode": "secret",
            "accessKeyId": "AKIAXQSECRETKEYID7781",
            "secretAccessKey": "sEcReT/acc3ss+Key=zz991",
        }
    },
}


def test_no_secret_value_leaks_into_non_secret_objects():
    case = _nonce_case()
    objects = render(case.values_files(), _merge(case.overrides, SECRET_VALUES))
    secrets = by_kind(objects, "Secret")
    values = {v for s in secrets for v in _secret_values(s) if len(v) >= 8}
    for planted in SECRET_VALUES["s3"]["auth"].values():
        if planted != "secret":
            assert planted in values, f"{planted!r} is in no Secret: the chart dropped the credentials"
    leaks = []
    for obj in objects:
        if obj["kind"] == "Secret":
            continue
        text = json.dumps(obj, sort_keys=True)
        leaks += [f"{obj.ref} contains a Secret value" for v in values if v in text or _b64(v) in text]
    assert leaks == [], "\n".join(leaks)


@pytest.mark.parametrize("env, config", [("prod", EXAMPLE_CONFIG), ("dev", SHARED_CONFIGS["ranklens"])], ids=["prod-example", "dev-ranklens"])
def test_generated_files_carry_no_operator_secret(env: str, config: Path, tmp_path: Path):
    """``gen --env-file`` reads the env file; its credentials must not reach the values it writes."""
    require_generator()
    values = yaml.safe_load(ENV_VALUES[env].read_text(encoding="utf-8")) or {}
    env_file = tmp_path / f"{env}.yaml"  # the env name is the file stem
    env_file.write_text(yaml.safe_dump(_merge(values, SECRET_VALUES)), encoding="utf-8")
    texts = generate_texts(require_shared(config), env_file)
    planted = [v for v in SECRET_VALUES["s3"]["auth"].values() if v != "secret"]
    leaks = [f"{name} contains {v!r}" for name, text in texts.items() for v in planted if v in text or _b64(v) in text]
    assert leaks == [], "\n".join(leaks)


# --- helpers ----------------------------------------------------------------------------------


def _secret_values(secret: dict[str, Any]) -> list[str]:
    out = [str(v) for v in (secret.get("stringData") or {}).values()]
    for v in (secret.get("data") or {}).values():
        out.append(base64.b64decode(v).decode("utf-8", "replace"))
    return out


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def _flatten_all(objects: list[Manifest]) -> dict[tuple, Any]:
    """``{(kind, name, component, path): leaf}`` over every object, for precise diffs."""
    flat = {}
    for obj in objects:
        for path, leaf in _leaves(obj, ()):
            flat[(obj["kind"], obj["metadata"]["name"], component(obj), path)] = leaf
    return flat


def _leaves(node: Any, path: tuple) -> list[tuple[tuple, Any]]:
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _leaves(v, (*path, k))] or [(path, {})]
    if isinstance(node, list):
        return [leaf for i, v in enumerate(node) for leaf in _leaves(v, (*path, i))] or [(path, [])]
    return [(path, node)]


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    from ranker_values.values.files import deep_merge

    return deep_merge(base, override)


def _diff(a: Any, b: Any) -> str:
    left, right = dict(_leaves(a, ())), dict(_leaves(b, ()))
    lines = [f"  {'.'.join(map(str, k))}: {left.get(k)!r} -> {right.get(k)!r}" for k in sorted(left.keys() | right.keys(), key=str) if left.get(k) != right.get(k)]
    return "\n".join(lines[:20])
