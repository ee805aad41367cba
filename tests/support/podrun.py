"""Run the chart's pods as local processes: the engine in the loop without a container engine.

There is no container runtime on these machines, so this module does the few things a kubelet and
a container runtime do for ranker's pods, with Linux namespaces (needs root, like ``unshare``):

- **one pod network**: a network namespace with only loopback (``Netns``); every Service name of
  the release, every host the config names and the S3 endpoint's host (and its virtual-host bucket
  names) resolve to 127.0.0.1 through the pods' ``/etc/hosts``. Ports are the rendered ones, so a
  process listens and connects exactly where the manifests say; nothing leaves the machine.
- **one container root per container**: a private mount namespace whose root is a tmpfs holding
  read-only binds of ``/usr`` (+ the usrmerge links), an ``/etc`` with the image's ``flink`` user
  (uid/gid 9999), Java 11 at ``/usr/local/openjdk-11`` (the image's path, E03), the engine jar at
  ``/app/metarank.jar`` (E02), and every ``volumeMount`` of the container: ConfigMaps and Secrets
  as files written from the rendered (or given) objects, emptyDirs as fresh directories, PVCs as
  one directory per claim shared by every pod (a ReadWriteMany volume). The root is remounted
  read-only when ``readOnlyRootFilesystem`` is set, and the command runs as the pod's
  ``runAsUser``/``runAsGroup`` with ``fsGroup`` as a supplementary group and no capabilities.
- **the container's command**: ``command`` + ``args`` and ``env`` (``value``, ``secretKeyRef``,
  ``configMapKeyRef``, ``fieldRef``) as rendered.

A ``FlinkDeployment`` is bridged, not run by a Flink cluster: its JobManager pod (the merged
pod template) runs the job through Flink's own CLI from the engine jar (``CliFrontend run -t
local``: a local MiniCluster in that process) with a ``flink-conf.yaml`` built the way the
operator builds it (the spec's ``flinkConfiguration`` + ``parallelism.default``, the savepoint
to restore and ``allowNonRestoredState``). Flink's cluster mode (separate JobManager and
TaskManager processes, the operator's REST calls) is not exercised here.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CLONE_NEWNET = 0x40000000
JAVA_HOME_IN_POD = "/usr/local/openjdk-11"
JAR_IN_POD = "/app/metarank.jar"
#: PATH in the metarank image (openjdk base: java's bin first).
POD_PATH = f"{JAVA_HOME_IN_POD}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
FLINK_CONF_IN_POD = "/opt/flink/conf"


class PodError(RuntimeError):
    """A pod could not be set up or its process failed."""


def namespaces_unavailable() -> str | None:
    """Why this machine cannot run pods as processes, or None."""
    if os.geteuid() != 0:
        return "running pods as processes needs root (network and mount namespaces, chroot, setpriv)"
    for tool in ("unshare", "nsenter", "ip", "setpriv", "chroot", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (util-linux/iproute2)"
    probe = subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"this machine refuses new namespaces: {probe.stderr.strip()}"
    return None


# --- the pod network -----------------------------------------------------------------------------


class Netns:
    """A network namespace with loopback up, held open by a sleeping process."""

    def __init__(self) -> None:
        self._holder = subprocess.Popen(
            ["unshare", "--net", "--", "sleep", "infinity"], stdin=subprocess.DEVNULL, start_new_session=True
        )
        self.path = f"/proc/{self._holder.pid}/ns/net"
        for _ in range(100):
            if Path(self.path).exists() and os.readlink(self.path) != os.readlink("/proc/self/ns/net"):
                break
            time.sleep(0.02)
        subprocess.run(["nsenter", f"--net={self.path}", "ip", "link", "set", "lo", "up"], check=True)

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside this network namespace."""
        return ["nsenter", f"--net={self.path}", "--", *argv]

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Sockets this thread opens inside the block live in the pod network (test-side clients)."""
        libc = ctypes.CDLL(None, use_errno=True)
        with open("/proc/self/ns/net", "rb") as home, open(self.path, "rb") as pods:
            if libc.setns(pods.fileno(), CLONE_NEWNET) != 0:
                raise PodError(f"setns into the pod network failed: errno {ctypes.get_errno()}")
            try:
                yield
            finally:
                libc.setns(home.fileno(), CLONE_NEWNET)

    def close(self) -> None:
        if self._holder.poll() is None:
            self._holder.kill()
            self._holder.wait(timeout=10)


# --- objects -------------------------------------------------------------------------------------


def object_data(obj: Mapping[str, Any]) -> dict[str, bytes]:
    """A ConfigMap's or Secret's keys as bytes (``data`` of a Secret is base64)."""
    out: dict[str, bytes] = {}
    kind = obj.get("kind")
    for key, value in (obj.get("data") or {}).items():
        out[key] = base64.b64decode(value) if kind == "Secret" else str(value).encode()
    for key, value in (obj.get("stringData") or {}).items():
        out[key] = str(value).encode()
    for key, value in (obj.get("binaryData") or {}).items():
        out[key] = base64.b64decode(value)
    return out


@dataclass
class Objects:
    """The ConfigMaps and Secrets pods can mount or reference (rendered + pre-existing ones)."""

    config_maps: dict[str, dict[str, bytes]] = field(default_factory=dict)
    secrets: dict[str, dict[str, bytes]] = field(default_factory=dict)

    def add(self, objects: Iterable[Mapping[str, Any]]) -> None:
        for obj in objects:
            name = (obj.get("metadata") or {}).get("name")
            if obj.get("kind") == "ConfigMap":
                self.config_maps[name] = object_data(obj)
            elif obj.get("kind") == "Secret":
                self.secrets[name] = object_data(obj)

    def lookup(self, kind: str, name: str, key: str, optional: bool = False) -> bytes | None:
        store = self.secrets if kind == "Secret" else self.config_maps
        if name not in store or key not in store[name]:
            if optional:
                return None
            raise PodError(f"{kind} {name!r} has no key {key!r} (the pod would not start: CreateContainerConfigError)")
        return store[name][key]


# --- one container --------------------------------------------------------------------------------


@dataclass
class PodProcess:
    name: str
    process: subprocess.Popen
    log: Path
    root: Path

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise PodError(f"{self.name} did not finish within {timeout:.0f} s; log tail:\n{self.tail()}") from None

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the process group (a pod deletion), SIGKILL after ``grace`` seconds."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def tail(self, lines: int = 60) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class PodRunner:
    """Runs containers of rendered pods as processes in one pod network (see the module doc)."""

    def __init__(
        self,
        workspace: Path,
        netns: Netns,
        objects: Objects,
        jar: Path,
        java_home: Path,
        hosts: Iterable[str],
        namespace: str = "ranking",
    ) -> None:
        self.workspace = workspace
        self.netns = netns
        self.objects = objects
        self.jar = jar.resolve()
        self.java_home = java_home.resolve()
        self.namespace = namespace
        self.hosts = sorted(set(hosts))
        self.claims = workspace / "claims"
        self.claims.mkdir(parents=True, exist_ok=True)
        self._count = 0
        self.processes: list[PodProcess] = []

    def claim_dir(self, claim: str) -> Path:
        """The directory behind a PersistentVolumeClaim (shared by every pod, like RWX storage)."""
        path = self.claims / claim
        if not path.exists():
            path.mkdir(parents=True)
            os.chmod(path, 0o2775)
            os.chown(path, 0, 9999)
        return path

    # -- pod spec → process ----------------------------------------------------------------------

    def run_container(
        self,
        pod_name: str,
        pod_spec: Mapping[str, Any],
        container: Mapping[str, Any],
        *,
        command: Sequence[str] | None = None,
        extra_files: Mapping[str, bytes] | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> PodProcess:
        """Start one container of a pod; ``command`` replaces the container's command + args
        (the FlinkDeployment bridge), ``extra_files`` are read-only files placed in the root."""
        self._count += 1
        base = self.workspace / "pods" / f"{self._count:02d}-{pod_name}"
        root, stage = base / "root", base / "stage"
        root.mkdir(parents=True)
        stage.mkdir()
        pod_sc = pod_spec.get("securityContext") or {}
        sc = {**pod_sc, **(container.get("securityContext") or {})}
        uid = int(sc.get("runAsUser", 0))
        gid = int(sc.get("runAsGroup", uid))
        fs_group = pod_sc.get("fsGroup")

        mounts: list[tuple[Path, str, bool]] = []  # (source, path in the pod, read-only)
        volumes = {v["name"]: v for v in pod_spec.get("volumes") or []}
        for mount in container.get("volumeMounts") or []:
            volume = volumes.get(mount["name"])
            if volume is None:
                raise PodError(f"{pod_name}: volumeMount {mount['name']!r} names no volume of the pod")
            source = self._volume_source(stage, volume, fs_group)
            if mount.get("subPath"):
                source = source / mount["subPath"]
            mounts.append((source, mount["mountPath"], bool(mount.get("readOnly"))))
        paths = [m[1] for m in mounts]
        duplicates = sorted({p for p in paths if paths.count(p) > 1})
        if duplicates:
            raise PodError(f"{pod_name}: more than one volume mounted at {duplicates} (the API server refuses the pod)")
        for path_in_pod, content in (extra_files or {}).items():
            source = stage / "files" / path_in_pod.lstrip("/")
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_bytes(content)
            mounts.append((source.parent, str(Path(path_in_pod).parent), True))

        hostname = pod_name[:63].rstrip("-.")
        etc = self._etc(stage / "etc", hostname)
        for source, path, _ in mounts:  # mount points inside the image's /etc (e.g. /etc/redis)
            if path.startswith("/etc/"):
                point = etc / path.removeprefix("/etc/")
                point.mkdir(parents=True, exist_ok=True) if source.is_dir() else point.touch()
        env = {"PATH": POD_PATH, "HOSTNAME": hostname, "HOME": "/opt/flink" if uid == 9999 else "/root"}
        env["JAVA_HOME"] = JAVA_HOME_IN_POD
        env.update(self._env(pod_name, container))
        env.update(extra_env or {})
        argv = list(command) if command is not None else [*container.get("command", []), *container.get("args", [])]
        if not argv:
            raise PodError(f"{pod_name}: the container has no command (the image's entrypoint is not modelled)")

        script = self._setup_script(root, etc, mounts, bool(sc.get("readOnlyRootFilesystem")))
        groups = sorted({gid, int(fs_group)} if fs_group is not None else {gid})
        exec_line = [
            "chroot", str(root), "/usr/bin/setpriv",
            f"--reuid={uid}", f"--regid={gid}", f"--groups={','.join(map(str, groups))}",
            "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--",
            "/usr/bin/env", "-i", *[f"{k}={v}" for k, v in env.items()],
            "/bin/sh", "-c", f"cd {shlex.quote(container.get('workingDir') or '/')} && exec \"$@\"", "sh", *argv,
        ]  # fmt: skip
        if uid == 0:  # setpriv refuses --bounding-set changes it cannot undo for root: run plain
            exec_line = [*exec_line[:3], *exec_line[exec_line.index("--") + 1 :]]
        full = self.netns.command(
            ["unshare", "--mount", "--uts", "--propagation", "private", "--", "/bin/sh", "-c", f"hostname {shlex.quote(hostname)}\n" + script + "\nexec \"$@\"", "pod", *exec_line]
        )
        log = base / "log.txt"
        with open(log, "wb") as out:
            process = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        pod = PodProcess(pod_name, process, log, root)
        self.processes.append(pod)
        return pod

    def _volume_source(self, stage: Path, volume: Mapping[str, Any], fs_group: Any) -> Path:
        name = volume["name"]
        target = stage / "volumes" / name
        if "emptyDir" in volume:
            target.mkdir(parents=True, exist_ok=True)
            os.chmod(target, 0o777)  # kubelet: emptyDir is world-writable
            return target
        if "persistentVolumeClaim" in volume:
            path = self.claim_dir(volume["persistentVolumeClaim"]["claimName"])
            if fs_group is not None:  # kubelet: the volume's group becomes fsGroup, setgid, g+rwx
                os.chown(path, -1, int(fs_group))
                os.chmod(path, 0o2775)
            return path
        for kind, key, name_key in (("ConfigMap", "configMap", "name"), ("Secret", "secret", "secretName")):
            if key in volume:
                spec = volume[key]
                data = (self.objects.config_maps if kind == "ConfigMap" else self.objects.secrets).get(spec[name_key])
                if data is None:
                    if spec.get("optional"):
                        data = {}
                    else:
                        raise PodError(f"volume {name!r}: {kind} {spec[name_key]!r} does not exist (the pod stays ContainerCreating)")
                items = spec.get("items")
                selected = [(i["key"], i["path"]) for i in items] if items else [(k, k) for k in data]
                target.mkdir(parents=True, exist_ok=True)
                mode = int(spec.get("defaultMode", 0o644))
                for src_key, rel in selected:
                    if src_key not in data:
                        raise PodError(f"volume {name!r}: {kind} {spec[name_key]!r} has no key {src_key!r}")
                    dest = target / rel
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(data[src_key])
                    os.chmod(dest, mode)
                    if fs_group is not None:
                        os.chown(dest, 0, int(fs_group))
                return target
        raise PodError(f"volume {name!r}: type {sorted(set(volume) - {'name'})} is not modelled")

    def _etc(self, etc: Path, hostname: str) -> Path:
        """/etc of the engine image as far as the processes read it: users, hosts, resolver."""
        etc.mkdir(parents=True)
        (etc / "passwd").write_text(
            "root:x:0:0:root:/root:/bin/bash\nflink:x:9999:9999::/opt/flink:/bin/sh\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        )
        (etc / "group").write_text("root:x:0:\nflink:x:9999:\nnogroup:x:65534:\n")
        (etc / "nsswitch.conf").write_text("passwd: files\ngroup: files\nhosts: files\n")
        (etc / "resolv.conf").write_text("# the pod network has no DNS server: names come from /etc/hosts\n")
        lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost", f"127.0.0.1 {hostname}"]
        lines += [f"127.0.0.1 {host}" for host in self.hosts]
        (etc / "hosts").write_text("\n".join(lines) + "\n")
        return etc

    def _env(self, pod_name: str, container: Mapping[str, Any]) -> dict[str, str]:
        env: dict[str, str] = {}
        for source in container.get("envFrom") or []:
            prefix = source.get("prefix", "")
            for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                if key in source:
                    store = self.objects.config_maps if kind == "ConfigMap" else self.objects.secrets
                    data = store.get(source[key]["name"])
                    if data is None and not source[key].get("optional"):
                        raise PodError(f"{pod_name}: envFrom {kind} {source[key]['name']!r} does not exist")
                    for k, v in (data or {}).items():
                        env[prefix + k] = v.decode()
        for var in container.get("env") or []:
            if "value" in var:
                env[var["name"]] = str(var["value"])
                continue
            ref = var.get("valueFrom") or {}
            if "secretKeyRef" in ref or "configMapKeyRef" in ref:
                kind, spec = ("Secret", ref["secretKeyRef"]) if "secretKeyRef" in ref else ("ConfigMap", ref["configMapKeyRef"])
                value = self.objects.lookup(kind, spec["name"], spec["key"], bool(spec.get("optional")))
                if value is not None:
                    env[var["name"]] = value.decode()
            elif "fieldRef" in ref:
                path = ref["fieldRef"]["fieldPath"]
                env[var["name"]] = {
                    "metadata.name": pod_name,
                    "metadata.namespace": self.namespace,
                    "status.podIP": "127.0.0.1",
                    "spec.nodeName": "local",
                }.get(path, "")
            elif var.get("name"):
                env[var["name"]] = ""
        return env

    def _setup_script(self, root: Path, etc: Path, mounts: list[tuple[Path, str, bool]], read_only_root: bool) -> str:
        q = shlex.quote
        r = q(str(root))
        lines = [
            "set -e",
            f"mount -t tmpfs -o mode=755,size=64m ranker-pod-root {r}",
            f"mkdir -p {r}/usr {r}/proc {r}/dev {r}/sys {r}/etc {r}/app {r}/opt/flink {r}/tmp {r}/root",
            f"mount --rbind /usr {r}/usr && mount -o remount,bind,ro {r}/usr",
            f"mount -t tmpfs -o mode=755,size=1m ranker-usr-local {r}/usr/local",
            f"mkdir -p {r}{JAVA_HOME_IN_POD}",
            f"mount --bind {q(str(self.java_home))} {r}{JAVA_HOME_IN_POD} && mount -o remount,bind,ro {r}{JAVA_HOME_IN_POD}",
            f"mount -o remount,ro {r}/usr/local",
        ]
        for link in ("bin", "sbin", "lib", "lib64"):
            host = Path("/") / link
            if host.is_symlink():
                lines.append(f"ln -s {q(os.readlink(host))} {r}/{link}")
            elif host.is_dir():
                lines += [f"mkdir -p {r}/{link}", f"mount --rbind /{link} {r}/{link} && mount -o remount,bind,ro {r}/{link}"]
        lines += [
            f"mount --bind {q(str(etc))} {r}/etc && mount -o remount,bind,ro {r}/etc",
            f"mount --rbind /proc {r}/proc",
            f"mount --rbind /dev {r}/dev",
            f"mount --rbind /sys {r}/sys",
            f"touch {r}{JAR_IN_POD}",
            f"mount --bind {q(str(self.jar))} {r}{JAR_IN_POD} && mount -o remount,bind,ro {r}{JAR_IN_POD}",
        ]
        for source, path, read_only in mounts:
            target = f"{r}{q(path)}"
            kind = "-d" if source.is_dir() else "-f"
            lines.append(f"[ {kind} {target} ] || {{ mkdir -p {target}; }}" if source.is_dir() else f"mkdir -p $(dirname {target}); touch {target}")
            lines.append(f"mount --bind {q(str(source))} {target}")
            if read_only:
                lines.append(f"mount -o remount,bind,ro {target}")
        if read_only_root:
            lines.append(f"mount -o remount,ro {r}")
        return "\n".join(lines)

    # -- workloads ---------------------------------------------------------------------------------

    def run_pod_of(self, obj: Mapping[str, Any], container_name: str | None = None) -> PodProcess:
        """The (first or named) container of a Job's or Deployment's pod template."""
        template = obj["spec"]["template"]
        spec = template["spec"]
        containers = spec["containers"]
        container = next((c for c in containers if c["name"] == container_name), containers[0]) if container_name else containers[0]
        for init in spec.get("initContainers") or []:
            pod = self.run_container(f"{obj['metadata']['name']}-init-{init['name']}", spec, init)
            if pod.wait(timeout=120) != 0:
                raise PodError(f"init container {init['name']} failed:\n{pod.tail()}")
        return self.run_container(obj["metadata"]["name"], spec, container)

    def run_flink_deployment(self, fd: Mapping[str, Any], extra_conf: Mapping[str, str] | None = None) -> PodProcess:
        """The FlinkDeployment's job through Flink's CLI in a local MiniCluster (the bridge)."""
        spec = fd["spec"]
        job = spec.get("job") or {}
        pod_spec = merge_pod_templates(spec.get("podTemplate"), (spec.get("jobManager") or {}).get("podTemplate"))
        containers = pod_spec.get("containers") or []
        main = next((c for c in containers if c.get("name") == "flink-main-container"), {"name": "flink-main-container"})
        conf = flink_configuration(spec, extra_conf)
        jar = job.get("jarURI", "")
        if not jar.startswith("local://"):
            raise PodError(f"jarURI {jar!r}: only local:// jars in the image are modelled")
        # Flink's CLI resets execution.savepoint.ignore-unclaimed-state from its own options, so
        # the job's restore settings go as the CLI's -s/-n (what the operator's spec fields mean).
        restore: list[str] = []
        if job.get("initialSavepointPath"):
            restore = ["-s", str(job["initialSavepointPath"])] + (["-n"] if job.get("allowNonRestoredState") else [])
        command = [
            "java", "-Djava.io.tmpdir=/tmp", "-cp", JAR_IN_POD,
            "org.apache.flink.client.cli.CliFrontend", "run", "-t", "local", *restore,
            "-c", job["entryClass"], jar.removeprefix("local://"), *[str(a) for a in job.get("args") or []],
        ]  # fmt: skip
        # Flink 1.15 reads flink-conf.yaml as flat `key: value` lines (no YAML quoting).
        conf_text = "".join(f"{key}: {value}\n" for key, value in sorted(conf.items())).encode()
        return self.run_container(
            f"{fd['metadata']['name']}-jobmanager",
            pod_spec,
            main,
            command=command,
            extra_files={f"{FLINK_CONF_IN_POD}/flink-conf.yaml": conf_text},
            extra_env={"FLINK_CONF_DIR": FLINK_CONF_IN_POD},
        )

    def stop_all(self) -> None:
        for pod in self.processes:
            pod.stop(grace=5)


def merge_pod_templates(*templates: Mapping[str, Any] | None) -> dict[str, Any]:
    """The operator's pod template merge: later templates win, containers and volumes by name."""
    spec: dict[str, Any] = {}
    for template in templates:
        if not template:
            continue
        for key, value in (template.get("spec") or {}).items():
            if key in ("containers", "initContainers", "volumes") and key in spec:
                by_name = {item["name"]: dict(item) for item in spec[key]}
                for item in value:
                    if item["name"] in by_name:
                        merged = by_name[item["name"]]
                        for k, v in item.items():
                            if isinstance(v, list) and isinstance(merged.get(k), list) and k in ("env", "volumeMounts"):
                                merged[k] = [*merged[k], *v]
                            else:
                                merged[k] = v
                    else:
                        by_name[item["name"]] = dict(item)
                spec[key] = list(by_name.values())
            elif isinstance(value, Mapping) and isinstance(spec.get(key), Mapping):
                spec[key] = {**spec[key], **value}
            else:
                spec[key] = value
    return spec


def flink_configuration(spec: Mapping[str, Any], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """``flink-conf.yaml`` as the operator writes it for an application deployment's job."""
    job = spec.get("job") or {}
    conf = {str(k): str(v) for k, v in (spec.get("flinkConfiguration") or {}).items()}
    if job.get("parallelism") is not None:
        conf["parallelism.default"] = str(job["parallelism"])
    if job.get("initialSavepointPath"):
        conf["execution.savepoint.path"] = str(job["initialSavepointPath"])
        conf["execution.savepoint.ignore-unclaimed-state"] = str(bool(job.get("allowNonRestoredState"))).lower()
    conf.update(extra or {})
    return conf
