"""Review of charts/ranker against what platform engineers running it need (real Helm SDK renders).

Covers what the other chart tests did not pin: who may reach the api (helm test included), the
Flink Role's verbs, what survives `helm uninstall`, api availability rules (PDB, HPA, surge),
numbers in flinkConfiguration, image inheritance, local bootstrap stability, train Job names,
IRSA for Flink's S3 plugin and what NOTES.txt tells for the next step.

Renders use ``examples/config.yml`` generated with ``--env`` (no ../shared needed).
"""

from __future__ import annotations

from typing import Any

import pytest

from support import require_chart
from support.k8s import validation_errors
from support.matrix import EXAMPLE, Case
from support.render import by_kind, component, render, render_texts

PROD = Case("prod", EXAMPLE, "update", False)
DEV = Case("dev", EXAMPLE, "update", True)
DIGEST = "sha256:" + "a" * 64


@pytest.fixture(autouse=True, scope="module")
def _chart_exists():
    require_chart()


def _render(case: Case, extra: dict[str, Any] | None = None, step: str | None = None):
    step_case = Case(case.env, case.config, step or case.step, case.redis)
    return render(step_case.values_files(), _merge(step_case.overrides, extra or {}))


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


# --- NetworkPolicy: who reaches the api port ---------------------------------------------------


def _selects(selector: dict, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        value, op = labels.get(expr["key"]), expr["operator"]
        if op == "In" and value not in expr["values"]:
            return False
        if op == "NotIn" and value in expr["values"]:
            return False
        if op == "Exists" and value is None:
            return False
    return True


def _peer_admits(peer: dict, labels: dict[str, str]) -> bool:
    """A peer admits a pod of the release namespace with these labels (ipBlock never does)."""
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer and peer["namespaceSelector"]:
        return False  # names other namespaces only: the test does not model namespace labels
    return _selects(peer.get("podSelector") or {}, labels)


def _admitted(policies: list[dict], target: dict[str, str], source: dict[str, str], port: str) -> bool:
    """Kubernetes semantics: a pod selected by any ingress policy is reachable only through a rule."""
    selecting = [p for p in policies if _selects(p["spec"]["podSelector"], target)]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress") or []:
            ports = [p.get("port") for p in rule.get("ports") or []]
            if ports and port not in ports:
                continue
            if "from" not in rule or any(_peer_admits(peer, source) for peer in rule["from"]):
                return True
    return False


def _pod_labels(objects, kind: str, comp: str) -> dict[str, str]:
    obj = next(o for o in objects if o["kind"] == kind and component(o) == comp)
    if kind == "Pod":
        return obj["metadata"]["labels"]
    return obj["spec"]["template"]["metadata"]["labels"]


@pytest.mark.parametrize("api_from", [[], [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]],
                         ids=["apiFrom-empty", "apiFrom-ingress-only"])
def test_helm_test_pod_and_update_job_reach_the_api_but_other_stages_do_not_when_restricted(api_from):
    objects = _render(PROD, {"networkPolicy": {"apiFrom": api_from}})
    policies = by_kind(objects, "NetworkPolicy")
    api = _pod_labels(objects, "Deployment", "api")
    test_pod = _pod_labels(objects, "Pod", "api-test")
    update = {**api, "app.kubernetes.io/component": "update"}
    train = {**api, "app.kubernetes.io/component": "train"}
    assert _admitted(policies, api, test_pod, "http"), "the helm test pod cannot reach /health"
    assert _admitted(policies, api, update, "http"), "the update job cannot reach the api"
    assert _admitted(policies, api, train, "http") == (not api_from), "apiFrom does not restrict the api port"
    assert not _admitted(policies, api, test_pod, 9999), "other api ports are open"


def test_flink_pods_reach_each_other_and_redis_lets_in_only_its_clients():
    objects = _render(DEV)
    policies = by_kind(objects, "NetworkPolicy")
    base = _pod_labels(objects, "Deployment", "api")
    jm = {**base, "app.kubernetes.io/component": "update"}
    redis = _pod_labels(objects, "StatefulSet", "redis")
    assert _admitted(policies, jm, jm, 6123) and _admitted(policies, jm, {**jm, "app.kubernetes.io/component": "bootstrap"}, 6124)
    assert not _admitted(policies, jm, base, 6123), "the api reaches Flink RPC"
    for client in ("api", "update", "upload", "bootstrap"):
        assert _admitted(policies, redis, {**base, "app.kubernetes.io/component": client}, "redis"), client
    assert not _admitted(policies, redis, {**base, "app.kubernetes.io/component": "train"}, "redis")
    assert not _admitted(policies, redis, {**base, "app.kubernetes.io/instance": "other"}, "redis")


# --- Flink identity --------------------------------------------------------------------------


def _rules(objects) -> dict[str, set[str]]:
    role = next(o for o in by_kind(objects, "Role") if component(o) == "flink")
    out: dict[str, set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.setdefault(f"{group}/{resource}", set()).update(rule["verbs"])
    return out


def test_flink_role_grants_what_native_kubernetes_and_ha_use_and_nothing_more():
    rules = _rules(_render(PROD))
    assert rules == {
        "/pods": {"get", "list", "watch", "create", "delete"},
        "/configmaps": {"get", "list", "watch", "create", "update", "patch", "delete"},
        "/services": {"get", "update"},
        "apps/deployments": {"get"},
        "apps/deployments/finalizers": {"update"},
    }, rules


def test_flink_identity_outlives_helm_uninstall_and_keeps_user_annotations():
    objects = _render(PROD)
    flink = [o for o in objects if component(o) == "flink" and o["kind"] in ("ServiceAccount", "Role", "RoleBinding")]
    assert sorted(o["kind"] for o in flink) == ["Role", "RoleBinding", "ServiceAccount"]
    for obj in flink:
        assert obj["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep", obj.ref
    account = next(o for o in flink if o["kind"] == "ServiceAccount")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith("role/ranker-flink")
    app = next(o for o in by_kind(objects, "ServiceAccount") if component(o) == "app")
    assert "helm.sh/resource-policy" not in (app["metadata"].get("annotations") or {}), "app account kept too"


# --- api availability -------------------------------------------------------------------------

NO_HPA = {"autoscaling": {"enabled": False}}


# The refusals (every validateValues message, one test each) are helm-unittest tests now:
# charts/ranker/tests/validate_test.yaml.


@pytest.mark.parametrize("api", [
    {**NO_HPA, "replicaCount": 1, "pdb": {"enabled": True, "minAvailable": 0, "maxUnavailable": 1}},
    {"pdb": {"enabled": True, "minAvailable": "50%"}},
    {"pdb": {"enabled": True, "minAvailable": 1}, "maxSurge": "25%"},
], ids=["dev-maxunavailable-1", "50pct-of-2", "prod-default"])
def test_api_settings_that_allow_one_disruption_render_a_valid_pdb(api: dict):
    objects = _render(PROD, {"stages": {"api": api}})
    pdb = next(iter(by_kind(objects, "PodDisruptionBudget")))
    assert validation_errors(pdb, "1.34") == []


def test_dev_api_has_one_replica_and_no_blocking_pdb():
    objects = _render(DEV, step="api")
    deployment = next(o for o in by_kind(objects, "Deployment") if component(o) == "api")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    assert by_kind(objects, "PodDisruptionBudget") == []


# --- FlinkDeployment values -------------------------------------------------------------------


# Whole numbers in flinkConfiguration: charts/ranker/tests/flink_test.yaml.


def test_prod_flink_jobs_use_the_web_identity_token_with_irsa():
    """prod.yaml uses IRSA for the Flink jobs only (Metarank's own client needs static keys):
    Flink's S3A plugin must be told to use the token."""
    values = PROD.values()
    assert values["s3"]["auth"]["flinkMode"] == "serviceAccount"
    assert "eks.amazonaws.com/role-arn" in values["flink"]["serviceAccount"]["annotations"]
    for fd in by_kind(_render(PROD, {"stages": {"bootstrap": {"enabled": True}}}), "FlinkDeployment"):
        provider = fd["spec"]["flinkConfiguration"].get("fs.s3a.aws.credentials.provider")
        assert provider == "com.amazonaws.auth.WebIdentityTokenCredentialsProvider", fd.ref


# --- images -----------------------------------------------------------------------------------


def _images(objects) -> dict[str, str]:
    found = {}
    for obj in objects:
        if obj["kind"] == "FlinkDeployment":
            found[component(obj)] = obj["spec"]["image"]
        elif obj["kind"] == "Pod":
            found[component(obj)] = obj["spec"]["containers"][0]["image"]
        elif obj["kind"] == "Deployment" and component(obj) == "api":
            found["api"] = obj["spec"]["template"]["spec"]["containers"][0]["image"]
    return found


def test_a_global_digest_reaches_only_stages_that_do_not_name_another_image():
    images = _images(_render(PROD, {"image": {"digest": DIGEST},
                                    "stages": {"bootstrap": {"enabled": True, "image": {"tag": "0.4.0"}},
                                               "api": {"image": {"registry": "mirror.example"}}}}))
    assert images["bootstrap"] == "docker.io/metarank/metarank:0.4.0", "the bootstrap pin to an older tag is lost"
    assert images["update"] == f"docker.io/metarank/metarank@{DIGEST}"
    assert images["api"] == f"mirror.example/metarank/metarank@{DIGEST}", "a mirror keeps the digest"
    assert images["api-test"] == "docker.io/library/busybox:1.36.1", "the test pod borrowed Metarank's digest"


def test_helm_test_pod_uses_pull_secrets_and_stays_hardened():
    objects = _render(PROD, {"imagePullSecrets": [{"name": "regcred"}]})
    pod = next(o for o in by_kind(objects, "Pod") if component(o) == "api-test")
    spec = pod["spec"]
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] and spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    container = spec["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] and container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["RANK_URL"] == "http://ranker-api:8080/rank/xgboost"  # a real ranking, not /health
    assert validation_errors(pod, "1.34") == []


# --- Jobs -------------------------------------------------------------------------------------


def _with_changed_config(case: Case, step: str) -> dict[str, Any]:
    config = Case(case.env, case.config, step, case.redis).values()["ranking"]["config"]
    return {"ranking": {"config": config.replace("parallelism: 2", "parallelism: 3", 1)}}


def _names(objects, kind: str, comp: str) -> list[str]:
    return [o["metadata"]["name"] for o in by_kind(objects, kind) if component(o) == comp]


def test_a_config_change_does_not_rerun_the_local_bootstrap_but_retrains():
    local = {"stages": {"bootstrap": {"mode": "local"}}}
    before = _render(PROD, local, step="train")
    changed = _merge(local, _with_changed_config(PROD, "train"))
    after = _render(PROD, changed, step="train")
    assert _names(before, "Job", "train") != _names(after, "Job", "train"), "the config change did not reach the train Job"
    assert _names(before, "Job", "bootstrap") == _names(after, "Job", "bootstrap"), "the finished bootstrap would re-run"
    bootstrap = next(o for o in by_kind(after, "Job") if component(o) == "bootstrap")
    assert "checksum/config" not in bootstrap["spec"]["template"]["metadata"]["annotations"]


@pytest.mark.parametrize("model", ["My Model.v2", "a__b", "модель", "x" * 40])
def test_train_job_names_are_valid_for_any_model_name(model: str):
    models = [{"name": model, "type": "lambdamart", "backend": "xgboost", "path": "s3://b/m",
               "dataset": "s3://b/d", "train": True}]
    jobs = [o for o in by_kind(_render(PROD, {"ranking": {"models": models}}, step="train"), "Job") if component(o) == "train"]
    assert len(jobs) == 1
    assert validation_errors(jobs[0], "1.34") == [], jobs[0]["metadata"]["name"]
    assert jobs[0]["spec"]["template"]["spec"]["containers"][0]["args"][-1] == model


# --- NOTES.txt --------------------------------------------------------------------------------


def _notes(case: Case, step: str, extra: dict[str, Any] | None = None) -> str:
    step_case = Case(case.env, case.config, step, case.redis)
    texts = render_texts(step_case.values_files(), _merge(step_case.overrides, extra or {}))
    return next(text for name, text in texts.items() if name.endswith("NOTES.txt"))


UNTRAINED = [{"name": "baseline", "type": "shuffle", "backend": "", "path": "", "dataset": "s3://b/d", "train": False}]


@pytest.mark.parametrize("state, expected", [("redis", "upload"), ("memory", "api")])
def test_notes_skip_the_train_step_when_no_model_trains(state: str, expected: str):
    extra = {"ranking": {"models": UNTRAINED, "state": {"type": state}}}
    notes = _notes(PROD, "bootstrap", extra)
    assert f"-f GEN_DIR/{expected}.yaml" in notes, notes
    assert "train.yaml" not in notes


def test_notes_name_the_environment_file_and_each_next_step():
    expected = {"bootstrap": "train", "train": "upload", "upload": "api", "api": "update"}
    for step, after in expected.items():
        notes = _notes(PROD, step)
        # no repository paths: the chart may be installed from a package (issue 18 item 6)
        assert f"-f ENV_VALUES -f GEN_DIR/{after}.yaml" in notes and "ENV_VALUES the values of prod" in notes, f"{step}: {notes}"
    assert "Steady state" in _notes(PROD, "update")
