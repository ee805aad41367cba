"""Fuzz corpus for tune's inputs (issue 17), in the style of tests/test_fuzz_inputs.py:

* **the dataset reader** — ``load_dataset`` on directories of engine JSON lines, valid queries
  mutated every way the engine's decoder and xgboost care about (strings, booleans, nulls, NaN
  and Infinity literals, 1e308, 1e400, 400-digit integers, deep nesting, truncation, CRLF,
  non-UTF-8, wrong counts), 10,000 inputs;
* **tune's options** through typer's CliRunner: CONFIG, ``--env-file``, ``-f``, ``--broker-file``
  with fuzzed files; ``--model-path``, ``--out``, ``--dataset``, ``--workers`` and ``--broker``
  with fuzzed strings. In the main venv tune stops at its xgboost check (xgboost-cpu 3.x), after
  every file option is read and every output path has been through the gate, which is what is
  fuzzed here; the search itself is tests/test_tune_hostile_input.py's.

What must hold: no traceback, never exit 70, exit 0/1/2 only, every input within
``PER_INPUT_SECONDS``, and a dataset that loads is consistent (finite float32, shapes agree).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ranker_values.cli import app
from ranker_values.errors import InvalidInput, RankerError
from test_fuzz import json_like
from test_fuzz_inputs import FUZZ, OPTION_EXAMPLES, READER_EXAMPLES, bounded, put, yaml_files
from test_tune_support import write_config

pytestmark = pytest.mark.slow
runner = CliRunner()

COLUMNS = 6


@st.composite
def query(draw) -> dict:
    rows = draw(st.integers(1, 6))
    number = st.one_of(st.integers(-5, 5), st.floats(-10, 10, allow_nan=False))
    return {
        "group": draw(st.integers(-(2**31), 2**31 - 1)),
        "labels": draw(st.lists(st.sampled_from([0, 1, 0.5, 2]), min_size=rows, max_size=rows)),
        "values": draw(st.lists(number, min_size=rows * COLUMNS, max_size=rows * COLUMNS)),
        "columns": COLUMNS,
        "rows": rows,
    }


HOSTILE_NUMBERS = [b"1e308", b"-1e39", b"1e400", b"NaN", b"Infinity", b"-Infinity", b"9" * 400, b"true", b"null", b'"1.5"', b"[]", b"{}"]


@st.composite
def dataset_line(draw) -> bytes:
    q = draw(query())
    kind = draw(st.sampled_from(["ok"] * 5 + ["number", "field", "drop", "deep", "bytes", "cut", "count"]))
    line = json.dumps(q).encode()
    if kind == "number":  # one value or label replaced by a hostile literal
        key = draw(st.sampled_from(["values", "labels"]))
        index = draw(st.integers(0, len(q[key]) - 1))
        items = [json.dumps(v).encode() for v in q[key]]
        items[index] = draw(st.sampled_from(HOSTILE_NUMBERS))
        line = line.replace(json.dumps(q[key]).encode(), b"[" + b",".join(items) + b"]", 1)
    elif kind == "field":
        q[draw(st.sampled_from(["group", "labels", "values", "columns", "rows"]))] = draw(json_like)
        line = json.dumps(q).encode()
    elif kind == "drop":
        q.pop(draw(st.sampled_from(sorted(q))))
        line = json.dumps(q).encode()
    elif kind == "deep":
        line = draw(st.sampled_from([b"[", b'{"a":'])) * draw(st.integers(100, 100_000))
    elif kind == "bytes":
        line = draw(st.binary(max_size=200)).replace(b"\n", b" ")
    elif kind == "cut":
        line = line[: draw(st.integers(0, len(line)))]
    elif kind == "count":
        q["rows"] = q["rows"] + draw(st.sampled_from([-1, 1, 2**31, -(2**31)]))
        line = json.dumps(q).encode()
    return line


@st.composite
def dataset_files(draw) -> list[bytes]:
    files = []
    for _ in range(draw(st.integers(1, 3))):
        lines = draw(st.lists(dataset_line(), max_size=10))
        end = draw(st.sampled_from([b"\n", b"\r\n"]))
        files.append(end.join(lines) + draw(st.sampled_from([b"", end])))
    return files


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tune-fuzz")


# Each example writes up to three files and loads them (≈0.1 s under load): 10,000 examples took
# 17 min on 2 busy cores, so the default is 1,500 (RANKER_FUZZ_TUNE_READER_EXAMPLES raises it).
TUNE_READER_EXAMPLES = int(os.environ.get("RANKER_FUZZ_TUNE_READER_EXAMPLES", str(min(READER_EXAMPLES, 1500))))


@settings(FUZZ, max_examples=TUNE_READER_EXAMPLES)
@given(files=dataset_files())
def test_the_dataset_reader_never_crashes_and_what_it_loads_is_consistent(work, files):
    from ranker_values.ops.tune.dataset import load_dataset
    from ranker_values.ops.tune.locations import Location

    root = work / "dataset-xgb"
    shutil.rmtree(root, ignore_errors=True)
    (root / "2022-06-01--12").mkdir(parents=True)
    for i, raw in enumerate(files):
        (root / "2022-06-01--12" / f"part-{i}.json").write_bytes(raw)
    with bounded("dataset"):
        try:
            ds = load_dataset(Location(str(root)), COLUMNS)
        except RankerError as err:
            assert err.exit_code == 1 and err.message.strip()
            if "0 valid queries" not in err.message:  # every other refusal points at a line
                assert isinstance(err, InvalidInput) and "part-" in err.message and ".json:" in err.message, err.message
            return
    rows = int(ds.sizes.sum())
    assert ds.X.dtype == np.float32 and ds.X.shape == (rows, COLUMNS) and ds.y.shape == (rows,)
    assert np.isfinite(ds.X).all() and np.isfinite(ds.y).all()
    assert ds.offsets[-1] == rows and ds.queries == len(ds.groups) >= 1
    assert ds.dropped_count >= len(ds.dropped)


# -- tune's options through the CLI ----------------------------------------------------------------


@pytest.fixture(scope="module")
def config(work) -> Path:
    return write_config(work, workdir=str(work / "w"), model_path=str(work / "models" / "xgb.model"))


def _invoke(args: list[str], what: str) -> None:
    with bounded(what):
        result = runner.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), (what, repr(result.exception))
    assert "Traceback" not in result.output and "internal error" not in result.output, (what, result.output)
    assert result.exit_code in (0, 1, 2), (what, result.exit_code, result.output)


FILE_OPTIONS = {
    "tune CONFIG": lambda bad, config: ["tune", bad, "--model", "xgb"],
    "tune --env-file": lambda bad, config: ["tune", config, "--model", "xgb", "--env-file", bad],
    "tune -f": lambda bad, config: ["tune", config, "--model", "xgb", "-f", bad],
    "tune --broker-file": lambda bad, config: ["tune", config, "--model", "xgb", "--broker-file", bad],
    "tune-worker --broker-file": lambda bad, config: ["tune-worker", "--broker-file", bad, "--timeout", "1"],
}


@pytest.mark.parametrize("option", list(FILE_OPTIONS))
def test_every_tune_file_option_survives_fuzzed_files(work, config, option, monkeypatch):
    monkeypatch.chdir(work)
    monkeypatch.delenv("RANKER_TUNE_BROKER", raising=False)
    if option.startswith("tune-worker"):  # a URL that parses must not reach a broker: 127.0.0.1:9 refuses at once
        monkeypatch.setattr("ranker_values.ops.tune.amqp.connect", _no_broker)

    @settings(FUZZ, max_examples=OPTION_EXAMPLES)
    @given(raw=st.one_of(yaml_files, st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))))
    def one(raw):
        bad = put(work, "input", raw)
        _invoke([str(a) for a in FILE_OPTIONS[option](bad, config)], option)

    one()


def _no_broker(settings):
    raise InvalidInput(f"fuzz stub: no broker at {settings.display}")


paths = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["/dev/full", "/dev/null", "/proc/self/status", "/", ".", "..", "s3://", "s3://b", "s3://b/k", "file://", "hdfs://x/y",
                     "~", "a/../../b", "x" * 5000, "/" + "d/" * 3000]),
    st.builds(lambda a, b: f"{a}/{b}", st.sampled_from(["s3://bucket", "/tmp", "file:///tmp"]), st.text(max_size=20)),
)

STRING_OPTIONS = {
    "--model-path": lambda v: ["--model-path", v],
    "--out": lambda v: ["--out", v],
    "--dataset": lambda v: ["--dataset", v],
    "--workers": lambda v: ["--workers", v],
    "--broker": lambda v: ["--broker", v],
}


@pytest.mark.parametrize("option", list(STRING_OPTIONS))
def test_every_tune_string_option_survives_fuzzed_values(work, config, option, monkeypatch):
    monkeypatch.chdir(work)
    monkeypatch.delenv("RANKER_TUNE_BROKER", raising=False)
    values = paths if option in ("--model-path", "--out", "--dataset") else st.one_of(
        st.text(max_size=60),
        st.builds(lambda a, b: a + b, st.sampled_from(["local:", "amqp://", "amqp://u:p@", "amqps://[", "amqp://h:"]), st.text(max_size=20)),
    )

    @settings(FUZZ, max_examples=OPTION_EXAMPLES)
    @given(value=values)
    def one(value):
        if value.startswith("-"):  # an option name, not a value: click's business
            return
        _invoke(["tune", str(config), "--model", "xgb", *STRING_OPTIONS[option](value)], option)
        assert not [p for p in Path(work).rglob("*.tmp")]

    one()
