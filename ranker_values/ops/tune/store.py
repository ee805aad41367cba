"""Trial results, one object per trial id under ``<tune dir>/trials/`` (local or S3).

A result is written once, after the trial finished (worker side), and never recomputed: the
tasker and every worker check the store first. ``<id>.json`` holds a finished or failed trial;
``errors/<id>.json`` the last error of a trial that is still being retried.
"""

from __future__ import annotations

import json
from typing import Any

from ranker_values.ops.tune.locations import Location


class ResultStore:
    def __init__(self, location: Location):
        self.location = location
        self.trials = location.child("trials")
        self.errors = location.child("errors")

    def get(self, trial_id: str) -> dict[str, Any] | None:
        data = self.trials.child(f"{trial_id}.json").read()
        return json.loads(data) if data is not None else None

    def put(self, trial_id: str, result: dict[str, Any]) -> bool:
        """Store a result unless one exists (first writer wins); True when this call wrote it."""
        if self.get(trial_id) is not None:
            return False
        self.trials.child(f"{trial_id}.json").write(json.dumps(result, sort_keys=True).encode())
        return True

    def all(self, search_id: str) -> dict[str, dict[str, Any]]:
        out = {}
        for name, _ in self.trials.list_files(".json"):
            if name.startswith(search_id + "-") and "/" not in name:
                doc = self.trials.child(name).read()
                if doc is not None:
                    out[name[: -len(".json")]] = json.loads(doc)
        return out

    def finished(self, search_id: str) -> set[str]:
        """Trial ids with a stored result (one listing, no reads)."""
        return {
            name[: -len(".json")]
            for name, _ in self.trials.list_files(".json")
            if name.startswith(search_id + "-") and "/" not in name
        }

    def record_error(self, trial_id: str, error: str) -> None:
        self.errors.child(f"{trial_id}.json").write(json.dumps({"error": error}).encode())

    def last_error(self, trial_id: str) -> str | None:
        data = self.errors.child(f"{trial_id}.json").read()
        return json.loads(data).get("error") if data is not None else None

    def clear(self) -> int:
        return self.trials.delete_tree() + self.errors.delete_tree()
