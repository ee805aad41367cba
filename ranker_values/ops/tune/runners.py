"""Runners: how trials get executed. ``LocalRunner`` is a process pool on this machine (the
default, no broker); ``ranker_values.ops.tune.amqp.AmqpRunner`` publishes to RabbitMQ and waits for
the workers' results in the store. Both take the pending tasks and call ``on_result`` once per
finished (or failed) trial."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Protocol

from ranker_values.errors import UsageError

OnResult = Callable[[dict[str, Any]], None]


class Runner(Protocol):
    def run(self, tasks: list[dict[str, Any]], on_result: OnResult) -> None: ...


MAX_LOCAL_WORKERS = 256  # processes on one machine; more is a typo, not a plan


def parse_workers(spec: str) -> int:
    """``local:N`` → N (1 ≤ N ≤ MAX_LOCAL_WORKERS)."""
    kind, _, count = spec.partition(":")
    # isdecimal, not isdigit: "²" is a digit that int() refuses
    if kind != "local" or not count.isdecimal() or not 1 <= int(count) <= MAX_LOCAL_WORKERS:
        raise UsageError(
            f"--workers {spec!r}: expected local:N with 1 ≤ N ≤ {MAX_LOCAL_WORKERS} (e.g. local:2), or use --broker amqp://…"
        )
    return int(count)


def _pool_task(task: dict[str, Any]) -> dict[str, Any]:
    from ranker_values.ops.tune.trial import Trial, failed_result, run_task

    try:
        return run_task(task)
    except Exception as exc:  # noqa: BLE001 - a failed trial is a result, not a crash of the search
        t = task["trial"]
        return failed_result(Trial(t["index"], t["params"], t["search_id"]), f"{type(exc).__name__}: {exc}", 1)


class LocalRunner:
    def __init__(self, workers: int):
        self.workers = workers

    def run(self, tasks: list[dict[str, Any]], on_result: OnResult) -> None:
        if not tasks:
            return
        if self.workers == 1:
            for task in tasks:
                on_result(_pool_task(task))
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # spawn: a clean interpreter per worker (OpenMP in xgboost does not survive fork safely)
        pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_signals)
        try:
            futures = [pool.submit(_pool_task, task) for task in tasks]
            for future in as_completed(futures):
                on_result(future.result())
        except BaseException:
            # SIGINT/SIGTERM (or a failure): leaving the pool normally would wait for every
            # queued trial; drop the queue and stop the running trials (each finished trial is
            # already in the store, a running one is lost and re-run by the next run)
            from ranker_values.files.atomic import signals_blocked

            with signals_blocked():  # a second Ctrl-C does not cut the clean-up short
                pool.shutdown(wait=False, cancel_futures=True)
                stop_children(multiprocessing.active_children())
            raise
        pool.shutdown(wait=True)


def _worker_signals() -> None:
    """Pool workers leave SIGINT to the tasker (Ctrl-C reaches the whole process group): the
    tasker stops them with SIGTERM, whose default action ends them at once."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def stop_children(children: list[Any], grace: float = 3.0) -> None:
    """SIGTERM every child, SIGKILL what is still alive after ``grace`` seconds, reap them all."""
    for child in children:
        child.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        child.join(max(deadline - time.monotonic(), 0.0))
    for child in children:
        if child.is_alive():
            child.kill()
            child.join(5.0)


class Progress:
    """trials done/total, best CV NDCG so far and an ETA, on stderr (one line per trial when
    stderr is not a terminal)."""

    def __init__(self, total: int, done: int, best: float | None, stream: Any = None):
        self.total, self.done, self.best = total, done, best
        self.start_done = done
        self.started = time.monotonic()
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, result: dict[str, Any]) -> None:
        self.done += 1
        if result.get("status") == "ok" and (self.best is None or result["cv_mean"] > self.best):
            self.best = result["cv_mean"]
        self.show(result)

    def show(self, result: dict[str, Any] | None = None) -> None:
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        ran = self.done - self.start_done
        elapsed = time.monotonic() - self.started
        eta = "?" if ran == 0 else _duration(elapsed / ran * (self.total - self.done))
        best = "—" if self.best is None else f"{self.best:.4f}"
        line = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} trials · best CV NDCG {best} · ETA {eta}"
        if result is not None and result.get("status") != "ok":
            line += f" · trial {result.get('index')} FAILED"
        if self.tty:
            self.stream.write("\r" + line + ("\n" if self.done >= self.total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
