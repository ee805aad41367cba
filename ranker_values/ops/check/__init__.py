"""``ranker-values check``: preflight checks of everything a deployment depends on.

Checks are grouped by name (``s3.*``, ``redis.*``, ``model.<name>``, ``events.*``,
``cluster.*``); ``--only`` / ``--skip`` take groups or full names. Each returns ✓ pass, ✗ fail or
! (a warning, or not applicable yet, e.g. a savepoint before the bootstrap step ran). Artifacts of
later steps are ✗ only when ``--done`` says that step has finished. The command exits 0 when no
check failed.

Heavy clients (boto3, redis, xgboost, kubernetes) are imported inside the checks that use them.
"""

from __future__ import annotations

from collections.abc import Sequence

from ranker_values.ops.check import cluster_checks, events_checks, model_checks, redis_checks, s3_checks
from ranker_values.ops.check.context import DONE_CHOICES, CheckContext, CheckOptions
from ranker_values.ops.check.runner import (
    Check,
    CheckResult,
    Status,
    all_passed,
    passed,
    render_json,
    render_text,
    run_checks,
    select,
)
from ranker_values.values.model import Deployment

__all__ = [
    "DONE_CHOICES",
    "CheckOptions",
    "CheckResult",
    "Status",
    "all_checks",
    "all_passed",
    "render_json",
    "render_text",
    "run_preflight",
]


def all_checks(deployment: Deployment) -> list[Check]:
    """Every check for this deployment, in report order."""
    models = model_checks.checks(deployment.trained_models) or [
        Check("model", lambda ctx: passed("no lambdamart models: nothing to load"))
    ]
    return [*s3_checks.checks(), *events_checks.checks(), *models, *redis_checks.checks(), *cluster_checks.checks()]


def run_preflight(
    deployment: Deployment, options: CheckOptions, only: Sequence[str] = (), skip: Sequence[str] = ()
) -> list[CheckResult]:
    """Select (UsageError on unknown names), run concurrently, return results in report order."""
    chosen = select(all_checks(deployment), only, skip)
    return run_checks(chosen, CheckContext(deployment, options), options.timeout)
