"""The api's Gateway API HTTPRoute through the real Helm 4 CLI and kubeconform, and the prod
example not tied to one ingress controller (issue 18, item 3).

kubeconform's local schemas (scripts/kubeconform_schemas.py) hold the Kubernetes built-ins and the
Flink operator's CRDs, not the Gateway API's. The Gateway API standard-install CRDs (v1.0.0-rc1,
HTTPRoute served as v1) are on this machine as a test fixture of the k8s.io/apiextensions-apiserver
Go module, which the toolchain's control-plane build downloads into its module cache; the HTTPRoute
schema is made from it with the same CRD translation (ranker_values.kube.crd.resource_schema) as the
Flink schemas, and kubeconform -strict judges the Helm 4 render with it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from support import CHART, REPO, missing, require_chart
from support.cli import NAMESPACE, RELEASE, parse_stream
from support.crdcheck import FIXTURES, helm4_template, kubeconform
from support.tools import KUBECONFORM_KUBE_VERSIONS, run_tool, tools_dir

PROD = REPO / "values" / "prod.yaml"
ROUTE = {
    "stages": {
        "api": {
            "httpRoute": {
                "enabled": True,
                "parentRefs": [{"name": "public", "namespace": "gateway", "sectionName": "https"}],
                "hostnames": ["ranker.example.com"],
                "annotations": {"example.com/owner": "search"},
                "labels": {"team": "search"},
            }
        }
    }
}


@pytest.fixture(autouse=True, scope="module")
def _chart_exists():
    require_chart()


def gateway_crd_file() -> Path:
    """The newest Gateway API standard-install CRD file in the toolchain's Go module cache."""
    pattern = "k8s.io/apiextensions-apiserver@*/test/integration/ratcheting_test_cases/crds/standard-install.yaml"
    found = sorted((tools_dir() / "go" / "mod").glob(pattern))
    if not found:
        missing(f"no Gateway API CRDs under {tools_dir() / 'go' / 'mod'} ({pattern}): run scripts/tools.sh")
    return found[-1]


@pytest.fixture(scope="module")
def gateway_schemas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ranker_values.kube.crd import resource_schema

    crds = [d for d in yaml.safe_load_all(gateway_crd_file().read_text(encoding="utf-8")) if d]
    (crd,) = [d for d in crds if d.get("kind") == "CustomResourceDefinition" and d["spec"]["names"]["kind"] == "HTTPRoute"]
    out = tmp_path_factory.mktemp("gateway-schemas")
    # kubeconform's {{ .ResourceKind }}{{ .KindSuffix }}: kind, first label of the group, version
    (out / "httproute-gateway-v1.json").write_text(json.dumps(resource_schema(crd, "v1")), encoding="utf-8")
    return out


@pytest.mark.parametrize("kube", KUBECONFORM_KUBE_VERSIONS)
def test_the_httproute_renders_with_helm4_and_passes_kubeconform_against_the_gateway_api_crd(
    tmp_path: Path, gateway_schemas: Path, kube: str
) -> None:
    text = helm4_template(tmp_path, ROUTE)
    objects = parse_stream(text)
    routes = [o for o in objects if o["kind"] == "HTTPRoute"]
    assert len(routes) == 1
    (route,) = routes
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    (service,) = [o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == route["metadata"]["name"]]
    backend = route["spec"]["rules"][0]["backendRefs"][0]
    assert backend == {"name": service["metadata"]["name"], "port": service["spec"]["ports"][0]["port"]}
    path = tmp_path / "render.yaml"
    path.write_text(text, encoding="utf-8")
    rc, report = kubeconform(path, gateway_schemas, kube=kube)
    problems = [r for r in report.get("resources", []) if r.get("status") != "statusValid"]
    assert rc == 0 and problems == [], json.dumps(problems, indent=1)[:4000]
    assert report["summary"]["valid"] == len(objects), report["summary"]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(lambda r: r["spec"]["rules"][0]["backendRefs"][0].__setitem__("servicePort", 8080), "servicePort", id="unknown-field"),
        pytest.param(lambda r: r["spec"]["parentRefs"][0].pop("name"), "name", id="parentref-without-name"),
        pytest.param(lambda r: r["spec"]["rules"][0]["matches"][0]["path"].__setitem__("type", "Prefix"), "Prefix", id="ingress-path-type"),
    ],
)
def test_kubeconform_with_the_gateway_schema_rejects_a_broken_httproute(
    tmp_path: Path, gateway_schemas: Path, mutate, expected: str
) -> None:
    """The check above can fail: the same render with one field broken is refused."""
    (route,) = [o for o in parse_stream(helm4_template(tmp_path, ROUTE, step="api")) if o["kind"] == "HTTPRoute"]
    route = json.loads(json.dumps(route))
    mutate(route)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(route), encoding="utf-8")
    rc, report = kubeconform(path, gateway_schemas)
    assert rc != 0, report
    messages = " ".join(str(r.get("msg", "")) for r in report.get("resources", []))
    assert expected in messages, messages


def test_the_chart_schema_refuses_httproute_values_outside_the_gateway_api(tmp_path: Path) -> None:
    bad = {"stages": {"api": {"httpRoute": {"enabled": True, "parentRefs": [{"name": "public", "listener": "https"}]}}}}
    extra = tmp_path / "bad.yaml"
    extra.write_text(yaml.safe_dump(bad), encoding="utf-8")
    done = run_tool("helm4", "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
                    "-f", str(PROD), "-f", str(FIXTURES / "api.yaml"), "-f", str(extra))
    assert done.returncode != 0 and "listener" in done.stderr, done.stderr


def test_the_prod_example_is_not_tied_to_ingress_nginx(tmp_path: Path) -> None:
    """ingress-nginx is retired upstream: prod names no controller, no class, no controller annotations."""
    assert "nginx" not in PROD.read_text(encoding="utf-8").lower()
    objects = parse_stream(helm4_template(tmp_path, {}))
    (ingress,) = [o for o in objects if o["kind"] == "Ingress"]
    assert "ingressClassName" not in ingress["spec"]  # the cluster's default IngressClass
    assert not ingress["metadata"].get("annotations")
    assert "nginx" not in yaml.safe_dump([dict(o) for o in objects]).lower()
    assert not [o for o in objects if o["kind"] == "HTTPRoute"]  # the route is opt-in
