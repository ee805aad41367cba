"""Named regressions for the config acceptance fixes found by the engine differential
(``tests/test_engine_config_differential.py``): each pins one thing Metarank 0.4.1 accepts or
refuses (sources at tag 0.4.1, commit 7fde199b) to what ``ranker-values validate`` now says.
They run without the engine; the differential test checks the same against the real jar.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ranker_values.pipeline import validate_config
from support import REPO

KAFKA_REDIS = (REPO / "tests" / "data" / "configs" / "kafka-redis-xgboost.yml").read_text()
MINIMAL = (REPO / "tests" / "data" / "configs" / "minimal-rest.yml").read_text()


def check(tmp_path: Path, text: str):
    path = tmp_path / "config.yml"
    path.write_text(text)
    return validate_config(path)


def changed(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new, 1)


def codes(result) -> list[tuple[str, str]]:
    return [(d.code, d.path) for d in result.errors]


def test_a_misspelled_type_key_is_an_error_not_a_traceback(tmp_path):
    # FeatureSchema.scala:29 / the circe discriminator: no `type`, no decoder; it used to crash derive
    for old, new, path in (
        ("m: {type: noop}", "m: {tyep: noop}", "$.models.m"),
        ("{name: rel, type: relevancy}", "{name: rel, tyep: relevancy}", "$.features[0]"),
        ("source: {type: rest}", "source: {tyep: rest}", "$.inference.source"),
    ):
        result = check(tmp_path, changed(MINIMAL, old, new))
        assert not result.ok and result.deployment is None
        assert [p for _, p in codes(result)] == [path], result.diagnostics


@pytest.mark.parametrize("spelling", ["010", "+8080", ".5", ".inf", "-.inf", ".nan", "0b101", "1:30", "-0x1F", "1_0.5"])
def test_numbers_circe_yaml_cannot_read_are_refused_at_their_place(tmp_path, spelling):
    # circe-yaml: JsonNumber.fromString on every int/float node ("Invalid numeric string")
    text = changed(KAFKA_REDIS, "port: 9090", f"port: {spelling}")
    result = check(tmp_path, text)
    (found,) = [d for d in result.errors if d.code == "RV007"]
    assert (found.path, found.line, found.col) == ("$.inference.port", 23, 9)
    assert spelling in found.message and found.hint


@pytest.mark.parametrize(("spelling", "port"), [("1e3", 1000), ("1.0e3", 1000), ("8.0e3", 8000), ("0x1F90", 8080),
                                               ("8_080", 8080), ('"8080"', 8080), ('"9.0e3"', 9000), ("8080.0", 8080)])
def test_numbers_the_engine_reads_as_integers_are_accepted_with_its_value(tmp_path, spelling, port):
    # SnakeYAML reads 1e3 as a float (PyYAML: text); circe's Decoder[Int] takes whole numbers and
    # strings holding one
    result = check(tmp_path, changed(KAFKA_REDIS, "port: 9090", f"port: {spelling}"))
    assert result.ok, result.diagnostics
    assert result.deployment.api_port == port


@pytest.mark.parametrize("spelling", ['"010"', '" 8080"', '"+8080"', '""', "8080.5", "2147483648", "-2147483649", "1e10"])
def test_values_decoder_int_refuses_are_refused(tmp_path, spelling):
    result = check(tmp_path, changed(KAFKA_REDIS, "seed: 1", f"seed: {spelling}"))
    assert [p for _, p in codes(result)] == ["$.models.main.backend.seed"], result.diagnostics


def test_null_for_an_optional_key_means_the_engines_default(tmp_path):
    # circe-generic-extras withDefaults / Option: null is a missing key
    text = changed(KAFKA_REDIS, "port: 9090", "port: null")
    text = changed(text, "parallelism: 8", "parallelism: ~")
    result = check(tmp_path, changed(text, "format: json", "format: null"))
    assert result.ok, result.diagnostics
    assert (result.deployment.api_port, result.deployment.bootstrap_parallelism) == (8080, None)
    assert result.deployment.state.format == "protobuf"
    required = check(tmp_path, changed(KAFKA_REDIS, "host: redis.example", "host: null"))
    assert codes(required) == [("RV012", "$.inference.state.host")]


@pytest.mark.parametrize(("ttl", "ok"), [("106751d", True), ("106752d", False), ("2562047h", True), ("2562048h", False),
                                         ("9223372036s", True), ("9223372037s", False), ("99999999999999999999d", False)])
def test_durations_beyond_long_max_nanoseconds_are_refused(tmp_path, ttl, ok):
    # DurationJson.scala: FiniteDuration(num.toLong, unit) is limited to Long.MaxValue ns
    result = check(tmp_path, changed(KAFKA_REDIS, "source: item.popularity}", f"source: item.popularity, ttl: {ttl}}}"))
    assert result.ok is ok, result.diagnostics


def test_a_file_source_reads_an_offset(tmp_path):
    # EventSourceConfig.scala: FileSourceConfig(path, offset = Earliest)
    good = check(tmp_path, changed(MINIMAL, "path: /tmp/events}", "path: /tmp/events, offset: last=7d}"))
    assert good.ok and not [d for d in good.warnings if d.code == "RV010"], good.diagnostics
    bad = check(tmp_path, changed(MINIMAL, "path: /tmp/events}", "path: /tmp/events, offset: id=42}"))
    assert codes(bad) == [("RV014", "$.bootstrap.source.offset")]


def test_ua_needs_no_scope(tmp_path):
    # UserAgentFeature.scala:49-56: no scope field, always session
    result = check(tmp_path, changed(MINIMAL, "{name: rel, type: relevancy}",
                                     "{name: rel, type: relevancy}\n  - {name: agent, type: ua, source: ranking.ua, field: platform}"))
    assert result.ok and not [d for d in result.warnings if d.code == "RV010"], result.diagnostics


def test_a_star_field_prefix_is_refused(tmp_path):
    # FieldName.scala: ([a-z]+)\.(...) then metadata|item|user|ranking: "*" is "cannot decode source field"
    result = check(tmp_path, changed(KAFKA_REDIS, "source: item.popularity", 'source: "*.popularity"'))
    assert codes(result) == [("RV014", "$.features[0].source")]


@pytest.mark.parametrize(("language", "ok"), [("en", True), ("english", True), ("ja", True), ("EN", False), ("xx", False)])
def test_field_match_language_is_one_the_engine_knows(tmp_path, language, ok):
    # util/TextAnalyzer.scala:77-98
    feature = (f"{{name: m, type: field_match, rankingField: ranking.q, itemField: item.t, "
               f"method: {{type: ngram, n: 3, language: {language}}}}}")
    result = check(tmp_path, changed(MINIMAL, "{name: rel, type: relevancy}", "{name: rel, type: relevancy}\n  - " + feature))
    # the config loads or not by its language; RV124 then refuses every field_match (it cannot run, E27)
    others = [d for d in result.errors if d.code != "RV124"]
    assert (not others) is ok, result.diagnostics
    assert [d.code for d in result.errors if d.code == "RV124"] == ["RV124"]


def test_unknown_keys_warn_because_the_engine_ignores_them(tmp_path):
    # circe's derived decoders skip unknown keys
    result = check(tmp_path, changed(KAFKA_REDIS, "seed: 1}", "sede: 1}"))  # the seed is then random
    assert result.ok and result.deployment is not None
    (warning,) = [d for d in result.warnings if d.code == "RV010"]
    assert (warning.code, warning.path, warning.hint) == ("RV010", "$.models.main.backend.sede", "did you mean 'seed'?")


def test_features_of_a_noop_model_are_not_checked(tmp_path):
    # Config.validateConfig checks LambdaMARTConfig's features only; NoopConfig() has none
    result = check(tmp_path, changed(MINIMAL, "m: {type: noop}", "m: {type: noop, features: [nope]}"))
    assert result.ok, result.diagnostics


@pytest.mark.parametrize(("old", "new"), [("iterations: 50", "iterations: 0"), ("maxDepth: 6", "maxDepth: -1"),
                                          ("learningRate: 0.05", "learningRate: 0")])
def test_values_the_engine_loads_but_ranker_finds_meaningless_only_warn(tmp_path, old, new):
    result = check(tmp_path, changed(KAFKA_REDIS, old, new))
    assert result.ok, result.diagnostics
    assert [d.code for d in result.warnings if d.code != "RV113"] == ["RV015"]  # RV113: bootstrap parallelism 8


def test_an_empty_periods_list_stays_an_error(tmp_path):
    # FeatureMapping.fromFeatureSchema fails on periods: [] (head of empty list)
    feature = "{name: w, type: window_count, interaction: click, scope: item, bucket: 1h, periods: []}"
    result = check(tmp_path, changed(MINIMAL, "{name: rel, type: relevancy}", "{name: rel, type: relevancy}\n  - " + feature))
    assert codes(result) == [("RV016", "$.features[1].periods")]
