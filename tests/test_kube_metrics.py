"""Metrics: the optional PodMonitor (monitoring.coreos.com/v1) for the update job, admitted by a
real kube-apiserver with the prometheus-operator CRDs installed (from the pinned Go module,
scripts/kube-tools.sh), and absent unless enabled."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from support import CHART, ENV_VALUES
from support.generated import generated_example_files
from support.kube import TOOLS, KubeEnv, helm_binary, kube_env, missing_or_fail, wait_until  # noqa: F401

pytestmark = pytest.mark.kube

NS = "ranker-metrics"
CRDS = TOOLS / "prometheus-operator-crds"
ON = ("--set", "metrics.enabled=true", "--set", "metrics.podMonitor.enabled=true", "--set", "metrics.podMonitor.labels.release=prom")


@pytest.fixture(scope="module")
def chart() -> Path:
    """The chart as shipped: no remote dependency to fetch (the operator is installed apart)."""
    return CHART


@pytest.fixture(scope="module")
def monitoring_crds(kube_env) -> None:
    if not (CRDS / "monitoring.coreos.com_podmonitors.yaml").is_file():
        missing_or_fail(f"{CRDS} has no PodMonitor CRD (scripts/kube-tools.sh crds)")
    kube_env.kubectl("apply", "--server-side", "-f", str(CRDS))
    wait_until(
        lambda: any(c["type"] == "Established" and c["status"] == "True"
                    for c in (kube_env.get("crd", "podmonitors.monitoring.coreos.com") or {}).get("status", {}).get("conditions") or []),
        60, "the PodMonitor CRD to be established",
    )


def rendered(chart: Path, *extra: str, step: str = "update") -> list[dict]:
    files = generated_example_files("dev")
    done = subprocess.run(
        [str(helm_binary()), "template", "ranker", str(chart), "-f", str(ENV_VALUES["dev"]), "-f", str(files[step]), *extra],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def test_no_monitor_and_no_reporter_unless_enabled(chart):
    objects = rendered(chart)
    assert not [o for o in objects if o["kind"] == "PodMonitor"]
    for fd in (o for o in objects if o["kind"] == "FlinkDeployment"):
        assert not any(k.startswith("metrics.reporter.") for k in fd["spec"]["flinkConfiguration"])


def test_enabling_metrics_leaves_the_finished_bootstrap_spec_identical(chart):
    def bootstrap(objects):
        return next(o for o in objects if o["kind"] == "FlinkDeployment" and o["metadata"]["labels"]["app.kubernetes.io/component"] == "bootstrap")

    # the steady state (update step) no longer holds the finished bootstrap: compare the bootstrap
    # step's renders, and the api step's (the last one that keeps the bootstrap)
    for step in ("bootstrap", "api"):
        assert bootstrap(rendered(chart, *ON, step=step))["spec"] == bootstrap(rendered(chart, step=step))["spec"]


def test_pod_monitor_is_admitted_by_the_api_server_with_the_prometheus_operator_crds(kube_env, chart, monitoring_crds):
    env: KubeEnv = kube_env
    env.namespace(NS)
    files = generated_example_files("dev")
    env.helm("upgrade", "--install", "ranker", str(chart), "-n", NS, "-f", str(ENV_VALUES["dev"]), "-f", str(files["update"]), *ON)
    monitors = env.items("podmonitor.monitoring.coreos.com", NS, "app.kubernetes.io/instance=ranker")
    assert len(monitors) == 1
    monitor = monitors[0]
    assert monitor["metadata"]["labels"]["release"] == "prom"
    # stored as rendered: nothing pruned by the CRD's structural schema
    assert monitor["spec"]["podMetricsEndpoints"] == [{"portNumber": 9249, "path": "/", "interval": "30s"}]
    assert monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "update"
    update = env.items("flinkdeployment.flink.apache.org", NS, "app.kubernetes.io/component=update")[0]
    conf = update["spec"]["flinkConfiguration"]
    assert conf["metrics.reporter.prom.factory.class"] == "org.apache.flink.metrics.prometheus.PrometheusReporterFactory"
    assert conf["metrics.reporter.prom.port"] == "9249"
    # the scrape port is let through the release's NetworkPolicy
    flink_np = next(n for n in env.items("networkpolicy.networking.k8s.io", NS, "app.kubernetes.io/instance=ranker")
                    if n["metadata"]["name"].endswith("-flink"))
    ports = [p["port"] for rule in flink_np["spec"]["ingress"] for p in rule.get("ports") or []]
    assert 9249 in ports
    env.helm("uninstall", "ranker", "-n", NS)


ALERTS = (*ON, "--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.prometheusRule.labels.release=prom",
          "--set", "metrics.prometheusRule.operatorLifecycle.enabled=true",
          "--set", "metrics.grafanaDashboard.enabled=true")


def test_prometheus_rule_and_dashboard_are_admitted_and_stored_as_rendered(kube_env, chart, monitoring_crds):
    """The PrometheusRule passes the API server's CRD validation (OpenAPI schema, patterns) and is
    stored unpruned; the dashboard ConfigMap carries the Grafana sidecar's label."""
    env: KubeEnv = kube_env
    if not (CRDS / "monitoring.coreos.com_prometheusrules.yaml").is_file():
        missing_or_fail(f"{CRDS} has no PrometheusRule CRD (scripts/kube-tools.sh crds)")
    wait_until(
        lambda: any(c["type"] == "Established" and c["status"] == "True"
                    for c in (env.get("crd", "prometheusrules.monitoring.coreos.com") or {}).get("status", {}).get("conditions") or []),
        60, "the PrometheusRule CRD to be established",
    )
    ns = env.namespace(NS + "-alerts")
    files = generated_example_files("dev")
    args = ("-f", str(ENV_VALUES["dev"]), "-f", str(files["update"]), *ALERTS)
    env.helm("upgrade", "--install", "ranker", str(chart), "-n", ns, *args)
    done = subprocess.run([str(helm_binary()), "template", "ranker", str(chart), "-n", ns, *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rendered = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(done.stdout) if d}
    (stored,) = env.items("prometheusrule.monitoring.coreos.com", ns, "app.kubernetes.io/instance=ranker")
    assert stored["spec"] == rendered[("PrometheusRule", stored["metadata"]["name"])]["spec"]
    assert stored["metadata"]["labels"]["release"] == "prom"
    dashboards = env.items("configmap", ns, "grafana_dashboard=1")
    assert [d["metadata"]["name"] for d in dashboards] == ["ranker-dashboard"]
    env.helm("uninstall", "ranker", "-n", ns)
