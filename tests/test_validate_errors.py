"""The broken-config table: each mistake gives the expected code, JSON path and line.

Every case starts from BASE (a valid config), changes one thing, and names the line where the
error must point by a piece of text on that line (so the table survives edits to BASE). Also
proven here: Metarank ≥0.5 configs get the one version message, environment rules, ranking and
"N other errors", the three output formats, exit codes, and that no secret is echoed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner

from ranker_values.cli import app
from ranker_values.pipeline import validate_config

BASE = """\
features:
  - name: popularity
    type: number
    scope: item
    source: item.popularity
    ttl: 60d
  - name: ctr
    type: rate
    top: click
    bottom: impression
    scope: item
    bucket: 24h
    periods: [7, 30]
models:
  xgb:
    type: lambdamart
    path: s3://bucket/models/xgb.model
    backend:
      type: xgboost
      iterations: 10
    weights:
      click: 1
    features: [popularity, ctr]
bootstrap:
  workdir: s3://bucket/ranker
  parallelism: 2
  source:
    type: file
    path: s3://bucket/events/
inference:
  port: 8080
  parallelism: 2
  state:
    type: redis
    host: redis.svc
    port: 6379
  source:
    type: kafka
    brokers: [kafka:9092]
    topic: events
    groupId: ranker
    offset: latest
"""


@dataclass
class Case:
    id: str
    change: Callable[[str], str]
    code: str
    path: str
    at: str | None  # text on the line the error must point at (first occurrence); None: no line
    hint: str | None = None  # the "did you mean" suggestion, when one is expected
    severity: str = "error"


def sub(old: str, new: str) -> Callable[[str], str]:
    def change(text: str) -> str:
        assert old in text, f"{old!r} not in the base config"
        return text.replace(old, new, 1)

    return change


def whole(text: str) -> Callable[[str], str]:
    return lambda _: text


CASES = [
    # -- file level and structure ------------------------------------------------------------
    Case("yaml-unclosed-flow", sub("periods: [7, 30]", "periods: [7, 30"), "RV001", "$", "models:"),
    Case("yaml-bad-indent", sub("    scope: item\n    source", "    scope: item\n   source"), "RV001", "$", "   source"),
    Case("yaml-tab-indent", sub("  parallelism: 2\n  source", "  parallelism: 2\n\tsource"), "RV001", "$", "\tsource"),
    Case("yaml-unclosed-quote", sub("host: redis.svc", 'host: "redis.svc'), "RV001", "$", None),
    Case("root-is-a-list", whole("- features\n- models\n"), "RV002", "$", "- features"),
    Case("root-is-a-scalar", whole("just text\n"), "RV002", "$", "just text"),
    Case("empty-file", whole(""), "RV002", "$", None),
    Case("metarank-0.5", whole("api:\n  port: 8080\nstate:\n  type: memory\nfeatures: []\nmodels: {}\n"), "RV003", "$.api", "api:"),
    Case("two-documents", lambda t: t + "---\nfeatures: []\n", "RV004", "$", "---"),
    Case("custom-tag", sub("port: 8080", "port: !port 8080"), "RV005", "$.inference.port", "port: !port"),
    Case("complex-key", sub("  xgb:\n", "  ? [xgb]\n  :\n"), "RV006", "$.models", "? [xgb]"),
    Case("duplicate-key", sub("  parallelism: 2\n  source:\n    type: file", "  parallelism: 2\n  parallelism: 3\n  source:\n    type: file"),
         "RV904", "$.bootstrap.parallelism", "parallelism: 3"),
    Case("recursive-alias", sub("periods: [7, 30]", "periods: &p [7, *p]"), "RV903", "$.features[1].periods[1]", "periods: &p"),
    # -- unknown keys and near misses ----------------------------------------------------------
    Case("near-miss-parallelism", sub("  parallelism: 2\n  source:\n    type: file", "  paralelism: 2\n  source:\n    type: file"),
         "RV010", "$.bootstrap.paralelism", "paralelism", hint="parallelism", severity="warning"),
    Case("near-miss-top-level", sub("features:\n  - name: popularity", "feature:\n  - name: popularity"),
         "RV010", "$.feature", "feature:", hint="features"),
    Case("near-miss-workdir", sub("workdir:", "wrokdir:"), "RV010", "$.bootstrap.wrokdir", "wrokdir", hint="workdir"),
    Case("near-miss-case", sub("groupId:", "groupid:"), "RV010", "$.inference.source.groupid", "groupid", hint="groupId"),
    Case("near-miss-feature-key", sub("    scope: item\n    source: item.popularity", "    scop: item\n    source: item.popularity"),
         "RV010", "$.features[0].scop", "scop:", hint="scope"),
    Case("near-miss-model-key", sub("    weights:", "    weight:"), "RV010", "$.models.xgb.weight", "weight:", hint="weights"),
    Case("near-miss-backend-key", sub("iterations: 10", "iteration: 10"), "RV010", "$.models.xgb.backend.iteration", "iteration:", hint="iterations",
         severity="warning"),
    Case("near-miss-state", sub("  state:\n", "  stat:\n"), "RV010", "$.inference.stat", "stat:", hint="state"),
    # Metarank 0.4.1's decoders skip unknown keys: a warning, unless it hides a missing required key
    Case("unknown-key-no-suggestion", lambda t: t + "colour: blue\n", "RV010", "$.colour", "colour:", severity="warning"),
    Case("redis-password-not-supported", sub("    port: 6379", "    port: 6379\n    password: hunter2"),
         "RV010", "$.inference.state.password", "password:", severity="warning"),
    # -- enum values ---------------------------------------------------------------------------
    Case("enum-source-type", sub("type: kafka", "type: kafak"), "RV013", "$.inference.source.type", "kafak", hint="kafka"),
    Case("enum-state-type", sub("type: redis", "type: reddis"), "RV013", "$.inference.state.type", "reddis", hint="redis"),
    Case("enum-model-type-case", sub("type: lambdamart", "type: LambdaMART"), "RV013", "$.models.xgb.type", "LambdaMART", hint="lambdamart"),
    Case("enum-backend", sub("type: xgboost", "type: xgbost"), "RV013", "$.models.xgb.backend.type", "xgbost", hint="xgboost"),
    Case("enum-feature-type", sub("type: number", "type: nubmer"), "RV013", "$.features[0].type", "nubmer", hint="number"),
    Case("enum-list-size", sub("type: number", "type: list_size"), "RV013", "$.features[0].type", "list_size"),
    Case("enum-scope", sub("    scope: item\n    source: item.popularity", "    scope: items\n    source: item.popularity"),
         "RV013", "$.features[0].scope", "scope: items", hint="item"),
    # -- missing keys -----------------------------------------------------------------------------
    Case("missing-workdir", sub("  workdir: s3://bucket/ranker\n", ""), "RV011", "$.bootstrap", "bootstrap:"),
    Case("missing-inference-state", sub("  state:\n    type: redis\n    host: redis.svc\n    port: 6379\n", ""), "RV011", "$.inference", "inference:"),
    Case("missing-kafka-topic", sub("    topic: events\n", ""), "RV011", "$.inference.source", "  source:\n    type: kafka"),
    Case("missing-feature-name", sub("  - name: popularity\n    type: number", "  - type: number"), "RV011", "$.features[0]", "- type: number"),
    Case("missing-models", sub("models:\n  xgb:", "other:\n  xgb:"), "RV011", "$", "features:"),
    # -- wrong types -------------------------------------------------------------------------------
    # circe's Decoder[Int] also reads a quoted number ("2"), not other text
    Case("type-parallelism-string", sub("  parallelism: 2\n  source:\n    type: file", '  parallelism: "two"\n  source:\n    type: file'),
         "RV014", "$.bootstrap.parallelism", 'parallelism: "two"'),
    Case("type-port-string", sub("port: 8080", 'port: "80 80"'), "RV014", "$.inference.port", 'port: "80 80"'),
    Case("type-port-beyond-32-bits", sub("port: 8080", "port: 4294967296"), "RV014", "$.inference.port", "port: 4294967296"),
    Case("number-engine-cannot-read", sub("port: 8080", "port: 08080"), "RV007", "$.inference.port", "port: 08080"),
    Case("type-port-float", sub("port: 8080", "port: 8080.5"), "RV012", "$.inference.port", "port: 8080.5"),
    Case("type-features-mapping", sub("    features: [popularity, ctr]", "    features: {popularity: 1}"),
         "RV012", "$.models.xgb.features", "features: {popularity"),
    Case("type-weight-string", sub("click: 1", "click: high"), "RV014", "$.models.xgb.weights.click", "click: high"),
    Case("type-brokers-string", sub("brokers: [kafka:9092]", "brokers: kafka:9092"), "RV012", "$.inference.source.brokers", "brokers: kafka"),
    Case("type-boolean-as-int", sub("  parallelism: 2\n  source:\n    type: file", "  parallelism: true\n  source:\n    type: file"),
         "RV012", "$.bootstrap.parallelism", "parallelism: true"),
    Case("type-null-section", sub("  state:\n    type: redis\n    host: redis.svc\n    port: 6379\n", "  state:\n"),
         "RV012", "$.inference.state", "  state:"),
    # -- formats and sizes -------------------------------------------------------------------------
    Case("format-ttl", sub("ttl: 60d", "ttl: 60 days"), "RV014", "$.features[0].ttl", "ttl: 60 days"),
    Case("format-offset", sub("offset: latest", "offset: id=42"), "RV014", "$.inference.source.offset", "offset: id=42"),
    Case("format-workdir-scheme", sub("workdir: s3://bucket/ranker", "workdir: s3a://bucket/ranker"), "RV014", "$.bootstrap.workdir", "workdir: s3a"),
    Case("size-no-features", sub("  features: [popularity, ctr]", "  features: []"), "RV016", "$.models.xgb.features", "features: []"),
    Case("size-empty-periods", sub("periods: [7, 30]", "periods: []"), "RV016", "$.features[1].periods", "periods: []"),
    # -- semantic rules ----------------------------------------------------------------------------
    Case("undefined-model-feature", sub("[popularity, ctr]", "[popularty, ctr]"), "RV101", "$.models.xgb.features[0]", "popularty", hint="popularity"),
    Case("weight-near-miss", sub("click: 1", "clik: 1"), "RV102", "$.models.xgb.weights.clik", "clik: 1", hint="click", severity="warning"),
    Case("duplicate-feature-name", sub("  - name: ctr", "  - name: popularity"), "RV103", "$.features[1].name", "  - name: popularity\n    type: rate"),
    Case("repeated-model-feature", sub("[popularity, ctr]", "[popularity, ctr, ctr]"), "RV104", "$.models.xgb.features[2]", "[popularity, ctr, ctr]", severity="warning"),
    Case("port-zero", sub("port: 8080", "port: 0"), "RV110", "$.inference.port", "port: 0"),
    Case("redis-port-too-big", sub("port: 6379", "port: 70000"), "RV110", "$.inference.state.port", "port: 70000"),
    Case("parallelism-zero", sub("  parallelism: 2\n  source:\n    type: file", "  parallelism: 0\n  source:\n    type: file"),
         "RV111", "$.bootstrap.parallelism", "parallelism: 0"),
    Case("parallelism-huge", sub("  parallelism: 2\n  state:", "  parallelism: 100000\n  state:"), "RV111", "$.inference.parallelism", "parallelism: 100000"),
    Case("bootstrap-parallelism-ignored", sub("  parallelism: 2\n  source:\n    type: file", "  parallelism: 8\n  source:\n    type: file"),
         "RV113", "$.bootstrap.parallelism", "parallelism: 8", severity="warning"),
    Case("update-parallelism-above-savepoint-max", sub("  parallelism: 2\n  state:", "  parallelism: 33\n  state:"), "RV114", "$.inference.parallelism", "parallelism: 33"),
    Case("rest-source-warning", sub("    type: kafka\n    brokers: [kafka:9092]\n    topic: events\n    groupId: ranker\n    offset: latest\n", "    type: rest\n"),
         "RV112", "$.inference.source.type", "type: rest", severity="warning"),
    Case("password-in-url", sub("brokers: [kafka:9092]", "brokers: ['sasl://user:s3cr3t@kafka:9092']"), "RV120", "$.inference.source.brokers[0]", "sasl://"),
    Case("password-in-workdir", sub("workdir: s3://bucket/ranker", "workdir: s3://AKIA:s3cr3t@bucket/ranker"), "RV120", "$.bootstrap.workdir", "workdir: s3://AKIA"),
    Case("credential-option", sub("    offset: latest\n", "    offset: latest\n    options:\n      sasl.jaas.config: 'PlainLoginModule required password=\"s3cr3t\";'\n"),
         "RV121", "$.inference.source.options['sasl.jaas.config']", "sasl.jaas.config"),
]


def line_of(text: str, needle: str) -> int:
    """The line where ``needle`` (which may span lines, for uniqueness) starts."""
    return text.count("\n", 0, text.index(needle)) + 1


def test_the_table_is_big_and_covers_every_code():
    assert len(CASES) >= 40
    documented = {"RV001", "RV002", "RV003", "RV004", "RV005", "RV006", "RV010", "RV011", "RV012", "RV013",
                  "RV014", "RV016", "RV101", "RV102", "RV103", "RV104", "RV110", "RV111", "RV112", "RV120",
                  "RV121", "RV903", "RV904"}  # fmt: skip
    assert documented <= {c.code for c in CASES}


def test_base_config_is_valid(tmp_path):
    path = tmp_path / "base.yml"
    path.write_text(BASE)
    result = validate_config(path)
    assert result.ok and not result.warnings, result.diagnostics


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_config(tmp_path, case: Case):
    text = case.change(BASE)
    path = tmp_path / "config.yml"
    path.write_text(text)
    result = validate_config(path)
    matching = [d for d in result.diagnostics if d.code == case.code]
    assert matching, f"no {case.code}; got {[(d.code, d.path, d.message) for d in result.diagnostics]}"
    found = matching[0]
    assert found.path == case.path
    assert found.severity == case.severity
    assert found.file == str(path)
    if case.at is None:
        assert found.line is not None or case.code == "RV002"
    else:
        assert found.line == line_of(text, case.at), (found, text)
    if case.hint:
        assert found.hint == f"did you mean {case.hint!r}?"
    # the most relevant problem comes first
    assert result.diagnostics[0].severity == case.severity or case.severity == "warning"
    if case.severity == "error":
        assert not result.ok and result.deployment is None


def test_near_miss_does_not_also_report_the_missing_key(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text(BASE.replace("workdir:", "wrokdir:"))
    assert [d.code for d in validate_config(path).errors] == ["RV010"]


def test_list_size_gets_a_pointed_message(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text(BASE.replace("type: number", "type: list_size"))
    (error,) = validate_config(path).errors
    assert "not implemented in 0.4" in error.message


# -- Metarank ≥0.5 ---------------------------------------------------------------------------------

METARANK_05 = """\
api:
  port: 8080
state:
  type: redis
  host: localhost
input:
  type: api
features:
  - name: popularity
    type: number
    scope: item
    source: item.popularity
models:
  default:
    type: lambdamart
    backend:
      type: xgboost
    weights:
      click: 1
    features: [popularity]
"""
METARANK_06 = METARANK_05 + "core:\n  tracking:\n    analytics: false\ntrain:\n  type: file\n  path: /tmp/train\n"
METARANK_MINIMAL = "state:\n  type: memory\n"


@pytest.mark.parametrize(
    "text, release",
    [(METARANK_05, "0.5 or later"), (METARANK_06, "0.6 or later"), (METARANK_MINIMAL, "0.5 or later")],
)
def test_newer_metarank_configs_get_one_version_message(tmp_path, text, release):
    path = tmp_path / "new.yml"
    path.write_text(text)
    result = validate_config(path)
    (error,) = result.diagnostics
    assert error.code == "RV003"
    assert f"Metarank {release} config" in error.message
    assert "ranker deploys Metarank 0.4.1" in error.message
    assert error.line == 1


def test_a_04_config_with_a_stray_state_key_is_not_mistaken_for_05(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text(BASE + "state:\n  type: memory\n")
    result = validate_config(path)
    assert not result.errors  # the engine ignores the unknown top-level key
    (warning,) = result.warnings
    assert (warning.code, warning.path) == ("RV010", "$.state")


# -- environment rules -------------------------------------------------------------------------

LOCAL_BASE = (
    BASE.replace("workdir: s3://bucket/ranker", "workdir: /data/bootstrap")
    .replace("path: s3://bucket/events/", "path: file:///data/events/")
    .replace("path: s3://bucket/models/xgb.model", "path: /data/models/xgb.model")
)


def env_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "values" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


MEMORY_BASE = BASE.replace("type: redis\n    host: redis.svc\n    port: 6379", "type: memory")
SHARED = "sharedVolume:\n  enabled: true\n  existingClaim: ranker-data\n  mountPath: /data\n"


@pytest.mark.parametrize(
    "env, values, config, expected",
    [
        ("prod", "", BASE, []),
        ("prod", "", LOCAL_BASE, [("RV201", "error"), ("RV202", "error"), ("RV203", "error")]),
        ("dev", "", LOCAL_BASE, [("RV201", "warning"), ("RV202", "warning"), ("RV203", "warning")]),
        ("prod", SHARED, LOCAL_BASE, []),
        ("prod", SHARED.replace("/data\n", "/mnt/shared\n"), LOCAL_BASE, [("RV201", "error"), ("RV202", "error"), ("RV203", "error")]),
        ("prod", SHARED.replace("  existingClaim: ranker-data\n", ""), LOCAL_BASE, [("RV201", "error"), ("RV202", "error"), ("RV203", "error")]),
        ("prod", SHARED, LOCAL_BASE.replace("workdir: /data/bootstrap", "workdir: data/bootstrap"), [("RV201", "error")]),
        ("prod", SHARED, LOCAL_BASE.replace("workdir: /data/bootstrap", "workdir: /data/../etc/bootstrap"), [("RV201", "error")]),
        # RV205: memory state never works in a chart deployment (StateStoreConfig: host localhost)
        ("prod", "", MEMORY_BASE, [("RV205", "error")]),
        ("dev", "stages:\n  update:\n    enabled: false\n", MEMORY_BASE, [("RV205", "error")]),
        ("dev", "stages:\n  update:\n    enabled: false\n  api:\n    replicaCount: 2\n", MEMORY_BASE, [("RV205", "error")]),
        # RV206: s3:// paths need static keys for Metarank's own S3 client (S3FS.create)
        ("prod", "s3:\n  auth:\n    mode: serviceAccount\n", BASE, [("RV206", "error"), ("RV206", "error")]),
        ("prod", "s3:\n  auth:\n    mode: existingSecret\n    flinkMode: serviceAccount\n", BASE, []),
        # RV207: the env's update parallelism (the config sets none) restores a max-parallelism-32 savepoint
        ("prod", "stages:\n  update:\n    parallelism: 64\n", BASE.replace("  parallelism: 2\n  state:", "  state:"), [("RV207", "error")]),
        ("prod", "stages:\n  update:\n    parallelism: 32\n", BASE.replace("  parallelism: 2\n  state:", "  state:"), []),
    ],
)
def test_environment_rules(tmp_path, monkeypatch, env, values, config, expected):
    env_file(tmp_path, env, values)
    path = tmp_path / "c.yml"
    path.write_text(config)
    monkeypatch.chdir(tmp_path)
    result = validate_config(Path("c.yml"), env=env)
    assert sorted((d.code, d.severity) for d in result.diagnostics) == expected
    without_env = validate_config(Path("c.yml"))
    assert without_env.ok, "environment rules must apply only with an env"
    if config is MEMORY_BASE:
        assert [(d.code, d.severity) for d in without_env.diagnostics] == [("RV205", "warning")]


def test_env_rule_points_at_the_value(tmp_path, monkeypatch):
    env_file(tmp_path, "prod", "")
    (tmp_path / "c.yml").write_text(LOCAL_BASE)
    monkeypatch.chdir(tmp_path)
    first = validate_config(Path("c.yml"), env="prod").errors[0]
    assert (first.code, first.path, first.line) == ("RV203", "$.models.xgb.path", line_of(LOCAL_BASE, "path: /data/models"))
    assert "sharedVolume.existingClaim" in first.message


# -- ranking, limits, formats, exit codes -------------------------------------------------------

runner = CliRunner()


def many_errors_config() -> str:
    text = BASE
    bad = "".join(f"  - {{name: bad_{i:02d}, type: number, scope: item, source: item.x, ttl: {i}w}}\n" for i in range(12))
    return text.replace("features:\n", "features:\n" + bad, 1).replace("[popularity, ctr]", "[popularty, ctr]")


def test_ranking_puts_near_misses_before_other_errors(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text(BASE.replace("type: kafka", "type: kafak").replace("click: 1", "click: [1]").replace("workdir:", "workdir: [x]\n  x_workdir:"))
    codes = [(d.code, d.hint is not None) for d in validate_config(path).errors]
    assert codes[0] == ("RV013", True)
    assert ("RV012", False) in codes[1:] and len(codes) >= 3


def test_text_output_limits_errors_and_counts_the_rest(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text(many_errors_config())
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len([line for line in lines if "error[" in line]) == 10
    assert "3 other errors (use --verbose to see all)" in result.output
    assert lines[0].startswith(f"{path}:") and "error[RV101]" in lines[0] and "did you mean 'popularity'?" in lines[0]
    assert lines[-1] == f"{path}: 13 errors"
    verbose = runner.invoke(app, ["validate", "--verbose", str(path)])
    assert len([line for line in verbose.output.splitlines() if "error[" in line]) == 13


def test_line_format(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text(BASE.replace("  parallelism: 2\n  source:\n    type: file", "  paralelism: 2\n  source:\n    type: file"))
    result = runner.invoke(app, ["validate", str(path)])
    line = result.output.splitlines()[0]
    number = line_of(path.read_text(), "paralelism")
    assert line == (
        f"{path}:{number}:3: warning[RV010] $.bootstrap.paralelism: unknown key 'paralelism' in $.bootstrap; "
        "Metarank 0.4.1 ignores it; did you mean 'parallelism'?"
    )


def test_json_output_has_everything(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text(many_errors_config())
    result = runner.invoke(app, ["validate", "--format", "json", str(path)])
    assert result.exit_code == 1
    report = json.loads(result.output)
    (entry,) = report["files"]
    assert entry["valid"] is False and entry["errors"] == 13 and len(entry["diagnostics"]) == 13
    first = entry["diagnostics"][0]
    assert set(first) == {"file", "line", "col", "severity", "code", "path", "message", "hint"}


def test_github_output(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text(BASE.replace("type: kafka", "type: kafak"))
    result = runner.invoke(app, ["validate", "--format", "github", str(path)])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    number = line_of(path.read_text(), "kafak")
    assert line.startswith(f"::error file={path},line={number},col=5,title=RV013::$.inference.source.type: 'kafak'")
    assert line.endswith("did you mean 'kafka'?")


def test_exit_codes_and_many_files(tmp_path):
    good = tmp_path / "good.yml"
    good.write_text(BASE)
    bad = tmp_path / "bad.yml"
    bad.write_text(BASE.replace("type: kafka", "type: kafak"))
    warn = tmp_path / "warn.yml"
    warn.write_text(BASE.replace("[popularity, ctr]", "[popularity, ctr, ctr]"))
    assert runner.invoke(app, ["validate", str(good)]).exit_code == 0
    assert runner.invoke(app, ["validate", str(good), str(warn)]).exit_code == 0
    assert runner.invoke(app, ["validate", "--strict", str(good), str(warn)]).exit_code == 1
    both = runner.invoke(app, ["validate", str(good), str(bad)])
    assert both.exit_code == 1
    assert f"{good}: valid" in both.output and f"{bad}: 1 error" in both.output
    missing = runner.invoke(app, ["validate", str(good), str(tmp_path / "nope.yml"), str(bad)])
    assert missing.exit_code == 2
    assert f"{bad}: 1 error" in missing.output
    (line,) = [l for l in missing.output.splitlines() if "nope.yml" in l]
    assert line == f"{tmp_path / 'nope.yml'}: error: no such file"  # the name once (issue 8, item 15)
    assert runner.invoke(app, ["validate", str(tmp_path)]).exit_code == 2
    assert runner.invoke(app, ["validate"]).exit_code == 2
    assert runner.invoke(app, ["validate", "--format", "xml", str(good)]).exit_code == 2
    binary = tmp_path / "bin.yml"
    binary.write_bytes(b"\x00\xff")
    assert runner.invoke(app, ["validate", str(binary)]).exit_code == 1


def test_missing_env_file_is_a_usage_error(tmp_path, monkeypatch):
    good = tmp_path / "good.yml"
    good.write_text(BASE)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["validate", "--env", "staging", str(good)])
    assert result.exit_code == 2
    assert "values/staging.yaml not found" in result.output and "--env-file" in result.output
    other = tmp_path / "elsewhere.yaml"
    other.write_text("stages:\n  update:\n    enabled: true\n")
    assert runner.invoke(app, ["validate", "--env", "staging", "--env-file", str(other), str(good)]).exit_code == 0
    other.write_text("stages:\n  api:\n    replicaCount: many\n")
    result = runner.invoke(app, ["validate", "--env-file", str(other), str(good)])
    assert result.exit_code == 2 and "replicaCount must be an integer" in result.output


def test_secrets_are_never_echoed(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text(
        BASE.replace("brokers: [kafka:9092]", "brokers: ['sasl://user:s3cr3t@kafka:9092']")
        .replace("port: 8080", "port: 'redis://u:s3cr3t@host'")
        .replace("    offset: latest\n", "    offset: latest\n    options:\n      sasl.jaas.config: 'password=\"s3cr3t\"'\n")
    )
    for output in ("text", "json", "github"):
        result = runner.invoke(app, ["validate", "--verbose", "--format", output, str(path)])
        assert result.exit_code == 1
        assert "RV120" in result.output and "RV121" in result.output
        assert "s3cr3t" not in result.output
