"""Model checks with LambdaMART models trained by xgboost in the test (JSON, UBJ) and a legacy
binary model written by xgboost 2.1.4 (``save_raw('deprecated')``, tests/data/models: xgboost 3.2
can no longer write that format)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ranker_values.ops.check.columns import column_names, model_columns
from ranker_values.ops.check.model_checks import read_model, sniff_format
from ranker_values.ops.check.runner import Status
from check_support import (
    EXPECTED_COLUMNS,
    FEATURES,
    make_deployment,
    run,
    s3_values,
    train_model,
)

LEGACY = Path(__file__).parent / "data" / "models" / "xgboost-2.1.4-legacy-binary-13-features.model"


@pytest.mark.parametrize("fmt", ["json", "ubj"])
def test_matching_model_on_s3_passes(s3, moto_endpoint, fmt):
    s3.put_object(Bucket="ranker", Key="models/xgboost.model", Body=train_model(EXPECTED_COLUMNS, fmt))
    result = run(make_deployment(), ["model"], values=s3_values(moto_endpoint))["model.xgboost"]
    assert result.status is Status.PASS, result
    assert f"{fmt} model with {EXPECTED_COLUMNS} feature columns" in result.reason


def test_model_trained_before_a_feature_was_added_names_it(tmp_path):
    # trained without `ctr` (rate, 2 periods): 11 columns instead of 13
    path = tmp_path / "xgboost.model"
    path.write_bytes(train_model(EXPECTED_COLUMNS - 2, "ubj"))
    result = run(make_deployment(model_path=str(path)), ["model"])["model.xgboost"]
    assert result.status is Status.FAIL
    assert "model has 11 feature columns, the config implies 13" in result.reason
    assert "ctr (rate, 2 columns)" in result.reason
    assert "re-run the train step" in result.fix


def test_feature_names_in_the_model_are_compared_by_name(tmp_path):
    columns = column_names(model_columns([f["name"] for f in FEATURES], FEATURES))
    trained = [c for c in columns if not c.startswith("clicks_")] + ["old_feature"]
    path = tmp_path / "xgboost.model"
    path.write_bytes(train_model(len(trained), "json", trained))
    result = run(make_deployment(model_path=str(path)), ["model"])["model.xgboost"]
    assert result.status is Status.FAIL
    assert "not in the model: clicks_1, clicks_7, clicks_30" in result.reason
    assert "only in the model: old_feature" in result.reason


def test_legacy_binary_feature_count_comes_from_the_header(tmp_path):
    import xgboost

    data = LEGACY.read_bytes()
    assert sniff_format(data) == "legacy binary"
    with pytest.raises(xgboost.core.XGBoostError):  # what xgboost 3.2 does with it (the reason for the header read)
        xgboost.Booster(model_file=str(LEGACY))
    info = read_model(data)
    assert info.num_features == 13 and "cannot load the legacy binary format" in info.note

    ok = run(make_deployment(model_path=str(LEGACY)), ["model"])["model.xgboost"]
    assert ok.status is Status.PASS and "legacy binary model with 13 feature columns" in ok.reason
    fewer = [f["name"] for f in FEATURES if f["name"] != "genre"]
    bad = run(make_deployment(model_path=str(LEGACY), model_features=fewer), ["model"])["model.xgboost"]
    assert bad.status is Status.FAIL and "model has 13 feature columns, the config implies 10" in bad.reason
    assert "trained with 3 more column(s)" in bad.reason


def test_not_a_model_fails_cleanly(tmp_path):
    path = tmp_path / "xgboost.model"
    path.write_bytes(b'{"learner": 42')
    result = run(make_deployment(model_path=str(path)), ["model"])["model.xgboost"]
    assert result.status is Status.FAIL and "xgboost cannot load this json model" in result.reason


def test_missing_model_is_a_warning_before_train_and_a_failure_after(s3, moto_endpoint):
    values = s3_values(moto_endpoint)
    assert run(make_deployment(), ["model"], values=values)["model.xgboost"].status is Status.WARN
    after = run(make_deployment(), ["model"], values=values, done="train")["model.xgboost"]
    assert after.status is Status.FAIL and "does not exist" in after.reason
