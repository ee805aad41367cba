"""The output gate: atomic file writes that never clobber an input, a device or a FIFO.

Each file is written to a temporary file in the same directory (same filesystem, so
``os.replace`` is atomic), flushed and fsynced, then renamed over the target. The multi-file
variant writes every temporary file first and renames only when all of them are complete, so a
failure while writing leaves every target untouched and no temporary file behind.

Before anything is written, every target is checked:

* **an input** — a target that is the same file (device + inode, through symlinks) as a file
  this run has read through the input gate (:mod:`ranker_values.files.inputs`) is refused: ``gen
  d/update.yaml --out d`` or ``upgrade-values -f deployed.yaml --out deployed.yaml`` would
  otherwise replace what they read;
* **not a regular file** — a FIFO, a device (``/dev/full``), a socket is refused: renaming over
  it would replace the node with a regular file;
* **a symlink** is written *through*: the temporary file is created beside the symlink's final
  target and renamed over the target, so the link stays a link and the file it points to gets the
  new content atomically. (A dangling symlink is refused: there is no file to write through to.)

Interrupts: :func:`install_interrupt_handlers` (called by the CLI) turns SIGTERM, like SIGINT,
into an exception, so the ``except BaseException`` clean-up below removes temporary files on
either; the renames run with both signals blocked, so a multi-file write is not cut in half by
them.
"""

from __future__ import annotations

import os
import signal
import stat
import tempfile
import threading
from pathlib import Path

from ranker_values.errors import UsageError
from ranker_values.files.inputs import file_identity, inputs_read

EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived (a BaseException, like KeyboardInterrupt: clean-ups run, no
    ``except Exception`` swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return EXIT_SIGTERM if self.signum == signal.SIGTERM else EXIT_SIGINT


def _raise_interrupted(signum: int, _frame) -> None:
    raise Interrupted(signum)


def install_interrupt_handlers() -> None:
    """SIGINT and SIGTERM raise :class:`Interrupted` in the main thread (no-op elsewhere). A
    signal ignored when we start stays ignored: shells ignore SIGINT for background jobs (and
    ``nohup`` SIGHUP) on purpose, so Ctrl-C meant for the foreground does not stop them."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _raise_interrupted)


def write_text_atomic(path: Path, text: str) -> Path:
    return write_files_atomic(Path(path).parent, {Path(path).name: text})[0]


def write_files_atomic(directory: Path, files: dict[str, str]) -> list[Path]:
    """Write ``{name: text}`` into ``directory`` (created if missing); returns the paths in order
    (as given: a symlink's path, though its target is what gets replaced)."""
    directory = Path(directory)
    _ensure_directory(directory)
    targets = {name: _target(directory / name) for name in files}
    staged: list[tuple[str, Path]] = []
    pending: list[str] = []
    try:
        for name, text in files.items():
            real = targets[name]
            temp = _stage(real.parent, real.name, text)
            pending.append(temp)
            staged.append((temp, real))
        with _signals_blocked():
            for temp, target in staged:
                os.replace(temp, target)
    except OSError as exc:
        _discard(pending)
        raise UsageError(f"{directory}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        _discard(pending)
        raise
    return [directory / name for name in files]


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Replace one file with ``data`` through the gate (a symlink is written through); the
    parent directory is created if missing. Returns ``path`` as given."""
    path = Path(path)
    real = _target(path)
    _ensure_directory(real.parent)
    temp = None
    try:
        temp = _stage(real.parent, real.name, data)
        with _signals_blocked():
            os.replace(temp, real)
    except OSError as exc:
        _discard([temp] if temp else [])
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        _discard([temp] if temp else [])
        raise
    return path


def check_output(path: Path) -> None:
    """Refuse ``path`` as an output now (before slow work), with the same rules as the write."""
    _target(Path(path))


def check_stdout(stream=None) -> None:
    """Refuse to print onto one of the command's inputs: ``render -f v.yaml > v.yaml`` (the shell
    has already emptied the file; writing manifests into it would make it something else). Pipes,
    terminals and other files pass; a stream without a descriptor (tests) is not checked."""
    import sys

    stream = sys.stdout if stream is None else stream
    try:
        st = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
        return
    if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) in inputs_read():
        raise UsageError("stdout is redirected to one of this command's input files; write elsewhere or use --out FILE")


#: What :func:`check_writable` writes and removes again: a directory on a full disk (or past the
#: process's file size limit) fails here, before hours of work, instead of at the end.
PROBE_BYTES = 64 * 1024


def check_writable(directory: Path) -> None:
    """Create ``directory`` if missing and prove that ``PROBE_BYTES`` can be written and synced
    in it (the probe file is removed again); UsageError naming the directory otherwise."""
    directory = Path(directory)
    _ensure_directory(directory)
    temp = None
    try:
        temp = _stage(directory, "write-probe", b"\0" * PROBE_BYTES)
    except OSError as exc:
        raise UsageError(f"{directory}: cannot write there: {exc.strerror or exc}; free space or choose another place") from None
    finally:
        _discard([temp] if temp else [])


def _target(path: Path) -> Path:
    """The file to replace for ``path``, after the gate's checks (see the module docstring)."""
    try:
        return _checked_target(path)
    except OSError as exc:  # a name too long, a loop of symlinks, no permission …
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _checked_target(path: Path) -> Path:
    if path.is_symlink():
        real = Path(os.path.realpath(path))
        if not real.exists():
            raise UsageError(f"{path}: is a symlink to {real}, which does not exist; give a file path")
    else:
        real = path
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return real
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise UsageError(f"{path}: is a directory; give a file path")
    if not stat.S_ISREG(mode):
        raise UsageError(f"{path}: is not a regular file (a device, FIFO or socket); refusing to replace it")
    identity = file_identity(real)
    if identity is not None and identity in inputs_read():
        raise UsageError(
            f"{path}: is one of this command's inputs; refusing to overwrite it (write somewhere else, then move it)"
        )
    return real


def _ensure_directory(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory}: exists and is not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{directory}: cannot create directory: {exc.strerror or exc}") from None


def _stage(directory: Path, name: str, text: str | bytes) -> str:
    fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with (os.fdopen(fd, "wb") if isinstance(text, bytes) else os.fdopen(fd, "w", encoding="utf-8", newline="")) as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
    except BaseException:
        _discard([temp])
        raise
    return temp


class _signals_blocked:
    """Hold SIGINT/SIGTERM while the renames run (main thread; elsewhere a no-op)."""

    SIGNALS = {signal.SIGINT, signal.SIGTERM}

    def __enter__(self):
        self.active = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
        if self.active:
            self.previous = signal.pthread_sigmask(signal.SIG_BLOCK, self.SIGNALS)
        return self

    def __exit__(self, *exc):
        if self.active:
            signal.pthread_sigmask(signal.SIG_SETMASK, self.previous)  # pending signals arrive here
        return False


signals_blocked = _signals_blocked  # for other clean-ups that a second signal must not cut short


def _discard(temps) -> None:
    for temp in temps:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
