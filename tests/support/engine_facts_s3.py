"""The chart's prod train Job run against moto's S3 on a dataset the test puts there (E09).

``TrainOnS3(workspace, features)`` is ``support.lifecycle.Lifecycle("prod")`` with the bundled
example config cut down to ``features`` and its one lambdamart model (``xgboost``) over them: the
same prod values, Secret, endpoint and moto server as the lifecycle, but no bootstrap — the test
uploads a dataset a real bootstrap wrote (``put_dataset``) and runs the rendered train Job
(``run_train``), whatever its exit code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from support.lifecycle import BUCKET, Lifecycle, _component
from support.podrun import PodProcess

WORKDIR_KEY = "ranker/workdir"
MODEL_KEY = "ranker/models/xgboost.model"


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

    def run_train(self, timeout: float = 240) -> tuple[int, PodProcess]:
        """The rendered train Job's pod (init containers first), run to its end: (exit code, pod)."""
        objects = self.render("train")
        jobs = [o for o in objects if o["kind"] == "Job" and _component(o) == "train"]
        assert len(jobs) == 1, [o["metadata"]["name"] for o in jobs]
        pod = self.runner.run_pod_of(jobs[0])
        return pod.wait(timeout), pod
