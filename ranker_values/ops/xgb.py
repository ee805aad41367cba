"""xgboost, imported through one door that first looks at where it would come from.

The ``ops`` extra installs ``xgboost-cpu`` 3.x (``check`` loads models with it) and the ``tune``
extra ``xgboost`` 1.6.1 (what Metarank 0.4.1 loads models with). Both distributions install the
same ``xgboost`` package, so one environment with both holds a mix of their files, and
``import xgboost`` fails somewhere inside (``No module named 'dask'``) or, worse, half works.
:func:`import_xgboost` sees both distributions in the environment's metadata and says what to do
instead (a usage error, exit 2); the check is cached, so the hot paths that import xgboost pay it
once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ranker_values.errors import UsageError

DISTRIBUTIONS = ("xgboost", "xgboost-cpu")


def _installed(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def mixed_environment() -> str | None:
    """The usage message when this environment has both xgboost distributions, else None."""
    versions = {name: _installed(name) for name in DISTRIBUTIONS}
    if not all(versions.values()):
        return None
    return (
        f"this environment has both xgboost {versions['xgboost']} (the tune extra) and xgboost-cpu {versions['xgboost-cpu']} "
        "(the ops extra); they install the same 'xgboost' package over each other, which breaks both: "
        "pip uninstall -y xgboost xgboost-cpu, then install one extra per environment: 'ranker-values[ops]' here, "
        "the tune extra in its own venv (scripts/setup.sh tune creates .venv-tune)"
    )


def import_xgboost() -> Any:
    """The ``xgboost`` module; UsageError in an environment with both distributions."""
    problem = mixed_environment()
    if problem is not None:
        raise UsageError(problem)
    import xgboost

    return xgboost
