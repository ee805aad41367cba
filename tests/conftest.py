"""Shared fixtures for the tests.

``check_support`` adds the service fixtures (``redis_factory``, ``moto_endpoint``, ``s3``) the
``check`` tests share.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support import SHARED

pytest_plugins = ["check_support"]

REPO = Path(__file__).resolve().parents[1]
SHARED_METARANK = SHARED / "metarank" / "0.4.1"  # ../shared, or $RANKER_SHARED
EXAMPLE_CONFIG = REPO / "examples" / "config.yml"


@pytest.fixture
def shared_configs() -> list[Path]:
    """The real Metarank 0.4.1 configs in ../shared (skipped with a reason when absent)."""
    if not SHARED_METARANK.is_dir():
        pytest.skip(f"{SHARED_METARANK} is absent: the real Metarank configs live outside the repo")
    configs = sorted(SHARED_METARANK.glob("*.yml"))
    assert {p.name for p in configs} >= {"sample-config.yml", "ranklens-config.yml"}
    return configs


@pytest.fixture
def write_file(tmp_path: Path):
    """``write_file(text, name="config.yml")`` → path of a new file under tmp_path."""

    def write(text: str | bytes, name: str = "config.yml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_bytes(text.encode("utf-8"))
        return path

    return write
