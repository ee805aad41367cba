"""The chart's unit tests: render every lifecycle step through the Helm SDK and check the objects.

No helm-unittest suites: the plugin cannot be installed here and unrun suites are not shipped.
Matrix: {dev, prod} × {5 generated files × 2 shared configs} × {redis subchart on, off}
(see ``support.matrix``). Every object must validate strictly against Kubernetes 1.29 and
1.34 schemas; custom kinds go to ``test_chart_crd.py``.
"""

from __future__ import annotations

from collections import Counter

import pytest

from support import KUBE_VERSIONS, require_chart
from support.k8s import BUILTIN_KINDS, CUSTOM_KINDS, kind_of, validation_errors
from support.matrix import CASES, UPDATE_CASES, Case, case_params
from support.render import component, lint, render

STAGES = ("bootstrap", "train", "upload", "api", "update")
WORKLOAD_KINDS = {"FlinkDeployment", "Job", "Deployment", "StatefulSet", "Pod", "Service",
                  "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress"}
COMMON_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component")


@pytest.fixture(autouse=True, scope="module")
def _chart_exists():
    require_chart()


# Lint checks chart structure, dependencies and values.schema.json; Helm 4's lint mode only logs
# template `fail` calls, so the renders below are what catch those.
LINT_CASES = [(c, "v1.29.0") for c in CASES] + [(c, "v1.34.0") for c in UPDATE_CASES]


@pytest.mark.parametrize("case, kube", [pytest.param(c, k, id=f"{k}-{c.id}") for c, k in LINT_CASES])
def test_lint_strict_passes(case: Case, kube: str):
    """Strict lint of the chart as shipped is clean (it declares no dependency to download)."""
    findings = lint(case.values_files(), case.overrides, kube_version=kube)
    assert findings == [], "\n".join(findings)


def test_lint_reports_schema_violations():
    """The lint helper can fail: a value of the wrong type is a finding."""
    case = UPDATE_CASES[0]
    findings = lint(case.values_files(), {**case.overrides, "ranking": {"api": {"port": "eighty"}}})
    assert any("/ranking/api/port" in f for f in findings), findings


def _deployment(**container_extra) -> dict:
    labels = {"app.kubernetes.io/name": "ranker"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "ranker-api", "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "api", "image": "metarank/metarank:0.4.1", **container_extra}]},
            },
        },
    }


@pytest.mark.parametrize("kube", KUBE_VERSIONS)
def test_k8s_validator_accepts_a_good_object_and_rejects_bad_ones(kube: str):
    assert validation_errors(_deployment(), kube) == []
    assert any("imagePullPolice" in e for e in validation_errors(_deployment(imagePullPolice="Always"), kube))
    assert any("containerPort" in e or "ports" in e for e in validation_errors(_deployment(ports=[{"containerPort": "8080"}]), kube))
    bad_label = _deployment()
    bad_label["metadata"]["labels"] = {"app.kubernetes.io/name": "x" * 64}
    assert any("label value" in e for e in validation_errors(bad_label, kube))
    bad_name = _deployment()
    bad_name["metadata"]["name"] = "Ranker_API"
    assert any("DNS-1123" in e for e in validation_errors(bad_name, kube))
    removed = {"apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "x"}}
    assert validation_errors(removed, kube), "a removed API must not pass"


@pytest.mark.parametrize("case", case_params(CASES))
def test_every_object_validates_strictly(case: Case):
    objects = case.objects()
    assert objects, f"{case.id}: nothing rendered"
    problems = []
    for obj in objects:
        pair = kind_of(obj)
        if pair in CUSTOM_KINDS:
            continue
        if pair not in BUILTIN_KINDS:
            problems.append(f"{obj.ref}: unexpected kind {pair} (whitelist in support/k8s.py)")
            continue
        for kube in KUBE_VERSIONS:
            problems += [f"{obj.ref} k8s {kube}: {e}" for e in validation_errors(obj, kube)]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("case", case_params(UPDATE_CASES))
def test_local_bootstrap_mode_renders_a_valid_job_instead_of_a_flink_deployment(case: Case):
    objects = render(case.values_files(), {**case.overrides, "stages": {"bootstrap": {"mode": "local", "enabled": True}}})
    bootstrap = [o for o in objects if component(o) == "bootstrap"]
    assert [o["kind"] for o in bootstrap] == ["Job"], [o.ref for o in bootstrap]
    problems = [f"{o.ref} k8s {kube}: {e}" for o in bootstrap for kube in KUBE_VERSIONS for e in validation_errors(o, kube)]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("case", case_params(CASES))
def test_objects_are_unique_labelled_and_in_the_release_namespace(case: Case):
    objects = case.objects()
    problems = []
    counts = Counter((o.get("apiVersion"), o.get("kind"), o["metadata"].get("name")) for o in objects)
    problems += [f"duplicate object {key}" for key, n in counts.items() if n > 1]
    for obj in objects:
        labels = obj["metadata"].get("labels") or {}
        missing = [label for label in COMMON_LABELS if not labels.get(label)]
        if missing:
            problems.append(f"{obj.ref}: missing labels {missing}")
        elif labels["app.kubernetes.io/name"] != "ranker" or labels["app.kubernetes.io/instance"] != "ranker":
            problems.append(f"{obj.ref}: name/instance labels {labels}")
        namespace = obj["metadata"].get("namespace")
        if namespace not in (None, "ranking"):
            problems.append(f"{obj.ref}: namespace {namespace!r} is not the release namespace")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("case", case_params(CASES))
def test_rendered_stages_follow_the_stage_switches(case: Case):
    """A stage's workloads are rendered exactly when ``stages.<stage>.enabled`` is true.

    Supporting objects (NetworkPolicies, ServiceAccounts) may exist ahead of their stage.
    """
    values = case.values()
    rendered = {component(o) for o in case.objects() if o["kind"] in WORKLOAD_KINDS}
    problems = []
    for stage in STAGES:
        enabled = bool(values.get("stages", {}).get(stage, {}).get("enabled"))
        if enabled != (stage in rendered):
            problems.append(f"stage {stage}: enabled={enabled} but rendered={stage in rendered}")
    assert problems == [], f"{case.id}: " + "; ".join(problems)


@pytest.mark.parametrize("case", case_params([c for c in UPDATE_CASES]))
def test_redis_subchart_follows_redis_enabled(case: Case):
    redis_objects = [o for o in case.objects() if component(o) == "redis" or "/charts/redis/" in o.template]
    workloads = [o for o in redis_objects if o["kind"] in ("StatefulSet", "Deployment")]
    if case.redis:
        assert workloads, f"{case.id}: redis.enabled but no redis workload rendered"
    else:
        assert redis_objects == [], f"{case.id}: redis disabled but rendered {[o.ref for o in redis_objects]}"


@pytest.mark.parametrize("case", case_params(UPDATE_CASES))
def test_workloads_pin_images_and_set_resources(case: Case):
    """Every container has an image with a tag or digest and cpu/memory requests and limits."""
    problems = []
    for obj in case.objects():
        for where, container in _containers(obj):
            image = container.get("image", "")
            if ":" not in image.rsplit("/", 1)[-1] and "@sha256:" not in image:
                problems.append(f"{obj.ref} {where}: image {image!r} has no tag")
            if image.endswith(":latest"):
                problems.append(f"{obj.ref} {where}: image {image!r} uses :latest")
            resources = container.get("resources") or {}
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory") if kind == "requests" else ("memory",):
                    if not (resources.get(kind) or {}).get(resource):
                        problems.append(f"{obj.ref} {where}: no {kind}.{resource}")
    assert problems == [], "\n".join(problems)


def _containers(obj: dict) -> list[tuple[str, dict]]:
    """Containers of Pods, pod-template workloads and FlinkDeployment pod templates."""
    spec = obj.get("spec") or {}
    pod_specs = []
    if obj.get("kind") == "Pod":
        pod_specs.append(("spec", spec))
    if isinstance(spec.get("template"), dict):
        pod_specs.append(("spec.template.spec", spec["template"].get("spec") or {}))
    if obj.get("kind") == "FlinkDeployment":
        # The operator fills image and resources of flink-main-container from spec.image/resource.
        return []
    found = []
    for where, pod in pod_specs:
        for key in ("initContainers", "containers"):
            for container in pod.get(key) or []:
                found.append((f"{where}.{key}[{container.get('name')}]", container))
    return found


def test_a_53_char_release_name_renders_valid_names_everywhere():
    """Helm allows 53-char release names; every derived name and label must still be valid."""
    release = "a-release-name-of-exactly-fifty-three-characters-long"
    assert len(release) == 53
    case = next(c for c in UPDATE_CASES if c.env == "prod" and c.redis)
    objects = case.objects(release=release)
    problems = []
    for obj in objects:
        if kind_of(obj) in BUILTIN_KINDS:
            problems += [f"{obj.ref}: {e}" for e in validation_errors(obj, KUBE_VERSIONS[-1])]
        instance = (obj["metadata"].get("labels") or {}).get("app.kubernetes.io/instance")
        if instance != release:
            problems.append(f"{obj.ref}: instance label {instance!r}")
    names = [(o["kind"], o["metadata"]["name"]) for o in objects]
    problems += [f"duplicate {n}" for n in set(names) if names.count(n) > 1]
    assert problems == [], "\n".join(problems)
