"""Metarank 0.4.1's training, reproduced with the xgboost version it runs (1.6.1), and its sound
variants.

What the engine does (metarank/metarank tag 0.4.1; ltrlib 0.1.12 = metarank/ltrlib 2b8d4e9):

- ``mode/train/Train.scala`` ``split(data, 80)``: ``dataset.groups.partition(_ =>
  Random.nextInt(100) < 80)``, the *unseeded* global ``scala.util.Random``: every run splits
  differently. We draw the same per-query 80/20 Bernoulli split from a seeded generator, so runs
  are reproducible (``split_queries``).
- ``rank/LambdaMARTModel.train`` → ltrlib ``XGBoostOptions(trees = iterations, learningRate,
  ndcgCutoff, maxDepth, randomSeed = seed)``; ``config/ModelConfig.scala``: ``XGBoostBackend``
  defaults ``iterations 100, learningRate 0.1, ndcgCutoff 10, maxDepth 8, seed
  Random.nextInt``.
- ltrlib ``booster/XGBoostBooster.scala``: params ``objective rank:pairwise, eval_metric
  ndcg@<cutoff>, max_depth, eta, seed``; ``XGBoost.train(d, opts, 0, …)`` (zero rounds), then
  ``ranking/pairwise/LambdaMART.fit`` calls ``trainOneIteration`` = ``model.update(d, 1)`` once per
  tree: the iteration number is always 1. ``formatData`` builds ``new DMatrix(values, rows, cols,
  0.0f)``: **0 is the missing value** (at scoring time too: ``predictMat``), so a tuned model must
  be trained with ``missing=0`` as well, or zeros would take another branch at inference.
- ltrlib ``LMartDataset.apply``: rows stay in dataset order, but the group sizes handed to
  ``setGroup`` are ``qid.groupBy(identity).map(count).toList.sortBy(qid)``: sorted by group id
  (``abs(rankingId.hashCode)``), so query boundaries no longer match the rows (and two queries with
  the same id merge). ``engine_group_sizes`` reproduces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ranker_values.ops.tune.dataset import Dataset

#: config/ModelConfig.scala XGBoostBackend defaults (seed: random in the engine; ours is fixed)
ENGINE_DEFAULTS = {"iterations": 100, "learningRate": 0.1, "ndcgCutoff": 10, "maxDepth": 8}
TRAIN_PERCENT = 80  # Train.scala: split(data, 80)


@dataclass(frozen=True)
class EngineSettings:
    iterations: int = 100
    learning_rate: float = 0.1
    ndcg_cutoff: int = 10
    max_depth: int = 8
    seed: int | None = None  # the config's, else random in the engine

    @classmethod
    def from_backend(cls, backend: dict[str, Any] | None) -> "EngineSettings":
        backend = backend or {}
        merged = {**ENGINE_DEFAULTS, **{k: v for k, v in backend.items() if k in ENGINE_DEFAULTS or k == "seed"}}
        return cls(
            iterations=int(merged["iterations"]),
            learning_rate=float(merged["learningRate"]),
            ndcg_cutoff=int(merged["ndcgCutoff"]),
            max_depth=int(merged["maxDepth"]),
            seed=int(merged["seed"]) if merged.get("seed") is not None else None,
        )

    def xgb_params(self, seed: int) -> dict[str, Any]:
        return {
            "objective": "rank:pairwise",
            "eval_metric": f"ndcg@{self.ndcg_cutoff}",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "seed": self.seed if self.seed is not None else seed,
        }


def split_queries(n_queries: int, seed: int) -> tuple[Any, Any]:
    """(train, test) query indices: each query goes to train with probability 80/100, in order."""
    import numpy as np

    rng = np.random.default_rng([seed, 0x5E1])
    to_train = rng.integers(0, 100, size=n_queries) < TRAIN_PERCENT
    idx = np.arange(n_queries)
    return idx[to_train], idx[~to_train]


def kfold(train_idx: Any, folds: int, seed: int) -> list[tuple[Any, Any]]:
    """k folds over queries (never splitting a query): [(fit queries, held-out queries)]."""
    import numpy as np

    rng = np.random.default_rng([seed, 0xF01D])
    shuffled = rng.permutation(train_idx)
    parts = np.array_split(shuffled, folds)
    out = []
    for i in range(folds):
        fit = np.sort(np.concatenate([p for j, p in enumerate(parts) if j != i]))
        out.append((fit, np.sort(parts[i])))
    return out


def engine_group_sizes(groups: Any, sizes: Any) -> list[int]:
    """ltrlib 0.1.12 LMartDataset: row counts per group id, ordered by group id."""
    counts: dict[int, int] = {}
    for g, n in zip(groups.tolist(), sizes.tolist()):
        counts[g] = counts.get(g, 0) + n
    return [counts[g] for g in sorted(counts)]


def dmatrix(ds: Dataset, query_idx: Any, grouping: str = "correct", nthread: int | None = None) -> Any:
    """A DMatrix of the given queries (in order), zeros missing like the engine; ``grouping``
    ``correct`` (one group per query, in row order) or ``engine`` (ltrlib's sorted-by-id sizes)."""
    from ranker_values.ops.xgb import import_xgboost

    xgb = import_xgboost()

    rows = ds.rows_of(query_idx)
    d = xgb.DMatrix(ds.X[rows], label=ds.y[rows], missing=0.0, nthread=nthread or -1)
    if grouping == "engine":
        d.set_group(engine_group_sizes(ds.groups[query_idx], ds.sizes[query_idx]))
    else:
        d.set_group(ds.sizes[query_idx].tolist())
    return d


def train_like_engine(dtrain: Any, settings: EngineSettings, seed: int, nthread: int = 1) -> Any:
    """The engine's loop: zero-round train, then ``update(d, 1)`` once per tree."""
    from ranker_values.ops.xgb import import_xgboost

    xgb = import_xgboost()

    params = {**settings.xgb_params(seed), "nthread": nthread}
    booster = xgb.train(params, dtrain, num_boost_round=0)
    for _ in range(settings.iterations):
        booster.update(dtrain, 1)
    return booster


TUNED_FIXED = {"tree_method": "hist", "eval_metric": "ndcg"}


def train_tuned(dtrain: Any, params: dict[str, Any], nthread: int = 1) -> Any:
    """A normal xgboost training run with the searched parameters (``rounds`` = trees)."""
    from ranker_values.ops.xgb import import_xgboost

    xgb = import_xgboost()

    p = {k: v for k, v in params.items() if k != "rounds"}
    p = {**TUNED_FIXED, **p, "nthread": nthread}
    return xgb.train(p, dtrain, num_boost_round=int(params["rounds"]))


def predict(booster: Any, ds: Dataset, query_idx: Any) -> Any:
    """Scores as the engine computes them: a DMatrix with 0 as missing, raw output."""
    from ranker_values.ops.xgb import import_xgboost

    xgb = import_xgboost()

    rows = ds.rows_of(query_idx)
    return booster.predict(xgb.DMatrix(ds.X[rows], missing=0.0))
