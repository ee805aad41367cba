"""A real Apache Kafka broker (KRaft, one node) in the release's pod network.

The jars come from Maven Central through ``scripts/kube-tools.sh kafka`` into
``$RANKER_TOOLS_DIR/kafka/lib`` (pinned ``KAFKA_VERSION``); the broker, the topic tool and the
console producer are Kafka's own classes run with the machine's Java. Missing jars skip the test
with the command (and fail it under CI, like every tool).
"""

from __future__ import annotations

import base64
import contextlib
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

from support.kube import TOOLS, missing_or_fail
from support.podrun import Netns

KAFKA_DIR = TOOLS / "kafka"


def kafka_classpath() -> str:
    lib = KAFKA_DIR / "lib"
    if not (KAFKA_DIR / ".version").is_file() or not any(lib.glob("kafka_2.13-*.jar")):
        missing_or_fail(f"{KAFKA_DIR} is missing: run scripts/kube-tools.sh kafka")
    return f"{lib}/*"


def _java() -> str:
    found = shutil.which("java")
    if not found:
        missing_or_fail("java (17) is not on PATH: the Kafka broker runs on it")
    return str(found)


class KafkaBroker:
    """One KRaft broker+controller at 127.0.0.1:``port`` inside ``netns``."""

    def __init__(self, netns: Netns, workdir: Path, port: int = 9092) -> None:
        self.netns, self.workdir, self.port = netns, workdir, port
        self.classpath = kafka_classpath()
        workdir.mkdir(parents=True, exist_ok=True)
        self.config = workdir / "server.properties"
        self.config.write_text(
            "process.roles=broker,controller\nnode.id=1\n"
            f"controller.quorum.voters=1@127.0.0.1:{port + 1}\n"
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{port + 1}\n"
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n"
            "controller.listener.names=CONTROLLER\ninter.broker.listener.name=PLAINTEXT\n"
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
            f"log.dirs={workdir / 'data'}\nnum.partitions=1\n"
            "offsets.topic.replication.factor=1\ntransaction.state.log.replication.factor=1\n"
            "transaction.state.log.min.isr=1\ngroup.initial.rebalance.delay.ms=0\n"
        )
        self.log4j = workdir / "log4j.properties"
        self.log4j.write_text(
            "log4j.rootLogger=WARN, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\nlog4j.logger.kafka.server.KafkaServer=INFO\n"
        )
        self.process: subprocess.Popen | None = None

    def _java(self, main: str, *args: str, heap: str = "256m") -> list[str]:
        return [_java(), f"-Xmx{heap}", "-XX:+UseSerialGC", f"-Dlog4j.configuration=file:{self.log4j}", "-cp", self.classpath, main, *args]

    def start(self, timeout: float = 120) -> KafkaBroker:
        # "--cluster-id=<id>": a random base64url id may start with "-"
        done = subprocess.run(
            self._java("kafka.tools.StorageTool", "format", "--cluster-id=" + base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode(), "-c", str(self.config)),
            capture_output=True, text=True, timeout=120, check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"kafka storage format failed:\n{done.stdout}{done.stderr}")
        log = open(self.workdir / "broker.log", "wb")
        self.process = subprocess.Popen(
            self.netns.command(self._java("kafka.Kafka", str(self.config), heap="512m")),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise AssertionError(f"the Kafka broker exited {self.process.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError), self.netns.entered(), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return self
            time.sleep(0.5)
        raise AssertionError(f"the Kafka broker did not listen within {timeout:g} s:\n{self.tail()}")

    def tail(self) -> str:
        with contextlib.suppress(OSError):
            return "\n".join((self.workdir / "broker.log").read_text(errors="replace").splitlines()[-40:])
        return ""

    def create_topic(self, topic: str, partitions: int = 1) -> None:
        done = subprocess.run(
            self.netns.command(self._java(
                "org.apache.kafka.tools.TopicCommand", "--bootstrap-server", f"127.0.0.1:{self.port}",
                "--create", "--topic", topic, "--partitions", str(partitions), "--replication-factor", "1",
            )),  # fmt: skip
            capture_output=True, text=True, timeout=120, check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"kafka-topics --create {topic} failed:\n{done.stdout}{done.stderr}")

    def produce(self, topic: str, lines: list[str]) -> None:
        """One message per line (Kafka's console producer, acks=all)."""
        done = subprocess.run(
            self.netns.command(self._java(
                "kafka.tools.ConsoleProducer", "--bootstrap-server", f"127.0.0.1:{self.port}", "--topic", topic,
                "--producer-property", "acks=all",
            )),  # fmt: skip
            input="".join(line + "\n" for line in lines), capture_output=True, text=True, timeout=120, check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"kafka-console-producer to {topic} failed:\n{done.stdout}{done.stderr}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
