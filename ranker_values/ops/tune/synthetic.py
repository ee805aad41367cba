"""Synthetic bootstrap datasets in the engine's format, with known signal: used by the tests and
``bench/bench_tune.py`` (no real clickthroughs ship with the project).

Each query is one ranking of 4–24 items (sizes vary, as real rankings do: with equal sizes
ltrlib's sorted-by-id group sizes would accidentally be right). The label is 1 for the items a
user "clicked": the top items of a hidden score with an interaction between features, so depth
and tree count matter; the first columns carry a per-query shift, so only comparisons within a
query are informative (as with real request context); some columns are mostly zeros (the
engine's missing value)."""

from __future__ import annotations

from typing import Any


def java_string_hash(text: str) -> int:
    """Java's String.hashCode (UTF-16 code units, 32-bit wrap-around)."""
    h = 0
    for unit in text.encode("utf-16-be").hex(" ", 2).split():
        h = (31 * h + int(unit, 16)) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def engine_group(ranking_id: str) -> int:
    """ClickthroughQuery: ``math.abs(id.hashCode)`` (Int.MinValue stays negative in Scala)."""
    h = java_string_hash(ranking_id)
    return h if h == -(1 << 31) else abs(h)


def make_queries(n_queries: int, columns: int = 6, seed: int = 1, min_items: int = 4, max_items: int = 24) -> list[dict[str, Any]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for q in range(n_queries):
        rows = int(rng.integers(min_items, max_items + 1))
        x = rng.normal(size=(rows, columns)).astype(np.float64)
        x[:, -1] = np.where(rng.random(rows) < 0.7, 0.0, np.abs(x[:, -1]))  # a mostly-zero column
        hidden = x[:, 0] + 1.5 * x[:, 1] * x[:, 2] + 0.8 * (x[:, -1] > 0) + rng.normal(scale=0.5, size=rows)
        clicks = max(1, rows // 6)
        labels = np.zeros(rows)
        labels[np.argsort(-hidden)[:clicks]] = 1.0
        # a per-query shift (the context of the request moves every item's values): the labels
        # depend on order within a query only, so pairs across queries mislead, and grouping matters
        x[:, :3] += rng.normal(scale=2.0, size=3)
        ranking_id = f"ranking-{seed}-{q}"
        out.append(
            {
                "group": engine_group(ranking_id),
                "labels": labels.tolist(),
                "values": [round(v, 5) for v in x.reshape(-1).tolist()],
                "columns": columns,
                "rows": rows,
            }
        )
    return out
