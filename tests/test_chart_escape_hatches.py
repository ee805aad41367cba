"""The escape hatches of the strict values schema (issue 18, item 2) through the real tools.

Every per-stage pod extra (podLabels, priorityClassName, topologySpreadConstraints,
extraEnvVarsSecret, extraVolumes, extraVolumeMounts, initContainers, sidecars) set on every stage
at once, with commonAnnotations, global.imageRegistry and extraObjects, rendered by the Helm 4 CLI
for each lifecycle step (and the tune stage, and a local-mode bootstrap) and judged by
kubeconform -strict (Kubernetes 1.29/1.34, FlinkDeployment against the operator 1.9.0 and 1.15.0
CRDs) and by the product's own validation (`ranker-values render`: strict schemas, CRDs, the
operator's admission rules, API-server name rules). The helm-unittest suite
charts/ranker/tests/escape_hatches_test.yaml checks where each value lands and that none renders
by default; here the point is that what lands is valid and that the schema refuses what is not.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import CHART, CRD_DIR, CRD_VERSIONS, REPO, require_chart, require_shared
from support.cli import NAMESPACE, RELEASE, parse_stream
from support.generated import STEPS
from support.tools import KUBECONFORM_KUBE_VERSIONS, run_tool, schema_dir

FIXTURES = CHART / "tests" / "values" / "generated"
PROD = REPO / "values" / "prod.yaml"
STAGES = ("api", "bootstrap", "train", "upload", "update", "tune")


def hatches(stage: str) -> dict[str, Any]:
    return {
        "podLabels": {"team": "search"},
        "priorityClassName": "ranker-high",
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"}
        ],
        "extraEnvVarsSecret": "{{ .Release.Name }}-extra-env",
        "extraVolumes": [{"name": "certs", "secret": {"secretName": "{{ .Release.Name }}-certs"}}],
        "extraVolumeMounts": [{"name": "certs", "mountPath": "/etc/certs", "readOnly": True}],
        "initContainers": [{
            "name": f"wait-{stage}", "image": "busybox:1.36.1", "command": ["true"],
            "resources": {"limits": {"cpu": "100m", "memory": "32Mi"}},
        }],
        "sidecars": [{
            "name": "proxy", "image": "envoyproxy/envoy:v1.31.0", "ports": [{"name": "admin", "containerPort": 9901}],
            "volumeMounts": [{"name": "certs", "mountPath": "/etc/certs", "readOnly": True}],
        }],
    }


EXTRA_OBJECTS = [
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "{{ .Release.Name }}-extra"},
     "data": {"api": '{{ include "ranker.apiServiceName" . }}'}},
]
TUNE = {"enabled": True, "models": ["xgboost"]}


def overrides(step: str, bootstrap_mode: str = "flink") -> dict[str, Any]:
    stages: dict[str, Any] = {stage: hatches(stage) for stage in STAGES}
    stages["bootstrap"]["mode"] = bootstrap_mode
    if step == "train":
        stages["tune"].update(TUNE)
    return {
        "commonAnnotations": {"example.com/owner": "search"},
        "global": {"imageRegistry": "registry.example.com"},
        "extraObjects": EXTRA_OBJECTS,
        "rabbitmq": {"enabled": step == "train", "auth": {"password": "tune-pass"}},
        "stages": stages,
    }


CASES = [pytest.param(step, "flink", id=step) for step in STEPS] + [pytest.param("bootstrap", "local", id="bootstrap-local")]


@pytest.fixture(autouse=True, scope="module")
def _chart_exists():
    require_chart()


def helm4_template(tmp_path: Path, step: str, values: dict[str, Any]) -> str:
    extra = tmp_path / f"overrides-{step}.yaml"
    extra.write_text(yaml.safe_dump(values), encoding="utf-8")
    done = run_tool("helm4", "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
                    "-f", str(PROD), "-f", str(FIXTURES / f"{step}.yaml"), "-f", str(extra))
    assert done.returncode == 0, done.stderr
    return done.stdout


def pod_specs(obj: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(main container name, pod metadata, pod spec) of a workload the chart renders."""
    kind = obj["kind"]
    if kind in ("Deployment", "Job", "StatefulSet"):
        template = obj["spec"]["template"]
        return [(obj["metadata"]["labels"]["app.kubernetes.io/component"], template["metadata"], template["spec"])]
    if kind == "FlinkDeployment":
        template = obj["spec"]["podTemplate"]
        return [("flink-main-container", template["metadata"], template["spec"])]
    return []


@pytest.mark.parametrize(("step", "mode"), CASES)
def test_every_hatch_renders_on_every_stage_and_kubeconform_accepts_it(tmp_path: Path, step: str, mode: str) -> None:
    text = helm4_template(tmp_path, step, overrides(step, mode))
    objects = parse_stream(text)
    workloads = [o for o in objects if pod_specs(o) and o["metadata"]["labels"].get("app.kubernetes.io/component") in
                 ("api", "bootstrap", "train", "upload", "update", "tune", "tune-worker")]
    assert workloads, "no stage rendered"
    for obj in workloads:
        for main, meta, spec in pod_specs(obj):
            where = f"{obj['kind']}/{obj['metadata']['name']}"
            assert meta["labels"]["team"] == "search", where
            assert spec["priorityClassName"] == "ranker-high", where
            (container,) = [c for c in spec["containers"] if c["name"] == main]
            assert container["envFrom"] == [{"secretRef": {"name": "ranker-extra-env"}}], where
            assert {"name": "certs", "mountPath": "/etc/certs", "readOnly": True} in container["volumeMounts"], where
            assert {"name": "certs", "secret": {"secretName": "ranker-certs"}} in spec["volumes"], where
            assert [c["name"] for c in spec["containers"]] == [main, "proxy"], where
            assert spec["initContainers"][-1]["name"].startswith("wait-"), where
            (spread,) = spec["topologySpreadConstraints"]
            assert spread["labelSelector"]["matchLabels"]["app.kubernetes.io/instance"] == RELEASE, where
    images = [c["image"] for o in objects for _, _, s in pod_specs(o) for c in s.get("containers", []) if c["name"] != "proxy" and "image" in c]
    images += [o["spec"]["image"] for o in objects if o["kind"] == "FlinkDeployment"]
    assert images and all(i.startswith("registry.example.com/") for i in images), images
    # commonAnnotations: every object of the chart; not the bundled subcharts' nor extraObjects
    ours = [o for o in objects if o["metadata"]["name"] != "ranker-extra"
            and o["metadata"]["labels"]["app.kubernetes.io/component"] not in ("redis", "rabbitmq")]
    missing = [f"{o['kind']}/{o['metadata']['name']}" for o in ours
               if (o["metadata"].get("annotations") or {}).get("example.com/owner") != "search"]
    assert ours and missing == []
    (extra,) = [o for o in objects if o["metadata"]["name"] == "ranker-extra"]
    assert extra["data"] == {"api": "ranker-api"}

    path = tmp_path / "render.yaml"
    path.write_text(text, encoding="utf-8")
    schemas = schema_dir()
    for kube in KUBECONFORM_KUBE_VERSIONS:
        for operator in CRD_VERSIONS:
            crd = schemas / "flink-kubernetes-operator" / operator
            if not crd.is_dir():
                require_shared(CRD_DIR / operator)
                pytest.fail(f"{crd} is missing: re-run scripts/tools.sh")
            done = run_tool("kubeconform", "-strict", "-summary", "-output", "json", "-kubernetes-version", kube,
                            "-schema-location", str(schemas / "kubernetes"),
                            "-schema-location", f"{crd}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json", str(path))
            report = json.loads(done.stdout)
            problems = [r for r in report.get("resources", []) if r.get("status") != "statusValid"]
            assert done.returncode == 0 and problems == [], f"{kube} / operator {operator}: " + json.dumps(problems)[:3000]
            assert report["summary"]["valid"] == len(objects), report["summary"]


@pytest.mark.parametrize(("step", "mode"), CASES)
def test_the_products_own_validation_accepts_every_hatch(tmp_path: Path, step: str, mode: str) -> None:
    """`ranker-values render`'s checks: strict schemas, the FlinkDeployment CRDs, the operator's
    admission rules and the API server's name rules, over the same render."""
    from ranker_values.kube.render import validate_manifests

    crd_dirs = tuple(require_shared(CRD_DIR / v) for v in CRD_VERSIONS)
    objects = parse_stream(helm4_template(tmp_path, step, overrides(step, mode)))
    result = validate_manifests(objects, crd_dirs=crd_dirs)
    assert result.problems == [], "\n".join(result.problems)


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("stages", "train", "sidecars"), [{"name": "proxy"}], "image"),
        (("stages", "api", "extraVolumeMounts"), [{"name": "certs"}], "mountPath"),
        (("stages", "update", "extraVolumes"), [{"secret": {"secretName": "x"}}], "name"),
        (("stages", "upload", "topologySpreadConstraints"), [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "Sometimes"}], "whenUnsatisfiable"),
        (("stages", "bootstrap", "podLabels"), {"team": 1}, "podLabels"),
        (("stages", "tune", "priorityClassName"), ["high"], "priorityClassName"),
        (("stages", "api", "initContainer"), [], "initContainer"),
        (("commonAnnotations",), {"a": {"b": "c"}}, "commonAnnotations"),
        (("extraObjects",), [{"kind": "ConfigMap"}], "apiVersion"),
    ],
    ids=["sidecar-without-image", "mount-without-path", "volume-without-name", "spread-enum", "label-not-a-string",
         "priority-class-not-a-string", "misspelt-key", "annotation-not-a-string", "object-without-apiversion"],
)
def test_the_schema_refuses_malformed_hatches(tmp_path: Path, path: tuple[str, ...], value: Any, expected: str) -> None:
    values: dict[str, Any] = {}
    node = values
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = copy.deepcopy(value)
    extra = tmp_path / "bad.yaml"
    extra.write_text(yaml.safe_dump(values), encoding="utf-8")
    done = run_tool("helm4", "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
                    "-f", str(PROD), "-f", str(FIXTURES / "update.yaml"), "-f", str(extra))
    assert done.returncode != 0, done.stdout[:2000]
    assert "values don't meet the specifications of the schema" in done.stderr and expected in done.stderr, done.stderr
