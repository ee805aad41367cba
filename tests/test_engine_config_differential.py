"""Differential validation: ``ranker-values validate`` against Metarank 0.4.1's own config loading.

Every config of the corpus (``support/engine_corpus.py``, > 2,000 mutations of real 0.4.1
configs) is judged twice: by the engine (``tests/engine_probe/ConfigProbe.java``: what every
0.4.1 stage does first, ``Config.load`` + ``FeatureMapping.fromFeatureSchema``, CliApp.scala:24-27,
in one JVM) and by ranker in-process (``ranker_values.pipeline.validate_config``, what ``ranker-values
validate`` runs; warnings do not count). The verdicts must agree, except where ranker refuses on
purpose what the engine loads but a deployment cannot run: ``DELIBERATE`` lists those refusals by
diagnostic code and key path, each with its reason. The engine refusing a config ranker accepts is
never allowed.

    .venv/bin/python -m pytest tests/test_engine_config_differential.py -q -s -p no:cacheprovider

prints the measured numbers (configs, engine accepts/refuses, disagreements, runtime).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from ranker_values.pipeline import validate_config
from support.engine_corpus import SEED, corpus, write_corpus
from support.engine_probe import EngineRun

MIN_CORPUS = 2_000


@dataclass(frozen=True)
class Deliberate:
    """A ranker refusal of something Metarank 0.4.1 loads: the deployment would break."""

    code: str
    path: str  # regex over the diagnostic's JSON path
    reason: str

    def covers(self, code: str, path: str) -> bool:
        return code == self.code and re.fullmatch(self.path, path) is not None


_M = r"\$\.models(\.[A-Za-z_][A-Za-z0-9_]*|\['[^']*'\])"  # $.models.<name>
_SOURCE = r"\$\.(bootstrap|inference)\.source"
#: What ranker refuses although Metarank 0.4.1 loads it (sources at tag 0.4.1, commit 7fde199b).
DELIBERATE: tuple[Deliberate, ...] = (
    Deliberate("RV110", r"\$\.inference(\.state|\.source)?\.port",
               "a port outside 1..65535: the api cannot bind it (mode/api/Api.scala:48 bindHttp), api/update/upload "
               "cannot reach Redis on it (Api.scala:39, mode/update/Update.scala:35), the rest source cannot reach "
               "the api (source/EventSource.scala:36); the chart's values.schema.json refuses it too"),
    Deliberate("RV111", r"\$\.(bootstrap|inference)\.parallelism",
               "parallelism below 1: Flink refuses it for the update job; bootstrap's is ignored by 0.4.1 "
               "(Bootstrap.scala setParallelism(2)) but the chart's values.schema.json (minimum 0) refuses it"),
    Deliberate("RV114", r"\$\.inference\.parallelism",
               "update parallelism above 32: the bootstrap savepoint has max parallelism 32 "
               "(mode/bootstrap/Bootstrap.scala), so the update job cannot restore it"),
    Deliberate("RV014", r"\$\.bootstrap\.workdir|\$\.bootstrap\.source\.path|\$\.inference\.source\.path|" + _M + r"\.path",
               "s3a://, gs://, hdfs://, s3://bucket without a path: config/MPath.scala:43-55 makes them relative "
               "local paths under the pod's working directory, so the stages never see each other's files"),
    Deliberate("RV120", r".*", "a password in a URL: the config becomes a ConfigMap and generated values files"),
    Deliberate("RV121", _SOURCE + r"\.options\..*|" + _SOURCE + r"\.options\['[^']*'\]",
               "a credential-looking client option: the config becomes a ConfigMap and generated values files"),
    Deliberate("RV013", _SOURCE + r"\.subscriptionType",
               "a pulsar subscriptionType other than exclusive/shared/failover decodes (a String) but fails the "
               "job at start with a MatchError (source/PulsarEventSource.scala:22-26)"),
    Deliberate("RV016", _SOURCE + r"\.(topic|groupId|region|serviceUrl|adminUrl|subscriptionName|brokers\[\d+\])|"
               r"\$\.inference\.state\.host",
               "an empty topic, group id, region, broker, service URL or Redis host: the client cannot connect"),
    Deliberate("RV012", _M + r"\.weights\.[^.]+",
               "a null weight: circe's Decoder[Double] reads null as NaN, which poisons the training labels"),
    Deliberate("RV124", r"\$\.features\[\d+\]\.type",
               "field_match loads, but its Lucene analyzer is not serialisable: the bootstrap fails building its Flink "
               "job (NotSerializableException, util/TextAnalyzer.scala:33; run: tests/test_engine_facts.py)"),
    Deliberate("RV125", r"\$\.features\[\d+\]\.field",
               "a ua field other than platform loads, but OSField/BrowserField/BotField are not serialisable: the "
               "bootstrap fails building its Flink job (feature/ua/OSField.scala:6; run: tests/test_engine_facts.py)"),
    Deliberate("RV904", r".*",
               "a duplicate mapping key: SnakeYAML keeps the last one, ranker's reader the first; which one the "
               "engine uses is not what a reader of the file expects, and the generated values could differ"),
)


@dataclass
class Judged:
    name: str
    category: str
    engine: bool
    engine_error: str | None
    ranker: bool
    errors: list[tuple[str, str, str]]  # (code, path, message)
    crash: str | None = None


def _ranker(path: Path) -> tuple[bool, list[tuple[str, str, str]], str | None]:
    try:
        result = validate_config(path)
    except Exception as exc:  # noqa: BLE001 - a traceback is a finding, reported with the case
        return False, [], f"{type(exc).__name__}: {exc}"
    return result.ok, [(d.code, d.path, d.message) for d in result.errors], None


def _deliberate_for(item: Judged) -> list[Deliberate]:
    """The deliberate refusals that explain every error ranker reports for ``item`` (or [])."""
    used = []
    for code, path, _ in item.errors:
        match = next((d for d in DELIBERATE if d.covers(code, path)), None)
        if match is None:
            return []
        used.append(match)
    return used


def _show(item: Judged) -> str:
    ranker = item.crash or ("accepts" if item.ranker else "refuses: " + "; ".join(f"{c} {p} {m}" for c, p, m in item.errors[:3]))
    engine = "accepts" if item.engine else f"refuses: {(item.engine_error or '').splitlines()[0][:160]}"
    return f"  {item.name}\n    engine {engine}\n    ranker {ranker}"


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Judged]:
    started = time.monotonic()
    cases = corpus(SEED)
    paths = write_corpus(cases, tmp_path_factory.mktemp("corpus"))
    engine_run = EngineRun(list(paths.values()))  # the JVM works while ranker validates
    ranker = {name: _ranker(path) for name, path in paths.items()}
    engine = engine_run.verdicts()
    out = {}
    for case in cases:
        verdict = engine[str(paths[case.name])]
        ok, errors, crash = ranker[case.name]
        out[case.name] = Judged(case.name, case.category, verdict.accepted, verdict.error, ok, errors, crash)
    _report(out, time.monotonic() - started)
    return out


def _report(judged: dict[str, Judged], seconds: float) -> None:
    items = list(judged.values())
    engine_accepts = sum(i.engine for i in items)
    refused_by_ranker_only = [i for i in items if i.engine and not i.ranker]
    accepted_by_ranker_only = [i for i in items if not i.engine and i.ranker]
    deliberate = Counter(d.code + " " + d.path for i in refused_by_ranker_only for d in set(_deliberate_for(i)))
    print(
        f"\nengine differential (seed {SEED}): {len(items)} configs; engine accepts {engine_accepts}, "
        f"refuses {len(items) - engine_accepts}; ranker accepts {sum(i.ranker for i in items)}; "
        f"disagreements {len(refused_by_ranker_only) + len(accepted_by_ranker_only)} "
        f"(ranker refuses what the engine accepts: {len(refused_by_ranker_only)}, of them deliberate: "
        f"{sum(1 for i in refused_by_ranker_only if _deliberate_for(i))}; ranker accepts what the engine "
        f"refuses: {len(accepted_by_ranker_only)}); crashes {sum(1 for i in items if i.crash)}; {seconds:.1f}s"
    )
    for key, count in sorted(deliberate.items()):
        print(f"  deliberate {key}: {count}")


def test_corpus_is_large_deterministic_and_covers_every_category():
    first, again = corpus(SEED), corpus(SEED)
    assert len(first) >= MIN_CORPUS
    assert [c.text for c in first] == [c.text for c in again]
    assert len({c.name for c in first}) == len(first)
    assert {c.category for c in first} >= {
        "identity", "numbers", "doubles", "durations", "offsets", "missing", "extra", "features", "models",
        "sources", "state", "paths", "strings", "toplevel", "yaml",
    }


def test_the_real_0_4_1_configs_are_accepted_by_both(judged):
    """The seeds load in the engine; ranker accepts them, or refuses only deliberately (the
    all-feature-types fixture has field_match and a ua `os` field, which load but cannot run)."""
    identity = [i for i in judged.values() if i.category == "identity"]
    assert identity and all(i.engine for i in identity), "\n".join(_show(i) for i in identity)
    assert all(i.ranker or _deliberate_for(i) for i in identity), "\n".join(_show(i) for i in identity)
    assert [i.name for i in identity if not i.ranker] == ["identity/all-feature-types/as-is"]


def test_ranker_never_crashes_on_the_corpus(judged):
    crashed = [i for i in judged.values() if i.crash]
    assert not crashed, f"{len(crashed)} tracebacks:\n" + "\n".join(_show(i) for i in crashed[:20])


def test_ranker_accepts_nothing_the_engine_refuses(judged):
    wrong = [i for i in judged.values() if not i.engine and i.ranker]
    assert not wrong, f"{len(wrong)} configs the engine refuses pass ranker-values validate:\n" + "\n".join(
        _show(i) for i in wrong[:40]
    )


def test_ranker_refuses_what_the_engine_accepts_only_deliberately(judged):
    wrong = [i for i in judged.values() if i.engine and not i.ranker and not i.crash and not _deliberate_for(i)]
    assert not wrong, f"{len(wrong)} configs the engine loads are refused by ranker without a documented reason:\n" + "\n".join(
        _show(i) for i in wrong[:40]
    )


def test_every_deliberate_refusal_is_exercised_by_the_corpus(judged):
    used = {d for i in judged.values() if i.engine and not i.ranker for d in _deliberate_for(i)}
    assert not set(DELIBERATE) - used, [d.code + " " + d.path for d in DELIBERATE if d not in used]


def test_the_probe_reports_the_engines_own_errors(judged):
    """The probe is the engine, not a stub: its refusals carry circe's own messages."""
    by_name = {i.name: i for i in judged.values()}
    leading_zero = [i for n, i in by_name.items() if n.startswith("numbers/") and n.endswith("/inference.port=010")]
    assert leading_zero and not leading_zero[0].engine
    assert "Invalid numeric string 010" in (leading_zero[0].engine_error or "")
    star = [i for n, i in by_name.items() if n.startswith("features/") and ':source="*.f"' in n]
    assert star and all("cannot decode source field *.f" in (i.engine_error or "") for i in star)
    assert Counter(i.engine for i in judged.values())[False] > 1_000  # the corpus probes refusals too
