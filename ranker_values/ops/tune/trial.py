"""One trial: k-fold cross-validation over the train queries with one parameter set.

A trial is described by a JSON-able task (the message body on the queue, the argument in the
local pool): where the dataset and the result store are, the search spec and the trial. The
worker loads the dataset once per process and checks its fingerprint against the spec, so a
worker never scores a trial against different data than the tasker planned it on.
"""

from __future__ import annotations

import os
import time
from typing import Any

from ranker_values.errors import InvalidInput
from ranker_values.ops.s3 import S3Settings
from ranker_values.ops.tune.dataset import Dataset, load_dataset
from ranker_values.ops.tune.locations import Location
from ranker_values.ops.tune.search import SearchSpec, Trial
from ranker_values.ops.tune.store import ResultStore

_CACHE: dict[tuple[str, str], Dataset] = {}


def make_task(dataset_uri: str, store_uri: str, s3: S3Settings | None, spec: SearchSpec, trial: Trial, columns: int | None) -> dict[str, Any]:
    s3_public = None
    if s3 is not None:  # endpoint/region/path style only: keys come from the worker's environment
        s3_public = {"endpoint": s3.endpoint, "region": s3.region, "path_style": s3.path_style}
    return {
        "dataset": dataset_uri,
        "store": store_uri,
        "s3": s3_public,
        "spec": spec.__dict__,
        "trial": {"index": trial.index, "params": trial.params, "search_id": trial.search_id},
        "columns": columns,
    }


def _settings(task: dict[str, Any]) -> S3Settings | None:
    s3 = task.get("s3")
    if not s3:
        return None
    return S3Settings(endpoint=s3.get("endpoint"), region=s3.get("region"), path_style=bool(s3.get("path_style")))


def dataset_for(task: dict[str, Any]) -> Dataset:
    spec = SearchSpec(**task["spec"])
    key = (task["dataset"], spec.dataset_fingerprint)
    if key not in _CACHE:
        ds = load_dataset(Location(task["dataset"], _settings(task)), task.get("columns"))
        if ds.fingerprint != spec.dataset_fingerprint:
            raise InvalidInput(f"{task['dataset']}: the dataset changed since the search was planned (fingerprint differs)")
        _CACHE.clear()
        _CACHE[key] = ds
    return _CACHE[key]


def store_for(task: dict[str, Any]) -> ResultStore:
    return ResultStore(Location(task["store"], _settings(task)))


def cross_validate(ds: Dataset, spec: SearchSpec, params: dict[str, Any], nthread: int = 1) -> dict[str, Any]:
    import numpy as np

    from ranker_values.ops.tune.engine import dmatrix, kfold, predict, split_queries, train_tuned
    from ranker_values.ops.tune.metrics import mean_ndcg, ndcg_per_query

    train_idx, _test = split_queries(ds.queries, spec.seed)
    scores = []
    for fit, held in kfold(train_idx, spec.folds, spec.seed):
        booster = train_tuned(dmatrix(ds, fit, "correct", nthread), params, nthread)
        scores.append(mean_ndcg(ndcg_per_query(ds, held, predict(booster, ds, held), spec.ndcg_cutoff)))
    return {"cv_mean": float(np.mean(scores)), "cv_std": float(np.std(scores)), "folds": scores}


def run_task(task: dict[str, Any], nthread: int = 1) -> dict[str, Any]:
    """Run the trial unless its result is stored; store it; return the stored result."""
    store = store_for(task)
    t = task["trial"]
    trial = Trial(t["index"], t["params"], t["search_id"])
    done = store.get(trial.id)
    if done is not None:
        return done
    spec = SearchSpec(**task["spec"])
    start = time.monotonic()
    ds = dataset_for(task)
    result = cross_validate(ds, spec, trial.params, nthread)
    result.update(
        {"trial_id": trial.id, "index": trial.index, "params": trial.params, "status": "ok", "seconds": round(time.monotonic() - start, 3),
         "worker": task.get("worker") or f"local-{os.getpid()}"}
    )
    store.put(trial.id, result)
    return store.get(trial.id) or result


def failed_result(trial: Trial, error: str, attempts: int | None) -> dict[str, Any]:
    return {"trial_id": trial.id, "index": trial.index, "params": trial.params, "status": "failed", "error": error, "attempts": attempts}

