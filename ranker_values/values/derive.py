"""Build the typed :class:`model.Deployment` from a validated config (and an optional env).

Defaults are Metarank 0.4.1's own (``InferenceConfig``: port 8080, host 0.0.0.0; Redis port
6379). A parallelism the config does not set stays ``None``: the chart's default applies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # values/ never imports config/ at run time: the flow is config → values
    from ranker_values.config.loader import LoadedDocument
from ranker_values.values.model import (
    Deployment,
    EnvProfile,
    EventSource,
    RankingModel,
    StateStore,
    StorageLayout,
)
from ranker_values.values.numbers import engine_double, engine_int

REDIS_DEFAULT_PORT = 6379


def build_deployment(
    doc: LoadedDocument, config_file: str, env: EnvProfile | None, config_text: str | None = None
) -> Deployment:
    """``config_text``: what the ConfigMap holds (``config.embed.embedded_config``: the config
    without comments); the document's own text when not given."""
    data = doc.data
    present = _without_nulls(data)  # the engine reads `key: null` as a missing key (its default)
    bootstrap = present["bootstrap"]
    inference = present["inference"]
    return Deployment(
        config_file=config_file,
        config_text=(doc.text or "") if config_text is None else config_text,
        config_sha256=doc.sha256,
        config=data,
        storage=StorageLayout(str(bootstrap["workdir"]).rstrip("/") or "/"),
        models=tuple(_model(name, spec) for name, spec in present["models"].items()),
        state=_state(inference["state"]),
        api_host=str(inference.get("host", "0.0.0.0")),
        api_port=_int(inference.get("port", 8080)),
        bootstrap_parallelism=_optional_int(bootstrap.get("parallelism")),
        update_parallelism=_optional_int(inference.get("parallelism")),
        bootstrap_source=_source(bootstrap["source"]),
        inference_source=_source(inference["source"]),
        env=env,
    )


def _model(name: str, spec: dict[str, Any]) -> RankingModel:
    backend = spec.get("backend")
    weights = spec.get("weights") or {}
    return RankingModel(
        name=name,
        type=spec["type"],
        path=spec.get("path"),
        backend=backend.get("type") if isinstance(backend, dict) else None,
        features=tuple(spec.get("features") or ()),
        weights=tuple((str(k), float(engine_double(v) or 0.0)) for k, v in weights.items()),
    )


def _state(spec: dict[str, Any]) -> StateStore:
    if spec["type"] == "redis":
        return StateStore(
            type="redis",
            format=spec.get("format", "protobuf"),
            host=spec.get("host"),
            port=_int(spec.get("port", REDIS_DEFAULT_PORT)),
        )
    return StateStore(type="memory", format=spec.get("format", "protobuf"))


def _source(spec: dict[str, Any]) -> EventSource:
    return EventSource(type=spec["type"], settings=tuple((k, v) for k, v in spec.items() if k != "type"))


def _optional_int(value: Any) -> int | None:
    """An integer, also when written ``4.0``, ``1e3`` or ``"4"``: the schema accepts them, and so
    does the engine (circe's Decoder[Int] takes a whole JSON number or a string holding one), so
    the values must say 4, not 0."""
    return engine_int(value)


def _int(value: Any) -> int:
    number = engine_int(value)
    if number is None:  # the schema (metarank-int) refuses it before a Deployment is built
        raise ValueError(f"not an integer Metarank 0.4.1 reads: {value!r}")
    return number


def _without_nulls(value: Any) -> Any:
    """Mappings without their ``null`` entries, recursively (lists keep their items)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
