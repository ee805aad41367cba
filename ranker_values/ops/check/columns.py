"""The columns a Metarank 0.4.x LambdaMART model is trained on, derived from the ranking config.

``ranker-values check`` compares this with the feature count of a trained model: a model trained
on another config (or an old model file left in place) ranks with shifted columns and returns
nonsense without any error.

The rule, read from Metarank's Flink-era sources (``metarank/metarank``, the 0.4.x line that still
uses ``io.findify.featury``):

1. ``FeatureMapping.fromFeatureSchema`` builds one feature object per entry of ``features`` and,
   for every ``lambdamart`` model, keeps the ones named in ``models.<name>.features`` (in that
   list's order; names not defined under ``features`` are dropped silently).
   ``makeDatasetDescriptor`` gives each of them ``dim`` columns (``SingularFeature`` when
   ``dim == 1``, else ``VectorFeature(name, dim)``).
2. ``rank/LambdaMARTModel.featureValues`` builds every row as ``rankingValues ++ itemValues``:
   first the request-level features (``BaseFeature.RankingFeature``: ``ua``, ``referer``,
   ``local_time``), then the item-level ones (``BaseFeature.ItemFeature``: all others), each group
   in the model's ``features`` order.
3. ``dim`` per feature type (``feature/*Feature.scala``):

   ==================  ==============================================================
   number, boolean,     1
   word_count,
   interaction_count,
   interacted_with,
   relevancy,
   item_age,
   field_match,
   local_time
   string               ``encode: index`` (the default: ``StringFeatureSchema``'s
                        ``encode = IndexEncoderName``, StringFeature.scala:132 at 0.4.1) → 1;
                        ``encode: onehot`` → one column per entry of ``values``
   rate                 one column per entry of ``periods`` (``RateFeature``:
                        ``dim = periods.size``, names ``<name>_<period>``)
   window_count         one column per entry of ``periods`` (``WindowCountFeature``)
   ua                   one-hot over the field's values (``UserAgentFeature``,
                        ``feature/ua/*Field.scala``): platform 3, os 6, browser 7, bot 1
   referer              6 (``RefererFeature``: unknown, search, internal, social,
                        email, paid)
   ==================  ==============================================================

The ``ua`` value lists were read from the ``feature/ua`` sources as stored today; they may have
changed between 0.4.1 and those revisions (README, "What stays unproven").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Level = Literal["request", "item"]

#: Request-level feature types: their values come first in every row.
REQUEST_LEVEL_TYPES = frozenset({"ua", "referer", "local_time"})

SINGLE_COLUMN_TYPES = frozenset(
    {
        "number",
        "boolean",
        "word_count",
        "interaction_count",
        "interacted_with",
        "relevancy",
        "item_age",
        "field_match",
        "local_time",
    }
)

UA_FIELD_VALUES: dict[str, tuple[str, ...]] = {
    "platform": ("mobile", "desktop", "tablet"),
    "os": ("ios", "android", "windows", "osx", "linux", "chromeos"),
    "browser": ("safari", "chrome", "other", "edge", "firefox", "opera", "ie"),
    "bot": ("bot",),
}

REFERER_MEDIUMS = ("unknown", "search", "internal", "social", "email", "paid")


class ColumnRuleError(ValueError):
    """The config uses something the rule cannot turn into columns."""


@dataclass(frozen=True)
class FeatureColumns:
    feature: str
    type: str
    level: Level
    names: tuple[str, ...]

    @property
    def dim(self) -> int:
        return len(self.names)

    def describe(self) -> str:
        return f"{self.feature} ({self.type}, {self.dim} column{'s' if self.dim != 1 else ''})"


def _names_for(definition: Mapping[str, Any]) -> tuple[str, ...]:
    name = str(definition.get("name"))
    kind = str(definition.get("type"))
    if kind in SINGLE_COLUMN_TYPES:
        return (name,)
    if kind == "string":
        # 0.4.1 defaults to the index encoder (one column); run: test_engine_lifecycle's datasets.
        if definition.get("encode", "index") == "index":
            return (name,)
        return tuple(f"{name}_{value}" for value in _list(definition, "values"))
    if kind in ("rate", "window_count"):
        return tuple(f"{name}_{period}" for period in _list(definition, "periods"))
    if kind == "ua":
        field = str(definition.get("field"))
        if field not in UA_FIELD_VALUES:
            raise ColumnRuleError(f"feature {name!r}: ua field {field!r} is not one of {sorted(UA_FIELD_VALUES)}")
        return tuple(f"{name}_{value}" for value in UA_FIELD_VALUES[field])
    if kind == "referer":
        return tuple(f"{name}_{medium}" for medium in REFERER_MEDIUMS)
    raise ColumnRuleError(f"feature {name!r}: type {kind!r} is not a Metarank 0.4 feature type")


def _list(definition: Mapping[str, Any], key: str) -> list[Any]:
    value = definition.get(key)
    if not isinstance(value, list) or not value:
        raise ColumnRuleError(f"feature {definition.get('name')!r}: {key!r} must be a non-empty list")
    return value


def feature_columns(definition: Mapping[str, Any]) -> FeatureColumns:
    kind = str(definition.get("type"))
    level: Level = "request" if kind in REQUEST_LEVEL_TYPES else "item"
    return FeatureColumns(str(definition.get("name")), kind, level, _names_for(definition))


def model_columns(model_features: Sequence[str], definitions: Sequence[Mapping[str, Any]]) -> list[FeatureColumns]:
    """The model's columns in training order: request-level features first, then item-level."""
    by_name = {str(d.get("name")): d for d in definitions if isinstance(d, Mapping)}
    used = [feature_columns(by_name[name]) for name in model_features if name in by_name]
    return [c for c in used if c.level == "request"] + [c for c in used if c.level == "item"]


def column_names(columns: Sequence[FeatureColumns]) -> list[str]:
    return [name for c in columns for name in c.names]


def explain_mismatch(columns: Sequence[FeatureColumns], actual: int, actual_names: Sequence[str] | None) -> str:
    """One line naming the features behind a column-count mismatch."""
    expected = sum(c.dim for c in columns)
    head = f"model has {actual} feature columns, the config implies {expected}"
    if actual_names:
        names = column_names(columns)
        missing = [n for n in names if n not in set(actual_names)]
        extra = [n for n in actual_names if n not in set(names)]
        parts = []
        if missing:
            parts.append("not in the model: " + ", ".join(missing[:8]) + (" …" if len(missing) > 8 else ""))
        if extra:
            parts.append("only in the model: " + ", ".join(extra[:8]) + (" …" if len(extra) > 8 else ""))
        if parts:
            return f"{head}; " + "; ".join(parts)
    if actual > expected:
        vectors = [c.describe() for c in columns if c.dim > 1]
        shrunk = f"; or one of these shrank: {', '.join(vectors)}" if vectors else ""
        return (
            f"{head}; the model was trained with {actual - expected} more column(s): a feature removed from "
            f"the model's features list since training{shrunk}"
        )
    diff = expected - actual
    suspects = [c.describe() for c in columns if c.dim == diff]
    if suspects:
        return f"{head}; {diff} column(s) more in the config, matching a feature added since training: " + ", ".join(
            suspects
        )
    vectors = [c.describe() for c in columns if c.dim > 1]
    if vectors:
        return f"{head}; {diff} column(s) more in the config; multi-column features: " + ", ".join(vectors)
    return f"{head}; {diff} column(s) more in the config; features: " + ", ".join(c.describe() for c in columns)
