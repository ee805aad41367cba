"""The search: random search over xgboost 1.6 ranking parameters, one deterministic parameter set
per trial index.

Why random search (ARCHITECTURE.md, "Tuning"): every trial is independent of the others, so
trials fan out to any number of workers with no coordination, and trial *i*'s parameters are a
pure function of (seed, i): a trial id names its parameters, a re-run recomputes nothing, and
``--trials`` can be raised later to extend the same search. TPE proposes from finished results
(sequential, and its proposals depend on completion order across workers); successive halving
needs rung barriers. At the budgets here (tens to hundreds of trials, 6–8 dimensions) random
search is within noise of both (Bergstra & Bengio 2012) while staying reproducible.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

SPACE_VERSION = 1

#: (kind, low, high): "log" = log-uniform float, "float" = uniform, "int" = uniform integer,
#: "logint" = log-uniform integer, "choice" = one of the listed values.
SPACE: dict[str, tuple] = {
    "objective": ("choice", "rank:pairwise", "rank:ndcg"),
    "eta": ("log", 0.02, 0.3),
    "max_depth": ("int", 2, 10),
    "min_child_weight": ("log", 0.1, 20.0),
    "subsample": ("float", 0.5, 1.0),
    "colsample_bytree": ("float", 0.5, 1.0),
    "lambda": ("log", 0.1, 10.0),
    "rounds": ("logint", 20, 400),
}


def sample_params(seed: int, index: int, max_rounds: int = 400) -> dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng([seed, index, SPACE_VERSION])
    out: dict[str, Any] = {}
    for name, (kind, *args) in SPACE.items():
        if kind == "choice":
            out[name] = args[int(rng.integers(0, len(args)))]
        elif kind == "log":
            out[name] = round(float(math.exp(rng.uniform(math.log(args[0]), math.log(args[1])))), 6)
        elif kind == "float":
            out[name] = round(float(rng.uniform(args[0], args[1])), 6)
        elif kind == "int":
            out[name] = int(rng.integers(args[0], args[1] + 1))
        elif kind == "logint":
            high = min(args[1], max_rounds)
            low = min(args[0], high)
            out[name] = int(round(math.exp(rng.uniform(math.log(low), math.log(high)))))
    return out


@dataclass(frozen=True)
class SearchSpec:
    """Everything a trial's result depends on; its hash prefixes every trial id."""

    dataset_fingerprint: str
    seed: int
    folds: int
    ndcg_cutoff: int
    max_rounds: int

    @property
    def search_id(self) -> str:
        doc = {**self.__dict__, "space": SPACE_VERSION}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "space_version": SPACE_VERSION, "search_id": self.search_id}


@dataclass
class Trial:
    index: int
    params: dict[str, Any]
    search_id: str

    @property
    def id(self) -> str:
        return f"{self.search_id}-{self.index:05d}"


def plan_trials(spec: SearchSpec, count: int) -> list[Trial]:
    return [Trial(i, sample_params(spec.seed, i, spec.max_rounds), spec.search_id) for i in range(count)]
