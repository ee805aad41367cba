"""The bootstrap dataset of one model, as Metarank 0.4.1 writes and reads it.

Sources (metarank/metarank at tag 0.4.1, ltrlib 0.1.12 = metarank/ltrlib commit 2b8d4e9):

- ``flow/DatasetSink.scala``: bootstrap writes one JSON line per clickthrough through a Flink
  ``FileSink`` with ``OutputFileConfig("dataset", ".json")`` under ``<workdir>/dataset-<model>``
  (bucket sub-directories), encoded with circe's ``deriveCodec`` of ltrlib's
  ``Query(group: Int, labels: Array[Double], values: Array[Double], columns: Int, rows: Int)``
  (``model/Query.scala``): ``values`` is row-major, ``rows`` × ``columns``.
- ``flow/ClickthroughQuery.scala``: ``group = math.abs(rankingId.hashCode)``; a row is the item's
  values flattened in the model's column order (``ranker_values/ops/check/columns.py``), its label the
  interaction weight (0 when not interacted).
- ``mode/train/Train.scala`` ``loadData``: lists ``dataset-<model>`` recursively, keeps names
  ending in ``.json``, decodes every line and silently drops lines that do not decode.

We read the same files (sorted by name: the engine's row order follows its listing), and count the
lines we drop instead of hiding them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ranker_values.errors import InvalidInput
from ranker_values.ops.tune.locations import Location

MAX_PROBLEMS_SHOWN = 5


@dataclass
class Dataset:
    """All queries of one dataset, rows concatenated in file order."""

    X: Any  # numpy float32 (rows, columns)
    y: Any  # numpy float32 (rows,)
    groups: Any  # numpy int64 (queries,): the engine's group id of each query
    sizes: Any  # numpy int64 (queries,): rows per query
    offsets: Any  # numpy int64 (queries + 1,): query q is rows offsets[q]:offsets[q+1]
    columns: int
    files: list[tuple[str, int]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # "file:line: reason", first few
    dropped_count: int = 0
    fingerprint: str = ""

    @property
    def queries(self) -> int:
        return int(len(self.sizes))

    def rows_of(self, query_idx: Any) -> Any:
        """Row indices of the given queries, in the given order."""
        import numpy as np

        if len(query_idx) == 0:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.arange(self.offsets[q], self.offsets[q + 1]) for q in query_idx])


INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # Scala's Int: group, columns and rows
FLOAT32_MAX = 3.4028234663852886e38  # xgboost (and xgboost4j's float[] DMatrix) holds float32


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # Python's json reads NaN/Infinity; circe does not


def _as_int(value: Any) -> int | None:
    """circe's Decoder[Int]: a JSON number that is whole and within Int's range (not a boolean)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    number = int(value)
    return number if INT_MIN <= number <= INT_MAX else None


def _numbers(values: Any) -> bool:
    """circe's Decoder[Array[Double]]: a list of JSON numbers (no strings, booleans or nulls)."""
    return isinstance(values, list) and set(map(type, values)) <= {int, float}


def _check_query(doc: Any) -> str | None:
    """Why this decoded line is not a query the engine's decoder accepts, or None."""
    if not isinstance(doc, dict):
        return "not a JSON object"
    for key in ("group", "labels", "values", "columns", "rows"):
        if key not in doc:
            return f"missing {key!r}"
    rows, columns = _as_int(doc["rows"]), _as_int(doc["columns"])
    if rows is None or columns is None or rows < 1 or columns < 1:
        return "rows and columns must be positive integers"
    if _as_int(doc["group"]) is None:
        return "group must be an integer (32-bit)"
    if not isinstance(doc["labels"], list) or len(doc["labels"]) != rows:
        return f"labels has {len(doc['labels']) if isinstance(doc['labels'], list) else '?'} entries, rows is {rows}"
    if not isinstance(doc["values"], list) or len(doc["values"]) != rows * columns:
        return f"values has {len(doc['values']) if isinstance(doc['values'], list) else '?'} entries, rows × columns is {rows * columns}"
    for key in ("labels", "values"):
        if not _numbers(doc[key]):
            return f"{key} must be numbers"
    return None


def _floats(where: str, key: str, numbers: list) -> Any:
    """``numbers`` as float32, or InvalidInput naming the line and the entry when one is beyond
    float32: xgboost (the engine's too) cannot train on it, so the line is an error, not a skip
    (the engine's decoder accepts it)."""
    import numpy as np

    try:
        wide = np.asarray(numbers, dtype=np.float64)
    except OverflowError:  # an integer literal beyond any float
        wide = None
    if wide is None or not (np.abs(wide) <= FLOAT32_MAX).all():  # also inf: 1e400 decodes as inf
        index = _first_huge(numbers)
        shown = str(numbers[index])
        shown = shown if len(shown) <= 40 else shown[:20] + "…" + f" ({len(shown)} digits)"
        raise InvalidInput(
            f"{where}: {key}[{index}] = {shown} is outside the float32 range (±3.4e38) that xgboost trains on; "
            "the engine's training fails on it too: fix the features that produce it, or remove the line"
        )
    return wide.astype(np.float32)


def _first_huge(numbers: list) -> int:
    for i, v in enumerate(numbers):
        try:
            if not abs(float(v)) <= FLOAT32_MAX:
                return i
        except OverflowError:
            return i
    return 0


def parse_lines(chunks: list[tuple[str, bytes]], expected_columns: int | None = None) -> Dataset:
    """Decode (name, bytes) files of JSON lines into a Dataset."""
    import numpy as np

    labels: list[Any] = []
    values: list[Any] = []
    groups: list[int] = []
    sizes: list[int] = []
    dropped: list[str] = []
    dropped_count = 0
    columns = expected_columns
    first_where = ""
    digest = hashlib.sha256()
    for name, data in chunks:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        for number, raw in enumerate(data.splitlines(), start=1):
            if not raw.strip():
                continue
            where = f"{name}:{number}:1"
            try:
                doc = json.loads(raw, parse_constant=_reject_constant)
                problem = _check_query(doc)
            except RecursionError:
                problem = "not JSON (nested too deeply)"
            except (ValueError, UnicodeDecodeError) as exc:
                problem = f"not JSON ({' '.join(str(exc).split())[:100] or exc.__class__.__name__})"
            if problem is not None:
                dropped_count += 1
                if len(dropped) < MAX_PROBLEMS_SHOWN:
                    dropped.append(f"{where}: {problem}")
                continue
            line_columns = _as_int(doc["columns"])
            if columns is not None and line_columns != columns:
                if expected_columns is not None:
                    raise InvalidInput(f"{where}: the query has {line_columns} columns, the config's model has {expected_columns}; the dataset was written for another feature list: re-run bootstrap with this config")
                raise InvalidInput(f"{where}: the query has {line_columns} columns, {first_where} had {columns}; every query of one dataset has the same columns; remove foreign files from the directory")
            if columns is None:
                columns, first_where = line_columns, where
            elif not first_where:
                first_where = where
            labels.append(_floats(where, "labels", doc["labels"]))
            values.append(_floats(where, "values", doc["values"]))
            groups.append(_as_int(doc["group"]))
            sizes.append(_as_int(doc["rows"]))
    if not sizes:
        detail = f"; first problems: {'; '.join(dropped)}" if dropped else ""
        raise InvalidInput(f"loaded 0 valid queries{detail}; run the bootstrap stage first, or check the dataset location")
    size_arr = np.asarray(sizes, dtype=np.int64)
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(size_arr, out=offsets[1:])
    return Dataset(
        X=np.concatenate(values).reshape(-1, columns),
        y=np.concatenate(labels),
        groups=np.asarray(groups, dtype=np.int64),
        sizes=size_arr,
        offsets=offsets,
        columns=int(columns),
        dropped=dropped,
        dropped_count=dropped_count,
        fingerprint=digest.hexdigest(),
    )


def load_dataset(location: Location, expected_columns: int | None = None) -> Dataset:
    """Read every ``*.json`` file below ``location`` (as the engine's Train.loadData does)."""
    files = location.list_files(".json")
    if not files:
        raise InvalidInput(f"{location.uri}: zero training files found (*.json, recursively); run the bootstrap stage first, or pass --dataset with the dataset-<model> directory")
    chunks = []
    for name, _size in files:
        data = location.child(name).read(is_input=True, what="dataset file")
        if data is not None:
            chunks.append((name, data))
    dataset = parse_lines(chunks, expected_columns)
    dataset.files = files
    return dataset


def write_dataset(location: Location, queries: list[dict[str, Any]], per_file: int = 1000) -> None:
    """Write queries the way bootstrap does (JSON lines, ``dataset-*.json`` in a bucket folder).
    Used by the tests and the benchmark to produce datasets in the engine's format."""
    for start in range(0, max(len(queries), 1), per_file):
        chunk = queries[start : start + per_file]
        text = "".join(json.dumps(q, separators=(",", ":")) + "\n" for q in chunk)
        location.child("2022-06-01--12", f"dataset-{start // per_file:05d}-0.json").write(text.encode())
