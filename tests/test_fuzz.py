"""Malformed input never produces a traceback or a partial output file.

Hypothesis feeds >10,000 inputs (arbitrary text and bytes, YAML documents of any shape, broken
copies of the bundled example, alias bombs, deep nesting) to the real pipeline in-process, and a
share of them to the real CLI (``gen``) through typer's CliRunner. An input may be valid or
invalid; what must hold is:

* no exception except RankerError escapes the pipeline; every diagnostic has a stable code;
* a valid config renders, and the config in the values files is the input text exactly;
* ``gen`` exits 0 with exactly the five files, or 1/2 with nothing written, never a temp file.

Inputs over the 10 MiB limit are checked separately (generating them with hypothesis is slow).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import EXAMPLE_CONFIG
from ranker_values.config import loader
from ranker_values.config.embed import engine_text
from ranker_values.config.loader import parse_text
from ranker_values.cli import app
from ranker_values.values.emit import render_values
from ranker_values.errors import RankerError
from ranker_values.pipeline import validate_config

pytestmark = pytest.mark.slow

CODE = re.compile(r"^RV\d{3}$")
STEP_FILES = sorted(["bootstrap.yaml", "train.yaml", "upload.yaml", "api.yaml", "update.yaml"])
EXAMPLE_TEXT = EXAMPLE_CONFIG.read_text(encoding="utf-8")
EXAMPLE_DATA = yaml.safe_load(EXAMPLE_TEXT)
runner = CliRunner()


def dump(data, sort_keys: bool = False) -> bytes:
    return yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=sort_keys, allow_unicode=True).encode("utf-8")

# Total examples: 3,000 text + 2,200 bytes + 2,000 documents + 1,200 mutated + 800 valid variants
# + 600 through the CLI + 200 alias bombs + 200 deep nestings = 10,200.
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def workdir():
    path = Path(tempfile.mkdtemp(prefix="ranker-fuzz-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def check_pipeline(workdir: Path, raw: bytes) -> None:
    config = workdir / "config.yml"
    config.write_bytes(raw)
    try:
        result = validate_config(config)
    except RankerError as err:  # only "cannot read the file" may raise, and the file is there
        pytest.fail(f"validate_config raised {err!r} for a readable file")
    for d in result.diagnostics:
        assert CODE.match(d.code), d
        assert d.severity in ("error", "warning")
        assert d.line is None or d.line >= 1
    if result.ok:
        assert result.deployment is not None
        texts = render_values(result.deployment)
        assert sorted(texts) == STEP_FILES
        config_back = yaml.load(texts["api.yaml"], Loader=yaml.CSafeLoader)["ranking"]["config"]
        assert config_back == engine_text(raw.decode("utf-8"))  # the config without its comments
        assert parse_text(config_back).data == parse_text(raw.decode("utf-8")).data
    else:
        assert result.deployment is None


def check_cli_gen(workdir: Path, raw: bytes) -> None:
    config = workdir / "cli-config.yml"
    config.write_bytes(raw)
    out = workdir / "out"
    shutil.rmtree(out, ignore_errors=True)
    result = runner.invoke(app, ["gen", str(config), "--out", str(out)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1, 2), result.output
    written = sorted(p.name for p in out.iterdir()) if out.exists() else []
    if result.exit_code == 0:
        assert written == STEP_FILES
    else:
        assert written == [], written


# -- strategies ----------------------------------------------------------------------------------

CONFIG_KEYS = [
    "features", "models", "bootstrap", "inference", "workdir", "source", "state", "type", "name",
    "scope", "path", "port", "host", "parallelism", "weights", "backend", "brokers", "options",
    "redis", "memory", "kafka", "file", "rest", "lambdamart", "shuffle", "number", "api", "input",
]  # fmt: skip
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
    st.sampled_from(CONFIG_KEYS + ["s3://bkt/x", "/data/x", "redis://u:p@h", "60d", "latest"]),
)  # fmt: skip
keys = st.one_of(st.sampled_from(CONFIG_KEYS), st.text(min_size=1, max_size=12))
json_like = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)), max_leaves=25
)


def replace_at(data, path: list, value):
    """A copy of ``data`` with the node at ``path`` (indices taken modulo size) replaced."""
    if not path or not isinstance(data, (dict, list)) or not data:
        return value
    head, *rest = path
    if isinstance(data, dict):
        key = list(data)[head % len(data)]
        return {**data, key: replace_at(data[key], rest, value)}
    index = head % len(data)
    return [*data[:index], replace_at(data[index], rest, value), *data[index + 1 :]]


@st.composite
def mutated_example(draw) -> bytes:
    """The example config with one subtree replaced: mostly schema-valid-ish, reaches the rules."""
    path = draw(st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=5))
    data = replace_at(EXAMPLE_DATA, path, draw(json_like))
    return dump(data, sort_keys=draw(st.booleans()))


@st.composite
def broken_text(draw) -> bytes:
    """The example's text with a slice deleted, replaced or duplicated."""
    text = EXAMPLE_TEXT
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, min(len(text), start + 200)))
    action = draw(st.sampled_from(["delete", "insert", "duplicate"]))
    if action == "delete":
        text = text[:start] + text[end:]
    elif action == "insert":
        text = text[:start] + draw(st.text(max_size=30)) + text[start:]
    else:
        text = text[:end] + text[start:end] + text[end:]
    return text.encode("utf-8")


@st.composite
def valid_variant(draw) -> bytes:
    """The example as people really write it: stray comments, trailing blanks, CRLF, a BOM.
    Mostly valid, so rendering and the byte-for-byte config round trip get exercised."""
    lines = EXAMPLE_TEXT.split("\n")
    for _ in range(draw(st.integers(0, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["comment", "trailing", "blank"]))
        if kind == "comment":
            lines.insert(i, "# " + draw(st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=40)))
        elif kind == "trailing":
            lines[i] += draw(st.sampled_from([" ", "   ", "\t", " \t "]))
        else:
            lines.insert(i, draw(st.sampled_from(["", "  ", "\t"])))
    text = "\n".join(lines)
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text.encode("utf-8")


@st.composite
def alias_bomb(draw) -> bytes:
    width = draw(st.integers(2, 12))
    depth = draw(st.integers(1, 12))
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, depth + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    if draw(st.booleans()):
        lines.append(f"r: &r [*a{depth}, {{x: *r}}]")  # recursive
    return ("\n".join(lines) + "\n").encode()


@st.composite
def deep_nesting(draw) -> bytes:
    depth = draw(st.integers(1, 5000))
    kind = draw(st.sampled_from(["flow-list", "flow-map", "block"]))
    if kind == "flow-list":
        return ("[" * depth + "]" * depth).encode()
    if kind == "flow-map":
        return ("{a: " * depth + "1" + "}" * depth).encode()
    depth = min(depth, 300)
    return "".join("  " * i + "k:\n" for i in range(depth)).encode()


# -- the properties ------------------------------------------------------------------------------


@settings(FUZZ, max_examples=3000)
@given(text=st.text(max_size=400))
def test_arbitrary_text(workdir, text):
    check_pipeline(workdir, text.encode("utf-8"))


@settings(FUZZ, max_examples=2200)
@given(raw=st.binary(max_size=400))
def test_arbitrary_bytes(workdir, raw):
    check_pipeline(workdir, raw)


@settings(FUZZ, max_examples=2000)
@given(data=json_like)
def test_arbitrary_yaml_documents(workdir, data):
    check_pipeline(workdir, dump(data))


@settings(FUZZ, max_examples=1200)
@given(raw=mutated_example())
def test_mutated_configs(workdir, raw):
    check_pipeline(workdir, raw)


@settings(FUZZ, max_examples=800)
@given(raw=valid_variant())
def test_valid_variants_render_exactly(workdir, raw):
    check_pipeline(workdir, raw)


@settings(FUZZ, max_examples=600)
@given(raw=st.one_of(broken_text(), mutated_example(), valid_variant()))
def test_cli_gen_on_broken_configs(workdir, raw):
    check_pipeline(workdir, raw)
    check_cli_gen(workdir, raw)


@settings(FUZZ, max_examples=200)
@given(raw=alias_bomb())
def test_alias_bombs(workdir, raw):
    check_pipeline(workdir, raw)


@settings(FUZZ, max_examples=200)
@given(raw=deep_nesting())
def test_deep_nesting(workdir, raw):
    check_pipeline(workdir, raw)


@pytest.mark.parametrize("size", [loader.MAX_BYTES + 1, loader.MAX_BYTES + 4096, 3 * loader.MAX_BYTES])
def test_huge_files(workdir, size):
    chunk = b"- x\n" * 1024
    raw = (chunk * (size // len(chunk) + 1))[:size]
    check_pipeline(workdir, raw)
    result = validate_config(workdir / "config.yml")
    assert [d.code for d in result.diagnostics] == ["RV901"]
    check_cli_gen(workdir, raw)
