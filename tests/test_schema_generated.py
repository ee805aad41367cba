"""The compiled schema (ranker_values/config/schema_generated.py) gives jsonschema's verdict.

``check_structure`` returns "no problems" on the generated validator's word alone, so its yes must
be jsonschema's yes (Draft 2020-12 with the engine's formats) on every config. Proven here on the
corpus (the bundled example, tests/data/configs, the real 0.4.1 configs in ../shared when present,
test_schema's table of broken examples) and on systematic mutations of it: every value replaced by
values of every JSON type and engine format, every key and list item removed, an unknown key in
every mapping, every discriminator switched to every other const the schema knows. Then the
proof is shown to have teeth: leaving any one keyword out of the compiler makes the corpus find a
disagreement. When the generated validator says no, jsonschema runs and words every problem
(tests/test_schema.py, tests/test_validate_errors.py).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLE_CONFIG, REPO, SHARED_METARANK
from ranker_values.config import schema as schema_module
from ranker_values.config import schema_generated
from ranker_values.config.loader import parse_text
from ranker_values.config.schema import ENGINE_FORMATS, check_structure, nothing_to_report, schema_text, validator
from ranker_values.config.schema_compile import KEYWORDS, TARGET, CompileError, compile_schema, generated_source

# one value per JSON type and per engine format's edge (a wrong type, an empty string, a negative
# number, a duration, an offset, a quoted number, an empty list and mapping, a mapping with a type)
REPLACEMENTS: list[Any] = [None, True, 0, -1, 2.5, "", "x", "24h", "ts=1", "1", [], {}, {"type": "x"}]


def corpus_files() -> list[Path]:
    files = [EXAMPLE_CONFIG, *sorted((REPO / "tests" / "data" / "configs").glob("*.yml"))]
    if SHARED_METARANK.is_dir():
        files += sorted(SHARED_METARANK.glob("*.yml"))
    return files


def load(path: Path) -> Any:
    doc = parse_text(path.read_text(encoding="utf-8"), str(path))
    assert doc.data is not None, doc.diagnostics
    return doc.data


def schema_enums() -> list[list[str]]:
    """Every enum of strings in the schema (the discriminators: feature, model, source, state types …)."""
    found: list[list[str]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("enum"), list) and all(isinstance(v, str) for v in node["enum"]):
                found.append(node["enum"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(schema_text()))
    return found


def siblings(value: Any, enums: list[list[str]]) -> list[str]:
    """The other values of every enum ``value`` belongs to: a feature type → the other 13."""
    out: list[str] = []
    for enum in enums:
        if value in enum:
            out += [v for v in enum if v != value and v not in out]
    return out


def paths(node: Any, at: tuple = ()) -> Iterator[tuple]:
    yield at
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*at, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*at, index))


def changed(data: Any, at: tuple, change) -> Any:
    out = copy.deepcopy(data)
    node = out
    for key in at[:-1]:
        node = node[key]
    change(node, at[-1])
    return out


def mutations(data: Any, enums: list[list[str]]) -> Iterator[Any]:
    yield data
    for at in paths(data):
        if not at:
            continue
        for value in REPLACEMENTS:
            yield changed(data, at, lambda node, key, v=value: node.__setitem__(key, copy.deepcopy(v)))
        yield changed(data, at, lambda node, key: node.__delitem__(key))
        if at[-1] == "type":
            node = data
            for key in at:
                node = node[key]
            for const in siblings(node, enums):
                yield changed(data, at, lambda node, key, c=const: node.__setitem__(key, c))
    for at in paths(data):
        node = data
        for key in at:
            node = node[key]
        if isinstance(node, dict):
            yield changed(data, (*at, "zz_unknown"), lambda n, k: n.__setitem__(k, 1)) if at else {**data, "zz_unknown": 1}


def example_with_field_match() -> Any:
    """test_schema's example: the bundled one with a field_match feature put back at index 10."""
    config = load(EXAMPLE_CONFIG)
    config["features"].insert(10, {
        "name": "query_title_match", "type": "field_match", "rankingField": "ranking.query", "itemField": "item.title",
        "method": {"type": "ngram", "n": 3, "language": "en"},
    })  # fmt: skip
    return config


def table_cases() -> Iterator[Any]:
    from test_schema import INVALID

    example = example_with_field_match()
    for _, mutate, _, _ in INVALID:
        data = copy.deepcopy(example)
        mutate(data)
        yield data


@pytest.fixture(scope="module")
def corpus() -> list[tuple[Any, bool]]:
    """(document, jsonschema's verdict) for every case."""
    judge = validator()
    enums = schema_enums()
    # the repository's configs mutated; the real 0.4.1 configs (large, plain) as they are
    mutated = [load(path) for path in corpus_files() if REPO in path.parents and path != EXAMPLE_CONFIG]
    cases = [load(path) for path in corpus_files() if REPO not in path.parents or path == EXAMPLE_CONFIG]
    cases += [data for base in [*mutated, example_with_field_match()] for data in mutations(base, enums)]
    cases += list(table_cases())
    cases += [None, [], "x", 1, {}]  # check_structure never sends these; the verdict agrees anyway
    return [(data, judge.is_valid(data)) for data in cases]


def disagreements(is_valid, corpus) -> list[Any]:
    return [data for data, expected in corpus if is_valid(data, ENGINE_FORMATS) is not expected]


def test_the_generated_module_is_current():
    """Stale after a schema change: run `python -m ranker_values.config.schema_compile`."""
    assert TARGET.read_text(encoding="utf-8") == generated_source()


def test_the_corpus_has_both_verdicts_in_numbers(corpus):
    valid = sum(expected for _, expected in corpus)
    assert valid >= 500 and len(corpus) - valid >= 2000, (valid, len(corpus))


def test_the_verdict_is_jsonschemas_on_the_whole_corpus(corpus):
    wrong = disagreements(schema_generated.is_valid, corpus)
    assert wrong == [], f"{len(wrong)} disagreement(s), first: {json.dumps(wrong[0], default=str)[:800]}"


def _module(source: str) -> types.ModuleType:
    module = types.ModuleType("schema_generated_variant")
    exec(compile(source, "<variant>", "exec"), module.__dict__)  # noqa: S102 - our own generated code
    return module


@pytest.mark.parametrize("keyword", sorted(KEYWORDS))
def test_leaving_out_any_keyword_is_caught_by_the_corpus(corpus, keyword):
    variant = _module(compile_schema(schema_text(), ENGINE_FORMATS, drop={keyword}))
    assert disagreements(variant.is_valid, corpus), f"the corpus does not notice {keyword} missing"


def test_the_compiler_refuses_what_it_cannot_compile():
    with pytest.raises(CompileError, match="anyOf"):
        compile_schema('{"anyOf": [{"type": "string"}]}', ENGINE_FORMATS)
    with pytest.raises(CompileError, match="format 'email' has no checker"):
        compile_schema('{"format": "email"}', ENGINE_FORMATS)
    with pytest.raises(CompileError, match="not local"):
        compile_schema('{"$ref": "https://example.com/s.json"}', ENGINE_FORMATS)


def test_a_stale_or_failing_generated_module_defers_to_jsonschema(monkeypatch, write_file):
    example = load(EXAMPLE_CONFIG)
    assert nothing_to_report(example)
    monkeypatch.setattr(schema_generated, "SCHEMA_SHA256", "0" * 64)
    assert not nothing_to_report(example)
    monkeypatch.undo()

    def boom(data, formats):
        raise RuntimeError("a bug in the generated code")

    monkeypatch.setattr(schema_generated, "is_valid", boom)
    assert not nothing_to_report(example)
    doc = parse_text(EXAMPLE_CONFIG.read_text().replace("workdir:", "wrokdir:", 1), "c.yml")
    assert [d.code for d in check_structure(doc)][:1] == ["RV010"]  # jsonschema found and worded it


def test_a_valid_config_is_checked_without_importing_jsonschema():
    probe = (
        "import sys\n"
        "from ranker_values.config.loader import read_config\n"
        "from ranker_values.config.schema import check_structure\n"
        f"doc = read_config({str(EXAMPLE_CONFIG)!r})\n"
        "assert check_structure(doc) == []\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jsonschema', 'referencing')))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_an_invalid_config_still_gets_jsonschemas_words(write_file):
    doc = parse_text(EXAMPLE_CONFIG.read_text().replace("parallelism: 2", "parallelism: two", 1), "c.yml")
    found = check_structure(doc)
    assert found and found[0].code == "RV014" and "is not a valid parallelism" in found[0].message, found
    assert schema_module.nothing_to_report(doc.data) is False
