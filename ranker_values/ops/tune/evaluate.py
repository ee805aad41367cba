"""The verdict on the held-out test queries: the engine's own training as it would run, a sound
baseline (the same settings, correct query grouping) and the tuned model, each scored per query,
compared with paired-bootstrap intervals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ranker_values.ops.tune.dataset import Dataset
from ranker_values.ops.tune.engine import EngineSettings, dmatrix, predict, split_queries, train_like_engine, train_tuned
from ranker_values.ops.tune.metrics import mean_ndcg, ndcg_per_query, paired_bootstrap


@dataclass
class Verdict:
    test_ndcg: dict[str, float]
    comparisons: dict[str, dict[str, float]]
    candidate: str  # "tuned" or "baseline": the better sound model
    wins: bool  # the candidate beats the engine's training (interval above 0)
    boosters: dict[str, Any] = field(repr=False, default_factory=dict)
    train_queries: int = 0
    test_queries: int = 0


def evaluate(ds: Dataset, settings: EngineSettings, tuned_params: dict[str, Any] | None, seed: int, nthread: int = 0) -> Verdict:
    train_idx, test_idx = split_queries(ds.queries, seed)
    k = settings.ndcg_cutoff
    boosters = {
        "engine": train_like_engine(dmatrix(ds, train_idx, "engine"), settings, seed, nthread),
        "baseline": train_like_engine(dmatrix(ds, train_idx, "correct"), settings, seed, nthread),
    }
    if tuned_params is not None:
        boosters["tuned"] = train_tuned(dmatrix(ds, train_idx, "correct"), tuned_params, nthread)
    per_query = {name: ndcg_per_query(ds, test_idx, predict(b, ds, test_idx), k) for name, b in boosters.items()}
    test = {name: mean_ndcg(v) for name, v in per_query.items()}
    comparisons = {"baseline_vs_engine": paired_bootstrap(per_query["baseline"], per_query["engine"], seed=seed)}
    candidate = "baseline"
    if "tuned" in per_query:
        comparisons["tuned_vs_engine"] = paired_bootstrap(per_query["tuned"], per_query["engine"], seed=seed)
        comparisons["tuned_vs_baseline"] = paired_bootstrap(per_query["tuned"], per_query["baseline"], seed=seed)
        if test["tuned"] >= test["baseline"]:
            candidate = "tuned"
    versus = comparisons[f"{candidate}_vs_engine"]
    return Verdict(
        test_ndcg=test,
        comparisons=comparisons,
        candidate=candidate,
        wins=bool(versus["queries"] > 0 and versus["low"] > 0),
        boosters=boosters,
        train_queries=int(len(train_idx)),
        test_queries=int(len(test_idx)),
    )
