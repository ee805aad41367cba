"""Helpers and fixtures for the tune tests (no tests here).

The tune extra (xgboost 1.6.1, the version Metarank 0.4.1 loads models with) lives in its own
venv ``.venv-tune`` (scripts/setup.sh test creates it): the tests run tune through it as
subprocesses. Missing under CI=true is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from support.net import free_port, wait_port

REPO = Path(__file__).resolve().parents[1]
TUNE_BIN = REPO / ".venv-tune" / "bin"
RABBIT_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")

FEATURES = [f"f{i}" for i in range(6)]


def _need(path: Path, what: str) -> None:
    if path.exists():
        return
    message = f"{path} is missing: {what}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def tune_bin() -> Path:
    _need(TUNE_BIN / "ranker-values", "run scripts/setup.sh test (creates .venv-tune with the tune extra)")
    return TUNE_BIN


def tune_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANKER_TUNE_", "AWS_"))}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"})
    env.update(extra)
    return env


def run_cli(args: list[str], timeout: float = 180, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(TUNE_BIN / "ranker-values"), *args], capture_output=True, text=True, timeout=timeout, env=tune_env(**env), cwd=REPO
    )


def run_py(code: str, timeout: float = 180, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(TUNE_BIN / "python"), "-c", code], capture_output=True, text=True, timeout=timeout, env=tune_env(**env), cwd=REPO
    )


def write_config(directory: Path, *, workdir: str, model_path: str, iterations: int = 10) -> Path:
    """A config whose model has the synthetic dataset's 6 columns; ``iterations: 10`` is what
    Metarank's own sample configs train with (doc/configuration.md)."""
    features = "\n".join(f"  - {{name: {f}, type: number, scope: item, source: item.{f}}}" for f in FEATURES)
    text = f"""features:
{features}
models:
  xgb:
    type: lambdamart
    path: {model_path}
    backend: {{type: xgboost, iterations: {iterations}}}
    features: [{', '.join(FEATURES)}]
    weights: {{click: 1}}
bootstrap:
  workdir: {workdir}
  source: {{type: file, path: s3://ranker/events/}}
inference:
  port: 8080
  state: {{type: redis, host: redis, port: 6379}}
  source: {{type: rest}}
"""
    path = directory / "config.yml"
    path.write_text(text)
    return path


def write_synthetic(uri: str, queries: int, seed: int = 1, endpoint: str | None = None, noise_only: bool = False) -> None:
    """Write a synthetic dataset in the engine's format (through .venv-tune: numpy 1.x)."""
    s3 = f"S3Settings(endpoint={endpoint!r}, path_style=True)" if endpoint else "None"
    shuffle = "import random\nr = random.Random(0)\nfor q in qs: r.shuffle(q['labels'])\n" if noise_only else ""
    code = (
        "from ranker_values.ops.s3 import S3Settings\n"
        "from ranker_values.ops.tune.synthetic import make_queries\n"
        "from ranker_values.ops.tune.dataset import write_dataset\n"
        "from ranker_values.ops.tune.locations import Location\n"
        f"qs = make_queries({queries}, seed={seed})\n"
        f"{shuffle}"
        f"write_dataset(Location({uri!r}, {s3}), qs, per_file=150)\n"
    )
    result = run_py(code)
    assert result.returncode == 0, result.stderr


# -- RabbitMQ -----------------------------------------------------------------------------------


def stop(process: subprocess.Popen) -> None:
    """Stop a process group we started: TERM, then KILL after 10 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="module")
def rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private Debian rabbitmq-server on 127.0.0.1 (own epmd, ports, dirs); its AMQP URL."""
    _need(RABBIT_SERVER, "install Debian's rabbitmq-server (scripts/setup.sh test does)")
    base = tmp_path_factory.mktemp("rabbitmq")
    amqp, dist, epmd_port = free_port(), free_port(), free_port()
    (base / "enabled_plugins").write_text("[].\n")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(base),
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(amqp),
        "RABBITMQ_DIST_PORT": str(dist),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "ERL_EPMD_PORT": str(epmd_port),
        "RABBITMQ_NODENAME": f"rabbit-tune-{amqp}@localhost",
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
        "RABBITMQ_CONF_ENV_FILE": str(base / "env.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
        "RABBITMQ_PID_FILE": str(base / "pid"),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
    }
    epmd_bin = shutil.which("epmd") or "/usr/bin/epmd"
    # our own epmd in the foreground, so it is ours to stop (a daemonized one would outlive us)
    epmd = subprocess.Popen([epmd_bin, "-address", "127.0.0.1", "-port", str(epmd_port)], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = open(base / "server.log", "w")
    server = subprocess.Popen([str(RABBIT_SERVER)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if not wait_port(amqp, 60):
            pytest.fail(f"rabbitmq-server did not listen on 127.0.0.1:{amqp} within 60 s; see {base / 'server.log'}")
        time.sleep(1.0)
        yield f"amqp://guest:guest@127.0.0.1:{amqp}/"
    finally:
        stop(server)
        stop(epmd)
        log.close()


def purge(url: str) -> None:
    """Empty the trial queue between tests (it is shared by every search)."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.queue_purge("ranker.tune.trials")
    except Exception:  # noqa: BLE001 - not declared yet
        pass
    finally:
        if connection.is_open:
            connection.close()


def start_worker(url: str, *args: str, log: Path) -> subprocess.Popen:
    handle = open(log, "w")
    return subprocess.Popen(
        [str(TUNE_BIN / "ranker-values"), "tune-worker", "--broker", url, *args],
        stdout=handle, stderr=subprocess.STDOUT, env=tune_env(), cwd=REPO, start_new_session=True,
    )


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
