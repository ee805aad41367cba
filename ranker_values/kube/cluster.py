"""The one small interface between ranker-values and a Kubernetes API server.

Commands (``savepoint``, ``upgrade-values``, ``check``) talk to a :class:`Cluster`; they never
import the ``kubernetes`` client themselves. :class:`KubernetesCluster` is the real implementation
(the client is imported inside it, never on the CLI start-up path). :class:`ObjectCluster` holds
plain objects in memory: tests feed it objects that validate against the upstream CRDs.

``KubernetesCluster`` is exercised against a real kube-apiserver in the ``kube`` tests
(``scripts/kube-up.sh``; ``tests/test_kube_*.py``).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ranker_values.errors import InvalidInput

FLINK_GROUP = "flink.apache.org"
FLINK_VERSION = "v1beta1"

Obj = dict[str, Any]


class ClusterError(InvalidInput):
    """The API server could not be reached, refused us, or answered with something unusable."""


class Cluster(Protocol):
    """Everything ranker-values reads from or writes to a cluster."""

    def get_custom(self, plural: str, name: str, namespace: str) -> Obj | None:
        """A flink.apache.org/v1beta1 object, or None when it does not exist."""

    def list_custom(self, plural: str, namespace: str) -> list[Obj]:
        """All flink.apache.org/v1beta1 objects of one plural in a namespace."""

    def create_custom(self, plural: str, namespace: str, body: Obj) -> Obj: ...

    def patch_custom(self, plural: str, name: str, namespace: str, patch: Obj) -> Obj:
        """JSON merge patch of the object's spec/metadata."""

    def get_crd(self, name: str) -> Obj | None:
        """An apiextensions.k8s.io/v1 CustomResourceDefinition, or None."""

    def list_deployments(self, namespace: str | None) -> list[Obj]:
        """apps/v1 Deployments (all namespaces when namespace is None)."""

    def get_service_account(self, name: str, namespace: str) -> Obj | None: ...

    def get_secret_keys(self, name: str, namespace: str) -> list[str] | None:
        """The data keys of a Secret (never its values), or None when it does not exist."""

    def list_labeled(self, kind: str, namespace: str, selector: str) -> list[Obj]:
        """Objects of one of :data:`LABELED_KINDS` in a namespace matching a label selector."""

    def helm_release_secrets(self, release: str, namespace: str) -> list[Obj]:
        """Helm's release Secrets (``owner=helm,name=<release>``), with their data."""


#: Kinds ``list_labeled`` reads (status: a stage's objects).
LABELED_KINDS = ("FlinkDeployment", "FlinkStateSnapshot", "Job", "Deployment", "Service", "ConfigMap")


def selector_matches(selector: str, labels: dict[str, Any]) -> bool:
    """Equality-based label selector (``a=b,c=d``), the only form ranker-values sends."""
    for term in filter(None, (t.strip() for t in selector.split(","))):
        key, _, value = term.partition("=")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


def _merge(target: Obj, patch: Obj) -> Obj:
    """RFC 7386 JSON merge patch."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


@dataclass
class ObjectCluster:
    """A cluster made of plain objects: for tests and for offline use of saved `kubectl get -o json`."""

    custom: dict[str, list[Obj]] = field(default_factory=dict)  # plural -> objects
    crds: list[Obj] = field(default_factory=list)
    deployments: list[Obj] = field(default_factory=list)
    service_accounts: list[Obj] = field(default_factory=list)
    secrets: list[Obj] = field(default_factory=list)
    others: list[Obj] = field(default_factory=list)  # Jobs, Services, ConfigMaps

    @classmethod
    def from_objects(cls, objects: list[Obj]) -> "ObjectCluster":
        """Sort plain objects (e.g. ``kubectl get ... -o json`` items) into a cluster by kind."""
        cluster = cls()
        for obj in objects:
            kind = obj.get("kind") if isinstance(obj, dict) else None
            if kind != "List":
                _require_metadata(obj)
            if kind == "List":
                cluster = _absorb(cluster, cls.from_objects(list(obj.get("items") or [])))
            elif kind == "CustomResourceDefinition":
                cluster.crds.append(obj)
            elif kind == "Deployment":
                cluster.deployments.append(obj)
            elif kind == "ServiceAccount":
                cluster.service_accounts.append(obj)
            elif kind == "Secret":
                cluster.secrets.append(obj)
            elif kind in ("Job", "Service", "ConfigMap"):
                cluster.others.append(obj)
            elif isinstance(kind, str) and str(obj.get("apiVersion", "")).startswith(FLINK_GROUP + "/"):
                cluster.custom.setdefault(kind.lower() + "s", []).append(obj)
            else:
                raise ClusterError(f"cannot place object of kind {kind!r} in an offline cluster")
        return cluster

    @classmethod
    def from_file(cls, path: str) -> "ObjectCluster":
        """An offline cluster from a YAML/JSON file of objects (multi-document or a ``List``).

        UsageError when the file cannot be read at all, ClusterError when its content is wrong."""
        from ranker_values.values.files import read_yaml_documents

        try:
            docs = read_yaml_documents(Path(path), "objects file")
        except InvalidInput as exc:
            raise ClusterError(exc.message) from None
        if not all(isinstance(d, dict) for d in docs):
            raise ClusterError(f"{path}: every document must be a Kubernetes object (a mapping)")
        return cls.from_objects(docs)

    @staticmethod
    def _named(objs: list[Obj], name: str, namespace: str | None) -> Obj | None:
        for obj in objs:
            meta = obj.get("metadata", {})
            if meta.get("name") == name and (namespace is None or meta.get("namespace", "default") == namespace):
                return obj
        return None

    def get_custom(self, plural: str, name: str, namespace: str) -> Obj | None:
        found = self._named(self.custom.get(plural, []), name, namespace)
        return copy.deepcopy(found) if found else None

    def list_custom(self, plural: str, namespace: str) -> list[Obj]:
        return [
            copy.deepcopy(o)
            for o in self.custom.get(plural, [])
            if o.get("metadata", {}).get("namespace", "default") == namespace
        ]

    def create_custom(self, plural: str, namespace: str, body: Obj) -> Obj:
        obj = copy.deepcopy(body)
        obj.setdefault("metadata", {})["namespace"] = namespace
        if self._named(self.custom.get(plural, []), obj["metadata"].get("name", ""), namespace):
            raise ClusterError(f"{plural} {obj['metadata'].get('name')} already exists in {namespace}")
        self.custom.setdefault(plural, []).append(obj)
        return copy.deepcopy(obj)

    def patch_custom(self, plural: str, name: str, namespace: str, patch: Obj) -> Obj:
        obj = self._named(self.custom.get(plural, []), name, namespace)
        if obj is None:
            raise ClusterError(f"{plural} {name} not found in namespace {namespace}")
        return copy.deepcopy(_merge(obj, patch))

    def get_crd(self, name: str) -> Obj | None:
        return self._named(self.crds, name, None)

    def list_deployments(self, namespace: str | None) -> list[Obj]:
        return [
            d for d in self.deployments if namespace is None or d.get("metadata", {}).get("namespace") == namespace
        ]

    def get_service_account(self, name: str, namespace: str) -> Obj | None:
        return self._named(self.service_accounts, name, namespace)

    def get_secret_keys(self, name: str, namespace: str) -> list[str] | None:
        secret = self._named(self.secrets, name, namespace)
        if secret is None:
            return None
        return sorted({*secret.get("data", {}), *secret.get("stringData", {})})

    def list_labeled(self, kind: str, namespace: str, selector: str) -> list[Obj]:
        if kind in ("FlinkDeployment", "FlinkStateSnapshot"):
            pool = self.custom.get(kind.lower() + "s", [])
        elif kind == "Deployment":
            pool = self.deployments
        else:
            pool = [o for o in self.others if o.get("kind") == kind]
        return [
            copy.deepcopy(o)
            for o in pool
            if o.get("metadata", {}).get("namespace", "default") == namespace
            and selector_matches(selector, o.get("metadata", {}).get("labels") or {})
        ]

    def helm_release_secrets(self, release: str, namespace: str) -> list[Obj]:
        return [
            copy.deepcopy(s)
            for s in self.secrets
            if s.get("metadata", {}).get("namespace", "default") == namespace
            and selector_matches(f"owner=helm,name={release}", s.get("metadata", {}).get("labels") or {})
        ]


def _require_metadata(obj: Any) -> None:
    """Saved objects are read without an API server's guarantees: check what lookups rely on."""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        raise ClusterError(f"an object of kind {kind!r} has no metadata.name (a string)")
    if not isinstance(meta.get("namespace", ""), str) or not isinstance(meta.get("labels") or {}, dict):
        raise ClusterError(f"{kind}/{meta['name']}: metadata.namespace must be a string and metadata.labels a mapping")


def _absorb(into: "ObjectCluster", other: "ObjectCluster") -> "ObjectCluster":
    for plural, objs in other.custom.items():
        into.custom.setdefault(plural, []).extend(objs)
    into.crds.extend(other.crds)
    into.deployments.extend(other.deployments)
    into.service_accounts.extend(other.service_accounts)
    into.secrets.extend(other.secrets)
    into.others.extend(other.others)
    return into


MAX_KUBECONFIG_BYTES = 10 * 1024 * 1024


def gate_kubeconfig(paths: str) -> None:
    """Every kubeconfig file (``$KUBECONFIG`` is a list) through the input gate before the client
    reads it: a FIFO, a device or a directory is a usage error (exit 2), never a hang; a file over
    10 MiB is refused. Paths that do not exist are left to the client (it skips them)."""
    from ranker_values.errors import UsageError
    from ranker_values.files.inputs import open_regular

    for path in filter(None, paths.split(os.pathsep)):
        path = os.path.expanduser(path)
        if not os.path.exists(path):
            continue
        try:
            with open_regular(path, "kubeconfig file") as handle:
                size = os.fstat(handle.fileno()).st_size
        except UsageError as exc:
            raise UsageError(f"KUBECONFIG: {exc.message}") from None
        if size > MAX_KUBECONFIG_BYTES:
            raise InvalidInput(f"KUBECONFIG: {path}: larger than 10 MiB; not a kubeconfig file")


class KubernetesCluster:
    """The real API server, through the official client and the current kubeconfig context."""

    def __init__(self, context: str | None = None, timeout_seconds: float = 10.0):
        from kubernetes import client, config  # ModuleNotFoundError: the CLI names the missing extra
        from urllib3.exceptions import HTTPError

        configuration = client.Configuration()  # our own: the process-wide default stays untouched
        # $KUBECONFIG as it is now: the client reads it once, when it is first imported
        kubeconfig = os.environ.get("KUBECONFIG") or None
        gate_kubeconfig(kubeconfig or "~/.kube/config")
        try:
            try:
                config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=configuration)
            except config.ConfigException as kubeconfig_problem:
                if context:
                    raise
                try:
                    config.load_incluster_config(client_configuration=configuration)
                except config.ConfigException:
                    raise kubeconfig_problem from None  # outside a pod the kubeconfig's reason is the useful one
        except Exception as exc:  # noqa: BLE001 - any config problem is the user's to fix
            raise ClusterError(f"cannot load Kubernetes credentials: {exc}") from exc
        # urllib3 retries a failed connection 3 times by default: one retry keeps a request
        # within about twice the timeout the user gave.
        configuration.retries = 1
        api = client.ApiClient(configuration)
        self._timeout = timeout_seconds
        self._custom = client.CustomObjectsApi(api)
        self._ext = client.ApiextensionsV1Api(api)
        self._apps = client.AppsV1Api(api)
        self._core = client.CoreV1Api(api)
        self._batch = client.BatchV1Api(api)
        self._api_exception = client.exceptions.ApiException
        self._network_errors = (HTTPError, OSError, config.ConfigException)  # ConfigException: token refresh
        self._sanitize = api.sanitize_for_serialization

    def _call(self, fn, *args, missing_ok: bool = False, **kwargs):
        """One API call within the timeout. Only API and network failures become ClusterError: a
        wrong argument to the client (ApiTypeError) is a bug and must not read as "unreachable"."""
        try:
            return fn(*args, _request_timeout=self._timeout, **kwargs)
        except self._api_exception as exc:
            if missing_ok and exc.status == 404:
                return None
            raise ClusterError(f"Kubernetes API: {exc.status} {exc.reason}") from exc
        except self._network_errors as exc:
            raise ClusterError(f"Kubernetes API unreachable: {exc}") from exc

    def get_custom(self, plural, name, namespace):
        return self._call(
            self._custom.get_namespaced_custom_object, FLINK_GROUP, FLINK_VERSION, namespace, plural, name,
            missing_ok=True,
        )

    def list_custom(self, plural, namespace):
        return self._call(
            self._custom.list_namespaced_custom_object, FLINK_GROUP, FLINK_VERSION, namespace, plural
        ).get("items", [])

    def create_custom(self, plural, namespace, body):
        return self._call(
            self._custom.create_namespaced_custom_object, FLINK_GROUP, FLINK_VERSION, namespace, plural, body
        )

    def patch_custom(self, plural, name, namespace, patch):
        return self._call(
            self._custom.patch_namespaced_custom_object, FLINK_GROUP, FLINK_VERSION, namespace, plural, name, patch
        )

    def get_crd(self, name):
        crd = self._call(self._ext.read_custom_resource_definition, name, missing_ok=True)
        return None if crd is None else self._sanitize(crd)

    def list_deployments(self, namespace):
        if namespace is None:
            result = self._call(self._apps.list_deployment_for_all_namespaces)
        else:
            result = self._call(self._apps.list_namespaced_deployment, namespace)
        return [self._sanitize(d) for d in result.items]

    def get_service_account(self, name, namespace):
        sa = self._call(self._core.read_namespaced_service_account, name, namespace, missing_ok=True)
        return None if sa is None else self._sanitize(sa)

    def get_secret_keys(self, name, namespace):
        secret = self._call(self._core.read_namespaced_secret, name, namespace, missing_ok=True)
        if secret is None:
            return None
        return sorted({*(secret.data or {}), *(secret.string_data or {})})

    def list_labeled(self, kind, namespace, selector):
        if kind in ("FlinkDeployment", "FlinkStateSnapshot"):
            plural = kind.lower() + "s"
            return self._call(
                self._custom.list_namespaced_custom_object, FLINK_GROUP, FLINK_VERSION, namespace, plural,
                label_selector=selector,
            ).get("items", [])
        typed = {
            "Job": self._batch.list_namespaced_job,
            "Deployment": self._apps.list_namespaced_deployment,
            "Service": self._core.list_namespaced_service,
            "ConfigMap": self._core.list_namespaced_config_map,
        }
        if kind not in typed:
            raise ValueError(f"list_labeled: unsupported kind {kind!r}")
        result = self._call(typed[kind], namespace, label_selector=selector)
        out = []
        for item in result.items:
            obj = self._sanitize(item)
            obj.setdefault("kind", kind)  # list items carry no kind
            out.append(obj)
        return out

    def helm_release_secrets(self, release, namespace):
        result = self._call(self._core.list_namespaced_secret, namespace, label_selector=f"owner=helm,name={release}")
        return [self._sanitize(s) for s in result.items]


# --- Helm's release record --------------------------------------------------------------------


@dataclass
class HelmRelease:
    """One revision of a Helm release as Helm stores it (``sh.helm.release.v1.<name>.v<N>``)."""

    name: str
    namespace: str
    revision: int
    status: str  # deployed | superseded | failed | uninstalling | pending-* …
    config: dict[str, Any]  # the user-supplied values (-f/--set), merged by Helm
    chart_values: dict[str, Any]  # the chart's values.yaml at install time
    chart_version: str
    manifest: str


def decode_release(secret: Obj) -> HelmRelease:
    """Decode a Helm release Secret: ``data.release`` is base64 (the Secret's own encoding) of
    base64 of gzip of the release JSON (Helm's ``storage/driver`` encoding)."""
    import base64
    import gzip
    import json

    meta = secret.get("metadata") or {}
    where = f"Secret/{meta.get('name', '?')} in {meta.get('namespace', 'default')}"
    raw = (secret.get("data") or {}).get("release")
    if not isinstance(raw, str) or not raw:
        raise ClusterError(f"{where}: no data.release; not a Helm release Secret")
    try:
        inner = base64.b64decode(base64.b64decode(raw))
        if inner[:2] == b"\x1f\x8b":
            inner = gzip.decompress(inner)
        rel = json.loads(inner)
    except (ValueError, OSError) as exc:
        raise ClusterError(f"{where}: data.release is not a Helm release record ({exc})") from None
    if not isinstance(rel, dict):
        raise ClusterError(f"{where}: data.release is not a Helm release record")
    chart = rel.get("chart") or {}
    return HelmRelease(
        name=str(rel.get("name", "")),
        namespace=str(rel.get("namespace", meta.get("namespace", ""))),
        revision=int(rel.get("version") or 0),
        status=str((rel.get("info") or {}).get("status", "")),
        config=dict(rel.get("config") or {}),
        chart_values=dict(chart.get("values") or {}),
        chart_version=str((chart.get("metadata") or {}).get("version", "")),
        manifest=str(rel.get("manifest", "")),
    )


def deployed_release(cluster: Cluster, release: str, namespace: str) -> HelmRelease:
    """The release's current revision (status ``deployed``; else the newest one), or ClusterError."""
    secrets = cluster.helm_release_secrets(release, namespace)
    if not secrets:
        raise ClusterError(
            f"no Helm release {release!r} in namespace {namespace} (no Secret labelled owner=helm,name={release}); "
            "check --release/--namespace, or Helm's storage driver (only the default 'secret' driver is read)"
        )
    revisions = sorted((decode_release(s) for s in secrets), key=lambda r: r.revision)
    deployed = [r for r in revisions if r.status == "deployed"]
    return (deployed or revisions)[-1]
