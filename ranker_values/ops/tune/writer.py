"""The model file the engine loads.

Metarank 0.4.1 loads models with ``XGBoost.loadModel(bytes)`` of xgboost4j 1.6.1 (ltrlib 0.1.12
``XGBoostBooster.apply``) and saves them with ``Booster.saveModel(OutputStream)``, xgboost's
legacy binary format. Files written by xgboost ≥ 2.0 do not load there, so tune refuses to write
unless it runs on xgboost 1.6.x/1.7.x, and writes the same legacy binary (``save_raw()``, whose
default in those versions is the legacy ``deprecated`` format).
"""

from __future__ import annotations

import hashlib
from typing import Any

from ranker_values.errors import UsageError
from ranker_values.ops.tune.locations import Location

COMPATIBLE = ("1.6.", "1.7.")


def require_compatible_xgboost() -> str:
    from ranker_values.ops.xgb import import_xgboost

    xgboost = import_xgboost()  # both xgboost distributions in one environment: a usage error

    version = str(xgboost.__version__)
    if not version.startswith(COMPATIBLE):
        raise UsageError(
            f"tune needs xgboost 1.6.x or 1.7.x (found {version}): Metarank 0.4.1 loads models with xgboost4j 1.6.1, "
            "which cannot read files written by xgboost ≥ 2.0; install the tune extra in its own venv: "
            "scripts/setup.sh tune (or pip install 'ranker-values[tune]' in a separate environment)"
        )
    return version


def model_bytes(booster: Any) -> bytes:
    return bytes(booster.save_raw())


def write_model(booster: Any, target: Location, out: Location | None) -> None:
    """Write the model to its path. ``out/previous.model`` keeps the model tune replaced the
    first time (the engine's): the current file is copied there only when it is not the model
    tune itself wrote last (``out/written.sha256``), so a second run never buries the engine's
    model under the first tuned one, while a model the train stage wrote since is kept again."""
    data = model_bytes(booster)
    if out is not None:
        previous = target.read(what="model file")
        last = out.child("written.sha256").read(max_bytes=1024, what="tune record")
        if previous is not None and (last is None or hashlib.sha256(previous).hexdigest() != last.decode("ascii", "replace").strip()):
            out.child("previous.model").write(previous)
    target.write(data)
    if out is not None:
        out.child("written.sha256").write((hashlib.sha256(data).hexdigest() + "\n").encode())
