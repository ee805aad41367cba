"""Trials over RabbitMQ: a tasker publishes one durable message per pending trial (publisher
confirms), ``tune-worker`` processes consume them one at a time (prefetch 1) and ack only after
the trial's result is in the store.

Topology (declared by both sides, idempotently):

- ``ranker.tune.trials``: a **quorum queue** (durable, replicated on clusters) with
  ``x-delivery-limit``: RabbitMQ counts every delivery that was not acked (a nack, or a worker
  that died holding the message) and, past the limit, dead-letters the message instead of
  redelivering it. Classic queues in 3.10 have no delivery counter; quorum queues' is kept by
  the broker, so a worker crash loop cannot hide a poison trial.
- ``ranker.tune.dlx``: a headers exchange; each search binds its own durable dead-letter queue
  ``ranker.tune.dead.<search id>`` on ``search_id``, so a tasker only sees its own failures.

A worker keeps the connection serviced (heartbeats) while a trial runs in a thread, so a long
trial is not mistaken for a dead worker. A trial whose result is already stored is acked without
running (a re-published duplicate after a tasker restart).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

from ranker_values.errors import InvalidInput, UsageError

QUEUE = "ranker.tune.trials"
DLX = "ranker.tune.dlx"


def dead_queue(search_id: str) -> str:
    return f"ranker.tune.dead.{search_id}"


@dataclass(frozen=True)
class BrokerSettings:
    url: str
    timeout: float = 30.0
    max_attempts: int = 3

    @classmethod
    def parse(cls, url: str, timeout: float = 30.0, max_attempts: int = 3) -> "BrokerSettings":
        try:
            parts = urlsplit(url)
            usable = parts.scheme in ("amqp", "amqps") and bool(parts.hostname) and (parts.port or 0) >= 0
        except ValueError:  # "amqp://[", a port that is not a number: the URL itself is broken
            usable = False
        if not usable:
            raise UsageError(f"--broker {redact(url)!r}: expected amqp://user:password@host:5672/vhost")
        return cls(url, timeout, max_attempts)

    @property
    def display(self) -> str:
        return redact(self.url)


def redact(url: str) -> str:
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    except ValueError:  # unparseable: it may still hold a password, so show only its scheme
        return url.split("://", 1)[0] + "://…" if "://" in url else "…"
    return parts._replace(netloc=netloc).geturl()


def connect(settings: BrokerSettings) -> Any:
    import pika
    import pika.exceptions

    params = pika.URLParameters(settings.url)
    params.connection_attempts = 1
    params.socket_timeout = settings.timeout
    params.stack_timeout = settings.timeout
    params.blocked_connection_timeout = settings.timeout
    params.heartbeat = 30
    try:
        return pika.BlockingConnection(params)
    except pika.exceptions.ProbableAuthenticationError:
        raise InvalidInput(f"RabbitMQ at {settings.display} refused the credentials; check the user and password in --broker") from None
    except (pika.exceptions.AMQPError, OSError) as exc:
        reason = str(exc) or type(exc).__name__
        raise InvalidInput(
            f"cannot reach RabbitMQ at {settings.display} within {settings.timeout:g}s ({reason}); "
            "check --broker and that the broker is running (or use --workers local:N)"
        ) from None


def declare(channel: Any, max_attempts: int) -> None:
    import pika.exceptions

    channel.exchange_declare(DLX, exchange_type="headers", durable=True)
    args = {"x-queue-type": "quorum", "x-delivery-limit": max(max_attempts - 1, 0), "x-dead-letter-exchange": DLX}
    try:
        channel.queue_declare(QUEUE, durable=True, arguments=args)
    except pika.exceptions.ChannelClosedByBroker as exc:
        raise InvalidInput(
            f"queue {QUEUE} exists with other settings ({exc.reply_text}); use the --max-attempts it was created with, "
            f"or delete the queue when no search is running"
        ) from None


def declare_dead_queue(channel: Any, search_id: str) -> str:
    name = dead_queue(search_id)
    channel.queue_declare(name, durable=True)
    channel.queue_bind(name, DLX, arguments={"x-match": "all", "search_id": search_id})
    return name


class AmqpRunner:
    """The tasker side: publish pending trials, then wait for their results in the store and
    for dead-lettered ones in this search's dead-letter queue."""

    def __init__(self, settings: BrokerSettings, poll: float = 1.0, echo: Callable[[str], None] | None = None):
        self.settings = settings
        self.poll = poll
        self.echo = echo or (lambda line: None)

    def check(self) -> None:
        """Reach the broker and declare the queues before any work (fail fast, within --timeout)."""
        connection = connect(self.settings)
        try:
            declare(connection.channel(), self.settings.max_attempts)
        finally:
            try:
                connection.close()
            except Exception:  # noqa: BLE001
                pass

    def run(self, tasks: list[dict[str, Any]], on_result: Callable[[dict[str, Any]], None]) -> None:
        import pika

        from ranker_values.ops.tune.search import Trial
        from ranker_values.ops.tune.trial import failed_result, store_for

        connection = connect(self.settings)  # fail fast, even with nothing to publish
        try:
            channel = connection.channel()
            declare(channel, self.settings.max_attempts)
            if not tasks:
                return
            search_id = tasks[0]["trial"]["search_id"]
            dead = declare_dead_queue(channel, search_id)
            channel.confirm_delivery()
            for task in tasks:
                trial_id = f"{search_id}-{task['trial']['index']:05d}"
                channel.basic_publish(
                    "",
                    QUEUE,
                    json.dumps(task).encode(),
                    pika.BasicProperties(
                        delivery_mode=2, content_type="application/json", message_id=trial_id, headers={"search_id": search_id}
                    ),
                    mandatory=True,
                )  # with confirms: returns after the broker confirmed, raises when unroutable or nacked
            store = store_for(tasks[0])
            pending = {f"{search_id}-{t['trial']['index']:05d}": t for t in tasks}
            last_hint = time.monotonic()
            while pending:
                for trial_id in store.finished(search_id) & set(pending):  # one listing per poll
                    result = store.get(trial_id)
                    if result is not None:
                        pending.pop(trial_id)
                        on_result(result)
                while pending:
                    method, props, body = channel.basic_get(dead, auto_ack=False)
                    if method is None:
                        break
                    try:
                        t = json.loads(body)["trial"]
                        trial = Trial(t["index"], t["params"], t["search_id"])
                    except (ValueError, KeyError, TypeError):
                        channel.basic_ack(method.delivery_tag)
                        continue
                    if trial.id in pending and store.get(trial.id) is None:
                        headers = props.headers or {}
                        deaths = headers.get("x-death") or [{}]
                        reason = str(deaths[0].get("reason", "")) if isinstance(deaths[0], dict) else ""
                        count = headers.get("x-delivery-count")
                        attempts = int(count) + 1 if isinstance(count, int) else (
                            self.settings.max_attempts if reason == "delivery_limit" else None
                        )
                        error = store.last_error(trial.id) or f"dead-lettered by the broker ({reason or 'rejected'})"
                        result = failed_result(trial, error, attempts)
                        result["dead_letter_reason"] = reason
                        store.put(trial.id, result)
                        pending.pop(trial.id)
                        on_result(result)
                    channel.basic_ack(method.delivery_tag)
                if pending:
                    if time.monotonic() - last_hint > 30:
                        consumers = channel.queue_declare(QUEUE, passive=True).method.consumer_count
                        if consumers == 0:
                            self.echo(f"waiting: no tune-worker is consuming {QUEUE} on {self.settings.display}")
                        last_hint = time.monotonic()
                    connection.process_data_events(time_limit=self.poll)
            try:  # the search is complete: drop its dead-letter queue unless something is in it
                channel.queue_delete(dead, if_empty=True)
            except Exception:  # noqa: BLE001 - not empty (a late duplicate): keep it for inspection
                pass
        finally:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - already closed
                pass


def run_worker(
    settings: BrokerSettings,
    threads: int = 1,
    max_trials: int = 0,
    idle_exit: float = 0.0,
    echo: Callable[[str], None] = print,
    alive_file: str | None = None,
) -> int:
    """Consume trials until stopped (or ``max_trials`` / ``idle_exit``); returns trials done."""
    from ranker_values.ops.tune.trial import run_task, store_for

    worker_id = f"{socket.gethostname()}-{os.getpid()}"
    connection = connect(settings)
    channel = connection.channel()
    declare(channel, settings.max_attempts)
    channel.basic_qos(prefetch_count=1)
    done = 0
    idle_since = time.monotonic()
    echo(f"tune-worker {worker_id}: consuming {QUEUE} on {settings.display}")
    def alive() -> None:  # the liveness probe checks this file's age
        if alive_file:
            with open(alive_file, "a"):
                os.utime(alive_file)

    try:
        for method, props, body in channel.consume(QUEUE, inactivity_timeout=1.0):
            alive()
            if method is None:
                if idle_exit and time.monotonic() - idle_since > idle_exit:
                    break
                continue
            try:
                task = json.loads(body)
                trial_id = f"{task['trial']['search_id']}-{task['trial']['index']:05d}"
            except (ValueError, KeyError, TypeError):
                echo("tune-worker: rejected a malformed message (dead-lettered)")
                channel.basic_reject(method.delivery_tag, requeue=False)
                continue
            if store_for(task).get(trial_id) is not None:  # a re-published duplicate: never recompute
                echo(f"trial {trial_id} already stored; duplicate message acked")
                channel.basic_ack(method.delivery_tag)
                continue
            echo(f"trial {trial_id} started on {worker_id}")
            box: dict[str, Any] = {}

            def work() -> None:
                try:
                    box["result"] = run_task({**task, "worker": worker_id}, nthread=threads)
                except BaseException as exc:  # noqa: BLE001 - reported back through the store
                    box["error"] = f"{type(exc).__name__}: {exc}"

            thread = threading.Thread(target=work, daemon=True)
            thread.start()
            while thread.is_alive():
                connection.process_data_events(time_limit=1.0)  # heartbeats while the trial runs
                alive()
            if "error" in box:
                echo(f"trial {trial_id} failed on {worker_id}: {box['error']}")
                try:
                    store_for(task).record_error(trial_id, box["error"])
                except Exception:  # noqa: BLE001 - the store itself may be what fails
                    pass
                channel.basic_nack(method.delivery_tag, requeue=True)
            else:
                channel.basic_ack(method.delivery_tag)  # only now: the result is stored
                done += 1
                echo(f"trial {trial_id} done on {worker_id}")
            idle_since = time.monotonic()
            if max_trials and done >= max_trials:
                break
    finally:
        try:
            channel.cancel()
            connection.close()
        except Exception:  # noqa: BLE001
            pass
    return done
