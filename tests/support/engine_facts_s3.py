"""The chart's prod train Job run against moto's S3 on a dataset the test puts there (E06, E09).

``TrainOnS3(workspace, features)`` is ``support.lifecycle.Lifecycle("prod")`` with the bundled
example config cut down to ``features`` and its one lambdamart model (``xgboost``) over them: the
same prod values, Secret, endpoint and moto server as the lifecycle, but no bootstrap — the test
uploads a dataset a real bootstrap wrote (``put_dataset``) and runs the rendered train Job
(``run_train``), whatever its exit code; or puts a bootstrap's ``features/`` there (``put_tree``)
and starts the rendered upload Job (``start_upload``, optionally as another uid: E16). ``run_train(credentials=IRSA_AND_PROFILE)`` runs it with
the Secret's static keys taken out of its env and what IRSA and the default provider chain would
give the pod instead (E06).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from support.lifecycle import ACCESS_KEY, BUCKET, SECRET_KEY, Lifecycle, _component
from support.podrun import PodProcess

WORKDIR_KEY = "ranker/workdir"
MODEL_KEY = "ranker/models/xgboost.model"

#: What the EKS pod identity webhook adds to a pod of an annotated service account (IRSA), and
#: a shared credentials file (``$HOME/.aws/credentials``, named too) whose profiles hold the
#: keys moto's bucket was made with: the default provider chain of the AWS SDK would take either.
IRSA_TOKEN_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
CREDENTIALS_DIR = "/opt/flink/.aws"  # $HOME of uid 9999 in the pod
IRSA_AND_PROFILE = {
    "env": {
        "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/ranker",
        "AWS_WEB_IDENTITY_TOKEN_FILE": f"{IRSA_TOKEN_DIR}/token",
        "AWS_STS_REGIONAL_ENDPOINTS": "regional",
        "AWS_SHARED_CREDENTIALS_FILE": f"{CREDENTIALS_DIR}/credentials",
        "AWS_PROFILE": "ranker",
    },
    "secrets": {
        "aws-iam-token": {"token": b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6cmFua2luZzpyYW5rZXIifQ.c2ln"},
        "aws-credentials": {
            "credentials": "".join(
                f"[{profile}]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
                for profile in ("default", "ranker")
            ).encode(),
        },
    },
    "mounts": {"aws-iam-token": IRSA_TOKEN_DIR, "aws-credentials": CREDENTIALS_DIR},
}


class TrainOnS3(Lifecycle):
    def __init__(self, workspace: Path, features: list[dict[str, Any]]) -> None:
        self._features = features
        super().__init__("prod", workspace)

    def _gen(self) -> None:
        model = dict(self.config["models"]["xgboost"])
        model["features"] = [f["name"] for f in self._features]
        model["backend"] = {"type": "xgboost", "iterations": 5, "seed": 42}
        model["weights"] = {"click": 1}
        self.config["features"] = self._features
        self.config["models"] = {"xgboost": model}
        self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        super()._gen()

    def put_objects(self, objects: Mapping[str, bytes]) -> None:
        with self.netns.entered():
            client = self.s3()
            for key, body in objects.items():
                client.put_object(Bucket=BUCKET, Key=key, Body=body)

    def delete_objects(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        with self.netns.entered():
            client = self.s3()
            for start in range(0, len(keys), 1000):
                client.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]]})

    def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (all pages)."""
        found: list[str] = []
        with self.netns.entered():
            for page in self.s3().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
                found += [o["Key"] for o in page.get("Contents", [])]
        return found

    def put_dataset(self, dataset_dir: Path, model: str = "xgboost") -> list[str]:
        """The files of a bootstrap's local ``dataset-<model>/`` under the S3 workdir; their keys."""
        objects = {
            f"{WORKDIR_KEY}/dataset-{model}/{p.relative_to(dataset_dir)}": p.read_bytes()
            for p in sorted(dataset_dir.rglob("*")) if p.is_file()
        }  # fmt: skip
        self.put_objects(objects)
        return sorted(objects)

    def put_tree(self, local_dir: Path, key_prefix: str) -> list[str]:
        """The files under ``local_dir`` as objects under ``key_prefix``; their keys."""
        objects = {f"{key_prefix}/{p.relative_to(local_dir)}": p.read_bytes() for p in sorted(local_dir.rglob("*")) if p.is_file()}
        self.put_objects(objects)
        return sorted(objects)

    def start_upload(self, uid: int | None = None) -> PodProcess:
        """The rendered upload Job's pod, started. ``uid`` replaces the pod's and its containers'
        ``runAsUser``/``runAsGroup`` and the pod's ``fsGroup``, the way OpenShift's restricted SCC
        assigns an arbitrary uid from the namespace's range (no passwd entry in the image)."""
        objects = self.render("upload")
        jobs = [o for o in objects if o["kind"] == "Job" and _component(o) == "upload"]
        assert len(jobs) == 1, [o["metadata"]["name"] for o in jobs]
        job = copy.deepcopy(jobs[0])
        if uid is not None:
            spec = job["spec"]["template"]["spec"]
            contexts = [spec.setdefault("securityContext", {})]
            contexts += [c.setdefault("securityContext", {}) for c in [*spec["containers"], *(spec.get("initContainers") or [])]]
            for sc in contexts:
                for key in ("runAsUser", "runAsGroup", "fsGroup"):
                    if key in sc:
                        sc[key] = uid
            assert spec["securityContext"].get("runAsUser") == uid, spec["securityContext"]
        return self.runner.run_pod_of(job)

    def run_train(self, timeout: float = 240, credentials: Mapping[str, Any] | None = None) -> tuple[int, PodProcess]:
        """The rendered train Job's pod (init containers first), run to its end: (exit code, pod).
        ``credentials`` (like ``IRSA_AND_PROFILE``) replaces the static keys in the container's env
        with its ``env``, and mounts its ``secrets`` read-only at its ``mounts``."""
        objects = self.render("train")
        jobs = [o for o in objects if o["kind"] == "Job" and _component(o) == "train"]
        assert len(jobs) == 1, [o["metadata"]["name"] for o in jobs]
        job = jobs[0]
        if credentials is not None:
            job = copy.deepcopy(job)
            spec = job["spec"]["template"]["spec"]
            container = spec["containers"][0]
            static = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
            assert static <= {v["name"] for v in container["env"]}, container["env"]
            container["env"] = [v for v in container["env"] if v["name"] not in static]
            container["env"] += [{"name": k, "value": v} for k, v in credentials["env"].items()]
            for name, data in credentials["secrets"].items():
                self.objects.secrets[name] = dict(data)
                spec["volumes"].append({"name": name, "secret": {"secretName": name}})
                container["volumeMounts"].append({"name": name, "mountPath": credentials["mounts"][name], "readOnly": True})
        pod = self.runner.run_pod_of(job)
        return pod.wait(timeout), pod
