"""Policy scan of the rendered chart with checkov (Kubernetes framework).

checkov pins its own boto3/packaging, so it lives in its own virtualenv: ``RANKER_CHECKOV`` or
``.venv-checkov/bin/checkov`` (``python -m venv .venv-checkov &&
.venv-checkov/bin/pip install 'checkov==3.3.*'``). Without it the test skips locally and FAILS
under ``CI``: CI must never silently drop the scan.

Renders dev and prod (generated ``update.yaml``, redis subchart on and off) into one directory
and scans it twice:

1. with every check on: each failure must be covered by an entry of
   ``policy/checkov-skips.yaml`` (id, reason, optional resource patterns), and each entry must
   still match a failure (a skip that no longer fires is stale and fails the test);
2. the command users run, ``--skip-check <ids from the file>``: zero failures.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import REPO, missing, require_chart
from support.matrix import UPDATE_CASES
from support.render import render

SKIPS_FILE = REPO / "policy" / "checkov-skips.yaml"


def checkov_binary() -> Path:
    configured = os.environ.get("RANKER_CHECKOV")
    path = Path(configured) if configured else REPO / ".venv-checkov" / "bin" / "checkov"
    if path.is_file() and os.access(path, os.X_OK):
        return path
    reason = f"checkov not found at {path} (set RANKER_CHECKOV or create .venv-checkov)"
    missing(reason, f"{reason}: CI must run the policy scan")


def load_skips() -> list[dict[str, Any]]:
    doc = yaml.safe_load(SKIPS_FILE.read_text(encoding="utf-8")) or {}
    skips = doc.get("skips") or []
    assert isinstance(skips, list), f"{SKIPS_FILE}: 'skips' must be a list"
    return skips


@pytest.fixture(scope="module")
def manifest_dir(tmp_path_factory) -> Path:
    """One file per rendered object, grouped by env and redis switch."""
    require_chart()
    root = tmp_path_factory.mktemp("rendered")
    for case in UPDATE_CASES:
        directory = root / f"{case.env}-redis-{'on' if case.redis else 'off'}"
        directory.mkdir()
        for index, obj in enumerate(render(case.values_files(), case.overrides)):
            name = f"{index:03d}-{obj['kind']}-{obj['metadata']['name']}.yaml".lower()
            (directory / name).write_text(yaml.safe_dump(dict(obj), sort_keys=False), encoding="utf-8")
    return root


def run_checkov(directory: Path, skip_ids: list[str]) -> dict[str, Any]:
    command = [str(checkov_binary()), "--framework", "kubernetes", "-d", str(directory), "-o", "json", "--compact", "--skip-download"]
    if skip_ids:
        command += ["--skip-check", ",".join(skip_ids)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=directory)
    assert done.returncode in (0, 1), f"checkov crashed ({done.returncode}):\n{done.stderr[-3000:]}"
    report = json.loads(done.stdout)
    reports = report if isinstance(report, list) else [report]
    # checkov prints a bare summary (no "results") when it found nothing to scan
    assert all("results" in r for r in reports), f"checkov scanned nothing: {report}"
    return {
        "failed": [c for r in reports for c in r["results"].get("failed_checks", [])],
        "parsing_errors": [e for r in reports for e in r["results"].get("parsing_errors", [])],
        "resources": sum(r["summary"]["resource_count"] for r in reports),
    }


def test_skips_file_lists_each_check_once_with_a_reason():
    problems = []
    ids = [str(s.get("id", "")) for s in load_skips()]
    for skip in load_skips():
        if not re.fullmatch(r"CKV2?_K8S_\d+", str(skip.get("id", ""))):
            problems.append(f"{skip!r}: id must be a checkov Kubernetes check id")
        if not str(skip.get("reason", "")).strip():
            problems.append(f"{skip.get('id')}: empty reason")
        for pattern in skip.get("resources") or []:
            re.compile(pattern)
    problems += [f"{i} listed twice" for i in set(ids) if ids.count(i) > 1]
    assert problems == [], "\n".join(problems)


def test_every_failing_check_is_skipped_with_a_reason_and_no_skip_is_stale(manifest_dir: Path):
    skips = load_skips()
    scan = run_checkov(manifest_dir, [])
    assert scan["parsing_errors"] == [], scan["parsing_errors"]
    assert scan["resources"] > 0
    unexpected = []
    used: dict[tuple[str, str], int] = {}
    for failure in scan["failed"]:
        covering = _covering_skip(skips, failure)
        if covering is None:
            unexpected.append(f"{failure['check_id']} {failure['check_name']}: {failure['resource']} ({Path(failure['file_path']).parent.name}/{Path(failure['file_path']).name})")
        else:
            used[covering] = used.get(covering, 0) + 1
    assert unexpected == [], "checks failing without a listed skip:\n" + "\n".join(sorted(set(unexpected)))
    stale = []
    for skip in skips:
        patterns = skip.get("resources") or [".*"]
        stale += [f"{skip['id']} {p!r}" for p in patterns if (skip["id"], p) not in used]
    assert stale == [], "skips that no longer match any failure (remove them):\n" + "\n".join(stale)


def test_users_command_with_the_listed_skips_has_zero_failures(manifest_dir: Path):
    scan = run_checkov(manifest_dir, [str(s["id"]) for s in load_skips()])
    failures = sorted({f"{c['check_id']}: {c['resource']}" for c in scan["failed"]})
    assert failures == [], "\n".join(failures)


def _covering_skip(skips: list[dict[str, Any]], failure: dict[str, Any]) -> tuple[str, str] | None:
    for skip in skips:
        if skip.get("id") != failure["check_id"]:
            continue
        for pattern in skip.get("resources") or [".*"]:
            if re.fullmatch(pattern, failure["resource"]):
                return (skip["id"], pattern)
    return None
