"""NDCG@k per query and paired-bootstrap intervals of a difference between two rankers.

NDCG uses xgboost's gain (2^label − 1) and log2 discount. Queries whose ideal DCG is 0 (nothing
interacted) carry no signal and are left out of the mean. Tied scores keep the dataset's order
(the order the items were shown), so a constant model scores like "no re-ranking".
"""

from __future__ import annotations

from typing import Any

from ranker_values.ops.tune.dataset import Dataset


def ndcg_per_query(ds: Dataset, query_idx: Any, scores: Any, k: int) -> Any:
    """NDCG@k of each query in ``query_idx`` with ``scores`` aligned to its rows; NaN where the
    query has no positive label."""
    import numpy as np

    out = np.full(len(query_idx), np.nan)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    pos = 0
    for i, q in enumerate(query_idx):
        lo, hi = int(ds.offsets[q]), int(ds.offsets[q + 1])
        n = hi - lo
        labels = ds.y[lo:hi].astype(np.float64)
        s = scores[pos : pos + n]
        pos += n
        gains = np.power(2.0, labels) - 1.0
        ideal = np.sort(gains)[::-1][:k]
        idcg = float(np.dot(ideal, discounts[: len(ideal)]))
        if idcg <= 0:
            continue
        order = np.argsort(-s, kind="stable")[:k]
        out[i] = float(np.dot(gains[order], discounts[: len(order)])) / idcg
    return out


def mean_ndcg(values: Any) -> float:
    import numpy as np

    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else float("nan")


def paired_bootstrap(a: Any, b: Any, samples: int = 2000, seed: int = 0, level: float = 0.95) -> dict[str, float]:
    """Mean of (a − b) over queries with a percentile interval from resampling queries."""
    import numpy as np

    mask = np.isfinite(a) & np.isfinite(b)
    diff = (a - b)[mask]
    if len(diff) == 0:
        return {"mean": float("nan"), "low": float("nan"), "high": float("nan"), "queries": 0}
    rng = np.random.default_rng([seed, 0xB007])
    idx = rng.integers(0, len(diff), size=(samples, len(diff)))
    means = diff[idx].mean(axis=1)
    tail = (1 - level) / 2
    return {
        "mean": float(diff.mean()),
        "low": float(np.quantile(means, tail)),
        "high": float(np.quantile(means, 1 - tail)),
        "queries": int(len(diff)),
    }
