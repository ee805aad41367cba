"""The tune building blocks that need no xgboost: reading the engine's dataset (local and S3),
the engine's grouping flaw, the split, the folds, the search plan, NDCG and the bootstrap."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from ranker_values.errors import InvalidInput
from ranker_values.ops.s3 import S3Settings
from ranker_values.ops.tune.dataset import load_dataset, parse_lines, write_dataset
from ranker_values.ops.tune.engine import EngineSettings, engine_group_sizes, kfold, split_queries
from ranker_values.ops.tune.locations import Location
from ranker_values.ops.tune.metrics import ndcg_per_query, paired_bootstrap
from ranker_values.ops.tune.search import SearchSpec, plan_trials, sample_params
from ranker_values.ops.tune.store import ResultStore
from ranker_values.ops.tune.synthetic import engine_group, java_string_hash, make_queries


def q(group: int, labels: list[float], values: list[float], columns: int) -> dict:
    return {"group": group, "labels": labels, "values": values, "columns": columns, "rows": len(labels)}


def test_reads_every_json_file_below_the_dataset_dir_recursively_in_name_order(tmp_path: Path) -> None:
    root = tmp_path / "dataset-xgb"
    (root / "2022-06-01--13").mkdir(parents=True)
    (root / "2022-06-01--12").mkdir(parents=True)
    (root / "2022-06-01--13" / "dataset-b-0.json").write_text(json.dumps(q(7, [1, 0], [1, 2, 3, 4], 2)) + "\n")
    (root / "2022-06-01--12" / "dataset-a-0.json").write_text(json.dumps(q(5, [0, 0, 1], [0] * 6, 2)) + "\n")
    (root / "2022-06-01--12" / ".dataset-c-0.json.inprogress.1234").write_text("garbage\n")  # Flink's in-progress part
    ds = load_dataset(Location(str(root)), expected_columns=2)
    assert ds.queries == 2 and ds.columns == 2
    assert ds.groups.tolist() == [5, 7]  # 12 before 13: name order
    assert ds.sizes.tolist() == [3, 2]
    assert ds.X.shape == (5, 2) and ds.X[3].tolist() == [1.0, 2.0]  # row-major values
    assert ds.y.tolist() == [0, 0, 1, 1, 0]


def test_undecodable_lines_are_skipped_like_the_engine_but_counted_with_file_and_line() -> None:
    good = json.dumps(q(1, [1, 0], [1, 2, 3, 4], 2)).encode()
    bad_len = json.dumps({"group": 2, "labels": [1], "values": [1, 2, 3], "columns": 2, "rows": 1}).encode()
    ds = parse_lines([("part.json", b"\n".join([good, b"{not json", bad_len, good]))])
    assert ds.queries == 2 and ds.dropped_count == 2
    assert ds.dropped[0].startswith("part.json:2:1: not JSON")
    assert ds.dropped[1].startswith("part.json:3:1: values has 3 entries, rows × columns is 2")


def test_a_dataset_written_for_another_feature_list_is_an_error_naming_the_line() -> None:
    line = json.dumps(q(1, [1, 0], [1, 2, 3, 4, 5, 6], 3)).encode()
    with pytest.raises(InvalidInput, match=r"a\.json:1:1: the query has 3 columns, the config's model has 2"):
        parse_lines([("a.json", line)], expected_columns=2)


def test_no_dataset_files_is_an_error_that_says_run_bootstrap(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="zero training files found.*bootstrap"):
        load_dataset(Location(str(tmp_path / "dataset-xgb")))


def test_reads_the_dataset_from_s3_with_the_chart_s3_settings(s3, moto_endpoint: str) -> None:
    settings = S3Settings(endpoint=moto_endpoint, path_style=True)
    queries = make_queries(40, seed=3)
    write_dataset(Location("s3://ranker/work/dataset-xgb", settings), queries, per_file=15)
    ds = load_dataset(Location("s3://ranker/work/dataset-xgb", settings), expected_columns=6)
    assert ds.queries == 40 and len(ds.files) == 3
    assert ds.groups.tolist() == [x["group"] for x in queries]


def test_group_ids_are_abs_java_string_hash_of_the_ranking_id() -> None:
    assert java_string_hash("hello") == 99162322  # java.lang.String.hashCode
    assert java_string_hash("polygenelubricants") == -2147483648
    assert engine_group("polygenelubricants") == -2147483648  # math.abs(Int.MinValue) stays negative
    assert engine_group("ranking-1-0") == abs(java_string_hash("ranking-1-0"))


def test_ltrlib_group_sizes_are_sorted_by_group_id_not_in_row_order() -> None:
    groups = np.array([900, 100, 500])
    sizes = np.array([2, 5, 3])
    assert engine_group_sizes(groups, sizes) == [5, 3, 2]  # rows stay 2,5,3: boundaries misaligned
    # two queries sharing an id merge into one group
    assert engine_group_sizes(np.array([4, 4, 1]), np.array([2, 3, 1])) == [1, 5]


def test_engine_settings_take_the_config_backend_over_the_engine_defaults() -> None:
    assert EngineSettings.from_backend({}) == EngineSettings(100, 0.1, 10, 8, None)
    s = EngineSettings.from_backend({"type": "xgboost", "iterations": 10, "ndcgCutoff": 20, "seed": 1})
    assert (s.iterations, s.ndcg_cutoff, s.seed) == (10, 20, 1)
    assert s.xgb_params(5) == {"objective": "rank:pairwise", "eval_metric": "ndcg@20", "max_depth": 8, "eta": 0.1, "seed": 1}


def test_split_is_a_seeded_80_20_split_over_queries_and_folds_partition_the_train_queries() -> None:
    train, test = split_queries(1000, seed=0)
    again, _ = split_queries(1000, seed=0)
    assert train.tolist() == again.tolist()
    assert 0.75 < len(train) / 1000 < 0.85 and set(train) | set(test) == set(range(1000)) and not set(train) & set(test)
    folds = kfold(train, 5, seed=0)
    held = np.concatenate([h for _, h in folds])
    assert sorted(held.tolist()) == sorted(train.tolist())
    for fit, h in folds:
        assert not set(fit) & set(h)


def test_trial_parameters_are_a_function_of_seed_and_index_and_the_id_of_the_search_spec() -> None:
    assert sample_params(0, 3) == sample_params(0, 3)
    assert sample_params(0, 3) != sample_params(0, 4)
    spec = SearchSpec("abc", 0, 5, 10, 400)
    trials = plan_trials(spec, 3)
    assert [t.id for t in trials] == [f"{spec.search_id}-0000{i}" for i in range(3)]
    assert plan_trials(spec, 5)[:3][2].params == trials[2].params  # a bigger budget extends the search
    assert SearchSpec("abd", 0, 5, 10, 400).search_id != spec.search_id
    assert all(20 <= t.params["rounds"] <= 50 for t in plan_trials(SearchSpec("abc", 0, 5, 10, 50), 20))


def test_ndcg_uses_exponential_gain_and_skips_queries_without_a_positive_label() -> None:
    ds = parse_lines([("a.json", "\n".join(json.dumps(x) for x in [
        q(1, [0, 1, 0], [1, 1, 1], 1),
        q(2, [0, 0], [1, 1], 1),
    ]).encode())])
    perfect = ndcg_per_query(ds, np.array([0, 1]), np.array([0.1, 0.9, 0.2, 1, 1]), k=10)
    assert perfect[0] == pytest.approx(1.0) and np.isnan(perfect[1])
    second = ndcg_per_query(ds, np.array([0]), np.array([0.9, 0.5, 0.1]), k=10)
    assert second[0] == pytest.approx(1 / np.log2(3))
    cut = ndcg_per_query(ds, np.array([0]), np.array([0.9, 0.1, 0.5]), k=2)  # relevant item at rank 3
    assert cut[0] == 0.0


def test_paired_bootstrap_interval_brackets_the_mean_difference() -> None:
    rng = np.random.default_rng(0)
    a = rng.random(300)
    b = a - 0.05 + rng.normal(scale=0.01, size=300)
    r = paired_bootstrap(a, b)
    assert r["low"] < r["mean"] < r["high"] and r["low"] > 0.04 and r["queries"] == 300
    same = paired_bootstrap(a, a)
    assert same["low"] == same["high"] == 0.0


def test_a_result_is_stored_once_per_trial_id_first_writer_wins(tmp_path: Path) -> None:
    store = ResultStore(Location(str(tmp_path / "tune")))
    assert store.put("s-00001", {"cv_mean": 0.5}) is True
    assert store.put("s-00001", {"cv_mean": 0.9}) is False
    assert store.get("s-00001") == {"cv_mean": 0.5}
    assert list(store.all("s")) == ["s-00001"] and store.all("other") == {}
    assert store.clear() == 1 and store.get("s-00001") is None


def test_finished_lists_trial_ids_of_one_search_without_reading_them(tmp_path: Path) -> None:
    store = ResultStore(Location(str(tmp_path / "tune")))
    store.put("aaa-00000", {"x": 1})
    store.put("aaa-00003", {"x": 2})
    store.put("bbb-00000", {"x": 3})
    assert store.finished("aaa") == {"aaa-00000", "aaa-00003"}


# -- issue 17: hostile dataset lines --------------------------------------------------------------


def test_lines_the_engines_decoder_rejects_are_skipped_with_file_and_line_never_a_crash() -> None:
    good = json.dumps(q(1, [1, 0], [1, 2, 3, 4], 2)).encode()
    bad = [
        json.dumps(q(2, [1, 0], ["a", 2, 3, 4], 2)).encode(),  # a string among the values
        json.dumps(q(2, [True, 0], [1, 2, 3, 4], 2)).encode(),  # a boolean label
        b"[" * 100_000 + b"]" * 100_000,  # nesting deeper than any recursion limit
        b'{"group": 3, "labels": [1, NaN], "values": [1, 2, 3, 4], "columns": 2, "rows": 2}',  # not JSON (circe refuses it)
        json.dumps({**q(4, [1, 0], [1, 2, 3, 4], 2), "group": 2**31}).encode(),  # beyond Scala's Int
        json.dumps({**q(5, [1, 0], [1, 2, 3, 4], 2), "columns": True}).encode(),
    ]
    ds = parse_lines([("part.json", b"\n".join([good, *bad, good]))])
    assert ds.queries == 2 and ds.dropped_count == len(bad)
    assert ds.dropped == [
        "part.json:2:1: values must be numbers",
        "part.json:3:1: labels must be numbers",
        "part.json:4:1: not JSON (nested too deeply)",
        "part.json:5:1: not JSON (NaN is not JSON)",
        "part.json:6:1: group must be an integer (32-bit)",
    ]
    assert ds.X.dtype == np.float32 and ds.X.shape == (4, 2)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"group":1,"labels":[1,0],"values":[1,2,1e308,4],"columns":2,"rows":2}', r"values\[2\] = 1e\+308 is outside the float32 range"),
        (b'{"group":1,"labels":[1,0],"values":[1,2,3,1e400],"columns":2,"rows":2}', r"values\[3\] = inf is outside the float32 range"),
        (b'{"group":1,"labels":[-1e39,0],"values":[1,2,3,4],"columns":2,"rows":2}', r"labels\[0\] = -1e\+39 is outside"),
        (b'{"group":1,"labels":[1,0],"values":[1,' + b"9" * 400 + b',3,4],"columns":2,"rows":2}', r"values\[1\] = 9{20}… \(400 digits\) is outside"),
    ],
)
def test_a_value_beyond_float32_is_an_error_naming_file_line_and_entry(line: bytes, message: str) -> None:
    good = json.dumps(q(1, [1, 0], [1, 2, 3, 4], 2)).encode()
    with pytest.raises(InvalidInput, match=r"^part\.json:2:1: " + message):
        parse_lines([("part.json", good + b"\n" + line)])


def test_a_fifo_among_the_dataset_files_is_refused_without_hanging(tmp_path: Path) -> None:
    from ranker_values.errors import UsageError

    root = tmp_path / "dataset-xgb"
    root.mkdir()
    (root / "a.json").write_text(json.dumps(q(1, [1, 0], [1, 2, 3, 4], 2)) + "\n")
    os.mkfifo(root / "b.json")
    with pytest.raises(UsageError, match=r"b\.json: is a FIFO \(named pipe\), not a regular file; give a dataset file"):
        load_dataset(Location(str(root)))
