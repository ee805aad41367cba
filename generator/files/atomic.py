"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Each file is written to a temporary file in the same directory (same filesystem, so
``os.replace`` is atomic), flushed and fsynced, then renamed over the target. The multi-file
variant writes every temporary file first and renames only when all of them are complete, so a
failure while writing leaves every target untouched and no temporary file behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from generator.errors import UsageError


def write_text_atomic(path: Path, text: str) -> Path:
    return write_files_atomic(Path(path).parent, {Path(path).name: text})[0]


def write_files_atomic(directory: Path, files: dict[str, str]) -> list[Path]:
    """Write ``{name: text}`` into ``directory`` (created if missing); returns the paths in order."""
    directory = Path(directory)
    _ensure_directory(directory)
    for name in files:
        if (directory / name).is_dir():
            raise UsageError(f"{directory / name}: is a directory; give a file path")
    staged: list[tuple[str, Path]] = []
    try:
        for name, text in files.items():
            staged.append((_stage(directory, name, text), directory / name))
        for temp, target in staged:
            os.replace(temp, target)
    except OSError as exc:
        _discard(temp for temp, _ in staged)
        raise UsageError(f"{directory}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        _discard(temp for temp, _ in staged)
        raise
    return [target for _, target in staged]


def _ensure_directory(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory}: exists and is not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{directory}: cannot create directory: {exc.strerror or exc}") from None


def _stage(directory: Path, name: str, text: str) -> str:
    fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
    except BaseException:
        _discard([temp])
        raise
    return temp


def _discard(temps) -> None:
    for temp in temps:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
