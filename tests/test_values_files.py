"""Values files merge like Helm's: chart defaults, then each -f file, maps deeply, the rest replaced."""

from __future__ import annotations

from pathlib import Path

import pytest

from ranker_values.errors import InvalidInput, UsageError
from ranker_values.ops.s3 import S3Settings
from ranker_values.values.files import deep_merge, dig, merge_values_files, release_values


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_later_files_win_and_maps_merge(tmp_path):
    a = write(tmp_path, "a.yaml", "s3:\n  region: eu-west-1\n  endpoint: http://a\nlist: [1, 2]\n")
    b = write(tmp_path, "b.yaml", "s3:\n  endpoint: http://b\nlist: [3]\n")
    assert merge_values_files([a, b]) == {"s3": {"region": "eu-west-1", "endpoint": "http://b"}, "list": [3]}


def test_release_values_start_from_the_chart_defaults(tmp_path):
    chart = tmp_path / "chart"
    chart.mkdir()
    write(chart, "values.yaml", "s3:\n  region: us-east-1\n  pathStyleAccess: false\nstages:\n  update:\n    restartNonce: 0\n")
    mine = write(tmp_path, "prod.yaml", "s3:\n  pathStyleAccess: true\n")
    merged = release_values([mine], chart)
    assert dig(merged, "s3.region") == "us-east-1"  # only the chart sets it
    assert dig(merged, "s3.pathStyleAccess") is True
    assert dig(merged, "stages.update.restartNonce") == 0
    assert release_values([mine], tmp_path / "no-chart") == {"s3": {"pathStyleAccess": True}}


def test_the_real_chart_defaults_are_read():
    repo_chart = Path(__file__).resolve().parents[1] / "charts" / "ranker"
    assert dig(release_values([], repo_chart), "stages.update.savepoints.historyMaxCount") is not None


def test_outside_a_clone_the_installed_charts_defaults_are_read(tmp_path, monkeypatch):
    """savepoint / upgrade-values / check / tune run from any directory: without charts/ranker
    under it the chart that came with the package gives the defaults (a clone's copy wins)."""
    monkeypatch.chdir(tmp_path)
    assert dig(release_values([]), "stages.update.savepoints.historyMaxCount") is not None
    clone = tmp_path / "charts" / "ranker"
    clone.mkdir(parents=True)
    write(clone, "Chart.yaml", "apiVersion: v2\nname: ranker\nversion: 9.9.9\n")
    write(clone, "values.yaml", "stages:\n  update:\n    savepoints:\n      historyMaxCount: 77\n")
    assert dig(release_values([]), "stages.update.savepoints.historyMaxCount") == 77


def test_bad_files_are_usage_or_input_errors(tmp_path):
    with pytest.raises(UsageError):
        merge_values_files([tmp_path / "missing.yaml"])
    with pytest.raises(InvalidInput, match=r"bad.yaml:3:1: not valid YAML"):
        merge_values_files([write(tmp_path, "bad.yaml", "a: 1\nb: [\n")])
    with pytest.raises(InvalidInput, match="must be a mapping"):
        merge_values_files([write(tmp_path, "list.yaml", "- 1\n")])


def test_deep_merge_does_not_alias_its_inputs():
    base = {"a": {"b": [1]}}
    out = deep_merge(base, {"a": {"c": 2}})
    out["a"]["b"].append(9)
    assert base == {"a": {"b": [1]}}


def test_static_s3_keys_only_in_secret_mode_and_never_in_repr():
    values = {"s3": {"auth": {"mode": "secret", "accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "s3cr3t"}}}
    settings = S3Settings.from_values(values, read_timeout=3.0)
    assert (settings.access_key_id, settings.secret_access_key, settings.read_timeout) == ("AKIAEXAMPLE", "s3cr3t", 3.0)
    assert "s3cr3t" not in repr(settings) and "AKIAEXAMPLE" not in repr(settings)
    values["s3"]["auth"]["mode"] = "serviceAccount"
    assert S3Settings.from_values(values).access_key_id is None
