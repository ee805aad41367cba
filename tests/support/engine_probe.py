"""Run configs through Metarank 0.4.1's own config loading, in one JVM for a whole corpus.

``tests/engine_probe/ConfigProbe.java`` (ranker's code) does what every 0.4.1 stage does before
it runs (``CliApp.scala:24-27``): ``Config.load(contents)`` then
``FeatureMapping.fromFeatureSchema(features, models)``. It is compiled here with the machine's
``javac --release 11`` against ``metarank.jar`` into ``$RANKER_TOOLS_DIR/engine/probe/<hash>/``
(keyed by the source's and the jar's hash, so an edit recompiles) and run with the image's Java 11.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import REPO, missing
from support.engine import engine_dir, engine_jar, engine_java

PROBE_SOURCE = REPO / "tests" / "engine_probe" / "ConfigProbe.java"
PROBE_CLASS = "ConfigProbe"
#: logback without appenders: the engine's INFO lines would otherwise interleave with results
QUIET_LOGBACK = '<configuration><root level="OFF"/></configuration>\n'


@dataclass(frozen=True)
class Verdict:
    path: str
    accepted: bool
    error: str | None


def _javac() -> Path:
    found = shutil.which("javac")
    if found:
        return Path(found)
    missing("javac (JDK >= 11) is not on PATH: the engine config probe is compiled at test time")


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:16]


def compiled_classes(source: Path) -> Path:
    """``source`` compiled against the engine jar (once per source + jar; an atomic rename
    publishes it) into ``$RANKER_TOOLS_DIR/engine/probe/<hash>/``, with a quiet logback file."""
    jar = engine_jar()
    jar_id = f"{jar.stat().st_size}:{jar.stat().st_mtime_ns}".encode()
    target = engine_dir() / "probe" / _digest(source.read_bytes(), jar_id)
    if (target / f"{source.stem}.class").is_file():
        return target
    staging = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    done = subprocess.run(
        [str(_javac()), "--release", "11", "-nowarn", "-cp", str(jar), "-d", str(staging), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        pytest.fail(f"javac {source.name} failed:\n{done.stdout}{done.stderr}")
    (staging / "logback-quiet.xml").write_text(QUIET_LOGBACK, encoding="utf-8")
    try:
        staging.rename(target)
    except OSError:  # another run published it first
        shutil.rmtree(staging, ignore_errors=True)
    return target


def probe_classes() -> Path:
    """The compiled config probe."""
    return compiled_classes(PROBE_SOURCE)


class EngineRun:
    """The probe JVM judging ``paths`` in the background (the caller can work meanwhile)."""

    def __init__(self, paths: list[Path]):
        classes = probe_classes()
        command = [
            str(engine_java()), "-Xss4m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            f"-Dlogback.configurationFile={classes / 'logback-quiet.xml'}",
            "-cp", f"{classes}{os.pathsep}{engine_jar()}", PROBE_CLASS,
        ]
        self.paths = [str(p) for p in paths]
        self._list = tempfile.TemporaryFile("w+", encoding="utf-8")
        self._list.write("".join(f"{p}\n" for p in self.paths))
        self._list.seek(0)
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.process = subprocess.Popen(command, stdin=self._list, stdout=subprocess.PIPE, stderr=self._stderr, text=True)

    def verdicts(self, timeout: float = 600) -> dict[str, Verdict]:
        """{str(path): Verdict} for every path; fails the test when the JVM judged fewer."""
        try:
            stdout, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            stdout, _ = self.process.communicate()
        finally:
            self._list.close()
        self._stderr.seek(0)
        stderr = self._stderr.read()
        self._stderr.close()
        verdicts: dict[str, Verdict] = {}
        for line in stdout.splitlines():
            if line.startswith('{"path": '):
                row = json.loads(line)
                verdicts[row["path"]] = Verdict(row["path"], row["accepted"], row["error"])
        missing = [p for p in self.paths if p not in verdicts]
        if self.process.returncode != 0 or missing:
            pytest.fail(
                f"the engine probe judged {len(verdicts)} of {len(self.paths)} configs (exit {self.process.returncode}); "
                f"first missing: {missing[:3]}\nstderr (tail):\n{stderr[-3000:]}"
            )
        return verdicts


def engine_verdicts(paths: list[Path], timeout: float = 600) -> dict[str, Verdict]:
    """{str(path): Verdict} for every config, judged by Metarank 0.4.1 in one JVM."""
    return EngineRun(paths).verdicts(timeout)
