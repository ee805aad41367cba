"""The JSON Schema of the Metarank 0.4.x ranking config (schemas/ranking-config.schema.json).

What is proven here: the schema is a valid Draft 2020-12 schema; real 0.4.1 configs and our own samples
validate; each kind of mistake yields exactly one precise error (validator keyword + JSON path), thanks to
the `type`-discriminated unions; every property carries hover text; defaults and examples obey their own
property schemas.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from support import SHARED

REPO = Path(__file__).resolve().parents[1]
SCHEMA_PATH = REPO / "schemas" / "ranking-config.schema.json"
SAMPLES_DIR = REPO / "tests" / "data" / "configs"
EXAMPLE_CONFIG = REPO / "examples" / "config.yml"
SHARED_METARANK = SHARED / "metarank" / "0.4.1"  # ../shared, or $RANKER_SHARED

FEATURE_TYPES = {
    "number", "boolean", "string", "word_count", "rate", "interacted_with", "interaction_count",
    "window_count", "ua", "relevancy", "local_time", "item_age", "field_match", "referer",
}  # fmt: skip


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def errors_of(validator: Draft202012Validator, document: Any) -> list[tuple[str, str, str]]:
    return sorted((e.validator, e.json_path, e.message) for e in validator.iter_errors(document))


# ---------------------------------------------------------------- the schema itself


def test_schema_is_a_valid_draft_2020_12_schema(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://ranker.dev/schemas/ranking-config.schema.json"
    assert schema["title"]
    Draft202012Validator.check_schema(schema)


def test_feature_type_enum_is_the_14_engine_types_without_list_size(schema: dict[str, Any]) -> None:
    enum = schema["$defs"]["feature"]["properties"]["type"]["enum"]
    assert set(enum) == FEATURE_TYPES and len(enum) == 14
    assert "list_size" not in enum


def union_defs(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, definition in schema["$defs"].items():
        if "allOf" in definition and "enum" in definition.get("properties", {}).get("type", {}):
            yield name, definition


@pytest.mark.parametrize("union", ["feature", "model", "backend", "source", "state"])
def test_every_union_branch_is_reachable_and_closed(schema: dict[str, Any], union: str) -> None:
    """The `type` enum, the if/then branches and each branch's own `type` const agree, and each branch is
    closed (additionalProperties: false), so an unknown key is reported inside the right branch."""
    definition = schema["$defs"][union]
    enum = definition["properties"]["type"]["enum"]
    branch_types = [rule["if"]["properties"]["type"]["const"] for rule in definition["allOf"]]
    assert branch_types == enum
    for rule in definition["allOf"]:
        branch = resolve(schema, rule["then"]["$ref"])
        assert branch["additionalProperties"] is False
        assert branch["properties"]["type"]["const"] == rule["if"]["properties"]["type"]["const"]
        assert "type" in branch["required"]
    assert {name for name, _ in union_defs(schema)} == {"feature", "model", "backend", "source", "state"}


def resolve(schema: dict[str, Any], ref: str) -> dict[str, Any]:
    assert ref.startswith("#/$defs/")
    return schema["$defs"][ref.removeprefix("#/$defs/")]


def property_schemas(node: Any, where: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema that describes a config key (named properties and map values), anywhere."""
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            yield f"{where}.properties.{name}", sub
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            yield f"{where}.additionalProperties", extra
        for key, value in node.items():
            if key in ("if", "const", "enum", "examples", "default"):
                continue  # branch selectors and literal values, not config keys
            yield from property_schemas(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from property_schemas(value, f"{where}[{index}]")


def test_every_property_has_a_description(schema: dict[str, Any]) -> None:
    walked = list(property_schemas(schema))
    assert len(walked) > 150  # the walk really reaches the nested branches
    missing = [where for where, sub in walked if not str(sub.get("description", "")).strip()]
    assert missing == []


def test_defaults_and_examples_obey_their_own_property_schema(schema: dict[str, Any]) -> None:
    checked = 0
    for where, sub in property_schemas(schema):
        if "$ref" in sub:
            continue
        own = Draft202012Validator({**sub, "$defs": schema["$defs"]})
        for value in ([sub["default"]] if "default" in sub else []) + sub.get("examples", []):
            assert not list(own.iter_errors(value)), f"{where}: {value!r}"
            checked += 1
    assert checked > 60


# ---------------------------------------------------------------- configs that must validate


@pytest.mark.parametrize("name", ["ranklens-config.yml", "sample-config.yml"])
def test_real_metarank_0_4_1_configs_validate(validator: Draft202012Validator, name: str) -> None:
    if not SHARED_METARANK.is_dir():
        pytest.skip(f"{SHARED_METARANK} is absent (the shared Metarank 0.4.1 configs are not mounted)")
    assert errors_of(validator, load_yaml(SHARED_METARANK / name)) == []


SAMPLES = sorted(SAMPLES_DIR.glob("*.yml"))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_config_validates(validator: Draft202012Validator, path: Path) -> None:
    assert errors_of(validator, load_yaml(path)) == []


def test_bundled_example_validates_and_declares_the_schema(validator: Draft202012Validator) -> None:
    first_line = EXAMPLE_CONFIG.read_text().splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=../schemas/ranking-config.schema.json"
    assert (EXAMPLE_CONFIG.parent / "../schemas/ranking-config.schema.json").resolve() == SCHEMA_PATH
    config = load_yaml(EXAMPLE_CONFIG)
    assert errors_of(validator, config) == []
    assert config["bootstrap"]["workdir"].startswith("s3://")
    assert config["inference"]["state"]["type"] == "redis"


def test_samples_cover_every_variety() -> None:
    """The samples together exercise every type of every union and every offset form."""
    configs = [load_yaml(path) for path in SAMPLES]
    sources = [c[stage]["source"] for c in configs for stage in ("bootstrap", "inference")]
    models = [m for c in configs for m in c["models"].values()]
    offsets = {s["offset"].split("=")[0] for s in sources if "offset" in s}

    assert len(SAMPLES) >= 5
    assert {f["type"] for c in configs for f in c["features"]} == FEATURE_TYPES
    assert {s["type"] for s in sources} == {"file", "kafka", "pulsar", "kinesis", "rest"}
    assert {m["type"] for m in models} == {"lambdamart", "shuffle", "noop"}
    assert {m["backend"]["type"] for m in models if m["type"] == "lambdamart"} == {"xgboost", "lightgbm"}
    assert {c["inference"]["state"]["type"] for c in configs} == {"redis", "memory"}
    assert offsets == {"earliest", "latest", "ts", "last"}


# ---------------------------------------------------------------- configs that must fail, precisely

Mutation = Callable[[dict[str, Any]], None]


def feature(config: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in config["features"] if f["name"] == name)


def set_key(*path: str | int, value: Any) -> Mutation:
    def mutate(config: dict[str, Any]) -> None:
        node: Any = config
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def drop_key(*path: str | int) -> Mutation:
    def mutate(config: dict[str, Any]) -> None:
        node: Any = config
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


# (id, mutation of the bundled example, expected validator keyword, expected JSON path)
INVALID: list[tuple[str, Mutation, str, str]] = [
    # unknown keys, one per major section
    ("top-level-unknown", set_key("feature", value=[]), "additionalProperties", "$"),
    ("bootstrap-typo", set_key("bootstrap", "parallelizm", value=2), "additionalProperties", "$.bootstrap"),
    ("inference-unknown", set_key("inference", "threads", value=4), "additionalProperties", "$.inference"),
    ("feature-typo", set_key("features", 0, "sorce", value="item.x"), "additionalProperties", "$.features[0]"),
    ("model-unknown", set_key("models", "xgboost", "booster", value="x"), "additionalProperties",
     "$.models.xgboost"),
    ("xgboost-has-no-numLeaves", set_key("models", "xgboost", "backend", "numLeaves", value=16),
     "additionalProperties", "$.models.xgboost.backend"),
    ("redis-password-unsupported", set_key("inference", "state", "password", value="s3cret"),
     "additionalProperties", "$.inference.state"),
    ("kafka-unknown", set_key("inference", "source", "partitions", value=3), "additionalProperties",
     "$.inference.source"),
    ("file-source-unknown", set_key("bootstrap", "source", "format", value="csv"), "additionalProperties",
     "$.bootstrap.source"),
    ("synthetic-impression-unknown", set_key("bootstrap", "syntheticImpression", "name", value="i"),
     "additionalProperties", "$.bootstrap.syntheticImpression"),
    ("relevancy-takes-no-scope", set_key("features", 12, "scope", value="item"), "additionalProperties",
     "$.features[12]"),
    ("field-match-method-unknown", set_key("features", 10, "method", "lang", value="en"),
     "additionalProperties", "$.features[10].method"),
    # discriminators
    ("feature-type-typo", set_key("features", 0, "type", value="numbr"), "enum", "$.features[0].type"),
    ("feature-list-size", set_key("features", 0, "type", value="list_size"), "enum", "$.features[0].type"),
    ("model-type", set_key("models", "baseline", "type", value="random"), "enum", "$.models.baseline.type"),
    ("backend-type", set_key("models", "xgboost", "backend", "type", value="catboost"), "enum",
     "$.models.xgboost.backend.type"),
    ("source-type", set_key("inference", "source", "type", value="kafak"), "enum", "$.inference.source.type"),
    ("state-type", set_key("inference", "state", "type", value="redsi"), "enum", "$.inference.state.type"),
    # required keys
    ("features-missing", drop_key("features"), "required", "$"),
    ("workdir-missing", drop_key("bootstrap", "workdir"), "required", "$.bootstrap"),
    ("state-missing", drop_key("inference", "state"), "required", "$.inference"),
    ("feature-type-missing", drop_key("features", 0, "type"), "required", "$.features[0]"),
    ("rate-periods-missing", drop_key("features", 6, "periods"), "required", "$.features[6]"),
    ("redis-host-missing", drop_key("inference", "state", "host"), "required", "$.inference.state"),
    ("lambdamart-path-missing", drop_key("models", "xgboost", "path"), "required", "$.models.xgboost"),
    ("shuffle-needs-max-change", drop_key("models", "baseline", "maxPositionChange"), "required",
     "$.models.baseline"),
    ("kafka-offset-missing", drop_key("inference", "source", "offset"), "required", "$.inference.source"),
    # values
    ("scope-enum", set_key("features", 0, "scope", value="global"), "enum", "$.features[0].scope"),
    ("interacted-with-item-scope", set_key("features", 9, "scope", value="item"), "enum", "$.features[9].scope"),
    ("ua-field", set_key("features", 11, "field", value="device"), "enum", "$.features[11].field"),
    ("local-time-parse", lambda c: c["features"].append(
        {"name": "t", "type": "local_time", "source": "ranking.ts", "parse": "hour"}), "enum",
     "$.features[13].parse"),
    ("duration-unit", set_key("features", 6, "bucket", value="1w"), "pattern", "$.features[6].bucket"),
    ("duration-spaces", set_key("features", 0, "ttl", value="60 days"), "pattern", "$.features[0].ttl"),
    ("offset-id-form", set_key("inference", "source", "offset", value="id=42"), "pattern",
     "$.inference.source.offset"),
    ("offset-last-without-unit", set_key("inference", "source", "offset", value="last=7"), "pattern",
     "$.inference.source.offset"),
    ("source-field-nested", set_key("features", 0, "source", value="item.stats.popularity"), "pattern",
     "$.features[0].source"),
    ("item-age-needs-item-field", set_key("features", 5, "source", value="ranking.created_at"), "pattern",
     "$.features[5].source"),
    ("workdir-s3a", set_key("bootstrap", "workdir", value="s3a://acme-ranking/ranker"), "pattern",
     "$.bootstrap.workdir"),
    ("workdir-bucket-only", set_key("bootstrap", "workdir", value="s3://acme-ranking"), "pattern",
     "$.bootstrap.workdir"),
    ("model-path-gs", set_key("models", "xgboost", "path", value="gs://b/m.model"), "pattern",
     "$.models.xgboost.path"),
    ("port-as-boolean", set_key("inference", "port", value=True), "type", "$.inference.port"),
    ("parallelism-float", set_key("bootstrap", "parallelism", value=2.5), "type", "$.bootstrap.parallelism"),
    ("weight-not-number", set_key("models", "xgboost", "weights", "click", value=[1]), "type",
     "$.models.xgboost.weights.click"),
    ("option-value-not-string", set_key("inference", "source", "options", value={"retries": 3}), "type",
     "$.inference.source.options.retries"),
    ("empty-features", set_key("features", value=[]), "minItems", "$.features"),
    ("empty-model-features", set_key("models", "xgboost", "features", value=[]), "minItems",
     "$.models.xgboost.features"),
    ("empty-weights", set_key("models", "xgboost", "weights", value={}), "minProperties",
     "$.models.xgboost.weights"),
    ("no-models", set_key("models", value={}), "minProperties", "$.models"),
    ("empty-string-values", set_key("features", 3, "values", value=[]), "minItems", "$.features[3].values"),
    ("synthetic-enabled-string", set_key("bootstrap", "syntheticImpression", "enabled", value="yes"), "type",
     "$.bootstrap.syntheticImpression.enabled"),
]


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    config = load_yaml(EXAMPLE_CONFIG)
    # The schema still describes field_match (RV124 refuses it: it cannot run in 0.4.1); the
    # example no longer has one, so the table's feature 10 is put back here.
    config["features"].insert(10, {
        "name": "query_title_match", "type": "field_match", "rankingField": "ranking.query", "itemField": "item.title",
        "method": {"type": "ngram", "n": 3, "language": "en"},
    })  # fmt: skip
    assert [f["type"] for f in config["features"]][:13] == [
        "number", "number", "boolean", "string", "word_count", "item_age", "rate", "window_count",
        "interaction_count", "interacted_with", "field_match", "ua", "relevancy",
    ]  # fmt: skip  # the indexes used in INVALID
    return config


def test_invalid_table_is_large_and_covers_every_section() -> None:
    assert len(INVALID) >= 25
    keywords = {keyword for _, _, keyword, _ in INVALID}
    assert {"additionalProperties", "enum", "required", "pattern", "type", "minItems"} <= keywords
    unknown_key_paths = {path for _, _, keyword, path in INVALID if keyword == "additionalProperties"}
    assert {"$", "$.bootstrap", "$.inference", "$.features[0]", "$.models.xgboost",
            "$.models.xgboost.backend", "$.inference.state", "$.inference.source",
            "$.bootstrap.source"} <= unknown_key_paths  # fmt: skip


@pytest.mark.parametrize(("mutation", "keyword", "path"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_config_fails_with_one_precise_error(
    validator: Draft202012Validator, example: dict[str, Any], mutation: Mutation, keyword: str, path: str
) -> None:
    config = copy.deepcopy(example)
    mutation(config)
    errors = errors_of(validator, config)
    assert [(validator_keyword, json_path) for validator_keyword, json_path, _ in errors] == [(keyword, path)]


def test_unknown_type_names_the_allowed_values(validator: Draft202012Validator, example: dict[str, Any]) -> None:
    config = copy.deepcopy(example)
    config["features"][0]["type"] = "numbr"
    [(_, _, message)] = errors_of(validator, config)
    assert message.startswith("'numbr' is not one of ['number', 'boolean', 'string'")


def test_unknown_key_message_names_the_key(validator: Draft202012Validator, example: dict[str, Any]) -> None:
    config = copy.deepcopy(example)
    config["bootstrap"]["parallelizm"] = 2
    [(_, _, message)] = errors_of(validator, config)
    assert "'parallelizm' was unexpected" in message
