"""The typed model of one ranker deployment, derived from a validated ranking config.

This is the single place that knows where things live (S3 layout under ``bootstrap.workdir``),
which models are trained, how the API reaches Redis and which stages each lifecycle step runs.
The values emitter, ``savepoint``, ``plan`` and ``check`` all read this model instead of
re-reading the raw config.

Storage layout under ``workdir`` is Metarank 0.4.1's own (``Bootstrap.scala`` writes
``features/``, ``dataset-<model>/`` and ``savepoint/``, nothing else: docs/engine-0.4.1.md); the update
job's checkpoints, savepoints and HA metadata are ranker's choice, kept beside them under
``update/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

StageName = Literal["bootstrap", "train", "upload", "api", "update"]
#: Lifecycle steps in order; ``ranker-values gen`` writes one values file per step.
STEPS: tuple[StageName, ...] = ("bootstrap", "train", "upload", "api", "update")

OBJECT_STORE_SCHEMES = ("s3://", "s3a://", "s3p://", "hdfs://", "gs://")


def join_uri(base: str, *parts: str) -> str:
    """Join path segments onto a URI or path without doubling slashes."""
    out = base.rstrip("/")
    for part in parts:
        out = f"{out}/{part.strip('/')}"
    return out


def is_object_store(uri: str) -> bool:
    return uri.startswith(OBJECT_STORE_SCHEMES)


def local_path(uri: str) -> str | None:
    """The filesystem path of a local location (``/data/x`` or ``file:///data/x``), else None."""
    if uri.startswith("file://"):
        return uri[len("file://") :] or "/"
    if "://" in uri:
        return None
    return uri


@dataclass(frozen=True)
class StorageLayout:
    workdir: str  # as written in the config, trailing slash removed

    @property
    def savepoint(self) -> str:
        """The bootstrap savepoint: ``initialSavepointPath`` of the first update deploy."""
        return join_uri(self.workdir, "savepoint")

    @property
    def features(self) -> str:
        """Feature values the upload stage loads into Redis."""
        return join_uri(self.workdir, "features")

    def dataset(self, model: str) -> str:
        """Training dataset bootstrap writes for one model."""
        return join_uri(self.workdir, f"dataset-{model}")

    @property
    def update_checkpoints(self) -> str:
        return join_uri(self.workdir, "update", "checkpoints")

    @property
    def update_savepoints(self) -> str:
        return join_uri(self.workdir, "update", "savepoints")

    @property
    def update_ha(self) -> str:
        return join_uri(self.workdir, "update", "ha")

    @property
    def is_object_store(self) -> bool:
        return is_object_store(self.workdir)


@dataclass(frozen=True)
class RankingModel:
    name: str
    type: Literal["lambdamart", "shuffle", "noop"]
    path: str | None = None  # lambdamart only
    backend: Literal["xgboost", "lightgbm"] | None = None
    features: tuple[str, ...] = ()
    weights: tuple[tuple[str, float], ...] = ()

    @property
    def trainable(self) -> bool:
        return self.type == "lambdamart"


@dataclass(frozen=True)
class StateStore:
    type: Literal["redis", "memory"]
    format: Literal["protobuf", "json"] = "protobuf"
    host: str | None = None  # redis only
    port: int | None = None


@dataclass(frozen=True)
class EventSource:
    type: Literal["file", "kafka", "pulsar", "kinesis", "rest"]
    settings: tuple[tuple[str, Any], ...] = ()  # the source's own keys, in config order

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.settings).get(key, default)


@dataclass(frozen=True)
class EnvProfile:
    """What ``--env`` tells us about where the config runs (read from ``values/<env>.yaml``)."""

    name: str
    api_max_replicas: int = 1
    update_enabled: bool = True
    shared_volume_claim: str | None = None  # a ReadWriteMany PVC mounted in every stage
    shared_volume_mount_path: str | None = None
    source_file: str | None = None
    s3_auth_mode: str = "secret"  # s3.auth.mode: the credentials of Metarank's own S3 client
    update_parallelism: int | None = None  # stages.update.parallelism, None = the chart's default


@dataclass(frozen=True)
class Deployment:
    config_file: str  # as given on the command line (provenance only)
    config_text: str  # the config without comments (config/embed.py); becomes the ConfigMap
    config_sha256: str
    config: dict[str, Any] = field(repr=False, hash=False, compare=False)  # parsed, validated
    storage: StorageLayout = field(default=StorageLayout(""))
    models: tuple[RankingModel, ...] = ()
    state: StateStore = field(default=StateStore("memory"))
    api_host: str = "0.0.0.0"
    api_port: int = 8080
    bootstrap_parallelism: int | None = None
    update_parallelism: int | None = None
    bootstrap_source: EventSource = field(default=EventSource("file"))
    inference_source: EventSource = field(default=EventSource("rest"))
    env: EnvProfile | None = None

    @property
    def trained_models(self) -> tuple[RankingModel, ...]:
        return tuple(m for m in self.models if m.trainable)

    @property
    def needs_upload(self) -> bool:
        """Memory state loads bootstrap output itself; only Redis needs the upload stage."""
        return self.state.type == "redis"

    @property
    def runs_update(self) -> bool:
        return self.env.update_enabled if self.env else True

    def stages_for_step(self, step: StageName) -> dict[StageName, bool]:
        """Stage switches for one lifecycle step.

        Steps up to ``api`` are cumulative: a finished batch stage stays in the release (unchanged
        spec, so neither the operator nor Kubernetes re-runs it) instead of being deleted and later
        recreated. The steady state (``update``) drops every one-shot stage, the FINISHED bootstrap
        included: its spec inherits global values (image, pull secrets, Flink configuration, S3,
        security contexts), so any routine change there would re-run it and rewrite the savepoint,
        features and datasets under the running update job; and a re-run upload overwrites the live
        feature values the update job keeps in Redis with the bootstrap's old ones. The bootstrap's
        outputs stay on S3; re-bootstrapping is a deliberate ``stages.bootstrap.enabled`` +
        ``rerunNonce``.
        """
        upto = STEPS.index(step)
        on = {s: i <= upto for i, s in enumerate(STEPS)}
        if step == "update":
            on["bootstrap"] = on["train"] = on["upload"] = False
        if not self.trained_models:
            on["train"] = False
        if not self.needs_upload:
            on["upload"] = False
        if not self.runs_update:
            on["update"] = False
        return on
