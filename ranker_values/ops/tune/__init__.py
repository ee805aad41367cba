"""``ranker-values tune``: a search over xgboost ranking parameters on the bootstrap dataset of one
model, evaluated against what Metarank 0.4.1's own training would give, run locally (a process
pool) or through RabbitMQ (tasker + workers). Everything heavy (numpy, xgboost, pika, boto3,
matplotlib) is imported inside the functions that need it.

Modules: ``dataset`` (read the engine's JSON lines from a directory or S3), ``engine`` (the
engine's split/grouping/training, reproduced, and the sound variants), ``metrics`` (NDCG@k,
paired bootstrap), ``search`` (the parameter space and the trial plan), ``store`` (one result per
trial id, local dir or S3), ``trial`` (one trial: k-fold CV), ``runners`` (local pool),
``amqp`` (tasker/worker over RabbitMQ), ``evaluate`` (engine vs baseline vs tuned on the test
queries), ``report`` (JSON, PNG, summary), ``writer`` (the model file the engine loads), ``tune``
(the command's flow).
"""

from contextlib import contextmanager

TUNE_MODULES = frozenset({"xgboost", "numpy", "pika", "matplotlib", "boto3", "botocore", "scipy"})


@contextmanager
def needs_tune_extra():
    """A missing tune dependency → a usage error naming the extra (never a traceback)."""
    from ranker_values.errors import UsageError

    try:
        yield
    except ModuleNotFoundError as exc:
        module = (exc.name or "").split(".")[0]
        if module in TUNE_MODULES:
            raise UsageError(
                f"tune needs the {module!r} package of the tune extra, in its own environment: "
                "scripts/setup.sh tune (creates .venv-tune) or pip install 'ranker-values[tune]'"
            ) from None
        raise
