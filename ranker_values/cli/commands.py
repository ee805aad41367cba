"""The typer app of ``ranker-values``: parse arguments, call one function, print, exit.

Keep this module light: it is imported on every start that is not the fast path
(:mod:`ranker_values.cli.fast`), so heavy modules (boto3, kubernetes, xgboost, helm_python) are only
imported inside the command that needs them. Printing, the error guard and the bodies of
``validate`` and ``gen`` live in :mod:`ranker_values.cli.run`, shared with the fast path.
"""

from __future__ import annotations

import math
import os
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from ranker_values import __version__
import ranker_values.cli.run as run
from ranker_values.errors import RankerError

app = typer.Typer(
    name="ranker-values",
    help="Validate a Metarank 0.4 ranking config, generate Helm values for charts/ranker, "
    "and operate the deployment (savepoints, upgrade plans, preflight checks).",
    no_args_is_help=True,
    # no --install-completion/--show-completion: they edit shell rc files and guess the shell
    # from the parent process; `ranker-values completion SHELL` prints the script (helm, kubectl)
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def fail(err: RankerError) -> SystemExit:
    """Print a domain error (message + diagnostics) to stderr and return the exit to raise."""
    return run.fail(err)


# --- validate / gen / schema (issue 2) -------------------------------------------------------

EXIT_INTERNAL = run.EXIT_INTERNAL
_JsonOut = run.JsonOut


class PlainOrJson(str, Enum):
    text = "text"
    json = "json"


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"


_NAMESPACE_HELP = "Default: $RANKER_NAMESPACE, else the kubeconfig context's namespace, else default."


def _namespace(flag: Optional[str], kube_context: Optional[str] = None) -> str:
    """--namespace > $RANKER_NAMESPACE > the kubeconfig context's namespace > "default"."""
    from ranker_values.kube.kubeconfig import resolve_namespace

    return resolve_namespace(flag, kube_context).name


_ENV_HELP = "Check the config against this environment: reads values/NAME.yaml (dev relaxes storage rules)."
_ENV_FILE_HELP = "Read the environment's values from this file instead of values/NAME.yaml."
_TYPER_EXITS = (typer.Exit, typer.Abort)  # a typer command's own exits pass the guard unchanged


def _guarded(json_out: Optional[_JsonOut] = None):
    """RankerError → its report and exit code; anything else → one line and EXIT_INTERNAL."""
    return run.guarded(json_out, _TYPER_EXITS)


MAX_SECONDS = 7 * 24 * 3600  # a week: beyond it thread joins and socket timeouts overflow (1e10, 1e308)


def _seconds(value: float) -> float:
    """A positive, finite number of seconds up to MAX_SECONDS: click reads 'nan' and 'inf' as
    floats too, either would turn a deadline into a busy loop or an endless wait, and huge ones
    overflow the C timeouts underneath (OverflowError, "timestamp out of range")."""
    if not math.isfinite(value) or value <= 0:
        raise typer.BadParameter(f"{value!r} is not a positive number of seconds")
    if value > MAX_SECONDS:
        raise typer.BadParameter(f"{value!r} seconds is more than a week ({MAX_SECONDS}); give a smaller timeout")
    return value


@app.command()
def validate(
    configs: list[Path] = typer.Argument(..., metavar="CONFIG", help="Ranking config files (Metarank 0.4); one or more."),
    env: Optional[str] = typer.Option(None, "--env", metavar="NAME", help=_ENV_HELP),
    env_file: Optional[Path] = typer.Option(None, "--env-file", metavar="PATH", help=_ENV_FILE_HELP),
    output: OutputFormat = typer.Option(OutputFormat.text, "--format", help="text, json or github (annotations)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show every error, not only the first 10."),
    strict: bool = typer.Option(False, "--strict", help="Warnings fail too."),
) -> None:
    """Validate ranking configs. Exit 0 valid, 1 invalid, 2 usage error or unreadable file."""
    run.validate(configs, env, env_file, output.value, verbose, strict, _TYPER_EXITS)


@app.command()
def gen(
    config: Path = typer.Argument(..., metavar="CONFIG", help="The ranking config (Metarank 0.4)."),
    env: Optional[str] = typer.Option(None, "--env", metavar="NAME", help=_ENV_HELP),
    env_file: Optional[Path] = typer.Option(None, "--env-file", metavar="PATH", help=_ENV_FILE_HELP),
    out: Path = typer.Option(Path("values/generated"), "--out", metavar="DIR", help="Where to write the values files."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show every error, not only the first 10."),
    strict: bool = typer.Option(False, "--strict", help="Warnings fail too."),
    output: PlainOrJson = typer.Option(PlainOrJson.text, "--format", help="text, or json: one document on stdout (README, CLI output)."),
) -> None:
    """Validate CONFIG, then write one Helm values file per lifecycle step into DIR:
    bootstrap.yaml, train.yaml, upload.yaml, api.yaml, update.yaml."""
    run.gen(config, env, env_file, out, verbose, strict, output.value, _TYPER_EXITS)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the ranking config (for editors: yaml-language-server)."""
    from ranker_values.config.schema import schema_text

    with _guarded():
        typer.echo(schema_text(), nl=False)


_CHART_HELP = (
    "The chart directory. Default: charts/ranker under the current directory (a clone), "
    "else the chart installed with ranker-values."
)


def _chart(given: Optional[Path]) -> Path:
    from ranker_values.values.files import default_chart

    return given if given is not None else default_chart()


@app.command()
def render(
    values: list[Path] = typer.Option(..., "--values", "-f", metavar="FILE", help="Values files, merged like helm -f (e.g. values/prod.yaml values/generated/update.yaml)."),
    chart: Optional[Path] = typer.Option(None, "--chart", metavar="DIR", help=_CHART_HELP, show_default=False),
    release: str = typer.Option("ranker", "--release", metavar="NAME"),
    namespace: Optional[str] = typer.Option(None, "--namespace", "-n", metavar="NS", help=_NAMESPACE_HELP, show_default=False),
    out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="FILE", help="Write the manifests to FILE (one YAML stream, atomically) instead of stdout."),
    kube_versions: list[str] = typer.Option(["1.29", "1.34"], "--kube-version", metavar="X.Y", help="Validate against these Kubernetes versions (strict schemas)."),
    crds: list[Path] = typer.Option([], "--crds", metavar="DIR", help="CRD directory to validate custom resources against: the Flink operator's (FlinkDeployment; repeat for several operator versions), the prometheus-operator's (PodMonitor, PrometheusRule)."),
    validate_objects: bool = typer.Option(True, "--validate/--no-validate", help="Validate every rendered object."),
) -> None:
    """Render the chart offline with the Helm SDK and validate every object it renders.

    The manifests go to stdout (like helm template), only when every object is valid; the summary
    goes to stderr. With --out FILE they go to FILE and the summary to stdout.
    Exit 0: rendered and valid; 1: the chart refused the values, or an object is invalid; 2: usage."""
    from ranker_values.kube.render import (
        check_validation_options,
        manifest_text,
        parse_manifests,
        render_texts,
        validate_manifests,
    )
    from ranker_values.values.files import merge_values_files

    to_stdout = out is None
    with _guarded():
        namespace = _namespace(namespace)
        chart = _chart(chart)
        if validate_objects:
            check_validation_options(tuple(kube_versions), tuple(crds))
        merged = merge_values_files(list(values))
        from ranker_values.files.atomic import check_output, check_stdout

        if to_stdout:
            check_stdout()  # `> values.yaml` onto one of the -f files is refused
        else:
            check_output(out)  # an input, a device or a FIFO is refused before the render
        texts = render_texts(merged, chart, release, namespace)
        objects = parse_manifests(texts)
        stream = manifest_text(texts)
        if not to_stdout:
            from ranker_values.files.atomic import write_text_atomic

            write_text_atomic(out, stream)
        kinds = sorted({o.get("kind", "?") for o in objects})
        typer.echo(f"rendered {len(objects)} objects ({', '.join(kinds)})" + (f" -> {out}" if out else ""), err=to_stdout)
        if validate_objects:
            result = validate_manifests(objects, tuple(kube_versions), tuple(crds))
            for warning in result.warnings:
                typer.echo(f"warning: {warning}", err=True)
            for problem in result.problems:
                typer.echo(f"error: {problem}", err=True)
            checked = f"Kubernetes {', '.join(result.kube_versions)} (strict)"
            if crds:
                checked += f"; FlinkDeployment CRDs: {', '.join(str(c) for c in crds)}; operator admission rules"
            if not result.ok:
                typer.echo(f"INVALID: {len(result.problems)} problem(s) against {checked}" + ("; nothing printed" if to_stdout else ""), err=True)
                raise typer.Exit(1)
            typer.echo(f"valid against {checked}", err=to_stdout)
        if to_stdout:
            typer.echo(stream, nl=False)


# --- savepoint / upgrade-values / plan (issue 4) ---------------------------------------------

savepoint_app = typer.Typer(
    help="Find (latest) or take (trigger) savepoints of a release's update job.", no_args_is_help=True
)
app.add_typer(savepoint_app, name="savepoint")

_VALUES_HELP = "Helm values files as deployed (merged left to right like helm -f): s3.*, ranking.paths.*, stages.*."
_RELEASE_HELP = "Helm release name: its FlinkDeployments are found by labels (app.kubernetes.io/instance)."
_OBJECTS_HELP = "Read the cluster objects from this file (kubectl get ... -o yaml) instead of the API server."
_TIMEOUT_HELP = "Seconds allowed for each S3 / Kubernetes request (connect and read)."


class SavepointSource(str, Enum):
    auto = "auto"
    cluster = "cluster"
    s3 = "s3"
    all = "all"


class TriggerMode(str, Enum):
    auto = "auto"
    snapshot = "snapshot"
    nonce = "nonce"


def _cluster_or_none(release, objects, kube_context, timeout):
    from ranker_values.errors import UsageError
    from ranker_values.ops.inputs import open_cluster

    if release is None and objects is None:
        return None
    if release is None:
        raise UsageError("--objects needs --release to find the release's objects")
    return open_cluster(objects_file=objects, kube_context=kube_context, timeout=timeout)


@savepoint_app.command("latest")
def savepoint_latest(
    values: list[Path] = typer.Option([], "--values", "-f", metavar="FILE", help=_VALUES_HELP),
    release: Optional[str] = typer.Option(None, "--release", metavar="NAME", help=_RELEASE_HELP),
    namespace: Optional[str] = typer.Option(None, "--namespace", "-n", metavar="NS", help=_NAMESPACE_HELP, show_default=False),
    kube_context: Optional[str] = typer.Option(None, "--kube-context", metavar="CTX"),
    objects: Optional[Path] = typer.Option(None, "--objects", metavar="FILE", help=_OBJECTS_HELP),
    source: SavepointSource = typer.Option(
        SavepointSource.auto, "--source",
        help="cluster: operator records (verified on S3 newest-first); s3: scan the savepoint directory; "
        "all: both; auto: all with a cluster, else s3.",
    ),
    savepoints_dir: Optional[str] = typer.Option(
        None, "--savepoints-dir", metavar="URI", help="Default: ranking.paths.savepoints from the values."
    ),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="Require _metadata on S3 for cluster candidates."),
    output: PlainOrJson = typer.Option(PlainOrJson.text, "--format"),
    request_timeout: float = typer.Option(10.0, "--request-timeout", metavar="SECONDS", help=_TIMEOUT_HELP, callback=_seconds),
) -> None:
    """Print the newest COMPLETED savepoint of the update job (a directory with _metadata)."""
    import json

    from ranker_values.ops import savepoint as sp
    from ranker_values.errors import UsageError
    from ranker_values.ops.inputs import ValuesInput, open_s3

    with _guarded():
        vals = ValuesInput.read(values)
        cluster = _cluster_or_none(release, objects, kube_context, request_timeout)
        namespace = _namespace(namespace, kube_context) if cluster is not None else None
        mode = source.value if source != SavepointSource.auto else ("all" if cluster else "s3")
        if mode in ("cluster", "all") and cluster is None:
            raise UsageError(f"--source {mode} needs --release (and a cluster)")
        found = None
        offline_note = None
        if cluster is not None and mode in ("cluster", "all"):
            deployment = sp.require_stage_deployment(cluster, release, namespace)
            found = sp.cluster_candidates(cluster, deployment)
            if objects is not None and not sp.supports_snapshot_resources(cluster):
                offline_note = (
                    f"{objects} holds neither the FlinkStateSnapshot CRD nor any FlinkStateSnapshot: only the "
                    "FlinkDeployment's status was read (add `kubectl get crd flinkstatesnapshots.flink.apache.org "
                    "-o yaml` and `kubectl get flinkstatesnapshots -o yaml` to the file to include them)"
                )
                typer.echo(f"note: {offline_note}", err=True)
        scan = mode in ("s3", "all")
        use_s3 = scan or verify
        client = open_s3(vals, request_timeout) if use_s3 else None
        counter = sp.RequestCounter(client) if client is not None else None
        directory = savepoints_dir or vals.string("ranking.paths.savepoints")
        result = sp.latest_savepoint(cluster_found=found, s3_client=client, savepoints_dir=directory, scan=scan)
        if output == PlainOrJson.json:
            typer.echo(json.dumps(_latest_json(result, counter), indent=2))
        else:
            typer.echo(result.chosen.path)
            when = f"{result.chosen.time:%Y-%m-%d %H:%M:%S} UTC" if result.chosen.time else "time unknown"
            check = "_metadata present on S3" if result.verified else "NOT verified on S3"
            typer.echo(f"newest complete savepoint ({when}, {result.chosen.source}; {check})", err=True)
            typer.echo(f"{len(result.candidates)} candidate(s), {len(result.incomplete)} incomplete director(ies) skipped", err=True)
            for note in result.notes:
                typer.echo(f"note: {note}", err=True)
            if counter is not None:
                typer.echo(counter.summary(), err=True)


def _latest_json(result, counter) -> dict:
    def item(s):
        return {"path": s.path, "time": s.time.isoformat() if s.time else None, "source": s.source}

    return {
        "path": result.chosen.path,
        "chosen": item(result.chosen),
        "verified": result.verified,
        "candidates": [item(c) for c in result.candidates],
        "incomplete": result.incomplete,
        "notes": result.notes,
        "s3_requests": dict(counter.by_operation) if counter is not None else {},
    }


@savepoint_app.command("trigger")
def savepoint_trigger(
    release: str = typer.Option(..., "--release", metavar="NAME", help=_RELEASE_HELP),
    namespace: Optional[str] = typer.Option(None, "--namespace", "-n", metavar="NS", help=_NAMESPACE_HELP, show_default=False),
    kube_context: Optional[str] = typer.Option(None, "--kube-context", metavar="CTX"),
    objects: Optional[Path] = typer.Option(None, "--objects", metavar="FILE", help=_OBJECTS_HELP),
    mode: TriggerMode = typer.Option(
        TriggerMode.auto, "--mode",
        help="snapshot: create a FlinkStateSnapshot (operator >= 1.10); nonce: bump the deprecated "
        "spec.job.savepointTriggerNonce; auto: snapshot when the CRD is installed.",
    ),
    timeout: float = typer.Option(600.0, "--timeout", metavar="SECONDS", help="Give up waiting after this long.", callback=_seconds),
    poll_interval: float = typer.Option(5.0, "--poll-interval", metavar="SECONDS", callback=_seconds),
    request_timeout: float = typer.Option(10.0, "--request-timeout", metavar="SECONDS", help=_TIMEOUT_HELP, callback=_seconds),
) -> None:
    """Take a manual savepoint of the running update job and wait for it (progress on stderr)."""
    from ranker_values.files.atomic import Interrupted
    from ranker_values.ops import savepoint as sp
    from ranker_values.ops.inputs import open_cluster

    with _guarded():
        namespace = _namespace(namespace, kube_context)
        cluster = open_cluster(objects_file=objects, kube_context=kube_context, timeout=request_timeout)
        deployment = sp.require_stage_deployment(cluster, release, namespace)
        waiter = sp.Waiter(timeout=timeout, poll_interval=poll_interval)
        if mode is TriggerMode.auto and not sp.supports_snapshot_resources(cluster):
            where = f"in {objects}" if objects is not None else "installed"
            typer.echo(
                f"note: no FlinkStateSnapshot CRD {where} (operator < 1.10): using the legacy "
                "spec.job.savepointTriggerNonce (--mode snapshot to insist)", err=True,
            )
        changed: list[str] = []
        _record_writes(cluster, changed)
        try:
            result = sp.trigger_savepoint(cluster, deployment, waiter, mode.value)
        except Interrupted:
            for change in changed:
                typer.echo(f"note: interrupted after {change}", err=True)
            raise
        typer.echo(result.path)
        if result.values_hint:
            typer.echo(
                "the live spec now differs from the Helm values; to keep them in agreement add to your values:\n"
                + result.values_hint,
                err=True,
            )


def _record_writes(cluster, changed: list[str]) -> None:
    """Note every write ``savepoint trigger`` makes, so an interrupt can say what it left behind."""
    patch, create = cluster.patch_custom, cluster.create_custom

    def patch_custom(plural, name, namespace, body):
        out = patch(plural, name, namespace, body)
        nonce = ((body.get("spec") or {}).get("job") or {}).get("savepointTriggerNonce")
        changed.append(
            f"patching {plural}/{name}: spec.job.savepointTriggerNonce={nonce} stays on the live object and the "
            f"operator still takes that savepoint; keep your values in agreement (stages.update.savepointTriggerNonce: {nonce})"
            if nonce is not None else f"patching {plural}/{name}"
        )
        return out

    def create_custom(plural, namespace, body):
        out = create(plural, namespace, body)
        name = (body.get("metadata") or {}).get("name")
        changed.append(f"creating {plural}/{name} in {namespace}: the operator still completes it (see `savepoint latest`)")
        return out

    cluster.patch_custom, cluster.create_custom = patch_custom, create_custom


@app.command("upgrade-values")
def upgrade_values(
    out: Path = typer.Option(..., "--out", "-o", metavar="FILE", help="The values file to write (atomically)."),
    values: list[Path] = typer.Option([], "--values", "-f", metavar="FILE", help=_VALUES_HELP),
    reseed_: bool = typer.Option(
        False, "--reseed", help="Re-seed from a savepoint (default: the bootstrap savepoint): DISCARDS the running state."
    ),
    savepoint: Optional[str] = typer.Option(None, "--savepoint", metavar="URI", help="The savepoint to re-seed from."),
    release: Optional[str] = typer.Option(None, "--release", metavar="NAME", help=_RELEASE_HELP + " Reads the live nonces."),
    namespace: Optional[str] = typer.Option(None, "--namespace", "-n", metavar="NS", help=_NAMESPACE_HELP, show_default=False),
    kube_context: Optional[str] = typer.Option(None, "--kube-context", metavar="CTX"),
    objects: Optional[Path] = typer.Option(None, "--objects", metavar="FILE", help=_OBJECTS_HELP),
    allow_empty_state: bool = typer.Option(False, "--allow-empty-state", help="Allow values that start the update job empty."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation of a re-seed."),
    request_timeout: float = typer.Option(10.0, "--request-timeout", metavar="SECONDS", help=_TIMEOUT_HELP, callback=_seconds),
    output: PlainOrJson = typer.Option(PlainOrJson.text, "--format", help="text, or json: one document on stdout (README, CLI output)."),
) -> None:
    """Write the values file for a normal upgrade (pins nonces) or a re-seed (--reseed)."""
    from ranker_values.ops import upgrade as up
    from ranker_values.errors import UsageError
    from ranker_values.ops.inputs import ValuesInput, open_s3

    as_json = None
    if output is PlainOrJson.json:
        as_json = _JsonOut("upgrade-values", mode="reseed" if reseed_ else "normal", written=None, starts_from=None, notes=[], values=None)
    with _guarded(as_json):
        if savepoint and not reseed_:
            raise UsageError("--savepoint only makes sense with --reseed")
        vals = ValuesInput.read(values)
        cluster = _cluster_or_none(release, objects, kube_context, request_timeout)
        namespace = _namespace(namespace, kube_context) if cluster is not None else "default"
        from ranker_values.files.atomic import check_output

        check_output(out)  # not an input, a device or a FIFO: refused before S3 and the cluster
        current = up.read_current(vals, cluster, release, namespace)
        client = open_s3(vals, request_timeout)
        if reseed_:
            result = up.reseed(current, client, savepoint, allow_empty_state)
            up.confirm_reseed(release or "reseed", up.reseed_warning(current, release, result), yes=yes)
        else:
            result = up.normal_upgrade(current, client, allow_empty_state)
        text = up.render_file(result, [str(p) for p in values])
        path = up.write_upgrade_values(out, text)
        if as_json is not None:
            as_json.emit(0, written=str(path), starts_from=result.start.description, notes=result.notes, values=result.values)
            return
        for note in result.notes:
            typer.echo(f"note: {note}", err=True)
        typer.echo(f"update job starts from: {result.start.description}", err=True)
        typer.echo(f"wrote {path} ({'RE-SEED' if result.mode == 'reseed' else 'normal upgrade'})")


@app.command("plan")
def plan(
    old: Path = typer.Argument(..., metavar="OLD_VALUES", help="Values file of what is deployed now (layered on --values); with --deployed give only NEW_VALUES."),
    new: Optional[Path] = typer.Argument(None, metavar="NEW_VALUES", help="Values file of what you are about to deploy."),
    values: list[Path] = typer.Option([], "--values", "-f", metavar="FILE", help="Base values under both (e.g. values/prod.yaml)."),
    release: str = typer.Option("ranker", "--release", metavar="NAME", help="Release name used for rendering."),
    namespace: Optional[str] = typer.Option(None, "--namespace", "-n", metavar="NS", help=_NAMESPACE_HELP, show_default=False),
    chart: Optional[Path] = typer.Option(None, "--chart", metavar="DIR", help=_CHART_HELP, show_default=False),
    add: list[Path] = typer.Option(
        [], "--add", metavar="FILE", help="Values layered on NEW only, last (e.g. the upgrade-values output)."
    ),
    intended: Optional[str] = typer.Option(
        None, "--intended", metavar="LIST",
        help="Dangerous changes you mean to make, comma-separated: redeploy, stateless-upgrade, delete, "
        "bootstrap-rerun, upload-rerun, model-retrain.",
    ),
    deployed: bool = typer.Option(
        False, "--deployed", help="OLD is what the release has deployed now, read from its Helm record in the cluster "
        "(--release, --namespace, --kube-context); give only NEW_VALUES.",
    ),
    kube_context: Optional[str] = typer.Option(None, "--kube-context", metavar="CTX"),
    objects: Optional[Path] = typer.Option(None, "--objects", metavar="FILE", help=_OBJECTS_HELP + " With --deployed."),
    request_timeout: float = typer.Option(10.0, "--request-timeout", metavar="SECONDS", help=_TIMEOUT_HELP, callback=_seconds),
    output: PlainOrJson = typer.Option(PlainOrJson.text, "--format", help="text, or json: one document on stdout (README, CLI output)."),
) -> None:
    """Render OLD and NEW with the Helm SDK and explain what the Flink operator will do.

    Exit 0: safe (or every danger declared with --intended); 1: a dangerous change not declared,
    or invalid input; 2: usage."""
    from ranker_values.ops import plan as pl

    as_json = None
    if output is PlainOrJson.json:
        as_json = _JsonOut("plan", old=None if deployed else str(old), new=str(new if not deployed else old), **pl.plan_json(None, set()))
    with _guarded(as_json):
        wanted = pl.parse_intended(intended)
        chart = _chart(chart)
        if deployed:
            from ranker_values.errors import UsageError
            from ranker_values.ops.inputs import open_cluster

            if new is not None:
                raise UsageError("with --deployed give only NEW_VALUES: OLD is read from the cluster")
            namespace = _namespace(namespace, kube_context)
            cluster = open_cluster(objects_file=objects, kube_context=kube_context, timeout=request_timeout)
            result, against = pl.plan_deployed(cluster, old, values, chart, release, namespace, add)
            if as_json is None:
                typer.echo(f"OLD: {against}", err=True)
            else:
                as_json.fields["old"] = against
        else:
            if new is None:
                from ranker_values.errors import UsageError

                raise UsageError("give OLD_VALUES and NEW_VALUES, or --deployed NEW_VALUES")
            namespace = _namespace(namespace)
            result = pl.plan_files(old, new, values, chart, release, namespace, add)
        undeclared = result.undeclared(wanted)
        if as_json is not None:
            refusal = f"dangerous change(s) not declared: pass --intended {','.join(undeclared)} if this is what you want" if undeclared else None
            as_json.emit(1 if undeclared else 0, refusal, **pl.plan_json(result, wanted))
        else:
            typer.echo(pl.render_report(result, wanted))
        if undeclared:
            raise typer.Exit(1)


# --- check (issue 5) -------------------------------------------------------------------------


class CheckFormat(str, Enum):
    text = "text"
    json = "json"


class DoneStep(str, Enum):
    none = "none"
    bootstrap = "bootstrap"
    train = "train"
    upload = "upload"
    api = "api"
    update = "update"


_CHECK_NAMES_HELP = "Check groups (s3, events, model, redis, cluster) or names (s3.workdir, model.xgboost …); repeat or comma-separate."


@app.command()
def check(
    config: Path = typer.Argument(..., metavar="CONFIG", help="The ranking config (Metarank 0.4)."),
    values: list[Path] = typer.Option([], "--values", "-f", metavar="FILE", help="Helm values files (merged like helm -f): s3.*, externalRedis.*, flink.*."),
    only: list[str] = typer.Option([], "--only", metavar="NAME", help="Run only these checks. " + _CHECK_NAMES_HELP),
    skip: list[str] = typer.Option([], "--skip", metavar="NAME", help="Skip these checks. " + _CHECK_NAMES_HELP),
    output: CheckFormat = typer.Option(CheckFormat.text, "--format", help="text (a table) or json."),
    done: DoneStep = typer.Option(
        DoneStep.none, "--done", help="The last lifecycle step that has finished: its outputs must exist (✗), later ones may not yet (!)."
    ),
    timeout: float = typer.Option(10.0, "--timeout", metavar="SECONDS", help="Time allowed for each check.", callback=_seconds),
    redis_url: Optional[str] = typer.Option(None, "--redis-url", metavar="URL", help="Reach Redis here instead of inference.state host/port (e.g. via port-forward)."),
    redis_password_env: str = typer.Option("REDIS_PASSWORD", "--redis-password-env", metavar="NAME", help="Environment variable holding the Redis password."),
    events_sample: int = typer.Option(1000, "--events-sample", metavar="N", min=1, help="Validate the first N events of the bootstrap source."),
    kube_context: Optional[str] = typer.Option(None, "--kube-context", metavar="CTX", help="kubeconfig context (default: the current one)."),
    namespace: Optional[str] = typer.Option(None, "--namespace", "-n", metavar="NS", help="Namespace the release is installed in. " + _NAMESPACE_HELP, show_default=False),
    objects: Optional[Path] = typer.Option(None, "--objects", metavar="FILE", help="Read cluster objects from this file (kubectl get … -o yaml) instead of the API server."),
    env: Optional[str] = typer.Option(None, "--env", metavar="NAME", help=_ENV_HELP),
    env_file: Optional[Path] = typer.Option(None, "--env-file", metavar="PATH", help=_ENV_FILE_HELP),
) -> None:
    """Preflight: check S3, the bootstrap events, trained models, Redis and the cluster, concurrently.
    Prints ✓ / ✗ / ! with a reason and a fix per check; exit 0 when no check failed (✗), 1 otherwise."""
    from ranker_values.ops.check import CheckOptions, all_passed, render_json, render_text, run_preflight
    from ranker_values.pipeline import load_deployment
    from ranker_values.values.files import release_values

    with _guarded():
        deployment = load_deployment(config, env, env_file)
        namespace = _namespace(namespace, kube_context)
        cluster = None
        if objects is not None:
            from ranker_values.ops.inputs import open_cluster

            cluster = open_cluster(objects_file=objects, kube_context=None, timeout=timeout)
        options = CheckOptions(
            values=release_values(list(values)),
            done=done.value,
            timeout=timeout,
            redis_url=redis_url,
            redis_password_env=redis_password_env,
            events_sample=events_sample,
            kube_context=kube_context,
            namespace=namespace,
            cluster=cluster,
        )
        results = run_preflight(deployment, options, only, skip)
        typer.echo(render_json(results) if output is CheckFormat.json else render_text(results))
    raise typer.Exit(0 if all_passed(results) else 1)


# --- tune / tune-worker (issue 12) ----------------------------------------------------------

_BROKER_HELP = "RabbitMQ URL (amqp://user:pass@host:5672/vhost); or set RANKER_TUNE_BROKER (keeps the password out of ps)."


def _read_broker_file(path: Optional[Path]) -> Optional[str]:
    if path is None:
        return None
    from ranker_values.errors import UsageError
    from ranker_values.files.inputs import read_text

    try:  # the input gate: a FIFO or a device is refused, never a hang; at most 64 KiB
        url = read_text(path, "broker URL file", max_bytes=64 * 1024).strip()
    except RankerError as exc:
        raise UsageError(f"--broker-file {path}: cannot read it ({exc.message.removeprefix(f'{path}: ')})") from None
    if not url:
        raise UsageError(f"--broker-file {path}: empty; it must hold amqp://user:password@host:5672/vhost")
    return url


@app.command()
def tune(
    config: Path = typer.Argument(..., metavar="CONFIG", help="The ranking config (Metarank 0.4)."),
    model: str = typer.Option(..., "--model", metavar="NAME", help="The lambdamart (xgboost) model to tune."),
    trials: int = typer.Option(50, "--trials", metavar="N", min=1, max=100000, help="Search budget: parameter sets to try."),
    workers: str = typer.Option("local:1", "--workers", metavar="local:N", help="Run trials in N local processes."),
    broker: Optional[str] = typer.Option(None, "--broker", metavar="URL", envvar="RANKER_TUNE_BROKER", help="Run trials on tune-workers through RabbitMQ instead. " + _BROKER_HELP),
    broker_file: Optional[Path] = typer.Option(None, "--broker-file", metavar="PATH", envvar="RANKER_TUNE_BROKER_FILE", help="Read the RabbitMQ URL from this file (a mounted Secret)."),
    fresh: bool = typer.Option(False, "--fresh", help="Forget stored trial results and search again."),
    force: bool = typer.Option(False, "--force", help="Write the model even if it does not beat the engine's training."),
    replace_train: bool = typer.Option(False, "--replace-train", help="Tune takes the place of the train Job: when the tuned model does not win, write the engine-trained model instead, so a model always exists."),
    folds: int = typer.Option(5, "--folds", metavar="K", min=2, max=20, help="Cross-validation folds over the train queries."),
    seed: int = typer.Option(0, "--seed", metavar="N", min=0, help="Seed of the split, the folds and the search."),
    max_rounds: int = typer.Option(400, "--max-rounds", metavar="N", min=1, max=5000, help="Upper bound of the trees a trial may use."),
    dataset: Optional[str] = typer.Option(None, "--dataset", metavar="URI", help="Read the dataset here instead of <workdir>/dataset-<model>."),
    out: Optional[str] = typer.Option(None, "--out", metavar="URI", help="Trial results and report here instead of <model path>.tune."),
    model_path: Optional[str] = typer.Option(None, "--model-path", metavar="URI", help="Write the model here instead of the config's path."),
    values: list[Path] = typer.Option([], "--values", "-f", metavar="FILE", help="Helm values files (merged like helm -f): s3.* for S3 access."),
    timeout: float = typer.Option(30.0, "--timeout", metavar="SECONDS", help="Time allowed to reach the broker.", callback=_seconds),
    max_attempts: int = typer.Option(3, "--max-attempts", metavar="N", min=1, max=100, help="Deliveries of one trial before it goes to the dead-letter queue (broker only)."),
    env: Optional[str] = typer.Option(None, "--env", metavar="NAME", help=_ENV_HELP),
    env_file: Optional[Path] = typer.Option(None, "--env-file", metavar="PATH", help=_ENV_FILE_HELP),
) -> None:
    """Search xgboost parameters for one model on its bootstrap dataset (k-fold CV over queries),
    compare with the engine's own training on held-out queries, write the model if it wins, and
    write report.json + search.png next to it."""
    from ranker_values.ops.tune import needs_tune_extra

    with _guarded(), needs_tune_extra():
        from ranker_values.ops.tune.runners import LocalRunner, parse_workers
        from ranker_values.ops.tune.tune import TuneOptions, load_options_s3, run_tune
        from ranker_values.pipeline import load_deployment

        broker = broker or _read_broker_file(broker_file)
        if broker is None:
            runner = LocalRunner(parse_workers(workers))
        else:
            from ranker_values.ops.tune.amqp import AmqpRunner, BrokerSettings

            runner = AmqpRunner(BrokerSettings.parse(broker, timeout=timeout, max_attempts=max_attempts))
        deployment = load_deployment(config, env, env_file)
        options = TuneOptions(
            model=model, trials=trials, folds=folds, seed=seed, max_rounds=max_rounds, fresh=fresh, force=force, replace_train=replace_train,
            dataset=dataset, out=out, model_path=model_path, s3=load_options_s3(list(values)),
        )
        run_tune(deployment, options, runner, typer.echo)


@app.command("tune-worker")
def tune_worker(
    broker: Optional[str] = typer.Option(None, "--broker", metavar="URL", envvar="RANKER_TUNE_BROKER", help=_BROKER_HELP),
    broker_file: Optional[Path] = typer.Option(None, "--broker-file", metavar="PATH", envvar="RANKER_TUNE_BROKER_FILE", help="Read the RabbitMQ URL from this file (a mounted Secret)."),
    timeout: float = typer.Option(30.0, "--timeout", metavar="SECONDS", help="Time allowed to reach the broker.", callback=_seconds),
    threads: int = typer.Option(1, "--threads", metavar="N", min=1, max=256, help="xgboost threads per trial."),
    max_trials: int = typer.Option(0, "--max-trials", metavar="N", min=0, help="Exit after N trials (0: run until stopped)."),
    idle_exit: float = typer.Option(0.0, "--idle-exit", metavar="SECONDS", min=0.0, help="Exit after this long without work (0: never)."),
    max_attempts: int = typer.Option(3, "--max-attempts", metavar="N", min=1, max=100, help="Deliveries of one trial before it goes to the dead-letter queue (as the tasker's)."),
    alive_file: Optional[Path] = typer.Option(None, "--alive-file", metavar="PATH", help="Touch this file every second while healthy (for a liveness probe)."),
) -> None:
    """Consume tune trials from RabbitMQ (prefetch 1), run them, store each result, then ack."""
    from ranker_values.ops.tune import needs_tune_extra

    with _guarded(), needs_tune_extra():
        from ranker_values.errors import UsageError
        from ranker_values.ops.tune.amqp import BrokerSettings, run_worker
        from ranker_values.ops.tune.writer import require_compatible_xgboost

        broker = broker or _read_broker_file(broker_file)
        if not broker:
            raise UsageError("tune-worker needs --broker amqp://… (or RANKER_TUNE_BROKER, or --broker-file)")
        require_compatible_xgboost()  # trials scored with the xgboost the tasker's model is written by
        done = run_worker(BrokerSettings.parse(broker, timeout=timeout, max_attempts=max_attempts), threads=threads, max_trials=max_trials, idle_exit=idle_exit, echo=typer.echo,
                          alive_file=str(alive_file) if alive_file else None)
        typer.echo(f"tune-worker: {done} trial(s) done")
# --- status (issue 11) -----------------------------------------------------------------------


@app.command("status")
def status(
    release: str = typer.Option("ranker", "--release", metavar="NAME", help=_RELEASE_HELP),
    namespace: Optional[str] = typer.Option(None, "--namespace", "-n", metavar="NS", help=_NAMESPACE_HELP, show_default=False),
    kube_context: Optional[str] = typer.Option(None, "--kube-context", metavar="CTX"),
    objects: Optional[Path] = typer.Option(None, "--objects", metavar="FILE", help=_OBJECTS_HELP),
    output: PlainOrJson = typer.Option(PlainOrJson.text, "--format", help="text (a table) or json."),
    watch_: bool = typer.Option(False, "--watch", help="Refresh until no batch stage (bootstrap, train, upload) is in progress."),
    interval: float = typer.Option(5.0, "--interval", metavar="SECONDS", help="Refresh interval for --watch.", callback=_seconds),
    timeout: float = typer.Option(3600.0, "--timeout", metavar="SECONDS", help="Give up --watch after this long.", callback=_seconds),
    request_timeout: float = typer.Option(10.0, "--request-timeout", metavar="SECONDS", help=_TIMEOUT_HELP, callback=_seconds),
) -> None:
    """Where the release is: per lifecycle stage its objects, phase, newest savepoint and the next step."""
    import json

    from ranker_values.ops import status as st
    from ranker_values.ops.inputs import open_cluster

    with _guarded():
        namespace = _namespace(namespace, kube_context)
        cluster = open_cluster(objects_file=objects, kube_context=kube_context, timeout=request_timeout)

        def read():
            return st.release_status(cluster, release, namespace)

        def show(result, rounds):
            if output == PlainOrJson.json:
                typer.echo(json.dumps(result.to_json(), indent=None if watch_ else 2))
            else:
                if watch_ and rounds > 1:
                    typer.echo("")
                typer.echo(st.render_table(result))

        if watch_:
            st.watch(read, show, interval, timeout)
        else:
            show(read(), 1)


# --- completion (issue 18) ------------------------------------------------------------------


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"
    powershell = "powershell"


@app.command()
def completion(
    shell: Shell = typer.Argument(..., metavar="SHELL", help="bash, zsh, fish or powershell."),
) -> None:
    """Print the shell completion script for SHELL (commands, options, choices and file names).

    bash: source <(ranker-values completion bash)   (or save it under ~/.local/share/bash-completion/completions/ranker-values)
    zsh: ranker-values completion zsh > "${fpath[1]}/_ranker-values"
    fish: ranker-values completion fish > ~/.config/fish/completions/ranker-values.fish"""
    with _guarded():
        from typer._completion_shared import get_completion_script

        typer.echo(get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell.value))


PROG = "ranker-values"
COMPLETE_VAR = "_RANKER_VALUES_COMPLETE"  # what the script sets; typer answers it before parsing


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ranker-values {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    pass


def run_app() -> None:
    """The typer app on ``sys.argv`` (the caller installs the interrupt handlers)."""
    if os.environ.get(COMPLETE_VAR):  # a completion request from `ranker-values completion SHELL`'s script
        from typer._completion_classes import completion_init

        completion_init()  # registers the shells; add_completion=False leaves it to us
    app()


def main() -> None:
    """The typer app without the fast path (``ranker_values.cli:main`` is the entry point; tests
    compare the two)."""
    from ranker_values.files.atomic import Interrupted, install_interrupt_handlers

    install_interrupt_handlers()  # SIGTERM too: temporary files are cleaned up, a message says so
    try:
        run_app()
    except Interrupted as stop:
        run.echo(f"ranker-values: interrupted ({stop.name}); nothing half-written was left behind", err=True)
        raise SystemExit(stop.exit_code) from None
