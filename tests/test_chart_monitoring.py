"""Observability objects (issue 18, item 4) through the real tools: the PrometheusRule against the
prometheus-operator's own CRD (kubeconform -strict), its alert expressions and the Grafana
dashboard's queries through Prometheus's promtool, and the dashboard JSON.

The prometheus-operator CRDs come from its Go module at the version scripts/kube-tools.sh pins
(PROMETHEUS_OPERATOR_VERSION; ``kube-tools.sh crds`` copies them into
``$RANKER_TOOLS_DIR/prometheus-operator-crds/``), translated to strict JSON Schema with the same
code as the Flink CRDs (ranker_values.kube.crd.resource_schema). promtool is built by scripts/tools.sh
(PROMTOOL_VERSION). Missing tools skip locally and fail under CI (support.tools).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from support import CHART, REPO, missing, require_chart
from support.cli import NAMESPACE, RELEASE, parse_stream
from support.crdcheck import FIXTURES, helm4_template, kubeconform
from support.tools import KUBECONFORM_KUBE_VERSIONS, run_tool, tools_dir

ENVS = {"prod": REPO / "values" / "prod.yaml", "dev": REPO / "values" / "dev.yaml"}
ALL_ON = {
    "metrics": {
        "enabled": True,
        "podMonitor": {"enabled": True, "labels": {"release": "prom"}},
        "prometheusRule": {"enabled": True, "labels": {"release": "prom"}, "operatorLifecycle": {"enabled": True}},
        "grafanaDashboard": {"enabled": True},
    }
}
REDIS_ON = {"redis": {"metrics": {"enabled": True, "podMonitor": {"enabled": True}}}}
# What each alert reads (_metrics.tpl names the component that exports each one).
ALERT_METRICS = {
    "RankerUpdateJobNotRunning": {"flink_jobmanager_job_uptime"},
    "RankerUpdateCheckpointsFailing": {"flink_jobmanager_job_numberOfFailedCheckpoints"},
    "RankerUpdateSavepointTooOld": {"ranker_flinkstatesnapshot_result_timestamp_seconds"},
    "RankerFlinkDeploymentFailed": {"flink_k8soperator_namespace_Lifecycle_State_FAILED_Count"},
}
METRIC = re.compile(r"\b((?:flink|redis|ranker)_[A-Za-z0-9_]+)\b")


@pytest.fixture(autouse=True, scope="module")
def _chart_exists():
    require_chart()


def prometheus_operator_crd(kind: str) -> dict:
    """The CRD of ``kind`` (plural, e.g. prometheusrules) at kube-tools.sh's pinned version."""
    pin = re.search(r"^PROMETHEUS_OPERATOR_VERSION=(\S+)", (REPO / "scripts" / "kube-tools.sh").read_text(encoding="utf-8"), re.M)
    assert pin, "scripts/kube-tools.sh pins no PROMETHEUS_OPERATOR_VERSION"
    path = tools_dir() / "prometheus-operator-crds" / f"monitoring.coreos.com_{kind}.yaml"
    stamp = tools_dir() / "prometheus-operator-crds" / ".version"
    if not path.is_file() or not stamp.read_text(encoding="utf-8").startswith(pin.group(1) + " "):
        missing(f"{path} (prometheus-operator {pin.group(1)}) is missing: run scripts/kube-tools.sh crds")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def monitoring_schemas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ranker_values.kube.crd import resource_schema

    out = tmp_path_factory.mktemp("monitoring-schemas")
    for plural, kind in (("prometheusrules", "prometheusrule"), ("podmonitors", "podmonitor")):
        crd = prometheus_operator_crd(plural)
        # kubeconform's {{ .ResourceKind }}{{ .KindSuffix }}: kind, first label of the group, version
        (out / f"{kind}-monitoring-v1.json").write_text(json.dumps(resource_schema(crd, "v1")), encoding="utf-8")
    return out


def promtool_check_rules(tmp_path: Path, groups: list[dict], name: str = "rules.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
    return run_tool("promtool", "check", "rules", str(path))


def dashboard(objects: list[dict]) -> dict:
    (configmap,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-dashboard")]
    (text,) = configmap["data"].values()
    return json.loads(text)


def dashboard_exprs(board: dict) -> list[str]:
    return [t["expr"] for p in board["panels"] for t in p.get("targets", [])]


@pytest.mark.parametrize("kube", KUBECONFORM_KUBE_VERSIONS)
@pytest.mark.parametrize("env", ["prod", "dev"])
def test_every_monitoring_object_passes_kubeconform_against_the_prometheus_operator_crds(
    tmp_path: Path, monitoring_schemas: Path, env: str, kube: str
) -> None:
    overrides = {**ALL_ON, **(REDIS_ON if env == "dev" else {})}
    text = helm4_template(tmp_path, overrides, env)
    objects = parse_stream(text)
    kinds = sorted(o["kind"] for o in objects if o["apiVersion"].startswith("monitoring.coreos.com/"))
    assert kinds == (["PodMonitor", "PodMonitor", "PrometheusRule"] if env == "dev" else ["PodMonitor", "PrometheusRule"])
    path = tmp_path / "render.yaml"
    path.write_text(text, encoding="utf-8")
    rc, report = kubeconform(path, monitoring_schemas, kube=kube)
    problems = [r for r in report.get("resources", []) if r.get("status") != "statusValid"]
    assert rc == 0 and problems == [], json.dumps(problems, indent=1)[:4000]
    assert report["summary"]["valid"] == len(objects), report["summary"]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(lambda r: r["spec"]["groups"][0]["rules"][0].__setitem__("for", "10 minutes"), "for", id="for-not-a-duration"),
        pytest.param(lambda r: r["spec"]["groups"][0]["rules"][0].__setitem__("severity", "critical"), "severity", id="unknown-field"),
        pytest.param(lambda r: r["spec"]["groups"][0].pop("name"), "name", id="group-without-name"),
    ],
)
def test_kubeconform_with_the_crd_schema_rejects_a_broken_prometheusrule(
    tmp_path: Path, monitoring_schemas: Path, mutate, expected: str
) -> None:
    """The check above can fail: the same render with one field broken is refused."""
    (rule,) = [o for o in parse_stream(helm4_template(tmp_path, ALL_ON)) if o["kind"] == "PrometheusRule"]
    rule = json.loads(json.dumps(rule))
    mutate(rule)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(rule), encoding="utf-8")
    rc, report = kubeconform(path, monitoring_schemas)
    assert rc != 0, report
    messages = " ".join(str(r.get("msg", "")) for r in report.get("resources", []))
    assert expected in messages, messages


def test_promtool_accepts_the_rendered_alert_rules(tmp_path: Path) -> None:
    (rule,) = [o for o in parse_stream(helm4_template(tmp_path, ALL_ON)) if o["kind"] == "PrometheusRule"]
    groups = rule["spec"]["groups"]
    alerts = {r["alert"]: r for g in groups for r in g["rules"]}
    assert set(alerts) == set(ALERT_METRICS)
    for name, metrics in ALERT_METRICS.items():
        assert set(METRIC.findall(alerts[name]["expr"])) == metrics, alerts[name]["expr"]
    done = promtool_check_rules(tmp_path, groups)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alerts)} rules found" in done.stdout, done.stdout


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(lambda r: r.__setitem__("expr", r["expr"].replace("[15m]", "[15 minutes]")), "could not parse expression", id="bad-range"),
        pytest.param(lambda r: r.__setitem__("expr", r["expr"].replace("increase(", "increase((")), "could not parse expression", id="unbalanced"),
        pytest.param(lambda r: r["annotations"].__setitem__("description", "{{ $value "), "unclosed action", id="bad-annotation-template"),
    ],
)
def test_promtool_rejects_a_broken_rule(tmp_path: Path, mutate, expected: str) -> None:
    """promtool really parses: one broken expression or annotation template fails the check."""
    (rule,) = [o for o in parse_stream(helm4_template(tmp_path, ALL_ON)) if o["kind"] == "PrometheusRule"]
    groups = rule["spec"]["groups"]
    (failing,) = [r for r in groups[0]["rules"] if r["alert"] == "RankerUpdateCheckpointsFailing"]
    mutate(failing)
    done = promtool_check_rules(tmp_path, groups)
    assert done.returncode != 0, done.stdout
    assert expected in done.stdout + done.stderr, done.stdout + done.stderr


def test_the_dashboard_is_json_and_every_query_passes_promtool(tmp_path: Path) -> None:
    objects = parse_stream(helm4_template(tmp_path, {**ALL_ON, **REDIS_ON}, "dev"))
    board = dashboard(objects)
    assert board["uid"] and len(board["uid"]) <= 40  # Grafana's limit on dashboard uids
    assert board["title"] == f"ranker {NAMESPACE}/{RELEASE}"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    exprs = dashboard_exprs(board)
    assert exprs and not [e for e in exprs if "RANKER_" in e or "$" in e]
    # every query as a recording rule: promtool parses each one
    rules = [{"record": f"ranker:dashboard_query_{i}", "expr": e} for i, e in enumerate(exprs)]
    done = promtool_check_rules(tmp_path, [{"name": "dashboard", "rules": rules}], "dashboard.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules)} rules found" in done.stdout, done.stdout


def test_the_dashboard_shows_every_metric_the_alerts_read(tmp_path: Path) -> None:
    objects = parse_stream(helm4_template(tmp_path, ALL_ON))
    board_metrics = {m for e in dashboard_exprs(dashboard(objects)) for m in METRIC.findall(e)}
    (rule,) = [o for o in objects if o["kind"] == "PrometheusRule"]
    job_metrics = {m for g in rule["spec"]["groups"] for r in g["rules"] for m in METRIC.findall(r["expr"])}
    # the operator's namespace-wide gauge is an opt-in alert, not a per-release panel
    assert job_metrics - {"flink_k8soperator_namespace_Lifecycle_State_FAILED_Count"} <= board_metrics
    # and the panels use the same selector as the alerts
    (uptime,) = [e for e in dashboard_exprs(dashboard(objects)) if "flink_jobmanager_job_uptime" in e]
    assert f'namespace="{NAMESPACE}", job="{NAMESPACE}/{RELEASE}-flink"' in uptime


def render_cli(tmp_path: Path, overrides: dict, *crds: Path):
    """`ranker-values render` (the product path: Helm SDK render + validation) of prod's update step."""
    from typer.testing import CliRunner

    from ranker_values.cli import app

    extra = tmp_path / "overrides.yaml"
    extra.write_text(yaml.safe_dump(overrides), encoding="utf-8")
    args = ["render", "--chart", str(CHART), "-n", NAMESPACE, "-f", str(ENVS["prod"]), "-f", str(FIXTURES / "update.yaml"),
            "-f", str(extra), "--out", str(tmp_path / "out.yaml")]
    for crd in crds:
        args += ["--crds", str(crd)]
    return CliRunner().invoke(app, args)


def test_ranker_values_render_validates_the_monitoring_objects_against_the_prometheus_operator_crds(tmp_path: Path) -> None:
    from support import CRD_DIR, require_shared

    flink = require_shared(CRD_DIR / "1.15.0")
    prometheus_operator_crd("prometheusrules")  # skips/fails like the other tests when absent
    monitoring = tools_dir() / "prometheus-operator-crds"
    done = render_cli(tmp_path, ALL_ON, flink, monitoring)
    assert done.exit_code == 0, done.output
    assert "not checked against a CRD" not in done.output, done.output
    # without the prometheus-operator's CRDs the monitoring objects are reported unchecked, not refused
    done = render_cli(tmp_path, ALL_ON, flink)
    assert done.exit_code == 0, done.output
    assert done.output.count("not checked against a CRD (give the prometheus-operator's CRDs with --crds DIR)") == 2, done.output
    # and a PrometheusRule its CRD refuses is a problem, not a pass
    from ranker_values.kube.render import Manifest, validate_manifests

    objects = [Manifest(d, "render") for d in yaml.safe_load_all((tmp_path / "out.yaml").read_text(encoding="utf-8")) if d]
    (rule,) = [o for o in objects if o["kind"] == "PrometheusRule"]
    rule["spec"]["groups"][0]["rules"][0]["for"] = "10 minutes"
    result = validate_manifests([rule], crd_dirs=(monitoring,))
    assert not result.ok and any("for" in p and "does not match" in p for p in result.problems), result.problems


def test_every_helm_cli_renders_the_monitoring_objects_alike(tmp_path: Path) -> None:
    """Helm 3.18 hands numbers to templates as json.Number: the durations, ports and thresholds
    must come out the same from every CLI the users' workflow runs."""
    from support.tools import HELM_CLIS

    overrides = {**json.loads(json.dumps(ALL_ON)), **REDIS_ON}
    overrides["metrics"]["prometheusRule"]["savepointAge"] = {"maxAge": "90m"}
    extra = tmp_path / "overrides.yaml"
    extra.write_text(yaml.safe_dump(overrides), encoding="utf-8")
    wanted = {"PrometheusRule", "PodMonitor", "StatefulSet", "ConfigMap"}
    renders = {}
    for cli in HELM_CLIS:
        done = run_tool(cli, "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
                        "-f", str(ENVS["dev"]), "-f", str(FIXTURES / "update.yaml"), "-f", str(extra))
        assert done.returncode == 0, f"{cli}: {done.stderr}"
        renders[cli] = sorted((json.dumps(o, sort_keys=True) for o in parse_stream(done.stdout) if o["kind"] in wanted))
    first = renders[HELM_CLIS[0]]
    assert all(r == first for r in renders.values()), {cli: len(r) for cli, r in renders.items()}
    (rule,) = [json.loads(o) for o in first if json.loads(o)["kind"] == "PrometheusRule"]
    assert any(r.get("expr", "").endswith("> 5400") for g in rule["spec"]["groups"] for r in g["rules"])
