"""The whole ranker lifecycle with the real engine: ``ranker-values gen`` → the chart's manifests
for each step → every engine container run as a process (``support.podrun``) against
redis-server and moto's S3 server in one pod network.

``Lifecycle(env)`` prepares one deployment (``dev``: the bundled Redis StatefulSet run from its
rendered command, the config's paths on a shared ReadWriteMany volume; ``prod``: an external
redis-server and S3 through moto, static keys from an existing Secret), then each step method
renders that step's values file and runs what the step adds, the way Helm + the operator would:

- ``bootstrap()``: the bootstrap FlinkDeployment (bridged: Flink's CLI, local MiniCluster)
- ``train()``: every train Job; ``upload()``: the upload Job
- ``api()``: the api Deployment (one replica), ready when ``/health`` answers
- ``update()``: the update FlinkDeployment from the steady-state values (``update.yaml``),
  restoring ``job.initialSavepointPath`` with ``allowNonRestoredState`` as rendered.

Nothing here fakes a stage: every file, key and HTTP answer the tests check was made by the
engine's own processes.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ranker_values.kube.render import parse_manifests
from ranker_values.kube.render import render_texts as render_texts_fresh
from ranker_values.values.files import deep_merge, merge_values_files
from support import CHART, ENV_VALUES, REPO
from support.engine import engine_jar, engine_java
from support.engine_events import history, jsonl
from support.podrun import Netns, Objects, PodError, PodProcess, PodRunner

RELEASE = "ranker"
NAMESPACE = "ranking"
BUCKET = "ranker-e2e"
S3_HOST = "s3.storage.test"  # the custom endpoint's host inside the pod network
S3_PORT = 9000
EXTERNAL_REDIS = "redis.data.test"  # prod's external Redis host
ACCESS_KEY, SECRET_KEY = "AKIARANKERE2E0000000", "ranker-e2e-secret-key-not-real-0000000000"


def _example_config(env: str) -> dict[str, Any]:
    """The bundled example with paths for this env and the rest feedback source (no Kafka here)."""
    config = yaml.safe_load((REPO / "examples" / "config.yml").read_text())
    if env == "dev":
        base = "/data/ranker"
        config["bootstrap"]["source"]["path"] = "/data/events/"
    else:
        base = f"s3://{BUCKET}/ranker"
        config["bootstrap"]["source"]["path"] = f"s3://{BUCKET}/events/"
    config["bootstrap"]["workdir"] = f"{base}/workdir"
    config["models"]["xgboost"]["path"] = f"{base}/models/xgboost.model"
    config["inference"]["state"]["host"] = EXTERNAL_REDIS
    # 0.4.1's rest source: the update job polls the api's GET /feedback (FeedbackApi.scala).
    config["inference"]["source"] = {"type": "rest", "host": "ranker-api", "port": 8080}
    config["inference"]["parallelism"] = 1
    return config


def _env_values(env: str) -> dict[str, Any]:
    """values/<env>.yaml plus what this machine needs (recorded in the README)."""
    values = yaml.safe_load(ENV_VALUES[env].read_text())
    existing = {"s3": {"auth": {"mode": "existingSecret", "existingSecret": "ranker-s3"}}}
    if env == "dev":
        extra = {"sharedVolume": {"enabled": True, "existingClaim": "ranker-data", "mountPath": "/data"}}
    else:
        extra = {
            "s3": {
                "endpoint": f"http://{S3_HOST}:{S3_PORT}",
                "pathStyleAccess": True,
                # IRSA needs STS: the Flink pods use the same static-keys Secret here.
                "auth": {"flinkMode": ""},
            },
            "flink": {"flinkConfiguration": {"fs.s3a.aws.credentials.provider": None}},
        }
    merged = deep_merge(deep_merge(values, existing), extra)
    flink_conf = merged.get("flink", {}).get("flinkConfiguration", {})
    for key in [k for k, v in flink_conf.items() if v is None]:
        del flink_conf[key]
    return merged


@dataclass
class StepResult:
    objects: list[dict[str, Any]]
    pods: list[PodProcess] = field(default_factory=list)


class Lifecycle:
    def __init__(self, env: str, workspace: Path, seed: int = 7, sessions: int = 400) -> None:
        self.env = env
        self.workspace = workspace
        self.jar, self.java = engine_jar(), engine_java()
        self.config = _example_config(env)
        self.items, self.events = history(seed=seed, session_count=sessions)
        workspace.mkdir(parents=True, exist_ok=True)
        self.config_path = workspace / "config.yml"
        self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        self.env_file = workspace / f"{env}-values.yaml"
        self.env_file.write_text(yaml.safe_dump(_env_values(env), sort_keys=False))
        self.generated = workspace / "generated"
        self._gen()
        self.netns = Netns()
        self.objects = Objects()
        # The Secret a user creates before installing (values: s3.auth.existingSecret).
        self.objects.secrets["ranker-s3"] = {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY.encode(),
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY.encode(),
        }
        self.runner = PodRunner(
            workspace, self.netns, self.objects, self.jar, self.java.parent.parent, self._hosts(), namespace=NAMESPACE
        )
        self.services: list[subprocess.Popen] = []
        self.redis_port = 6379
        self.redis_pod: PodProcess | None = None
        self.api_pod: PodProcess | None = None
        self.update_pod: PodProcess | None = None

    # -- set-up -----------------------------------------------------------------------------------

    def _gen(self) -> None:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "ranker-values"), "gen", str(self.config_path), "--env-file", str(self.env_file),
             "--out", str(self.generated)],
            cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise AssertionError(f"ranker-values gen failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def _hosts(self) -> list[str]:
        short = [f"{RELEASE}-api", f"{RELEASE}-redis", f"{RELEASE}-redis-headless", f"{RELEASE}-redis-0.{RELEASE}-redis-headless"]
        names = []
        for name in short:
            names += [name, f"{name}.{NAMESPACE}", f"{name}.{NAMESPACE}.svc", f"{name}.{NAMESPACE}.svc.cluster.local"]
        names += [EXTERNAL_REDIS, S3_HOST, f"{BUCKET}.{S3_HOST}", "ranker-api"]
        return names

    def render(self, step: str, overrides: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        values = merge_values_files([self.env_file, self.generated / f"{step}.yaml"])
        values = deep_merge(values, copy.deepcopy(dict(overrides or {})))
        manifests = parse_manifests(render_texts_fresh(values, CHART, RELEASE, NAMESPACE))
        objects = [dict(m) for m in manifests]
        self.objects.add(objects)
        return objects

    def start_storage(self) -> None:
        """S3 (prod: moto's server at the endpoint's port) and the external Redis (prod)."""
        if self.env == "prod":
            moto = subprocess.Popen(
                self.netns.command([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(S3_PORT)]),
                stdout=open(self.workspace / "moto.log", "wb"), stderr=subprocess.STDOUT,
                env={**os.environ, "MOTO_S3_CUSTOM_ENDPOINTS": f"http://{S3_HOST}:{S3_PORT}"},
            )  # fmt: skip
            self.services.append(moto)
            redis = subprocess.Popen(
                self.netns.command(["redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port), "--save", "",
                                    "--appendonly", "no", "--dir", str(self.workspace)]),
                stdout=open(self.workspace / "redis.log", "wb"), stderr=subprocess.STDOUT,
            )  # fmt: skip
            self.services.append(redis)
            self._wait(lambda: self._s3_ready(), 30, "moto's S3 server")
            with self.netns.entered():
                self.s3().create_bucket(Bucket=BUCKET)
        self.put_events("events/history.jsonl", jsonl(self.events))

    def _s3_ready(self) -> bool:
        try:
            with self.netns.entered():
                urllib.request.urlopen(f"http://127.0.0.1:{S3_PORT}/", timeout=2).read()
            return True
        except (OSError, urllib.error.URLError):
            return False

    def s3(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=f"http://127.0.0.1:{S3_PORT}", region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )  # fmt: skip

    def put_events(self, relative: str, data: bytes) -> None:
        if self.env == "dev":
            path = self.runner.claim_dir("ranker-data") / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            os.chown(path, 9999, 9999)
        else:
            with self.netns.entered():
                self.s3().put_object(Bucket=BUCKET, Key=relative, Body=data)

    # -- storage views ----------------------------------------------------------------------------

    def list_workdir(self, prefix: str = "") -> list[str]:
        """Keys (prod) or files (dev) under ``<workdir>/<prefix>``, relative to the workdir."""
        if self.env == "dev":
            root = self.runner.claim_dir("ranker-data") / "ranker" / "workdir"
            return sorted(str(p.relative_to(root)) for p in (root / prefix).rglob("*") if p.is_file())
        keys: list[str] = []
        with self.netns.entered():
            pages = self.s3().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"ranker/workdir/{prefix}")
            for page in pages:
                # S3A's directory markers ("<dir>/", zero bytes) are not data
                keys += [o["Key"].removeprefix("ranker/workdir/") for o in page.get("Contents", []) if not o["Key"].endswith("/")]
        return sorted(keys)

    def read_workdir(self, relative: str) -> bytes:
        if self.env == "dev":
            return (self.runner.claim_dir("ranker-data") / "ranker" / "workdir" / relative).read_bytes()
        with self.netns.entered():
            return self.s3().get_object(Bucket=BUCKET, Key=f"ranker/workdir/{relative}")["Body"].read()

    def model_bytes(self) -> bytes:
        if self.env == "dev":
            return (self.runner.claim_dir("ranker-data") / "ranker" / "models" / "xgboost.model").read_bytes()
        with self.netns.entered():
            return self.s3().get_object(Bucket=BUCKET, Key="ranker/models/xgboost.model")["Body"].read()

    def write_model(self, data: bytes) -> None:
        if self.env == "dev":
            path = self.runner.claim_dir("ranker-data") / "ranker" / "models" / "xgboost.model"
            path.write_bytes(data)
        else:
            with self.netns.entered():
                self.s3().put_object(Bucket=BUCKET, Key="ranker/models/xgboost.model", Body=data)

    def redis(self) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.redis_port, socket_timeout=5)

    def redis_snapshot(self) -> dict[bytes, bytes]:
        """Every key and its value (feature values are plain strings in 0.4.1's Redis layout)."""
        with self.netns.entered():
            client = self.redis()
            out = {}
            for key in client.scan_iter(count=1000):
                if client.type(key) == b"string":
                    out[key] = client.get(key)
                else:
                    out[key] = repr(client.dump(key)).encode()
            client.close()
        return out

    # -- HTTP to the api ----------------------------------------------------------------------------

    def http(self, method: str, path: str, body: Any = None, timeout: float = 30) -> tuple[int, bytes]:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(f"http://127.0.0.1:8080{path}", data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with self.netns.entered():
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as error:
                return error.code, error.read()

    # -- steps ----------------------------------------------------------------------------------------

    def start_redis(self, objects: Iterable[dict[str, Any]]) -> None:
        """dev: the bundled Redis StatefulSet's container as rendered (redis-server from Debian)."""
        sts = next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == f"{RELEASE}-redis")
        spec = sts["spec"]["template"]["spec"]
        for claim in sts["spec"].get("volumeClaimTemplates") or []:
            name = claim["metadata"]["name"]
            spec.setdefault("volumes", []).append(
                {"name": name, "persistentVolumeClaim": {"claimName": f"{name}-{sts['metadata']['name']}-0"}}
            )
        self.redis_pod = self.runner.run_container(f"{sts['metadata']['name']}-0", spec, spec["containers"][0])
        self._wait(lambda: self._redis_ready(), 30, "the bundled Redis", self.redis_pod)

    def _redis_ready(self) -> bool:
        try:
            with self.netns.entered():
                client = self.redis()
                ok = bool(client.ping())
                client.close()
            return ok
        except Exception:
            return False

    def bootstrap(self, timeout: float = 600, overrides: Mapping[str, Any] | None = None,
                  job: Mapping[str, Any] | None = None) -> tuple[list[dict[str, Any]], PodProcess]:
        """The bootstrap FlinkDeployment run to its end; ``job`` patches the rendered ``spec.job``
        (to ask the engine about a spec the chart would refuse)."""
        objects = self.render("bootstrap", overrides)
        fd = copy.deepcopy(_one(objects, "FlinkDeployment", "bootstrap"))
        fd["spec"]["job"].update(job or {})
        pod = self.runner.run_flink_deployment(fd)
        _expect_success(pod, timeout)
        return objects, pod

    def train(self, timeout: float = 300) -> tuple[list[dict[str, Any]], list[PodProcess]]:
        objects = self.render("train")
        pods = []
        for job in [o for o in objects if o["kind"] == "Job" and _component(o) == "train"]:
            pod = self.runner.run_pod_of(job)
            _expect_success(pod, timeout)
            pods.append(pod)
        return objects, pods

    def upload(self, timeout: float = 300) -> tuple[list[dict[str, Any]], PodProcess]:
        objects = self.render("upload")
        if self.env == "dev" and self.redis_pod is None:
            self.start_redis(objects)
        job = _one(objects, "Job", "upload")
        pod = self.runner.run_pod_of(job)
        _expect_success(pod, timeout)
        return objects, pod

    def api(self, step: str = "api", timeout: float = 120) -> tuple[list[dict[str, Any]], PodProcess]:
        objects = self.render(step)
        if self.env == "dev" and self.redis_pod is None:
            self.start_redis(objects)
        deployment = _one(objects, "Deployment", "api")
        self.api_pod = self.runner.run_pod_of(deployment)
        self._wait(lambda: self._healthy(), timeout, "the api's /health", self.api_pod)
        return objects, self.api_pod

    def _healthy(self) -> bool:
        try:
            return self.http("GET", "/health", timeout=2)[0] == 200
        except (OSError, urllib.error.URLError):
            return False

    def update(self, overrides: Mapping[str, Any] | None = None, job: Mapping[str, Any] | None = None) -> tuple[list[dict[str, Any]], PodProcess]:
        """The update FlinkDeployment; ``job`` patches the rendered ``spec.job`` (to ask the engine
        about a spec the chart would refuse)."""
        objects = self.render("update", overrides)
        fd = copy.deepcopy(_one(objects, "FlinkDeployment", "update"))
        fd["spec"]["job"].update(job or {})
        pod = self.runner.run_flink_deployment(fd, extra_conf=self.bridge_conf(fd))
        if job is None:
            self.update_pod = pod
        return objects, pod

    @staticmethod
    def bridge_conf(fd: Mapping[str, Any]) -> dict[str, str]:
        """What the local MiniCluster cannot do: Kubernetes HA (needs the API server)."""
        conf = (fd["spec"].get("flinkConfiguration") or {})
        return {"high-availability": "NONE"} if conf.get("high-availability") not in (None, "NONE") else {}

    def _wait(self, ready: Any, timeout: float, what: str, pod: PodProcess | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if pod is not None and not pod.running():
                raise PodError(f"{what}: {pod.name} exited with {pod.process.returncode}:\n{pod.tail()}")
            time.sleep(0.5)
        raise PodError(f"{what} not ready within {timeout:.0f} s" + (f":\n{pod.tail()}" if pod else ""))

    def close(self) -> None:
        self.runner.stop_all()
        for service in self.services:
            service.terminate()
            try:
                service.wait(timeout=10)
            except subprocess.TimeoutExpired:
                service.kill()
        self.netns.close()


def _component(obj: Mapping[str, Any]) -> str | None:
    return ((obj.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/component")


def _one(objects: list[dict[str, Any]], kind: str, component: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and _component(o) == component]
    if len(found) != 1:
        raise AssertionError(f"expected one {kind} of component {component}, rendered {len(found)}")
    return found[0]


def _expect_success(pod: PodProcess, timeout: float) -> None:
    code = pod.wait(timeout)
    if code != 0:
        raise PodError(f"{pod.name} exited with {code}; log tail:\n{pod.tail(80)}")
