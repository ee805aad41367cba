"""Model checks: every trained lambdamart model loads and has as many feature columns as the
config implies (:mod:`ranker_values.ops.check.columns`).

Formats. Metarank 0.4's train step writes the booster's raw bytes straight to the model path
(``mode/train/Train.scala``: ``FileLoader.write(path, env, model.save())``), and ltrlib's
``XGBoostBooster.save`` uses xgboost4j's ``toByteArray``, which in the xgboost 1.x line writes
XGBoost's legacy binary format. What the installed xgboost (3.2) does with each format, measured:

* JSON and UBJ: loaded with ``xgboost.Booster``; the feature count is ``num_features()``.
* legacy binary (``save_raw('deprecated')`` of xgboost 2.1, ``binf`` header): xgboost 3.2 can
  neither write nor load it ("Failed to load model"). Its header still holds the count: after the
  optional ``binf`` magic, ``LearnerModelParam`` starts with ``float base_score`` and
  ``uint32 num_feature``. The check reads that field and says so.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import Any

from ranker_values.ops.check import s3_checks
from ranker_values.ops.check.columns import ColumnRuleError, explain_mismatch, model_columns
from ranker_values.ops.check.context import CheckContext
from ranker_values.ops.check.runner import Check, CheckAbort, Outcome, failed, passed, warned
from ranker_values.values.model import RankingModel, is_object_store, local_path
from ranker_values.ops.s3 import S3Location

UBJ_MARKERS = b"L$#iUIlSHZTFNdDC"  # UBJSON type markers that may follow the opening "{"
MAX_PLAUSIBLE_FEATURES = 1_000_000


@dataclass(frozen=True)
class ModelInfo:
    format: str  # "json" | "ubj" | "legacy binary"
    num_features: int
    feature_names: tuple[str, ...] | None
    note: str = ""


class ModelFormatError(ValueError):
    pass


def sniff_format(data: bytes) -> str:
    head = data.lstrip()[:2]
    if head[:1] == b"{" and head[1:2] in (b'"', b"}"):
        return "json"
    if head[:1] == b"{" and head[1:2] and head[1:2] in UBJ_MARKERS:
        return "ubj"
    return "legacy binary"


def _load_with_xgboost(data: bytes) -> Any:
    from ranker_values.ops.xgb import import_xgboost

    return import_xgboost().Booster(model_file=bytearray(data))


def _legacy_header_features(data: bytes) -> int:
    offset = 4 if data[:4] == b"binf" else 0
    if len(data) < offset + 8:
        raise ModelFormatError("too short for an XGBoost model")
    _base_score, num_feature = struct.unpack_from("<fI", data, offset)
    if not 0 < num_feature <= MAX_PLAUSIBLE_FEATURES:
        raise ModelFormatError("not JSON, not UBJ, and no plausible legacy binary header")
    return int(num_feature)


def read_model(data: bytes) -> ModelInfo:
    """Identify the format and the feature count of an XGBoost model file."""
    if not data.strip():
        # xgboost's loader aborts the whole process (std::terminate) on empty input: found by
        # tests/test_fuzz_inputs.py; a failed train step can leave exactly such a file
        raise ModelFormatError("the file is empty")
    fmt = sniff_format(data)
    from ranker_values.ops.xgb import import_xgboost

    xgboost = import_xgboost()  # both xgboost extras in one environment: say so, not "cannot load"
    try:
        booster = _load_with_xgboost(data)
    except Exception as exc:  # noqa: BLE001 - xgboost raises XGBoostError / ValueError / UnicodeError
        if fmt != "legacy binary":
            raise ModelFormatError(f"xgboost cannot load this {fmt} model: {str(exc).splitlines()[0]}") from exc
        count = _legacy_header_features(data)
        note = f"xgboost {xgboost.__version__} cannot load the legacy binary format; count read from its header"
        return ModelInfo(fmt, count, None, note)
    names = booster.feature_names
    return ModelInfo(fmt, int(booster.num_features()), tuple(names) if names else None)


def _fetch(ctx: CheckContext, model: RankingModel) -> bytes | None:
    """The model file's bytes; None when it does not exist (yet)."""
    path = model.path or ""
    cap = ctx.options.model_max_bytes
    if is_object_store(path):
        head = s3_checks.head(ctx, path)
        if head is None:
            return None
        if int(head.get("ContentLength", 0)) > cap:
            raise CheckAbort(warned(f"{path} is larger than {cap} bytes: not downloaded"))
        return b"".join(s3_checks.object_iter_bytes(ctx, S3Location.parse(path)))
    local = local_path(path) or path
    if not os.path.exists(local):
        if os.path.isabs(local) and not os.path.isdir(os.path.dirname(local)):
            raise CheckAbort(warned(f"model path {path!r} is not on this machine: not checked"))
        return None
    from ranker_values.errors import UsageError
    from ranker_values.files.inputs import read_bounded

    try:
        got = read_bounded(local, "model file", cap)  # the input gate: regular files only
    except UsageError as exc:
        raise CheckAbort(failed(exc.message, "point the model path at the model file the train step wrote")) from None
    if got.too_large:
        raise CheckAbort(warned(f"{path} is larger than {cap} bytes: not read"))
    return got.data


def check_model(ctx: CheckContext, model: RankingModel) -> Outcome:
    if model.backend not in (None, "xgboost"):
        return warned(f"{model.backend} models are not checked (only xgboost is installed here)")
    try:
        columns = model_columns(model.features, ctx.deployment.config.get("features") or [])
    except ColumnRuleError as exc:
        return warned(f"cannot derive the model's columns: {exc}")
    expected = sum(c.dim for c in columns)
    data = _fetch(ctx, model)
    if data is None:
        reason = f"{model.path} does not exist"
        if ctx.done("train"):
            return failed(f"{reason} although --done says {ctx.options.done} has run", "look at the train job's logs")
        return warned(f"{reason}: not there yet, run the train step first")
    try:
        info = read_model(data)
    except ModelFormatError as exc:
        return failed(f"{model.path}: {exc}", "re-run the train step; the file is not an XGBoost model this tool can read")
    note = f" ({info.note})" if info.note else ""
    if info.num_features != expected:
        return failed(
            f"{info.format} model: " + explain_mismatch(columns, info.num_features, info.feature_names) + note,
            "re-run the train step with this config (stages.train), or restore the config the model was trained on",
        )
    return passed(f"{info.format} model with {info.num_features} feature columns, as the config implies{note}")


def checks(models: tuple[RankingModel, ...]) -> list[Check]:
    return [Check(f"model.{m.name}", lambda ctx, m=m: check_model(ctx, m)) for m in models]
