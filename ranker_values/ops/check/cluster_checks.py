"""Cluster checks, all through :class:`ranker_values.kube.cluster.Cluster` (reads only): the Flink
Kubernetes Operator's CRDs and which operator versions their schema implies, the operator
Deployment, the Flink job service account, and every ``existingSecret`` the values name.

Operator version from the CRDs. The FlinkDeployment CRD carries no version, but its schema moved
with the releases; the inference uses facts from the upstream CRDs and release notes:

* ``FlinkStateSnapshot`` CRD present ⇒ operator ≥ 1.10 (introduced there; absent in 1.9.0's
  CRDs, present in 1.15.0's — both under ``../shared/crds``);
* the newest ``spec.flinkVersion`` enum value ⇒ at least the operator release that added it
  (:data:`FLINK_VERSION_SINCE`: v1_19 in 1.8, v1_20 in 1.10, v2_0 in 1.11, v2_1 in 1.13), and
  less than the release that added the next one.
"""

from __future__ import annotations

from typing import Any

from ranker_values.ops.check.context import CheckContext
from ranker_values.ops.check.runner import Check, CheckAbort, Outcome, failed, passed, warned
from ranker_values.values.files import dig

FLINK_DEPLOYMENT_CRD = "flinkdeployments.flink.apache.org"
FLINK_STATE_SNAPSHOT_CRD = "flinkstatesnapshots.flink.apache.org"
OPERATOR_NAME = "flink-kubernetes-operator"

#: spec.flinkVersion enum value → first operator release that accepts it.
FLINK_VERSION_SINCE: dict[str, tuple[int, int]] = {
    "v1_15": (1, 0),
    "v1_16": (1, 2),
    "v1_17": (1, 4),
    "v1_18": (1, 6),
    "v1_19": (1, 8),
    "v1_20": (1, 10),
    "v2_0": (1, 11),
    "v2_1": (1, 13),
}
SNAPSHOT_CRD_SINCE = (1, 10)


def cluster(ctx: CheckContext) -> Any:
    def build() -> Any:
        if ctx.options.cluster is not None:
            return ctx.options.cluster
        from ranker_values.kube.cluster import KubernetesCluster

        return KubernetesCluster(ctx.options.kube_context, timeout_seconds=max(1.0, ctx.options.timeout / 2))

    try:
        return ctx.shared("cluster", build)
    except ModuleNotFoundError:
        raise  # the runner says which extra to install
    except Exception as exc:  # noqa: BLE001 - ClusterError or a broken kubeconfig
        raise CheckAbort(failed(str(getattr(exc, "message", exc)), "check the kube context (--kube-context) and credentials")) from exc


def _read(ctx: CheckContext, what: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - ClusterError: unreachable, forbidden …
        raise CheckAbort(
            failed(f"{what}: {getattr(exc, 'message', exc)}", "check the kube context, network path and RBAC (get/list)")
        ) from exc


# --- operator version from the CRD schema ---------------------------------------------------


def _version_key(value: str) -> tuple[int, ...]:
    return tuple(int(p) for p in value.lstrip("v").split("_") if p.isdigit())


def flink_versions(crd: dict[str, Any]) -> list[str]:
    """The ``spec.flinkVersion`` enum of a FlinkDeployment CRD, oldest first."""
    found: set[str] = set()
    for version in crd.get("spec", {}).get("versions", []):
        props = dig(version, "schema.openAPIV3Schema.properties.spec.properties", {}) or {}
        found.update(str(v) for v in (props.get("flinkVersion", {}) or {}).get("enum", []) or [])
    return sorted(found, key=_version_key)


def _fmt(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def operator_range(crd: dict[str, Any], has_snapshot_crd: bool) -> str:
    """A human range such as "1.8–1.9" or "≥1.11", from what the CRDs show."""
    low, high = (1, 0), None  # high is exclusive
    enum = flink_versions(crd)
    known = [v for v in enum if v in FLINK_VERSION_SINCE]
    if known:
        low = max(low, FLINK_VERSION_SINCE[known[-1]])
        newer = sorted((since for v, since in FLINK_VERSION_SINCE.items() if since > low), key=lambda s: s)
        if newer and not any(_version_key(v) > _version_key(known[-1]) for v in enum):
            high = newer[0]
    if has_snapshot_crd:
        low = max(low, SNAPSHOT_CRD_SINCE)
    elif high is None or high > SNAPSHOT_CRD_SINCE:
        high = SNAPSHOT_CRD_SINCE
    if high is None or high <= low:
        return f"≥{_fmt(low)}"
    last = (high[0], high[1] - 1)
    return _fmt(low) if last == low else f"{_fmt(low)}–{_fmt(last)}"


# --- the checks -----------------------------------------------------------------------------


def check_crd(ctx: CheckContext) -> Outcome:
    k8s = cluster(ctx)
    crd = _read(ctx, "reading CRDs", k8s.get_crd, FLINK_DEPLOYMENT_CRD)
    if crd is None:
        return failed(
            f"CRD {FLINK_DEPLOYMENT_CRD} is missing: the Flink Kubernetes Operator is not installed",
            "install the operator (helm install flink-kubernetes-operator …) before deploying ranker",
        )
    snapshot = _read(ctx, "reading CRDs", k8s.get_crd, FLINK_STATE_SNAPSHOT_CRD) is not None
    enum = flink_versions(crd)
    newest = enum[-1] if enum else "?"
    return passed(f"FlinkDeployment CRD present (flinkVersion up to {newest}): operator {operator_range(crd, snapshot)}")


def check_snapshot_crd(ctx: CheckContext) -> Outcome:
    crd = _read(ctx, "reading CRDs", cluster(ctx).get_crd, FLINK_STATE_SNAPSHOT_CRD)
    if crd is None:
        return warned(
            "no FlinkStateSnapshot CRD: operator < 1.10, savepoints only through the legacy trigger nonce",
            "upgrade the operator to ≥ 1.10 for FlinkStateSnapshot-based savepoints",
        )
    return passed("FlinkStateSnapshot CRD present (operator ≥ 1.10)")


def _is_operator(deployment: dict[str, Any]) -> bool:
    meta = deployment.get("metadata", {})
    labels = meta.get("labels") or {}
    return labels.get("app.kubernetes.io/name") == OPERATOR_NAME or meta.get("name") == OPERATOR_NAME


def _image_tag(deployment: dict[str, Any]) -> str:
    for container in dig(deployment, "spec.template.spec.containers", []) or []:
        image = str(container.get("image", ""))
        if "flink-kubernetes-operator" in image and ":" in image.rsplit("/", 1)[-1]:
            return image.rsplit(":", 1)[-1]
    return ""


def check_operator(ctx: CheckContext) -> Outcome:
    k8s = cluster(ctx)
    try:
        deployments = k8s.list_deployments(None)
    except Exception:  # noqa: BLE001 - listing all namespaces is often forbidden: try ours
        deployments = _read(ctx, f"listing Deployments in {ctx.options.namespace}", k8s.list_deployments, ctx.options.namespace)
    operators = [d for d in deployments if _is_operator(d)]
    if not operators:
        return failed(
            f"no {OPERATOR_NAME} Deployment found",
            "install the Flink Kubernetes Operator, or give a context that can list its namespace",
        )
    for d in operators:
        ready = int(dig(d, "status.readyReplicas", 0) or 0)
        if ready > 0:
            meta = d.get("metadata", {})
            tag = _image_tag(d)
            version = f", image tag {tag}" if tag else ""
            return passed(f"{meta.get('namespace', '?')}/{meta.get('name')} running ({ready} ready{version})")
    meta = operators[0].get("metadata", {})
    return failed(
        f"{meta.get('namespace', '?')}/{meta.get('name')} has no ready replica",
        f"kubectl -n {meta.get('namespace', '?')} describe deployment {meta.get('name')} / logs",
    )


def check_serviceaccount(ctx: CheckContext) -> Outcome:
    values = dict(ctx.values)
    if dig(values, "flink.serviceAccount.create", True):  # the chart's default (charts/ranker/values.yaml)
        return passed("flink.serviceAccount.create: the chart creates the Flink job service account")
    name = dig(values, "flink.serviceAccount.name") or "flink"
    namespace = ctx.options.namespace
    if _read(ctx, "reading service accounts", cluster(ctx).get_service_account, name, namespace) is None:
        return failed(
            f"service account {namespace}/{name} for the Flink jobs does not exist",
            "create it with the operator's job RBAC, or set flink.serviceAccount.create: true",
        )
    return passed(f"service account {namespace}/{name} exists")


def referenced_secrets(values: dict[str, Any]) -> dict[str, list[str]]:
    """existingSecret name → the keys the chart reads from it ([] = existence only)."""
    refs: dict[str, list[str]] = {}
    if dig(values, "s3.auth.mode") == "existingSecret":
        name = dig(values, "s3.auth.existingSecret") or ""
        refs[name] = [
            dig(values, "s3.auth.accessKeyIdKey") or "AWS_ACCESS_KEY_ID",
            dig(values, "s3.auth.secretAccessKeyKey") or "AWS_SECRET_ACCESS_KEY",
        ]
    if not dig(values, "redis.enabled", False) and dig(values, "externalRedis.auth.enabled", True):
        name = dig(values, "externalRedis.auth.existingSecret") or ""
        if name:
            key = dig(values, "externalRedis.auth.existingSecretPasswordKey") or "redis-password"
            refs.setdefault(name, []).append(key)
    for name in _other_existing_secrets(values):
        refs.setdefault(name, [])
    return refs


def _other_existing_secrets(node: Any, path: str = "") -> list[str]:
    """Any other ``…existingSecret: name`` in the values (subcharts, extra volumes)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            if key == "existingSecret" and isinstance(value, str) and value and here not in (
                "s3.auth.existingSecret",
                "externalRedis.auth.existingSecret",
            ):
                found.append(value)
            else:
                found.extend(_other_existing_secrets(value, here))
    elif isinstance(node, list):
        for item in node:
            found.extend(_other_existing_secrets(item, path))
    return found


def check_secrets(ctx: CheckContext) -> Outcome:
    refs = referenced_secrets(dict(ctx.values))
    if "" in refs:
        return failed(
            "s3.auth.mode is existingSecret but s3.auth.existingSecret is empty",
            "set s3.auth.existingSecret to the Secret holding the S3 keys",
        )
    if not refs:
        return passed("the values reference no existingSecret")
    namespace = ctx.options.namespace
    problems, fine = [], []
    for name, keys in sorted(refs.items()):
        present = _read(ctx, "reading Secrets", cluster(ctx).get_secret_keys, name, namespace)
        if present is None:
            problems.append(f"{namespace}/{name} does not exist")
            continue
        missing = [k for k in keys if k not in present]
        if missing:
            problems.append(f"{namespace}/{name} lacks key(s) {', '.join(missing)}")
        else:
            fine.append(name)
    if problems:
        return failed("; ".join(problems), "create the Secret(s) with those keys before installing the chart")
    return passed(f"Secrets present with the keys the chart reads: {', '.join(fine)}")


def checks() -> list[Check]:
    return [
        Check("cluster.crd", check_crd),
        Check("cluster.snapshot-crd", check_snapshot_crd),
        Check("cluster.operator", check_operator),
        Check("cluster.serviceaccount", check_serviceaccount),
        Check("cluster.secrets", check_secrets),
    ]
