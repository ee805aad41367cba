"""The feature → model-column rule (ranker_values/ops/check/columns.py) on real configs."""

from __future__ import annotations

import pytest
import yaml

from ranker_values.ops.check.columns import ColumnRuleError, column_names, explain_mismatch, model_columns
from check_support import FEATURES


def test_request_level_features_come_first_and_vectors_expand():
    cols = model_columns([f["name"] for f in FEATURES], FEATURES)
    assert column_names(cols) == [
        "platform_mobile", "platform_desktop", "platform_tablet",
        "popularity", "genre_a", "genre_b", "genre_c", "ctr_7", "ctr_30",
        "clicks_1", "clicks_7", "clicks_30", "relevance",
    ]


def test_ranklens_config_from_shared(shared_configs):
    path = next(p for p in shared_configs if p.name == "ranklens-config.yml")
    config = yaml.safe_load(path.read_text())
    model = config["models"]["xgboost"]
    cols = model_columns(model["features"], config["features"])
    # 16 features; genre is index-encoded (1), ctr and day_item_click_count have 2 periods each
    assert sum(c.dim for c in cols) == 18
    assert "ctr_7" in column_names(cols) and "day_item_click_count_30" in column_names(cols)


def test_unknown_names_in_the_model_list_are_dropped_like_metarank_does():
    cols = model_columns(["popularity", "not_defined"], FEATURES)
    assert column_names(cols) == ["popularity"]


def test_unknown_feature_type_is_refused():
    with pytest.raises(ColumnRuleError, match="not a Metarank 0.4 feature type"):
        model_columns(["x"], [{"name": "x", "type": "bert"}])


def test_mismatch_explanation_without_names_points_at_equal_sized_features():
    cols = model_columns([f["name"] for f in FEATURES], FEATURES)
    text = explain_mismatch(cols, 10, None)
    assert "3 column(s) more in the config" in text
    assert "clicks (window_count, 3 columns)" in text and "genre (string, 3 columns)" in text
    assert "trained with 2 more column(s)" in explain_mismatch(cols, 15, None)


def test_string_feature_without_encode_is_one_index_column_like_the_engine():
    # 0.4.1: StringFeatureSchema's encode defaults to IndexEncoderName (StringFeature.scala:132);
    # tests/test_engine_lifecycle.py checks the column count of a dataset the engine wrote.
    plain = {"name": "genre", "type": "string", "scope": "item", "source": "item.genre", "values": ["a", "b", "c"]}
    assert column_names(model_columns(["genre"], [plain])) == ["genre"]
    onehot = {**plain, "encode": "onehot"}
    assert column_names(model_columns(["genre"], [onehot])) == ["genre_a", "genre_b", "genre_c"]
