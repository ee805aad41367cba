"""Events checks on generated event files with planted bad lines (local files and moto S3)."""

from __future__ import annotations

import gzip

import pytest

from ranker_values.ops.check.events_checks import event_problem, parse_timestamp
from ranker_values.ops.check.runner import Status
from check_support import (
    good_events,
    jsonl,
    make_deployment,
    run,
    s3_values,
)


def _write(tmp_path, name, data: bytes):
    path = tmp_path / "events" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def test_valid_local_files_pass_both_checks(tmp_path):
    events = good_events(60)
    _write(tmp_path, "part-0.jsonl", jsonl(events[:30]))
    _write(tmp_path, "part-1.jsonl.gz", jsonl(events[30:]))
    _write(tmp_path, "_SUCCESS", b"")
    results = run(make_deployment(events=str(tmp_path / "events")), ["events"])
    assert results["events.schema"].status is Status.PASS, results
    assert "60 events from 2 files" in results["events.schema"].reason
    assert results["events.order"].status is Status.PASS


def test_planted_bad_lines_are_reported_by_file_and_number(tmp_path):
    events: list = good_events(20)
    events[3] = "{not json"
    events[7] = {**events[7], "items": []} if events[7]["event"] == "ranking" else {**events[7], "event": "click"}
    events[10] = {k: v for k, v in events[10].items() if k != "timestamp"}
    events[12] = {**events[12], "timestamp": "2024-01-01T00:00:00Z"}
    events[15] = {**events[15], "id": 15}
    _write(tmp_path, "part-0.jsonl", jsonl(events))
    result = run(make_deployment(events=str(tmp_path / "events")), ["events.schema"])["events.schema"]
    assert result.status is Status.FAIL
    assert result.reason.startswith("5 bad lines in 20 events from 1 files")
    assert "part-0.jsonl:4: not JSON" in result.reason
    assert "part-0.jsonl:8:" in result.reason and "part-0.jsonl:11:" in result.reason
    assert "(+2 more)" in result.reason


def test_unsorted_timestamps_fail_the_order_check(tmp_path):
    events = good_events(10)
    events[6]["timestamp"] = events[2]["timestamp"]
    _write(tmp_path, "part-0.jsonl", jsonl(events))
    result = run(make_deployment(events=str(tmp_path / "events")), ["events.order"])["events.order"]
    assert result.status is Status.FAIL
    assert "backwards 1 times" in result.reason and "part-0.jsonl:7" in result.reason


def test_files_are_read_in_name_order_across_files(tmp_path):
    events = good_events(10)
    _write(tmp_path, "b.jsonl", jsonl(events[:5]))  # older events in the later name
    _write(tmp_path, "a.jsonl", jsonl(events[5:]))
    result = run(make_deployment(events=str(tmp_path / "events")), ["events.order"])["events.order"]
    assert result.status is Status.FAIL and "b.jsonl:1" in result.reason


def test_sample_stops_after_n_events(tmp_path):
    events: list = good_events(50)
    events[40] = "garbage"
    _write(tmp_path, "part-0.jsonl", jsonl(events))
    result = run(make_deployment(events=str(tmp_path / "events")), ["events.schema"], events_sample=30)["events.schema"]
    assert result.status is Status.PASS and "30 events" in result.reason


def test_events_on_s3_plain_and_gzipped(s3, moto_endpoint):
    events: list = good_events(30)
    events[20] = {**events[20], "fields": [{"name": "x", "value": {"nested": 1}}]}
    s3.put_object(Bucket="ranker", Key="events/2024-01.jsonl", Body=jsonl(events[:15]))
    s3.put_object(Bucket="ranker", Key="events/2024-02.jsonl.gz", Body=gzip.compress(jsonl(events[15:])))
    results = run(make_deployment(), ["events"], values=s3_values(moto_endpoint))
    schema = results["events.schema"]
    assert schema.status is Status.FAIL
    assert "s3://ranker/events/2024-02.jsonl.gz:6: fields[0] (x)" in schema.reason
    assert results["events.order"].status is Status.PASS


def test_missing_local_source_is_not_applicable(tmp_path):
    result = run(make_deployment(events=str(tmp_path / "nowhere")), ["events.schema"])["events.schema"]
    assert result.status is Status.WARN and "not on this machine" in result.reason


@pytest.mark.parametrize(
    "event,problem",
    [
        ({"event": "metadata", "id": "1", "item": "i", "timestamp": 1}, None),  # the older name of "item"
        ({"event": "user", "id": "1", "user": "u", "timestamp": "17", "tenant": "t"}, None),
        ({"event": "ranking", "id": "1", "timestamp": 1, "user": "u", "session": "s", "items": [{"id": "a", "relevancy": True}]}, "relevancy"),
        ({"event": "ranking", "id": "1", "timestamp": 1, "session": "s", "items": [{"id": "a"}]}, "without 'user'"),
        ({"event": "interaction", "id": "1", "timestamp": 1, "item": "i", "user": "u", "session": "s", "type": "click"}, "without 'ranking'"),
        ({"event": "item", "id": "1", "item": "i", "timestamp": 1.5}, "epoch millis"),
        ({"event": "item", "id": "1", "item": "i", "timestamp": 1, "fields": [{"name": "n", "value": [1, "a"]}]}, "list of strings or numbers"),
        ([1, 2], "JSON object"),
    ],
)
def test_event_rules(event, problem):
    found = event_problem(event)
    assert (found is None) if problem is None else (problem in (found or "")), found


def test_timestamps_as_circe_decodes_them():
    assert parse_timestamp("1599391467000") == 1599391467000
    assert parse_timestamp(1599391467000) == 1599391467000
    assert parse_timestamp(True) is None and parse_timestamp("12a") is None
