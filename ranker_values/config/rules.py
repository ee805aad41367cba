"""Semantic rules the JSON Schema cannot express; each is a small function with a stable code.

``check_semantics`` (RV1xx) runs on any mapping, also one with schema errors, so rules read the
document defensively: a part of the wrong shape is the schema's to report, and is skipped here. ``check_environment`` runs only when
an environment is given (``--env``/``--env-file``): whether storage is reachable from every pod
(RV2xx). ``check_engine`` always runs: what Metarank 0.4.1 itself cannot do in a chart
deployment (RV113, RV114, RV205–RV207; the facts and their sources: docs/engine-0.4.1.md).

A rule never echoes a secret: credentials are reported by where they are, not what they are.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any, Callable, Iterator

from ranker_values.errors import Diagnostic
from ranker_values.config.text import Suggester, has_password_in_url, near_miss, redact
from ranker_values.config.loader import JsonPath, LoadedDocument, diagnostic_at
from ranker_values.values.model import EnvProfile, is_object_store, local_path
from ranker_values.values.numbers import engine_int

PORT_RANGE = (1, 65535)
# Flink's upper bound for a job's (max) parallelism.
PARALLELISM_RANGE = (1, 32768)

# Fields of 0.4.1 feature extractors that name an interaction (event type).
INTERACTION_FIELDS = ("interaction", "top", "bottom")
SECRET_OPTION = re.compile(r"pass(word)?|secret|token|jaas|credential|private[._-]?key|access[._-]?key|auth[._-]?params", re.I)


# -- RV1xx: the config on its own -------------------------------------------------------------

Rule = Callable[[LoadedDocument], Iterator[Diagnostic]]


def check_semantics(doc: LoadedDocument) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for rule in SEMANTIC_RULES:
        out.extend(rule(doc))
    return out


def model_features_defined(doc: LoadedDocument) -> Iterator[Diagnostic]:
    """RV101: every feature a model lists is defined under ``features``."""
    if not isinstance(_get(doc.data, ("features",)), list):
        return  # the schema reports it; every model feature would look undefined
    defined = {f.get("name") for f in _features(doc) if isinstance(f.get("name"), str)}
    suggest = Suggester(sorted(defined))  # built once; bounded fuzzy work (linear in the config)
    for name, model in _models(doc):
        if model.get("type") != "lambdamart":
            continue  # Config.validateConfig checks LambdaMARTConfig only; noop/shuffle ignore the key
        for i, feature in enumerate(_list(model.get("features"))):
            if isinstance(feature, str) and feature not in defined:
                guess = suggest.near(feature)
                yield diagnostic_at(
                    doc, "RV101", ("models", name, "features", i),
                    f"model {name!r} uses feature {feature!r}, which is not defined under features",
                    hint=f"did you mean {guess!r}?" if guess else None,
                )


def weights_name_known_interactions(doc: LoadedDocument) -> Iterator[Diagnostic]:
    """RV102 (warning): a weight's interaction looks like a misspelling of one the features use.

    Weights label training data by event type; a misspelt one silently trains on nothing. A
    weight for an event no feature counts (``purchase`` as a pure label) is normal, so only a
    near miss of a known interaction is reported.
    """
    known = _interactions(doc)
    for name, model in _models(doc):
        weights = model.get("weights")
        for event in weights if isinstance(weights, dict) else ():
            guess = None if event in known else _near(event, sorted(known))
            if guess:
                yield diagnostic_at(
                    doc, "RV102", ("models", name, "weights", event),
                    f"model {name!r} weighs interaction {event!r}, which no feature uses "
                    f"(features use: {', '.join(sorted(known))})",
                    hint=f"did you mean {guess!r}?",
                    severity="warning",
                )


def feature_names_unique(doc: LoadedDocument) -> Iterator[Diagnostic]:
    """RV103: feature names are unique (Metarank keys feature values by name)."""
    first_at: dict[str, int] = {}
    for i, feature in enumerate(_features(doc)):
        name = feature.get("name")
        if not isinstance(name, str):
            continue
        if name in first_at:
            line = doc.positions.of_key(("features", first_at[name], "name"))
            where = f" (first defined at line {line[0]})" if line else ""
            yield diagnostic_at(doc, "RV103", ("features", i, "name"), f"feature {name!r} is defined twice{where}")
        else:
            first_at[name] = i


def model_features_not_repeated(doc: LoadedDocument) -> Iterator[Diagnostic]:
    """RV104 (warning): a model lists the same feature twice."""
    for name, model in _models(doc):
        seen: set[str] = set()
        for i, feature in enumerate(_list(model.get("features"))):
            if not isinstance(feature, str):
                continue
            if feature in seen:
                yield diagnostic_at(
                    doc, "RV104", ("models", name, "features", i),
                    f"model {name!r} lists feature {feature!r} more than once", severity="warning",
                )
            seen.add(feature)


def ports_in_range(doc: LoadedDocument) -> Iterator[Diagnostic]:
    """RV110: every port is 1..65535."""
    low, high = PORT_RANGE
    for path in (("inference", "port"), ("inference", "source", "port"), ("inference", "state", "port")):
        value = engine_int(_get(doc.data, path))  # 8080, 8080.0, "8080": what the engine reads
        if value is not None and not low <= value <= high:
            yield diagnostic_at(doc, "RV110", path, f"port {value} is out of range ({low}..{high})")


def parallelism_in_range(doc: LoadedDocument) -> Iterator[Diagnostic]:
    """RV111: parallelism is 1..32768 (Flink's maximum)."""
    low, high = PARALLELISM_RANGE
    for path in (("bootstrap", "parallelism"), ("inference", "parallelism")):
        value = _whole(_get(doc.data, path))
        if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
            yield diagnostic_at(doc, "RV111", path, f"parallelism {value} is out of range ({low}..{high})")


def rest_source_loses_events(doc: LoadedDocument) -> Iterator[Diagnostic]:
    """RV112 (warning): the rest source buffers events in the API pod's memory, and Metarank
    0.4.1's update job cannot restore its own state with it (E30: the reader's split queue exists
    only after start(), Flink hands restored splits over before) — a savepoint upgrade, a
    rollback or any restart from a checkpoint fails."""
    if _get(doc.data, ("inference", "source", "type")) == "rest":
        yield diagnostic_at(
            doc, "RV112", ("inference", "source", "type"),
            "the rest source keeps queued feedback events in the API's memory: they are lost when "
            "an API pod restarts; and Metarank 0.4.1's update job cannot restore a savepoint or "
            "checkpoint with this source (its own, or one taken with another source), so every helm "
            "upgrade, rollback or restart of the update job fails (it restarts forever); use kafka, "
            "pulsar or kinesis",
            severity="warning",
        )


def no_credentials_in_urls(doc: LoadedDocument) -> Iterator[Diagnostic]:
    """RV120: no password in a URL (the config becomes a ConfigMap and a values file)."""
    for path, value in _strings(doc.data, ()):
        if has_password_in_url(value):
            yield diagnostic_at(
                doc, "RV120", path,
                "contains a password in the URL (user:password@); the config ends up in a ConfigMap "
                "and in generated values files: remove it and give credentials through a Kubernetes Secret",
                point_at="value",
            )


def no_credentials_in_options(doc: LoadedDocument) -> Iterator[Diagnostic]:
    """RV121: no credential-looking client option (sasl.jaas.config, authParams, passwords)."""
    for section in ("bootstrap", "inference"):
        options = _get(doc.data, (section, "source", "options"))
        if not isinstance(options, dict):
            continue
        for key, value in options.items():
            if SECRET_OPTION.search(str(key)) and value not in (None, ""):
                yield diagnostic_at(
                    doc, "RV121", (section, "source", "options", key),
                    f"option {key!r} looks like a credential; the config ends up in a ConfigMap and in "
                    "generated values files: give credentials through a Kubernetes Secret instead",
                )


SEMANTIC_RULES: tuple[Rule, ...] = (
    model_features_defined,
    weights_name_known_interactions,
    feature_names_unique,
    model_features_not_repeated,
    ports_in_range,
    parallelism_in_range,
    rest_source_loses_events,
    no_credentials_in_urls,
    no_credentials_in_options,
)


# -- RV2xx: where it runs -----------------------------------------------------------------------


def check_environment(doc: LoadedDocument, env: EnvProfile) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    out.extend(_storage_reachable(doc, env, "RV201", ("bootstrap", "workdir"), "bootstrap.workdir"))
    if _get(doc.data, ("bootstrap", "source", "type")) == "file":
        out.extend(_storage_reachable(doc, env, "RV202", ("bootstrap", "source", "path"), "the bootstrap file source"))
    for name, model in _models(doc):
        if model.get("type") == "lambdamart" and isinstance(model.get("path"), str):
            out.extend(_storage_reachable(doc, env, "RV203", ("models", name, "path"), f"model {name!r} path"))
    return out


def _storage_reachable(doc: LoadedDocument, env: EnvProfile, code: str, path: JsonPath, what: str) -> list[Diagnostic]:
    """Every stage runs in its own pod: storage must be an object store or a shared RWX volume."""
    location = _get(doc.data, path)
    if not isinstance(location, str) or is_object_store(location):
        return []
    shown = redact(location)  # file://user:password@... is a path to the parser, a secret to us
    local = local_path(location)
    if local is None:
        return [diagnostic_at(
            doc, code, path,
            f"{what} {shown!r} is neither an s3:// URI nor a local path",
            point_at="value",
        )]
    if _under_shared_volume(local, env):
        return []
    problem = _why_not_shared(local, env)
    if env.name == "dev":
        return [diagnostic_at(
            doc, code, path, f"{what} {shown!r} {problem}; fine for a one-node dev cluster only",
            severity="warning", point_at="value",
        )]
    return [diagnostic_at(
        doc, code, path,
        f"{what} {shown!r} {problem}, but every stage runs in its own pod; use an s3:// URI "
        "(the only object store Metarank 0.4.1 reads) or a path under sharedVolume.mountPath with sharedVolume.enabled and "
        "sharedVolume.existingClaim (a ReadWriteMany PVC)",
        point_at="value",
    )]


def _under_shared_volume(local: str, env: EnvProfile) -> bool:
    mount = env.shared_volume_mount_path
    if not (env.shared_volume_claim and mount and posixpath.isabs(local)):
        return False
    path = posixpath.normpath(local)
    mount = posixpath.normpath(mount)
    return path == mount or path.startswith(mount.rstrip("/") + "/")


def _why_not_shared(local: str, env: EnvProfile) -> str:
    if not posixpath.isabs(local):
        return "is a relative path (relative to each pod's working directory)"
    if not env.shared_volume_claim:
        return f"is a local path and env {env.name!r} mounts no shared volume (sharedVolume.existingClaim)"
    return f"is a local path outside the shared volume mounted at {env.shared_volume_mount_path}"


# -- reading the document -----------------------------------------------------------------------


def _get(data: Any, path: JsonPath) -> Any:
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _whole(value: Any) -> Any:
    """``4.0``, ``"4"``, ``1e3`` → the integer circe's Decoder[Int] reads (what the engine uses);
    everything else unchanged (the schema reports it)."""
    number = engine_int(value)
    return value if number is None else number


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _features(doc: LoadedDocument) -> list[dict]:
    features = _get(doc.data, ("features",))
    return [f for f in features if isinstance(f, dict)] if isinstance(features, list) else []


def _models(doc: LoadedDocument) -> list[tuple[str, dict]]:
    models = _get(doc.data, ("models",))
    if not isinstance(models, dict):
        return []
    return [(name, m) for name, m in models.items() if isinstance(m, dict)]


def _interactions(doc: LoadedDocument) -> set[str]:
    """Interaction (event) types the config names: feature fields and synthetic impressions."""
    names = {
        f[field] for f in _features(doc) for field in INTERACTION_FIELDS if isinstance(f.get(field), str)
    }
    synthetic = _get(doc.data, ("bootstrap", "syntheticImpression")) or {}
    if isinstance(synthetic, dict) and synthetic.get("enabled", True):
        names.add(str(synthetic.get("eventName", "impression")))
    return names


def _strings(data: Any, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    """Every string value in the document with its path (explicit stack: no recursion limit)."""
    stack: list[tuple[JsonPath, Any]] = [(path, data)]
    seen: set[int] = set()
    while stack:
        here, node = stack.pop()
        if isinstance(node, str):
            yield here, node
        elif isinstance(node, (dict, list)):
            if id(node) in seen:  # a YAML alias: same object, already scanned
                continue
            seen.add(id(node))
            items = node.items() if isinstance(node, dict) else enumerate(node)
            stack.extend(((*here, k), v) for k, v in reversed(list(items)))


def _near(word: Any, candidates: list[str]) -> str | None:
    return near_miss(word, candidates) if isinstance(word, str) else None


# -- Metarank 0.4.1 itself (docs/engine-0.4.1.md) ----------------------------------------------

#: Bootstrap.scala: ``SavepointWriter.newSavepoint(backend, 32)``; the update job restores it.
SAVEPOINT_MAX_PARALLELISM = 32
#: Bootstrap.scala: ``streamEnv.setParallelism(2)`` (the config's value is commented out).
BOOTSTRAP_PARALLELISM = 2

EngineRule = Callable[[LoadedDocument, "EnvProfile | None"], Iterator[Diagnostic]]


def check_engine(doc: LoadedDocument, env: EnvProfile | None) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for rule in ENGINE_RULES:
        out.extend(rule(doc, env))
    return out


def bootstrap_parallelism_is_ignored(doc: LoadedDocument, env: EnvProfile | None) -> Iterator[Diagnostic]:
    """RV113 (warning): Metarank 0.4.1 runs the bootstrap with parallelism 2 whatever the config says."""
    value = _whole(_get(doc.data, ("bootstrap", "parallelism")))
    low, high = PARALLELISM_RANGE  # outside the range RV111 speaks
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high and value != BOOTSTRAP_PARALLELISM:
        yield diagnostic_at(
            doc, "RV113", ("bootstrap", "parallelism"),
            f"bootstrap.parallelism {value} is ignored: Metarank 0.4.1 always runs the bootstrap with "
            f"parallelism {BOOTSTRAP_PARALLELISM} (Bootstrap.scala)",
            hint="remove it; the chart sizes the bootstrap for 2", severity="warning",
        )


def update_parallelism_fits_the_savepoint(doc: LoadedDocument, env: EnvProfile | None) -> Iterator[Diagnostic]:
    """RV114: the update job cannot restore the bootstrap savepoint above its max parallelism 32."""
    value = _whole(_get(doc.data, ("inference", "parallelism")))
    low, high = PARALLELISM_RANGE
    if isinstance(value, int) and not isinstance(value, bool) and SAVEPOINT_MAX_PARALLELISM < value <= high:
        yield diagnostic_at(
            doc, "RV114", ("inference", "parallelism"),
            f"inference.parallelism {value} is above {SAVEPOINT_MAX_PARALLELISM}: Metarank 0.4.1 writes the "
            f"bootstrap savepoint with max parallelism {SAVEPOINT_MAX_PARALLELISM} (Bootstrap.scala), so the "
            "update job cannot restore it",
            hint=f"use at most {SAVEPOINT_MAX_PARALLELISM}",
        )


def memory_state_needs_standalone(doc: LoadedDocument, env: EnvProfile | None) -> Iterator[Diagnostic]:
    """RV205: memory state works only in Metarank's standalone mode, never in a chart deployment.

    ``StateStoreConfig.MemConfig`` fixes the host to ``localhost`` and the api connects to a Redis
    there that only ``standalone`` embeds: ``/health`` answers, every ``/rank`` fails. An error with
    an env (a deployment); a warning without one (the config may be meant for standalone).
    """
    if _get(doc.data, ("inference", "state", "type")) != "memory":
        return
    where = f"in env {env.name!r}" if env else "in any chart deployment"
    yield diagnostic_at(
        doc, "RV205", ("inference", "state", "type"),
        f"memory state does not work {where}: Metarank 0.4.1 then connects to a Redis on localhost that "
        "only its standalone mode starts, so the api answers /health while every /rank fails",
        hint="use redis state (type: redis, host, port) with the bundled or an external Redis",
        severity="error" if env else "warning",
    )


def s3_paths_need_static_keys(doc: LoadedDocument, env: EnvProfile | None) -> Iterator[Diagnostic]:
    """RV206: Metarank's own S3 client takes only static keys; an env without them cannot read s3://.

    ``S3FS.create`` fails with ``AWS_ACCESS_KEY_ID not defined for s3:// scheme`` when the keys are
    not in the environment: train (workdir, model), api (model) and upload (workdir) need them.
    """
    if env is None or env.s3_auth_mode != "serviceAccount":
        return
    paths: list[tuple[JsonPath, str]] = [(("bootstrap", "workdir"), "bootstrap.workdir (train, upload)")]
    for name, model in _models(doc):
        if model.get("type") == "lambdamart":
            paths.append((("models", name, "path"), f"model {name!r} path (train, api)"))
    for path, what in paths:
        value = _get(doc.data, path)
        if isinstance(value, str) and value.startswith("s3://"):
            yield diagnostic_at(
                doc, "RV206", path,
                f"{what} is on s3:// but env {env.name!r} gives no static keys (s3.auth.mode: serviceAccount): "
                "Metarank 0.4.1's own S3 client accepts only AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
                hint="set s3.auth.mode: existingSecret with s3.auth.existingSecret in the env file "
                "(s3.auth.flinkMode: serviceAccount keeps IRSA for the Flink jobs)",
                point_at="value",
            )


def env_update_parallelism_fits_the_savepoint(doc: LoadedDocument, env: EnvProfile | None) -> Iterator[Diagnostic]:
    """RV207: the env's stages.update.parallelism (used when the config sets none) is at most 32."""
    if env is None or env.update_parallelism is None or env.update_parallelism <= SAVEPOINT_MAX_PARALLELISM:
        return
    if _get(doc.data, ("inference", "parallelism")) is not None:
        return  # the config's value wins in the chart; RV114 judges it
    yield diagnostic_at(
        doc, "RV207", ("inference",),
        f"env {env.name!r} sets stages.update.parallelism {env.update_parallelism}, above the bootstrap "
        f"savepoint's max parallelism {SAVEPOINT_MAX_PARALLELISM} (Metarank 0.4.1 Bootstrap.scala)",
        hint=f"set it to at most {SAVEPOINT_MAX_PARALLELISM}",
    )


def field_match_cannot_run(doc: LoadedDocument, env: EnvProfile | None) -> Iterator[Diagnostic]:
    """RV124: field_match cannot run in Metarank 0.4.1's Flink jobs (its text analyzer is not serialisable)."""
    features = _get(doc.data, ("features",))
    if not isinstance(features, list):
        return
    for index, feature in enumerate(features):
        if isinstance(feature, dict) and feature.get("type") == "field_match":
            yield diagnostic_at(
                doc, "RV124", ("features", index, "type"),
                f"feature {feature.get('name')!r}: field_match cannot run in Metarank 0.4.1: its Lucene text "
                "analyzer is not serialisable, so the bootstrap (and the update job) fails building its Flink "
                "job with NotSerializableException (TextAnalyzer.scala; run: tests/test_engine_facts.py)",
                hint="remove the feature (and its name from the models' features)",
            )


def ua_field_cannot_run(doc: LoadedDocument, env: EnvProfile | None) -> Iterator[Diagnostic]:
    """RV125: a ua feature's field other than platform cannot run in Metarank 0.4.1's Flink jobs."""
    features = _get(doc.data, ("features",))
    if not isinstance(features, list):
        return
    for index, feature in enumerate(features):
        if isinstance(feature, dict) and feature.get("type") == "ua" and feature.get("field") in ("os", "browser", "bot"):
            yield diagnostic_at(
                doc, "RV125", ("features", index, "field"),
                f"feature {feature.get('name')!r}: ua field {feature.get('field')!r} cannot run in Metarank 0.4.1: "
                "its field object is not serialisable (only PlatformField is a case object), so the bootstrap "
                "fails building its Flink job with NotSerializableException (feature/ua/*Field.scala; run: "
                "tests/test_engine_facts.py)",
                hint="use field: platform, or remove the feature",
            )


ENGINE_RULES: tuple[EngineRule, ...] = (
    field_match_cannot_run,
    ua_field_cannot_run,
    bootstrap_parallelism_is_ignored,
    update_parallelism_fits_the_savepoint,
    memory_state_needs_standalone,
    s3_paths_need_static_keys,
    env_update_parallelism_fits_the_savepoint,
)
