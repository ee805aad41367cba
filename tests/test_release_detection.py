"""Metarank >= 0.5 configs are recognised from every signal, not only top-level keys (RV003).

Each case is a config as the 0.5-0.7 documentation writes it (github.com/metarank/metarank at
the tag named; read with ``git show <tag>:doc/...``), most with only ``features:`` and
``models:`` — no top-level ``api``/``state``/``input``. Every one must get the version hint as
its one diagnostic, never a pile of schema errors.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ranker_values.cli import app
from ranker_values.pipeline import validate_config

LAMBDAMART = """models:
  default:
    type: lambdamart
    backend:
      type: xgboost
      iterations: 50
    weights:
      click: 1
    features: [price]
"""

CASES = {
    # 0.5.0 doc/configuration/features/scalar.md: `field` replaced 0.4's `source`
    "0.5 scalar feature with field": ("0.5", """features:
  - name: price
    type: number
    scope: item
    field: item.price
    refresh: 0s
    ttl: 90d
""" + LAMBDAMART),
    # 0.5.0 doc/configuration/features/scalar.md: boolean from the ranking event
    "0.5 boolean from ranking": ("0.5", """features:
  - name: banner_examined
    type: boolean
    scope: item
    field: ranking.banner_examined
""" + LAMBDAMART.replace("[price]", "[banner_examined]")),
    # 0.5.0 doc/configuration/features/user-session.md: list-valued `field` of interacted_with
    "0.5 interacted_with list field": ("0.5", """features:
  - name: clicked_color
    type: interacted_with
    interaction: click
    field: [item.color]
    scope: user
""" + LAMBDAMART.replace("[price]", "[clicked_color]")),
    # 0.5.0 src/main/scala/ai/metarank/model/ScopeType.scala: scope "global" (0.4.1: "tenant")
    "0.5 global scope": ("0.5", """features:
  - name: global_ctr
    type: rate
    top: click
    bottom: impression
    scope: global
    bucket: 24h
    periods: [7, 30]
""" + LAMBDAMART.replace("[price]", "[global_ctr]")),
    # 0.5.0 doc/configuration/features/generic.md: relative_number with minmax
    "0.5 relative_number": ("0.5", """features:
  - name: price_norm
    type: relative_number
    scope: item
    field: item.price
    method:
      type: minmax
""" + LAMBDAMART.replace("[price]", "[price_norm]")),
    # 0.6.0 doc/configuration/features/relevancy.md: position
    "0.6 position feature": ("0.6", """features:
  - name: position
    type: position
    position: 5
""" + LAMBDAMART.replace("[price]", "[position]")),
    # 0.6.0 doc/configuration/recommendations/similar.md: als
    "0.6 als model": ("0.6", """features: []
models:
  similar:
    type: als
    interactions: [click]
    factors: 100
    iterations: 100
"""),
    # 0.6.0 doc/configuration/recommendations/trending.md: trending
    "0.6 trending model": ("0.6", """models:
  yolo-trending:
    type: trending
    weights:
      - interaction: click
        decay: 0.8
        weight: 1.0
        window: 30d
"""),
    # 0.7.0 doc/configuration/features/text.md: field_match with bm25
    "0.7 field_match bm25": ("0.7", """features:
  - name: title_match
    type: field_match
    itemField: item.title
    rankingField: ranking.query
    method:
      type: bm25
      language: english
      itemFields: [title, description]
""" + LAMBDAMART.replace("[price]", "[title_match]")),
    # 0.7.0 doc/configuration/features/text.md: bi-encoder / cross-encoder
    "0.7 bi-encoder": ("0.7", """features:
  - name: title_query
    type: field_match
    itemField: item.title
    rankingField: ranking.query
    method:
      type: bi-encoder
      model: metarank/all-MiniLM-L6-v2
      dim: 384
  - name: semantic
    type: cross-encoder
""" + LAMBDAMART.replace("[price]", "[title_query]")),
    # 0.7.0 doc/configuration/features/diversity.md
    "0.7 diversity": ("0.7", """features:
  - name: color_diversity
    type: diversity
    field: item.color
""" + LAMBDAMART.replace("[price]", "[color_diversity]")),
    # 0.7.0 doc/configuration/recommendations/semantic.md
    "0.7 semantic model": ("0.7", """models:
  similar:
    type: semantic
    encoder:
      type: bert
      model: metarank/all-MiniLM-L6-v2
      dim: 384
    itemFields: [title, description]
"""),
    # 0.5.0 doc/configuration/sample-config.yml: top-level sections (the old signal still works)
    "0.5 top-level state and api": ("0.5", """state:
  type: memory
api:
  port: 8080
features:
  - name: price
    type: number
    scope: item
    field: item.price
""" + LAMBDAMART),
}


@pytest.mark.parametrize("name", list(CASES))
def test_metarank_0_5_or_later_config_gets_the_version_hint(tmp_path, name):
    release, text = CASES[name]
    path = tmp_path / "config.yml"
    path.write_text(text)
    result = validate_config(path)
    assert [d.code for d in result.diagnostics] == ["RV003"], [(d.code, d.message) for d in result.diagnostics]
    (hint,) = result.diagnostics
    assert f"Metarank {release} or later" in hint.message
    assert hint.line is not None


def test_the_table_covers_every_signal_kind():
    from ranker_values.config.schema import MODERN_FEATURE_TYPES, MODERN_MODEL_TYPES

    texts = "\n".join(text for _, text in CASES.values())
    assert len(CASES) >= 10
    for kind in ("als", "trending", "semantic", "bm25", "field: [", "scope: global", "field: item."):
        assert kind in texts, kind
    assert set(MODERN_MODEL_TYPES) <= {"als", "trending", "semantic"}
    assert any(t in texts for t in MODERN_FEATURE_TYPES)


def test_a_0_4_config_with_bootstrap_is_never_called_0_5(tmp_path):
    from conftest import EXAMPLE_CONFIG

    result = validate_config(EXAMPLE_CONFIG)
    assert "RV003" not in {d.code for d in result.diagnostics}


def test_version_hint_is_printed_once(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text(CASES["0.6 als model"][1])
    lines = CliRunner().invoke(app, ["validate", str(path)]).output.splitlines()
    assert sum("RV003" in line for line in lines) == 1
