"""ranker_values.config.loader: YAML → data with positions, and every way a file can be unusable."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ranker_values.config import loader
from ranker_values.errors import UsageError
from ranker_values.config.loader import json_path, parse_text, read_config


def codes(doc) -> list[str]:
    return [d.code for d in doc.diagnostics]


def test_positions_of_keys_and_items(shared_configs):
    ranklens = next(p for p in shared_configs if p.name == "ranklens-config.yml")
    doc = read_config(ranklens)
    assert doc.usable
    lines = ranklens.read_text().splitlines()
    # the key of a mapping entry
    line, col = doc.positions.of_key(("bootstrap", "workdir"))
    assert lines[line - 1][col - 1 :].startswith("workdir: /tmp/bootstrap")
    # a sequence item
    line, col = doc.positions.of_key(("models", "xgboost", "features", 2))
    assert lines[line - 1][col - 1 :] == "vote_cnt"
    # a path that does not exist falls back to its nearest ancestor
    assert doc.positions.of_key(("bootstrap", "nope", "deeper")) == doc.positions.of_key(("bootstrap",))


def test_data_matches_pyyaml(shared_configs):
    import yaml

    for path in shared_configs:
        assert read_config(path).data == yaml.safe_load(path.read_text())


def test_sha256_is_of_the_bytes(write_file):
    import hashlib

    raw = b"a: 1\r\nb: 2\r\n"
    doc = read_config(write_file(raw))
    assert doc.sha256 == hashlib.sha256(raw).hexdigest()
    assert doc.text == raw.decode()


@pytest.mark.parametrize(
    "text, code, line",
    [
        ("a: [1,\nb: 2\n", "RV001", 3),
        ("a: b: c\n", "RV001", 1),
        ("", "RV002", 1),
        ("# only a comment\n", "RV002", 1),
        ("---\na: 1\n---\nb: 2\n", "RV004", 3),
        ("a: !custom 1\n", "RV005", 1),
        ("a: !!python/object:os.system x\n", "RV005", 1),
        ("? [1, 2]\n: x\n", "RV006", 1),
        ("a: !!int abc\n", "RV012", 1),
        ("a: &x [1, *x]\n", "RV903", 1),
        ("a: *nothing\n", "RV001", 1),
        ("a: 1\nb:\n  c: 1\n  c: 2\n", "RV904", 4),
        ("x: \x07\n", "RV001", 1),
    ],
)
def test_unusable_documents(text, code, line):
    doc = parse_text(text, "c.yml")
    assert code in codes(doc), doc.diagnostics
    found = next(d for d in doc.diagnostics if d.code == code)
    assert found.line == line
    assert found.file == "c.yml"


def test_duplicate_key_keeps_first_and_points_at_second():
    doc = parse_text("a: 1\nb: 2\na: 3\n")
    assert doc.data == {"a": 1, "b": 2}
    (dup,) = doc.diagnostics
    assert (dup.code, dup.path, dup.line, dup.col) == ("RV904", "$.a", 3, 1)
    assert "first at line 1" in dup.message


def test_merge_keys_and_anchors_work():
    doc = parse_text("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\nd: *b\n")
    assert doc.usable
    assert doc.data == {"base": {"x": 1, "y": 2}, "c": {"y": 3, "x": 1}, "d": {"x": 1, "y": 2}}


def test_scalars_stay_json_types():
    doc = parse_text("a: 2001-12-14\nb: !!binary aGk=\n1: x\ntrue: y\nc: 0x10\nd: 1.5\ne: ~\n")
    assert doc.data == {"a": "2001-12-14", "b": "aGk=", "1": "x", "true": "y", "c": 16, "d": 1.5, "e": None}


def test_alias_bomb_stops_fast():
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    started = time.perf_counter()
    doc = parse_text("\n".join(lines) + "\n")
    assert time.perf_counter() - started < 1.0
    assert codes(doc) == ["RV903"]
    assert doc.data is None
    assert "alias" in doc.diagnostics[0].message


def _refused_once_with_a_location(doc) -> None:
    assert doc.data is None and not doc.usable
    assert len(doc.diagnostics) == 1
    (only,) = doc.diagnostics
    assert only.severity == "error" and only.line is not None and only.col is not None


def test_deep_nesting_is_refused_without_crashing():
    # libyaml's composer segfaults near 100k levels; the event builder must stop long before.
    # Which layer refuses deep flow nesting depends on the libyaml build (PyYAML 6.0.4 stops at
    # 1,000 levels itself, before our bound is reached): assert the behaviour, not the wording.
    _refused_once_with_a_location(parse_text("[" * 200_000 + "]" * 200_000))
    # block nesting always reaches our own bound first
    doc = parse_text("a:\n" + "".join("  " * i + "b:\n" for i in range(1, 80)))
    _refused_once_with_a_location(doc)
    assert codes(doc) == ["RV905"]


def test_deep_nesting_through_the_cli_exits_1_with_a_location(tmp_path):
    import subprocess
    import sys

    config = tmp_path / "deep.yml"
    config.write_text("[" * 200_000 + "]" * 200_000)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ranker-values"), "validate", str(config)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert f"{config}:1:" in proc.stdout


def test_nesting_up_to_the_limit_is_fine():
    depth = loader.MAX_DEPTH
    doc = parse_text("[" * depth + "]" * depth)
    assert doc.usable


def test_huge_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.yml"
    with path.open("wb") as handle:
        handle.write(b"a: [" + b"1," * (loader.MAX_BYTES // 2) + b"1]\n")
    started = time.perf_counter()
    doc = read_config(path)
    assert time.perf_counter() - started < 1.0
    assert codes(doc) == ["RV901"]


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"\x00\x01\x02binary", "binary"),
        (b"a: caf\xe9\n", "not UTF-8"),
        ("a: b\n".encode("utf-16"), "binary"),  # UTF-16 has NUL bytes
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
    ],
)
def test_binary_and_non_utf8_are_invalid_input(write_file, raw, words):
    doc = read_config(write_file(raw))
    assert codes(doc) == ["RV902"]
    assert words in doc.diagnostics[0].message


def test_utf8_bom_is_accepted(write_file):
    doc = read_config(write_file(b"\xef\xbb\xbfa: 1\n"))
    assert doc.usable and doc.data == {"a": 1}


def test_unreadable_files_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        read_config(tmp_path / "missing.yml")
    with pytest.raises(UsageError, match="directory"):
        read_config(tmp_path)


def test_json_path_spelling():
    assert json_path(()) == "$"
    assert json_path(("models", "xgb", "features", 0)) == "$.models.xgb.features[0]"
    assert json_path(("options", "sasl.jaas.config")) == "$.options['sasl.jaas.config']"


def test_directory_path_object(tmp_path: Path):
    (tmp_path / "d.yml").mkdir()
    with pytest.raises(UsageError):
        read_config(tmp_path / "d.yml")
