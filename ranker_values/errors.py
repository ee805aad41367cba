"""One domain error type for the whole package.

Every command raises :class:`RankerError` (or a subclass) for anything the user can fix; the
typer app turns it into a printed report and an exit code. Nothing else should reach the user
as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]

EXIT_OK = 0
EXIT_INVALID = 1  # the input is wrong (config, values, a savepoint that is not there...)
EXIT_USAGE = 2  # the command line is wrong, or a file cannot be read at all


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in an input, pointing at where it is."""

    code: str  # stable identifier, e.g. "RV101"; documented in README
    message: str
    path: str = "$"  # JSON path into the document, e.g. "$.bootstrap.parallelism"
    file: str = "<config>"
    line: int | None = None  # 1-based
    col: int | None = None  # 1-based
    severity: Severity = "error"
    hint: str | None = None  # e.g. "did you mean 'parallelism'?"

    @property
    def location(self) -> str:
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.col or 1}"


@dataclass
class RankerError(Exception):
    """A problem the user can fix. ``exit_code`` 1 = invalid input, 2 = usage."""

    message: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    exit_code: int = EXIT_INVALID

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class UsageError(RankerError):
    """Wrong command line, or a file that cannot be read at all (exit 2)."""

    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None):
        super().__init__(message, diagnostics or [], EXIT_USAGE)


class InvalidInput(RankerError):
    """The input was read but is wrong (exit 1)."""

    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None):
        super().__init__(message, diagnostics or [], EXIT_INVALID)


#: Top-level modules of the ``ops`` extra (pyproject.toml). Commands import them lazily, so a
#: plain ``pip install ranker-values`` only finds out they are missing when a command needs one.
OPS_MODULES = frozenset(
    {"boto3", "botocore", "redis", "xgboost", "numpy", "kubernetes", "helm_python", "kubernetes_validate"}
)


def missing_extra(exc: ImportError) -> UsageError | None:
    """The usage error for an ops module that is not installed; None for any other import error."""
    module = (getattr(exc, "name", None) or "").split(".")[0]
    if module not in OPS_MODULES:
        return None
    return UsageError(f"this needs the {module!r} package of the ops extra: pip install 'ranker-values[ops]'")
