"""Semantic rules the JSON Schema cannot express; each is a small function with a stable code.

``check_semantics`` (RV1xx) runs on any mapping, also one with schema errors, so rules read the
document defensively: a part of the wrong shape is the schema's to report, and is skipped here. ``check_environment`` runs only when
an environment is given (``--env``/``--env-file``): whether storage is reachable from every pod
and whether memory state fits the replica count and the update stage (RV2xx).

A rule never echoes a secret: credentials are reported by where they are, not what they are.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any, Callable, Iterator

from generator.errors import Diagnostic
from generator.config.text import Suggester, has_password_in_url, near_miss, redact
from generator.config.loader import JsonPath, LoadedDocument, diagnostic_at
from generator.values.model import EnvProfile, is_object_store, local_path

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
        value = _get(doc.data, path)
        if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
            yield diagnostic_at(doc, "RV110", path, f"port {value} is out of range ({low}..{high})")


def parallelism_in_range(doc: LoadedDocument) -> Iterator[Diagnostic]:
    """RV111: parallelism is 1..32768 (Flink's maximum)."""
    low, high = PARALLELISM_RANGE
    for path in (("bootstrap", "parallelism"), ("inference", "parallelism")):
        value = _get(doc.data, path)
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # `4.0`: an integer to the schema and to the engine
        if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
            yield diagnostic_at(doc, "RV111", path, f"parallelism {value} is out of range ({low}..{high})")


def rest_source_loses_events(doc: LoadedDocument) -> Iterator[Diagnostic]:
    """RV112 (warning): the rest source buffers events in the API pod's memory."""
    if _get(doc.data, ("inference", "source", "type")) == "rest":
        yield diagnostic_at(
            doc, "RV112", ("inference", "source", "type"),
            "the rest source keeps queued feedback events in the API's memory: they are lost when "
            "an API pod restarts; use kafka, pulsar or kinesis to keep them",
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
    out.extend(_memory_state_fits(doc, env))
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


def _memory_state_fits(doc: LoadedDocument, env: EnvProfile) -> list[Diagnostic]:
    """RV204: memory state lives in one API pod; nothing else can read or update it."""
    if _get(doc.data, ("inference", "state", "type")) != "memory":
        return []
    reasons = []
    if env.api_max_replicas > 1:
        reasons.append(f"the API can run {env.api_max_replicas} replicas (each would hold different state)")
    if env.update_enabled:
        reasons.append("the update stage is on (its feature updates cannot reach API memory)")
    if not reasons:
        return []
    return [diagnostic_at(
        doc, "RV204", ("inference", "state", "type"),
        f"memory state does not work in env {env.name!r}: {' and '.join(reasons)}; use redis state, or set "
        "stages.api.replicaCount: 1, no autoscaling and stages.update.enabled: false",
    )]


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
