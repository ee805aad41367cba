"""Back the Flink operator's JobManager pods with real Flink processes (issue 16's bridge).

The control plane here (``scripts/kube-up.sh``) has no kubelet: kwok reports pods Running and
nothing runs in them. ``JobManagerBridge`` watches one namespace for the JobManager pods the real
Flink operator creates for a ``FlinkDeployment`` (labels ``component=jobmanager``,
``type=flink-native-kubernetes``) and does what the kubelet + image would do:

- when such a pod is Running (and not being deleted), it reads the pod from the API server, the
  ConfigMaps and Secrets it mounts or references (the operator's ``flink-config-<cluster>`` with the
  ``flink-conf.yaml`` the operator wrote, the chart's ConfigMaps, the S3 Secret), and starts the pod's
  ``flink-main-container`` through ``support.podrun.PodRunner`` (the pod's env, mounts, uid, read-only
  root, in the release's pod network) with ``tests/flink_bridge/FlinkPodBridge.java`` as the command:
  Flink's own application cluster entrypoint from the engine jar (dispatcher, REST endpoint, the
  job's savepoint settings from the mounted configuration) with the standalone resource manager and
  one TaskManager in the same JVM;
- the JobManager's REST port is forwarded from ``127.77.0.N:<rest.port>`` on the host to the pod
  network, and the operator's hosts file (``-Djdk.net.hosts.file``, see kube-up.sh) maps
  ``<cluster>-rest.<namespace>`` there, so the operator's REST client reaches the real Flink REST API;
- when the pod is deleted (the operator deleting the cluster for an upgrade) the process gets
  SIGTERM, like a container.

What is bridged, not real: pods are processes (no image, no kubelet), the TaskManager is in the
JobManager's JVM (no TaskManager pods), high-availability is NONE, the pod's service-account
token volume is not mounted (nothing in a non-HA Flink JobManager reads the API server), and
``org.apache.kafka.`` is loaded parent-first (Flink and the connector come from the same jar on
the system classpath here, not from ``/opt/flink/lib``).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support import REPO
from support.kube import KUBE_DIR, KubeEnv
from support.podrun import JAR_IN_POD, Netns, Objects, PodError, PodProcess, PodRunner, object_data

BRIDGE_SOURCE = REPO / "tests" / "flink_bridge" / "FlinkPodBridge.java"
BRIDGE_DIR_IN_POD = "/opt/ranker-bridge"
OPERATOR_HOSTS = KUBE_DIR / "operator-conf" / "hosts"
JM_SELECTOR = "component=jobmanager,type=flink-native-kubernetes"
_HOSTS_LOCK = threading.Lock()


def bridge_classes() -> Path:
    from support.engine_probe import compiled_classes

    return compiled_classes(BRIDGE_SOURCE)


class Forwarder:
    """TCP from ``host:port`` on the machine to ``127.0.0.1:target_port`` in the pod network."""

    def __init__(self, host: str, port: int, netns: Netns, target_port: int) -> None:
        self.netns, self.target_port = netns, target_port
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind((host, port))
        self.server.listen(64)
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            with self.netns.entered():
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
        except OSError:
            client.close()  # nothing listens yet: the operator sees a refused/closed connection
            return
        upstream.settimeout(None)

        def pipe(src: socket.socket, dst: socket.socket) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)

        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        pipe(client, upstream)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.server.close()


@dataclass
class BridgedPod:
    cluster: str
    pod: str
    uid: str
    process: PodProcess
    rest_port: int
    started: float
    stopped: float | None = None


@dataclass
class JobManagerBridge:
    kube: KubeEnv
    namespace: str
    runner: PodRunner
    objects: Objects
    netns: Netns
    java_heap: str = "900m"
    pods: dict[str, BridgedPod] = field(default_factory=dict)  # by pod uid
    errors: list[str] = field(default_factory=list)
    _forwarders: dict[str, Forwarder] = field(default_factory=dict)  # by cluster
    _addresses: dict[str, str] = field(default_factory=dict)  # by cluster
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> JobManagerBridge:
        self.classes = bridge_classes()
        self._thread = threading.Thread(target=self._loop, name="jm-bridge", daemon=True)
        self._thread.start()
        return self

    # -- what tests read -------------------------------------------------------------------------

    def running(self, cluster: str) -> BridgedPod | None:
        for pod in self.pods.values():
            if pod.cluster == cluster and pod.stopped is None and pod.process.running():
                return pod
        return None

    def history(self, cluster: str) -> list[BridgedPod]:
        return sorted((p for p in self.pods.values() if p.cluster == cluster), key=lambda p: p.started)

    def rest_get(self, cluster: str, path: str, timeout: float = 10) -> Any:
        """GET on the cluster's REST API the way the operator reaches it (through the forwarder)."""
        import urllib.request

        address = self._addresses[cluster]
        pod = self.running(cluster)
        port = pod.rest_port if pod else 8081
        with urllib.request.urlopen(f"http://{address}:{port}{path}", timeout=timeout) as response:
            return json.loads(response.read())

    # -- the watch loop ----------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._sync()
            except Exception as error:  # noqa: BLE001 - recorded for the test to show, loop goes on
                self.errors.append(f"{type(error).__name__}: {error}")
            self._stop.wait(0.5)

    def _sync(self) -> None:
        done = self.kube.kubectl("get", "pods", "-n", self.namespace, "-l", JM_SELECTOR, "-o", "json", check=False, timeout=30)
        if done.returncode != 0:
            return
        live = {}
        for pod in json.loads(done.stdout)["items"]:
            meta = pod["metadata"]
            if meta.get("deletionTimestamp") or (pod.get("status") or {}).get("phase") != "Running":
                continue
            live[meta["uid"]] = pod
        # pods gone from the API (or being deleted): their processes get SIGTERM, like a container
        for uid, bridged in list(self.pods.items()):
            if uid not in live and bridged.stopped is None:
                bridged.process.stop(grace=30)
                bridged.stopped = time.monotonic()
        for uid, pod in live.items():
            if uid in self.pods:
                continue
            cluster = pod["metadata"]["labels"].get("app", pod["metadata"]["name"])
            # one JobManager per cluster at a time (the old one's ports must be free first)
            if any(p.cluster == cluster and p.process.running() for p in self.pods.values()):
                continue
            self._start(cluster, pod)

    def _refresh_objects(self, spec: Mapping[str, Any]) -> bool:
        """Read the ConfigMaps and Secrets the pod needs; False while one is still missing."""
        wanted: set[tuple[str, str]] = set()
        for volume in spec.get("volumes") or []:
            if "configMap" in volume and not volume["configMap"].get("optional"):
                wanted.add(("configmap", volume["configMap"]["name"]))
            if "secret" in volume and not volume["secret"].get("optional"):
                wanted.add(("secret", volume["secret"]["secretName"]))
        for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
            for var in container.get("env") or []:
                ref = var.get("valueFrom") or {}
                if "secretKeyRef" in ref:
                    wanted.add(("secret", ref["secretKeyRef"]["name"]))
                if "configMapKeyRef" in ref:
                    wanted.add(("configmap", ref["configMapKeyRef"]["name"]))
            for source in container.get("envFrom") or []:
                if "secretRef" in source:
                    wanted.add(("secret", source["secretRef"]["name"]))
                if "configMapRef" in source:
                    wanted.add(("configmap", source["configMapRef"]["name"]))
        for kind, name in sorted(wanted):
            obj = self.kube.get(kind, name, self.namespace)
            if obj is None:
                return False
            store = self.objects.secrets if kind == "secret" else self.objects.config_maps
            store[name] = object_data({**obj, "kind": "Secret" if kind == "secret" else "ConfigMap"})
        return True

    def _address(self, cluster: str) -> str:
        if cluster not in self._addresses:
            self._addresses[cluster] = f"127.77.0.{len(self._addresses) + 1}"
        return self._addresses[cluster]

    def _start(self, cluster: str, pod: Mapping[str, Any]) -> None:
        spec = json.loads(json.dumps(pod["spec"]))
        # the admission-added service-account token (projected) is not modelled: drop it
        dropped = {v["name"] for v in spec.get("volumes") or [] if "projected" in v}
        spec["volumes"] = [v for v in spec.get("volumes") or [] if v["name"] not in dropped]
        for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
            container["volumeMounts"] = [m for m in container.get("volumeMounts") or [] if m["name"] not in dropped]
        if not self._refresh_objects(spec):
            return  # a ConfigMap/Secret is not there yet: the kubelet would wait too
        main = next(c for c in spec["containers"] if c["name"] == "flink-main-container")
        conf = _flink_conf(self.objects, spec, main)
        rest_port = int(conf.get("rest.port", 8081))
        slots = max(int(conf.get("taskmanager.numberOfTaskSlots", 1)), int(conf.get("parallelism.default", 1)))
        overrides = {
            "high-availability": "NONE",
            "jobmanager.rpc.address": "127.0.0.1",
            "rest.address": "127.0.0.1",
            "rest.bind-address": "127.0.0.1",
            "taskmanager.host": "127.0.0.1",
            "taskmanager.bind-host": "127.0.0.1",
            "taskmanager.numberOfTaskSlots": str(slots),
            # Flink itself comes from the engine jar on the system classpath here (the image has
            # flink-dist in /opt/flink/lib and the jar only as user code), so the Kafka connector
            # (org.apache.flink.*, parent-first) loads from the parent: its Kafka client must too,
            # or a user class loader's copy of it breaks loader constraints.
            "classloader.parent-first-patterns.additional": ";".join(
                p for p in (conf.get("classloader.parent-first-patterns.additional"), "org.apache.kafka.") if p
            ),
        }
        command = [
            "java", f"-Xmx{self.java_heap}", "-XX:+UseSerialGC", "-Djava.io.tmpdir=/tmp",
            "-cp", f"{JAR_IN_POD}:{BRIDGE_DIR_IN_POD}", "FlinkPodBridge", "/opt/flink/conf",
            *[f"{k}={v}" for k, v in overrides.items()],
        ]  # fmt: skip
        for init in spec.get("initContainers") or []:
            init_pod = self.runner.run_container(f"{pod['metadata']['name']}-init-{init['name']}", spec, init)
            if init_pod.wait(timeout=120) != 0:
                raise PodError(f"init container {init['name']} failed:\n{init_pod.tail()}")
        process = self.runner.run_container(
            pod["metadata"]["name"], spec, main, command=command,
            extra_files={f"{BRIDGE_DIR_IN_POD}/FlinkPodBridge.class": (self.classes / "FlinkPodBridge.class").read_bytes()},
        )  # fmt: skip
        address = self._address(cluster)
        if cluster not in self._forwarders:
            self._forwarders[cluster] = Forwarder(address, rest_port, self.netns, rest_port)
            self._set_hosts(cluster, address)
        self.pods[pod["metadata"]["uid"]] = BridgedPod(
            cluster, pod["metadata"]["name"], pod["metadata"]["uid"], process, rest_port, time.monotonic()
        )

    def _set_hosts(self, cluster: str, address: str | None) -> None:
        names = [f"{cluster}-rest.{self.namespace}", f"{cluster}-rest.{self.namespace}.svc",
                 f"{cluster}-rest.{self.namespace}.svc.cluster.local"]  # fmt: skip
        with _HOSTS_LOCK:
            lines = OPERATOR_HOSTS.read_text().splitlines() if OPERATOR_HOSTS.exists() else ["127.0.0.1 localhost"]
            lines = [line for line in lines if not any(line.split()[1:2] == [n] for n in names)]
            if address:
                lines += [f"{address} {name}" for name in names]
            tmp = OPERATOR_HOSTS.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text("\n".join(lines) + "\n")
            tmp.replace(OPERATOR_HOSTS)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
        for bridged in self.pods.values():
            bridged.process.stop(grace=20)
        for cluster, forwarder in self._forwarders.items():
            forwarder.close()
            self._set_hosts(cluster, None)


def _flink_conf(objects: Objects, spec: Mapping[str, Any], main: Mapping[str, Any]) -> dict[str, str]:
    """The flink-conf.yaml mounted at /opt/flink/conf (flat ``key: value`` lines, as Flink reads it)."""
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    for mount in main.get("volumeMounts") or []:
        if mount["mountPath"].rstrip("/") == "/opt/flink/conf":
            volume = volumes[mount["name"]]
            data = objects.config_maps.get(volume.get("configMap", {}).get("name"), {})
            text = data.get("flink-conf.yaml", b"").decode()
            conf = {}
            for line in text.splitlines():
                if ":" in line and not line.lstrip().startswith("#"):
                    key, value = line.split(":", 1)
                    conf[key.strip()] = value.strip()
            return conf
    raise PodError("the JobManager pod mounts no /opt/flink/conf")


def kill_stale(pattern: str = "FlinkPodBridge") -> None:
    """Bridged JobManagers an interrupted earlier run left behind."""
    subprocess.run(["pkill", "-f", pattern], check=False)
