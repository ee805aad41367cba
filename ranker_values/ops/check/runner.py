"""Run checks concurrently, each with its own deadline, and report them as a table or JSON.

Every check runs in its own daemon thread. The runner waits for each one at most its timeout
and then reports "timed out after Ns" without waiting any longer. Threads cannot be killed, so a
stuck check keeps running in the background; daemon threads (not ``ThreadPoolExecutor``, whose
workers are joined at interpreter exit) make sure such a thread can never hold the process open.
Every client the checks create also has its own connect/read timeouts, so stuck threads end soon.
"""

from __future__ import annotations

import difflib
import json
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from ranker_values.errors import RankerError, UsageError, missing_extra


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"  # a warning, or not applicable yet (e.g. "run the bootstrap step first")

    @property
    def symbol(self) -> str:
        return {"pass": "✓", "fail": "✗", "warn": "!"}[self.value]


@dataclass(frozen=True)
class Outcome:
    """What a check function returns: a status, one line of reason and one line of fix."""

    status: Status
    reason: str
    fix: str = ""


def passed(reason: str) -> Outcome:
    return Outcome(Status.PASS, reason)


def failed(reason: str, fix: str) -> Outcome:
    return Outcome(Status.FAIL, reason, fix)


def warned(reason: str, fix: str = "") -> Outcome:
    return Outcome(Status.WARN, reason, fix)


class CheckAbort(Exception):
    """Raised deep inside a check (e.g. by a client helper) to end it with this outcome."""

    def __init__(self, outcome: Outcome):
        super().__init__(outcome.reason)
        self.outcome = outcome


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    reason: str
    fix: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Check:
    name: str  # "<group>.<what>", e.g. "s3.workdir"
    run: Callable[[Any], Outcome]  # called with the CheckContext
    timeout: float | None = None  # None: the runner's default

    @property
    def group(self) -> str:
        return self.name.split(".", 1)[0]


# --- selection ------------------------------------------------------------------------------


def _matches(check: Check, name: str) -> bool:
    return name in (check.name, check.group)


def _split_names(names: Sequence[str]) -> list[str]:
    """``--only s3,redis --only model`` → ["s3", "redis", "model"]."""
    return [part.strip() for name in names for part in name.split(",") if part.strip()]


def _unknown_name_error(name: str, known: Sequence[str], option: str) -> UsageError:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return UsageError(f"{option}: unknown check {name!r}{hint} (known: {', '.join(known)})")


def select(checks: Sequence[Check], only: Sequence[str] = (), skip: Sequence[str] = ()) -> list[Check]:
    """The checks ``--only`` / ``--skip`` leave; an unknown name is a usage error."""
    known = sorted({c.group for c in checks} | {c.name for c in checks})
    for option, names in (("--only", _split_names(only)), ("--skip", _split_names(skip))):
        for name in names:
            if name not in known:
                raise _unknown_name_error(name, known, option)
    wanted = _split_names(only)
    unwanted = _split_names(skip)
    selected = [
        c
        for c in checks
        if (not wanted or any(_matches(c, n) for n in wanted)) and not any(_matches(c, n) for n in unwanted)
    ]
    if not selected:  # an empty run would exit 0 and look like a green preflight
        raise UsageError("--only/--skip leave no check to run")
    return selected


# --- running --------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _call(check: Check, context: Any) -> Outcome:
    """Run one check; every exception becomes a ✗ line, never a traceback."""
    try:
        outcome = check.run(context)
    except CheckAbort as exc:
        return exc.outcome
    except RankerError as exc:
        return failed(exc.message, "")
    except ModuleNotFoundError as exc:
        extra = missing_extra(exc)
        if extra is None:
            return failed(f"{type(exc).__name__}: {exc}", "this is a bug in the check; please report it")
        return failed(f"{exc.name} is not installed here", "pip install 'ranker-values[ops]'")
    except Exception as exc:  # noqa: BLE001 - a check must never crash the table
        return failed(f"{type(exc).__name__}: {exc}", "this is a bug in the check; please report it")
    if not isinstance(outcome, Outcome):
        return failed(f"check returned {type(outcome).__name__}, not an Outcome", "this is a bug in the check")
    return outcome


def run_checks(checks: Sequence[Check], context: Any, default_timeout: float) -> list[CheckResult]:
    """Run all checks at once; results in the order given, each within its own timeout."""
    done: queue.Queue[tuple[int, Outcome, float]] = queue.Queue()
    started = time.monotonic()

    def worker(index: int, check: Check) -> None:
        begin = time.monotonic()
        outcome = _call(check, context)
        done.put((index, outcome, time.monotonic() - begin))

    for index, check in enumerate(checks):
        threading.Thread(target=worker, args=(index, check), name=f"check-{check.name}", daemon=True).start()

    deadlines = {i: started + (c.timeout or default_timeout) for i, c in enumerate(checks)}
    results: dict[int, CheckResult] = {}
    while len(results) < len(checks):
        open_deadlines = [d for i, d in deadlines.items() if i not in results]
        wait = max(0.0, min(open_deadlines) - time.monotonic())
        try:
            index, outcome, seconds = done.get(timeout=wait)
        except queue.Empty:
            now = time.monotonic()
            for i, deadline in deadlines.items():
                if i not in results and now >= deadline:
                    limit = checks[i].timeout or default_timeout
                    results[i] = CheckResult(
                        checks[i].name,
                        Status.FAIL,
                        f"timed out after {limit:g}s",
                        "check that the service is reachable from here, or raise --timeout",
                        round(now - started, 3),
                    )
            continue
        if index not in results:  # a late answer after its timeout is dropped
            results[index] = CheckResult(
                checks[index].name, outcome.status, _one_line(outcome.reason), _one_line(outcome.fix), round(seconds, 3)
            )
    return [results[i] for i in range(len(checks))]


# --- reporting ------------------------------------------------------------------------------


def all_passed(results: Sequence[CheckResult]) -> bool:
    """Exit 0 needs no ✗; "!" (warnings, not-yet-applicable) never fails the run."""
    return not any(r.status is Status.FAIL for r in results)


def render_text(results: Sequence[CheckResult]) -> str:
    if not results:
        return "no checks selected"
    width = max(len(r.name) for r in results)
    lines = []
    for r in results:
        lines.append(f"{r.status.symbol} {r.name.ljust(width)}  {r.reason}")
        if r.fix and r.status is not Status.PASS:
            lines.append(f"  {' ' * width}  fix: {r.fix}")
    counts = {s: sum(1 for r in results if r.status is s) for s in Status}
    lines.append(
        f"{counts[Status.PASS]} passed, {counts[Status.FAIL]} failed, {counts[Status.WARN]} warnings"
        + ("" if all_passed(results) else " — not ready")
    )
    return "\n".join(lines)


def render_json(results: Sequence[CheckResult]) -> str:
    checks = [{**asdict(r), "status": r.status.value} for r in results]
    return json.dumps({"ok": all_passed(results), "checks": checks}, indent=2, ensure_ascii=False)
