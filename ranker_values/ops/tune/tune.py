"""``ranker-values tune``: plan → run the pending trials → evaluate → write (if it wins) → report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ranker_values.errors import InvalidInput, UsageError
from ranker_values.ops.s3 import S3Settings
from ranker_values.ops.tune.dataset import Dataset, load_dataset
from ranker_values.ops.tune.engine import EngineSettings
from ranker_values.ops.tune.locations import Location
from ranker_values.ops.tune.search import SearchSpec, Trial, plan_trials
from ranker_values.ops.tune.store import ResultStore
from ranker_values.ops.tune.trial import make_task


@dataclass
class TuneOptions:
    model: str
    trials: int = 50
    folds: int = 5
    seed: int = 0
    max_rounds: int = 400
    fresh: bool = False
    force: bool = False
    replace_train: bool = False  # not winning → write the engine-trained model (tune replaces train)
    dataset: str | None = None  # override <workdir>/dataset-<model>
    out: str | None = None  # override <model path>.tune
    model_path: str | None = None  # override the model's path
    s3: S3Settings | None = None


@dataclass
class TunePlan:
    model: str
    dataset_uri: str
    out_uri: str
    model_path: str
    engine: EngineSettings
    columns: int | None
    out_given: bool = False  # --out (else <model path>.tune)


def plan_for(deployment: Any, options: TuneOptions) -> TunePlan:
    """Where the model's dataset, report and model file are, from the validated config."""
    from ranker_values.ops.check.columns import ColumnRuleError, model_columns

    models = {m.name: m for m in deployment.models}
    tunable = sorted(m.name for m in deployment.models if m.trainable and m.backend == "xgboost")
    model = models.get(options.model)
    if model is None or not model.trainable:
        raise UsageError(f"--model {options.model!r}: not a lambdamart model of the config; tunable: {', '.join(tunable) or 'none'}")
    if model.backend != "xgboost":
        raise UsageError(f"--model {options.model!r}: backend {model.backend!r}; tune trains xgboost models only")
    backend = (deployment.config.get("models", {}).get(options.model, {}) or {}).get("backend", {}) or {}
    try:
        columns: int | None = sum(c.dim for c in model_columns(model.features, deployment.config.get("features", [])))
    except ColumnRuleError:
        columns = None
    path = options.model_path or model.path
    for option, value in (("--model-path", path), ("--out", options.out), ("--dataset", options.dataset)):
        if value is not None and "\0" in value:
            raise UsageError(f"{option} {value!r}: contains a NUL byte; give a path or an s3:// URI")
    return TunePlan(
        model=options.model,
        dataset_uri=options.dataset or deployment.storage.dataset(options.model),
        out_uri=options.out or f"{path}.tune",
        model_path=path,
        engine=EngineSettings.from_backend(backend),
        columns=columns,
        out_given=bool(options.out),
    )


#: Files tune writes directly under ``--out`` (besides ``trials/`` and ``errors/``).
OUT_FILES = ("report.json", "search.png", "previous.model", "written.sha256")


def _where(uri: str) -> tuple[str, str]:
    """A comparable form of a location: ("s3", "bucket/key") or ("file", "/real/path")."""
    import os

    from ranker_values.ops.s3 import S3Location, is_s3_uri

    if is_s3_uri(uri):
        loc = S3Location.parse(uri)
        return "s3", f"{loc.bucket}/{loc.key}".rstrip("/")
    return "file", os.path.realpath(Location(uri)._path())  # through symlinks, also for paths not there yet


def _within(inner: tuple[str, str], outer: tuple[str, str]) -> bool:
    """``inner`` is ``outer`` or below it."""
    if inner[0] != outer[0]:
        return False
    return inner[1] == outer[1] or inner[1].startswith(outer[1].rstrip("/") + "/")


def check_outputs(plan: TunePlan) -> None:
    try:
        _check_outputs(plan)
    except OSError as exc:  # a name too long, a loop of symlinks …: the path is not usable
        raise UsageError(f"{exc.filename or plan.model_path}: cannot write there: {exc.strerror or exc}") from None


def _check_outputs(plan: TunePlan) -> None:
    """Refuse the model path and the --out directory before any work, with the output gate's
    rules (not an input, a device, a FIFO, a socket or a directory; a symlink is written
    through, a dangling one refused), and refuse outputs inside the dataset directory (the next
    run would read them as dataset lines) or a dataset that --fresh would delete."""
    from ranker_values.files.atomic import check_output

    dataset, out, model = _where(plan.dataset_uri), _where(plan.out_uri), _where(plan.model_path)
    out_name = f"--out {plan.out_uri}" if plan.out_given else f"the report directory {plan.out_uri} (<model path>.tune; --out moves it)"
    if _within(model, dataset):
        raise UsageError(
            f"--model-path {plan.model_path}: inside the dataset directory {plan.dataset_uri}; "
            "the engine and the next tune run read every file there: write the model elsewhere"
        )
    if _within(out, dataset):
        raise UsageError(
            f"{out_name}: inside the dataset directory {plan.dataset_uri}; the next run would read the "
            "trial results and the report (*.json) as dataset lines: write them elsewhere"
        )
    if any(_within(dataset, _where(f"{plan.out_uri.rstrip('/')}/{sub}")) for sub in ("trials", "errors")):
        raise UsageError(f"--dataset {plan.dataset_uri}: inside {plan.out_uri}, whose trials/ and errors/ --fresh deletes: choose another --out")
    if model == out or any(_within(model, _where(f"{plan.out_uri.rstrip('/')}/{name}")) for name in (*OUT_FILES, "trials", "errors")):
        raise UsageError(f"--model-path {plan.model_path}: is one of the files tune writes under {plan.out_uri}: choose another place")
    if model[0] == "file":
        check_output(Location(plan.model_path)._path())
    if out[0] == "file":
        root = Location(plan.out_uri)._path()
        for directory in (root, root / "trials", root / "errors"):
            if directory.is_symlink() and not directory.exists():
                raise UsageError(f"{out_name}: {directory} is a dangling symlink; give a directory")
            if directory.exists() and not directory.is_dir():
                raise UsageError(f"{out_name}: {directory} exists and is not a directory")
        for name in OUT_FILES:
            check_output(root / name)


def check_space(plan: TunePlan) -> None:
    """Prove the local output directories take a write (a full disk fails here, not after the
    search); creates --out."""
    from ranker_values.files.atomic import check_writable

    if not Location(plan.out_uri).is_s3:
        check_writable(Location(plan.out_uri)._path())
    if not Location(plan.model_path).is_s3:
        check_writable(Location(plan.model_path)._path().parent)


def prepare(plan: TunePlan, options: TuneOptions) -> tuple[Dataset, SearchSpec, list[Trial], ResultStore]:
    ds = load_dataset(Location(plan.dataset_uri, options.s3), plan.columns)
    if ds.queries < 2 * options.folds:
        raise InvalidInput(f"{plan.dataset_uri}: {ds.queries} queries; a {options.folds}-fold search needs at least {2 * options.folds}")
    spec = SearchSpec(ds.fingerprint, options.seed, options.folds, plan.engine.ndcg_cutoff, options.max_rounds)
    store = ResultStore(Location(plan.out_uri, options.s3))
    if options.fresh:
        store.clear()
    return ds, spec, plan_trials(spec, options.trials), store


def run_tune(deployment: Any, options: TuneOptions, runner: Any, echo: Callable[[str], None], progress_stream: Any = None) -> dict[str, Any]:
    from ranker_values.ops.tune.evaluate import evaluate
    from ranker_values.ops.tune.report import build_report, plot_png, summary, to_json
    from ranker_values.ops.tune.runners import Progress
    from ranker_values.ops.tune.writer import require_compatible_xgboost, write_model

    plan = plan_for(deployment, options)
    check_outputs(plan)  # a device, a FIFO, a directory, an input: refused before anything is read
    version = require_compatible_xgboost()
    check = getattr(runner, "check", None)
    if check is not None:
        check()  # an unreachable broker fails before the dataset is read
    ds, spec, trials, store = prepare(plan, options)
    check_outputs(plan)  # again: the dataset files are inputs now, which the model must not replace
    check_space(plan)
    if ds.dropped_count:
        echo(f"warning: {ds.dropped_count} dataset line(s) skipped (the engine skips them too): " + "; ".join(ds.dropped))
    done = store.all(spec.search_id)
    pending = [t for t in trials if t.id not in done]
    wanted = {t.id for t in trials}
    results = {tid: r for tid, r in done.items() if tid in wanted}
    echo(
        f"tune {plan.model}: {ds.queries} queries, {len(ds.y)} rows, {ds.columns} columns; search {spec.search_id}: "
        f"{len(trials)} trials ({len(results)} already done), {options.folds}-fold CV, NDCG@{spec.ndcg_cutoff}"
    )
    oks = [r["cv_mean"] for r in results.values() if r.get("status") == "ok"]
    progress = Progress(len(trials), len(results), max(oks) if oks else None, progress_stream)
    tasks = [make_task(plan.dataset_uri, plan.out_uri, options.s3, spec, t, plan.columns) for t in pending]

    def on_result(result: dict[str, Any]) -> None:
        results[result["trial_id"]] = result
        if result.get("status") != "ok":
            # a failure is final for this search (--fresh retries it): record it
            store.put(result["trial_id"], result)
        progress.update(result)

    try:
        runner.run(tasks, on_result)
    except BaseException:  # an interrupt (or a failure): say what is kept before it propagates
        try:
            stored = f"{len(store.finished(spec.search_id) & wanted)} of {len(trials)} trials are"
        except Exception:  # noqa: BLE001 - the store itself may be what failed
            stored = "finished trials are"
        echo(f"tune {plan.model}: stopped; {stored} stored in {store.trials.uri}: the same command resumes from them")
        raise
    ok = [r for r in results.values() if r.get("status") == "ok"]
    best = max(ok, key=lambda r: (r["cv_mean"], -r["index"])) if ok else None
    verdict = evaluate(ds, plan.engine, best["params"] if best else None, options.seed)
    written = ""
    if verdict.wins or options.force:
        written = verdict.candidate
    elif options.replace_train:
        written = "engine"  # what the train Job would have written
    if written:
        write_model(verdict.boosters[written], Location(plan.model_path, options.s3), Location(plan.out_uri, options.s3))
    report = build_report(
        model=plan.model,
        dataset_uri=plan.dataset_uri,
        model_path=plan.model_path,
        spec=spec.to_dict(),
        dataset_info={"queries": ds.queries, "rows": int(len(ds.y)), "columns": ds.columns, "files": len(ds.files), "skipped_lines": ds.dropped_count},
        engine_settings=plan.engine.__dict__,
        results=list(results.values()),
        best=best,
        verdict=verdict,
        written=written,
        forced=options.force and not verdict.wins,
        xgboost_version=version,
    )
    out = Location(plan.out_uri, options.s3)
    out.child("report.json").write(to_json(report))
    out.child("search.png").write(plot_png(report))
    echo(summary(report))
    echo(f"report: {out.child('report.json').uri} · plot: {out.child('search.png').uri}")
    return report


def load_options_s3(values_files: list[Path]) -> S3Settings:
    """S3 settings from ``--values`` files; in the chart's pods (no values files) from the
    environment the chart sets: AWS_S3_ENDPOINT_URL, AWS_REGION, RANKER_S3_PATH_STYLE."""
    import os
    from dataclasses import replace

    from ranker_values.values.files import release_values

    settings = S3Settings.from_values(release_values(list(values_files)), connect_timeout=10.0, read_timeout=60.0)
    if not values_files:
        settings = replace(
            settings,
            endpoint=settings.endpoint or os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            region=settings.region or os.environ.get("AWS_REGION") or None,
            path_style=settings.path_style or os.environ.get("RANKER_S3_PATH_STYLE", "").lower() == "true",
        )
    return settings
