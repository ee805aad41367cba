"""Fuzz corpus for every file the CLI reads besides the config (tests/test_fuzz.py covers that):
values files, env files, objects files, event files and model files.

Two layers, both in-process:

* **readers** — the one function behind each kind of file, called directly with 10,000+
  hypothesis inputs each (text, bytes, YAML of any shape, mutated real files, alias bombs, deep
  nesting, long lines, FIFOs): ``merge_values_files`` (every ``-f``, ``plan`` OLD/NEW/``--add``),
  ``load_env_profile`` (every ``--env-file``), ``open_cluster`` + the savepoint/upgrade lookups
  (every ``--objects``), the ``events.*`` checks and the ``model.*`` check on local files (``check``);
* **options** — every file-reading option of every command through typer's CliRunner, with
  the slow or networked step after the read replaced by a stub (Helm render, S3, the preflight
  run), so each input costs milliseconds.

What must hold for every input: no traceback, never exit 70 (internal error), exit 0/1/2 only,
a RankerError (or a check outcome) for anything wrong, and every input done within
``PER_INPUT_SECONDS`` (SIGALRM fails the test: a hang cannot pass silently).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import EXAMPLE_CONFIG, REPO
from ranker_values.cli import app
from ranker_values.errors import RankerError
from test_fuzz import alias_bomb, deep_nesting, dump, json_like, replace_at

pytestmark = pytest.mark.slow

PER_INPUT_SECONDS = 20
READER_EXAMPLES = int(os.environ.get("RANKER_FUZZ_READER_EXAMPLES", "10000"))  # per reader (values, env, objects, events, models)
OPTION_EXAMPLES = int(os.environ.get("RANKER_FUZZ_OPTION_EXAMPLES", "150"))  # per CLI option, on top of its reader's
runner = CliRunner()

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)

REAL_YAML = [
    REPO / "values" / "dev.yaml",
    REPO / "values" / "prod.yaml",
    REPO / "charts" / "ranker" / "values.yaml",
    *sorted((REPO / "tests" / "data" / "cluster").glob("*.yaml")),
]
CHART_DEFAULTS = yaml.safe_load((REPO / "charts" / "ranker" / "values.yaml").read_text())
REAL_DATA = [doc for p in REAL_YAML for doc in yaml.safe_load_all(p.read_text()) if doc is not None]


@contextlib.contextmanager
def bounded(what: str):
    """Fail (not hang) when one input takes longer than PER_INPUT_SECONDS."""

    def expired(_signum, _frame):
        raise TimeoutError(f"{what}: one input took more than {PER_INPUT_SECONDS}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, PER_INPUT_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- inputs --------------------------------------------------------------------------------------


@st.composite
def mutated_real_yaml(draw) -> bytes:
    data = draw(st.sampled_from(REAL_DATA))
    path = draw(st.lists(st.integers(0, 60), min_size=1, max_size=6))
    return dump(replace_at(data, path, draw(json_like)), sort_keys=draw(st.booleans()))


@st.composite
def sliced_real_yaml(draw) -> bytes:
    text = draw(st.sampled_from(REAL_YAML)).read_bytes()
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, min(len(text), start + 300)))
    return text[:start] + draw(st.binary(max_size=20)) + text[end:]


@st.composite
def long_line_yaml(draw) -> bytes:
    size = draw(st.sampled_from([10_000, 100_000, 1_000_000]))
    return b"a: " + draw(st.sampled_from([b"x", b"[", b"a://b:c@", b"{"])) * size + b"\n"


yaml_files = st.one_of(
    st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=400),
    json_like.map(dump),
    mutated_real_yaml(),
    sliced_real_yaml(),
    alias_bomb(),
    deep_nesting(),
    long_line_yaml(),
    st.lists(json_like, max_size=4).map(lambda docs: b"---\n".join(dump(d) for d in docs)),
)

event_value = st.one_of(
    json_like,
    st.fixed_dictionaries(
        {"event": st.sampled_from(["item", "user", "ranking", "interaction", "metadata", "x"]), "id": st.text(max_size=5),
         "timestamp": st.one_of(st.integers(), st.text(max_size=8), st.floats())},
        optional={"item": st.text(max_size=5), "user": st.text(max_size=5), "session": st.text(max_size=5),
                  "ranking": st.text(max_size=5), "type": st.text(max_size=5), "fields": json_like, "items": json_like,
                  "tenant": json_like},
    ),
)  # fmt: skip


@st.composite
def event_file(draw) -> bytes:
    # mostly small files; a few deep or over-long lines (they are what costs time per input)
    kind = draw(st.sampled_from(["json"] * 4 + ["bytes"] * 2 + ["gzip", "brokengzip", "deep", "long"]))
    if kind == "json":
        lines = draw(st.lists(event_value, max_size=12))
        return b"\n".join(json.dumps(v).encode() for v in lines) + draw(st.sampled_from([b"", b"\n", b"\r\n"]))
    if kind == "bytes":
        return draw(st.binary(max_size=500))
    if kind == "deep":
        return draw(st.sampled_from([b"[", b"{\"a\":"])) * draw(st.integers(100, 100_000)) + b"\n"
    if kind == "long":
        return b"x" * draw(st.integers(1024 * 1024 - 2, 1024 * 1024 + 2)) + b"\n{}\n"
    body = b"\n".join(json.dumps(v).encode() for v in draw(st.lists(event_value, max_size=5)))
    packed = gzip.compress(body)
    return packed if kind == "gzip" else packed[: draw(st.integers(0, len(packed)))]


@st.composite
def model_file(draw) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "binf", "ubj"]))
    if kind == "bytes":
        return draw(st.binary(max_size=600))
    if kind == "json":
        return json.dumps(draw(json_like)).encode()
    if kind == "binf":
        return b"binf" + draw(st.binary(min_size=0, max_size=200))
    return b"{" + draw(st.sampled_from(list(b"L$#iUIlSHZTFNdDC"))).to_bytes(1, "big") + draw(st.binary(max_size=200))


# -- the workspace -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def work():
    path = Path(tempfile.mkdtemp(prefix="ranker-fuzz-inputs-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def put(work: Path, name: str, raw: bytes) -> Path:
    path = work / name
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    path.write_bytes(raw)
    return path


def expect_ranker_error_or_value(call):
    try:
        return call()
    except RankerError as err:
        assert err.exit_code in (1, 2)
        assert err.message.strip(), "an error without a message"
        return None


# -- readers (10,000+ each) ---------------------------------------------------------------------


@settings(FUZZ, max_examples=READER_EXAMPLES)
@given(raw=yaml_files)
def test_values_file_reader_never_crashes(work, raw):
    from ranker_values.values.files import deep_merge, merge_values_files

    path = put(work, "values.yaml", raw)
    with bounded("values file"):
        merged = expect_ranker_error_or_value(lambda: merge_values_files([path]))
        if merged is not None:
            assert isinstance(merged, dict)
            # what the operational commands do next: layer it on the chart defaults (Helm's merge)
            expect_ranker_error_or_value(lambda: deep_merge(CHART_DEFAULTS, merged))


@settings(FUZZ, max_examples=READER_EXAMPLES)
@given(raw=yaml_files)
def test_env_file_reader_never_crashes(work, raw):
    from ranker_values.pipeline import load_env_profile

    path = put(work, "env.yaml", raw)
    with bounded("env file"):
        expect_ranker_error_or_value(lambda: load_env_profile(None, path))


@settings(FUZZ, max_examples=READER_EXAMPLES)
@given(raw=yaml_files)
def test_objects_file_reader_and_its_lookups_never_crash(work, raw):
    from ranker_values.ops import savepoint as sp
    from ranker_values.ops import upgrade as up
    from ranker_values.ops.inputs import ValuesInput, open_cluster

    path = put(work, "objects.yaml", raw)
    with bounded("objects file"):
        cluster = expect_ranker_error_or_value(lambda: open_cluster(objects_file=path, kube_context=None, timeout=1))
        if cluster is None:
            return
        deployment = expect_ranker_error_or_value(lambda: sp.require_stage_deployment(cluster, "ranker", "default"))
        if deployment is not None:
            expect_ranker_error_or_value(lambda: sp.cluster_candidates(cluster, deployment))
        expect_ranker_error_or_value(lambda: up.read_current(ValuesInput([], {}), cluster, "ranker", "default"))


_DEPLOYMENTS: dict[Path, object] = {}


def _check_context(work: Path, source_path: Path, model_path: Path):
    """The example config with its events and model on this machine; a fresh context per input
    (the events sample is cached per context), the deployment loaded once."""
    from ranker_values.ops.check import CheckOptions
    from ranker_values.ops.check.context import CheckContext
    from ranker_values.pipeline import load_deployment

    if work not in _DEPLOYMENTS:
        config = work / "check-config.yml"
        data = yaml.safe_load(EXAMPLE_CONFIG.read_text())
        data["bootstrap"]["source"] = {"type": "file", "path": str(source_path)}
        for model in data["models"].values():
            if model.get("type") == "lambdamart":
                model["path"] = str(model_path)
        config.write_text(yaml.safe_dump(data, sort_keys=False))
        _DEPLOYMENTS[work] = load_deployment(config)
    deployment = _DEPLOYMENTS[work]
    return deployment, CheckContext(deployment, CheckOptions(timeout=PER_INPUT_SECONDS))


def _no_bug(results) -> None:
    for result in results:
        text = f"{result.reason} {result.fix}"
        assert "this is a bug" not in text and "Traceback" not in text, text


@settings(FUZZ, max_examples=READER_EXAMPLES)
@given(raw=event_file(), gz=st.booleans())
def test_event_files_never_crash_the_events_checks(work, raw, gz):
    from ranker_values.ops.check import events_checks
    from ranker_values.ops.check.runner import run_checks

    events = work / "events"
    shutil.rmtree(events, ignore_errors=True)
    events.mkdir()
    (events / ("part-0.json.gz" if gz else "part-0.json")).write_bytes(raw)
    deployment, ctx = _check_context(work, events, work / "model.bin")
    with bounded("event file"):
        _no_bug(run_checks(events_checks.checks(), ctx, PER_INPUT_SECONDS))


@settings(FUZZ, max_examples=READER_EXAMPLES)
@given(raw=model_file())
def test_model_files_never_crash_the_model_check(work, raw):
    from ranker_values.ops.check import model_checks
    from ranker_values.ops.check.runner import run_checks

    put(work, "model.bin", raw)
    deployment, ctx = _check_context(work, work / "events", work / "model.bin")
    with bounded("model file"):
        _no_bug(run_checks(model_checks.checks(deployment.trained_models), ctx, PER_INPUT_SECONDS))


# -- every file-reading option through the CLI --------------------------------------------------


@pytest.fixture
def offline(monkeypatch):
    """Replace what follows the read with stubs: no Helm render, no S3, no preflight run."""
    from ranker_values.errors import InvalidInput
    from ranker_values.kube import render as render_module
    from ranker_values.ops import check as check_module
    from ranker_values.ops import inputs as inputs_module
    from ranker_values.ops import plan as plan_module

    def no_s3(*_a, **_k):
        raise InvalidInput("fuzz stub: no S3")

    monkeypatch.setattr(render_module, "render_texts", lambda *a, **k: {})  # template → text, none
    monkeypatch.setattr(plan_module, "render_objects", lambda *a, **k: [])
    monkeypatch.setattr(inputs_module, "open_s3", no_s3)
    monkeypatch.setattr(check_module, "run_preflight", lambda *a, **k: [])


def option_commands(bad: Path, ok: Path, out: Path) -> dict[str, list]:
    config = EXAMPLE_CONFIG
    return {
        "validate CONFIG": ["validate", bad],
        "validate --env-file": ["validate", config, "--env-file", bad],
        "gen CONFIG": ["gen", bad, "--out", out],
        "gen --env-file": ["gen", config, "--env-file", bad, "--out", out],
        "render -f": ["render", "-f", bad, "--no-validate"],
        "plan OLD": ["plan", bad, ok],
        "plan NEW": ["plan", ok, bad],
        "plan -f": ["plan", ok, ok, "-f", bad],
        "plan --add": ["plan", ok, ok, "--add", bad],
        "check CONFIG": ["check", bad],
        "check -f": ["check", config, "-f", bad],
        "check --objects": ["check", config, "--objects", bad],
        "check --env-file": ["check", config, "--env-file", bad],
        "savepoint latest -f": ["savepoint", "latest", "-f", bad],
        "savepoint latest --objects": ["savepoint", "latest", "--objects", bad, "--release", "ranker", "--no-verify", "--source", "cluster"],
        "savepoint trigger --objects": ["savepoint", "trigger", "--objects", bad, "--release", "ranker", "--timeout", "1", "--poll-interval", "1"],
        "upgrade-values -f": ["upgrade-values", "--out", out / "u.yaml", "-f", bad],
        "upgrade-values --objects": ["upgrade-values", "--out", out / "u.yaml", "--objects", bad, "--release", "ranker"],
    }


OPTIONS = list(option_commands(Path("x"), Path("y"), Path("z")))


@pytest.mark.parametrize("option", OPTIONS)
def test_every_file_option_survives_fuzzed_files(work, offline, option, monkeypatch):
    monkeypatch.chdir(REPO)
    ok = work / "ok.yaml"
    ok.write_text("{}\n")
    out = work / "out"

    @settings(FUZZ, max_examples=OPTION_EXAMPLES)
    @given(raw=yaml_files)
    def one(raw):
        bad = put(work, "input.yaml", raw)
        args = [str(a) for a in option_commands(bad, ok, out)[option]]
        with bounded(option):
            result = runner.invoke(app, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), (option, repr(result.exception))
        assert "Traceback" not in result.output, result.output
        assert result.exit_code in (0, 1, 2), (option, result.exit_code, result.output)
        leftovers = [p for p in out.rglob("*.tmp")] if out.exists() else []
        assert not leftovers, leftovers

    one()


@pytest.mark.parametrize("option", OPTIONS)
def test_every_file_option_refuses_a_fifo_without_hanging(work, offline, option, monkeypatch):
    monkeypatch.chdir(REPO)
    ok = work / "ok.yaml"
    ok.write_text("{}\n")
    fifo = work / "fifo.yaml"
    if fifo.exists():
        fifo.unlink()
    os.mkfifo(fifo)
    args = [str(a) for a in option_commands(fifo, ok, work / "out")[option]]
    with bounded(option):
        result = runner.invoke(app, args)
    assert result.exit_code == 2 and "not a regular file" in result.output, (option, result.output)
