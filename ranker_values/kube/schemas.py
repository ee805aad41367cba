"""Validate rendered objects against Kubernetes' own OpenAPI schemas (kubernetes-validate, strict).

``kubernetes_validate.validate`` re-reads the ~1 MB definitions file on every call and stops at
the first error; this builds the same Draft 2020-12 validator from the same bundled schema files
once per (Kubernetes version, apiVersion, kind) and reports every error.

kubernetes-validate only WARNs for kinds it has no schema for (custom resources, removed APIs),
so kinds are checked here against an explicit whitelist; FlinkDeployment goes to ``ranker_values.kube.crd``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable

import jsonschema

# Every built-in kind the chart (and its redis subchart) may render. Anything else fails: add it
# here only after checking that kubernetes-validate has a schema for it in every KUBE_VERSION.
BUILTIN_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "Service"),
        ("v1", "ServiceAccount"),
        ("v1", "Pod"),
        ("v1", "PersistentVolumeClaim"),
        ("apps/v1", "Deployment"),
        ("apps/v1", "StatefulSet"),
        ("batch/v1", "Job"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ("policy/v1", "PodDisruptionBudget"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
        ("networking.k8s.io/v1", "Ingress"),
        ("rbac.authorization.k8s.io/v1", "Role"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    }
)
# Custom resources the chart renders, each validated against its CRD by ranker_values.kube.crd: the
# Flink operator's, and the prometheus-operator's for the optional monitoring objects.
FLINK_DEPLOYMENT = ("flink.apache.org/v1beta1", "FlinkDeployment")
CUSTOM_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        FLINK_DEPLOYMENT,
        ("monitoring.coreos.com/v1", "PodMonitor"),
        ("monitoring.coreos.com/v1", "PrometheusRule"),
    }
)

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def kind_of(obj: dict[str, Any]) -> tuple[str, str]:
    return (str(obj.get("apiVersion")), str(obj.get("kind")))


def validation_errors(obj: dict[str, Any], kube_version: str) -> list[str]:
    """Every strict-schema error for one built-in object (``[]`` = valid), plus name rules."""
    pair = kind_of(obj)
    if pair not in BUILTIN_KINDS:
        return [f"{pair[0]}/{pair[1]} is not a whitelisted built-in kind (ranker_values/kube/schemas.py BUILTIN_KINDS)"]
    validate = validator_for(kube_version, *pair)
    if validate is None:
        return [f"kubernetes-validate has no schema for {pair[0]} {pair[1]} in Kubernetes {kube_version}"]
    return [_format(e) for e in validate(obj)] + name_errors(obj)


def name_errors(obj: dict[str, Any]) -> list[str]:
    """What the API server checks on names and labels but the OpenAPI schema does not."""
    meta = obj.get("metadata") or {}
    name = str(meta.get("name", ""))
    errors = []
    if len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        errors.append(f"metadata.name {name!r} is not a DNS-1123 subdomain")
    if obj.get("kind") == "Service" and (len(name) > 63 or not DNS1035_LABEL.match(name)):
        errors.append(f"Service name {name!r} is not a DNS-1035 label (<= 63 chars)")
    for where, labels in _label_maps(obj):
        for key, value in labels.items():
            prefix, _, label = str(key).rpartition("/")
            if len(label) > 63 or not LABEL_NAME.match(label) or len(prefix) > 253:
                errors.append(f"{where} key {key!r} is not a valid label name")
            if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
                errors.append(f"{where}[{key!r}] = {value!r} is not a valid label value")
    return errors


#: ``k8s.io/api/core/v1.MaxSecretSize``: ValidateConfigMap and ValidateSecret refuse more data.
MAX_DATA_BYTES = 1024 * 1024


def api_server_errors(obj: dict[str, Any]) -> list[str]:
    """What the API server's validation (pkg/apis/core/validation) refuses although the OpenAPI
    schema allows it: ConfigMap/Secret data over 1 MiB, and in every pod (template) a mount path
    or volume name used twice."""
    errors = []
    kind = obj.get("kind")
    if kind in ("ConfigMap", "Secret"):
        size = _data_bytes(obj)
        if size > MAX_DATA_BYTES:
            errors.append(
                f"{kind} data is {size:,} bytes: the API server accepts at most {MAX_DATA_BYTES:,} (1 MiB)"
            )
    for where, pod in pod_specs(obj):
        errors += pod_errors(pod, where)
    return errors


def pod_specs(obj: dict[str, Any]) -> list[tuple[str, dict]]:
    """(path, pod spec) of every pod an object makes: Pod, workload templates, CronJob, and the
    FlinkDeployment's pod templates (the operator adds its own containers' mounts on top)."""
    spec = obj.get("spec") or {}
    kind = obj.get("kind")
    if kind == "Pod":
        return [("spec", spec)]
    if kind == "FlinkDeployment":
        found = [("spec.podTemplate.spec", (spec.get("podTemplate") or {}).get("spec"))]
        for part in ("jobManager", "taskManager"):
            template = ((spec.get(part) or {}).get("podTemplate") or {}).get("spec")
            found.append((f"spec.{part}.podTemplate.spec", template))
        return [(w, p) for w, p in found if isinstance(p, dict)]
    template = ((spec.get("template") or {}).get("spec"))
    return [("spec.template.spec", template)] if isinstance(template, dict) else []


def pod_errors(pod: dict[str, Any], where: str) -> list[str]:
    errors = []
    names = [v.get("name") for v in pod.get("volumes") or [] if isinstance(v, dict)]
    for name in sorted({n for n in names if names.count(n) > 1}, key=str):
        errors.append(f"{where}.volumes: name {name!r} is used {names.count(name)} times (must be unique)")
    for group in ("initContainers", "containers"):
        for container in pod.get(group) or []:
            if not isinstance(container, dict):
                continue
            paths = [m.get("mountPath") for m in container.get("volumeMounts") or [] if isinstance(m, dict)]
            for path in sorted({p for p in paths if paths.count(p) > 1}, key=str):
                errors.append(
                    f"{where}.{group}[{container.get('name')}].volumeMounts: mountPath {path!r} is used "
                    f"{paths.count(path)} times (must be unique)"
                )
    return errors


def _data_bytes(obj: dict[str, Any]) -> int:
    """Bytes the API server counts: every key plus its value (binaryData/base64 Secret data decoded)."""
    import base64
    import binascii

    total = 0
    for field in ("data", "binaryData", "stringData"):
        for key, value in (obj.get(field) or {}).items():
            text = "" if value is None else str(value)
            raw = len(text.encode("utf-8"))
            if field == "binaryData" or (obj.get("kind") == "Secret" and field == "data"):
                try:
                    raw = len(base64.b64decode(text, validate=True))
                except (binascii.Error, ValueError):
                    pass
            total += len(str(key)) + raw
    return total


@lru_cache(maxsize=None)
def validator_for(kube_version: str, api_version: str, kind: str) -> Callable[[dict], Any] | None:
    """``iter_errors`` of a cached strict validator, or None when there is no schema."""
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    schema_dir = f"kubernetes-json-schema/v{schema_version(kube_version)}-local-strict"
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = utils.schema_contents(f"{schema_dir}/{kind.lower()}-{group_version}.json", kube_version)
    except FileNotFoundError:
        return None
    registry = Resource.from_contents(schema) @ Registry()
    registry = _definitions(schema_dir, kube_version) @ registry
    return jsonschema.Draft202012Validator(schema, registry=registry).iter_errors


@lru_cache(maxsize=None)
def _definitions(schema_dir: str, kube_version: str) -> Any:
    from kubernetes_validate import utils
    from referencing import Resource

    return Resource.from_contents(utils.schema_contents(f"{schema_dir}/_definitions.json", kube_version))


def schema_version(kube_version: str) -> str:
    """The newest bundled schema set not newer than ``kube_version`` (as kubernetes-validate picks)."""
    from kubernetes_validate import utils
    from packaging.version import Version

    wanted = Version(utils.major_minor(kube_version.lstrip("v")))
    candidates = [v for v in utils.all_versions() if Version(utils.major_minor(v)) <= wanted]
    if not candidates or Version(utils.major_minor(candidates[-1])) != wanted:
        raise ValueError(f"kubernetes-validate bundles no schemas for Kubernetes {kube_version}")
    return candidates[-1]


def _label_maps(obj: dict[str, Any]) -> list[tuple[str, dict]]:
    maps = [("metadata.labels", (obj.get("metadata") or {}).get("labels") or {})]
    template = ((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}
    if template.get("labels"):
        maps.append(("spec.template.metadata.labels", template["labels"]))
    return maps


def _format(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path) or "<root>"
    return f"{path}: {error.message[:300]}"
