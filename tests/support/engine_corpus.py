"""A deterministic corpus of Metarank 0.4.1 configs for the differential test against the engine.

Every case is a mutation of a real config: the two shipped with Metarank 0.4.1
(``../shared/metarank/0.4.1/*.yml``), ``examples/config.yml`` and ``tests/data/configs/*.yml``.
The mutations aim at the places where a YAML reader and a config decoder can disagree: number
spellings (``010``, ``+8080``, ``.5``, ``1e3``, ``.inf``, ``0x1F``, ``1_000``, quoted numbers),
integers beyond 32 bits, durations, offsets, missing and unknown keys, every feature type with
its options and wrong options, model, source and state types, paths, and YAML itself.

``corpus(seed)`` returns the same cases for the same seed (and the same base files); the seed only
picks which base config a mutation is applied to. Configs are written by a small block-style
emitter of our own so that a ``Raw`` scalar reaches the file exactly as spelled.
"""

from __future__ import annotations

import copy
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from support import REPO, SHARED

SEED = 41


@dataclass(frozen=True)
class Raw:
    """A scalar written verbatim (``010``, ``.inf``, ``'8080'``, ``[]``)."""

    text: str


@dataclass(frozen=True)
class Case:
    name: str  # unique; also the file name (category/base/detail)
    category: str
    text: str


# -- the emitter ---------------------------------------------------------------------------------

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def _key(key: Any) -> str:
    if isinstance(key, Raw):
        return key.text
    text = str(key)
    if _PLAIN_KEY.match(text) and text.lower() not in _YAML11_WORDS:
        return text
    return json.dumps(text)


def _scalar(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text.replace("e", ".0e") if "e" in text and "." not in text else text
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict) and not value:
        return "{}"
    if isinstance(value, list) and not value:
        return "[]"
    raise TypeError(f"cannot emit {value!r}")


def dump(value: Any, indent: int = 0) -> str:
    pad = " " * indent
    if isinstance(value, dict) and value:
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{_key(key)}:\n{dump(item, indent + 2)}")
            else:
                lines.append(f"{pad}{_key(key)}: {_scalar(item)}")
        return "\n".join(lines)
    if isinstance(value, list) and value:
        lines = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}-\n{dump(item, indent + 2)}")
            else:
                lines.append(f"{pad}- {_scalar(item)}")
        return "\n".join(lines)
    return pad + _scalar(value)


def to_text(config: Any) -> str:
    return dump(config) + "\n"


# -- the base configs -----------------------------------------------------------------------------


def base_files() -> list[Path]:
    shared = sorted((SHARED / "metarank" / "0.4.1").glob("*.yml"))
    return [*shared, REPO / "examples" / "config.yml", *sorted((REPO / "tests" / "data" / "configs").glob("*.yml"))]


def bases() -> dict[str, dict]:
    out = {}
    for path in base_files():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        out[path.stem] = data
    return out


# -- paths in a config ----------------------------------------------------------------------------

Path_ = tuple  # (key | index, ...)


def get(data: Any, path: Path_) -> Any:
    for part in path:
        data = data[part]
    return data


def put(data: Any, path: Path_, value: Any) -> Any:
    out = copy.deepcopy(data)
    parent = get(out, path[:-1])
    parent[path[-1]] = value
    return out


def drop(data: Any, path: Path_) -> Any:
    out = copy.deepcopy(data)
    parent = get(out, path[:-1])
    del parent[path[-1]]
    return out


def mapping_paths(data: Any, here: Path_ = ()) -> Iterator[Path_]:
    """Every mapping in the document (the root first)."""
    if isinstance(data, dict):
        yield here
        for key, item in data.items():
            yield from mapping_paths(item, (*here, key))
    elif isinstance(data, list):
        for i, item in enumerate(data):
            yield from mapping_paths(item, (*here, i))


def key_paths(data: Any) -> Iterator[Path_]:
    for mapping in mapping_paths(data):
        for key in get(data, mapping):
            yield (*mapping, key)


def lambdamart(config: dict) -> str | None:
    for name, model in config["models"].items():
        if model.get("type") == "lambdamart":
            return name
    return None


def feature_index(config: dict, kind: str) -> int | None:
    for i, feature in enumerate(config["features"]):
        if feature.get("type") == kind:
            return i
    return None


# -- the spellings ----------------------------------------------------------------------------

INT_SPELLINGS = [
    "8", "010", "0o10", "+8", "-8", "0", "-0", ".5", "8.0", "8.5", "1e3", "1E3", "1.0e3", "1e+3", "1.5e3",
    ".inf", "-.inf", ".nan", "0x1F", "0x1f", "-0x1F", "0b101", "1_000", "1__0", "1:30", "'8'", '"8"',
    '"010"', '"0x1F"', '" 8"', '"1e3"', '"8.0"', '"+8"', '""', "2147483647", "2147483648", "-2147483648",
    "-2147483649", "4294967296", "9223372036854775807", "9223372036854775808", "99999999999999999999",
    "1e10", "true", "yes", "null", "~", "[]", "{}", "[8]", "!!str 8", "!!int '8'", "!!float 8",
]
DOUBLE_SPELLINGS = [
    "0.1", ".1", "1e-1", "1.0e-1", "1E-1", "0", "-0.1", "1", ".inf", "-.inf", ".nan", "0x10", "1_0.5",
    "010", "+0.1", '"0.1"', '".1"', '"1e-1"', "'0.1'", '"abc"', "true", "null", "1e400", "1.0e400", "[0.1]",
]
DURATIONS = [
    "24h", "1d", "30d", "0s", "1s", "90m", "30 days", "1 d", "-1d", "1w", "1ms", "1D", "1H", "1h30m",
    "1.5h", "0010s", "106751d", "106752d", "9223372036s", "9223372037s", "2562047h", "2562048h",
    "99999999999999999999d", "300000d", '""', "10", '"10"', "d", "h1", "null", " 24h", "'24h'",
    "24h ",
]
OFFSETS = [
    "earliest", "latest", "ts=1654000000", "ts=-1", "ts=", "ts=abc", "ts=99999999999999999999", "id=42",
    "last=1d", "last=24h", "last=1w", "last=1.5h", "last=d", "last=99999999999999999999d", "last=106752d",
    "LATEST", "Earliest", '""', "0", "null", "last=7d ",
]
STRINGS = ["yes", "no", "on", "off", "null", "~", "123", "0x1F", "2001-01-01", '""', "'quoted'", "1.5", "[a]", "{}"]
PATHS = [
    "s3://bucket/ranker", "s3://bucket", "s3://bucket/", "s3://Bucket/x", "s3://b/x", "s3://bucket/a b",
    "s3://bucket/a#b", "s3a://bucket/x", "gs://bucket/x", "hdfs://nn/x", "file:///data/x", "file://data/x",
    "/data/x", "./data", "data", "", "s3://user:secret@bucket/x", "http://host/x", "~", "C:/data",
]
SCOPES = ["tenant", "item", "user", "session", "global", "Item", "", "null", "[item]"]
FIELD_REFS = [
    "item.f", "metadata.f", "user.f", "ranking.f", "interaction:click.f", "*.f", "Item.f", "item.", "item.a-b",
    "item.a.b", "interaction:.f", "interaction:click", "f", "session.f", "item.f_1", "'item.f'",
]


# -- feature templates ------------------------------------------------------------------------

FEATURES: dict[str, dict] = {
    "number": {"name": "probe_f", "type": "number", "scope": "item", "source": "item.price"},
    "boolean": {"name": "probe_f", "type": "boolean", "scope": "user", "source": "user.member"},
    "word_count": {"name": "probe_f", "type": "word_count", "scope": "item", "source": "item.title"},
    "string": {"name": "probe_f", "type": "string", "scope": "item", "source": "item.color", "values": ["red", "blue"]},
    "rate": {"name": "probe_f", "type": "rate", "top": "click", "bottom": "impression", "scope": "item",
             "bucket": "24h", "periods": [7, 30]},
    "window_count": {"name": "probe_f", "type": "window_count", "interaction": "click", "scope": "item",
                     "bucket": "24h", "periods": [1, 7]},
    "interaction_count": {"name": "probe_f", "type": "interaction_count", "interaction": "click", "scope": "session"},
    "interacted_with": {"name": "probe_f", "type": "interacted_with", "interaction": "click", "field": "item.tags",
                        "scope": "user"},
    "ua": {"name": "probe_f", "type": "ua", "source": "ranking.ua", "field": "os"},
    "relevancy": {"name": "probe_f", "type": "relevancy"},
    "local_time": {"name": "probe_f", "type": "local_time", "source": "ranking.ts", "parse": "time_of_day"},
    "item_age": {"name": "probe_f", "type": "item_age", "source": "item.created"},
    "field_match": {"name": "probe_f", "type": "field_match", "rankingField": "ranking.query",
                    "itemField": "item.title", "method": {"type": "ngram", "n": 3, "language": "en"}},
    "referer": {"name": "probe_f", "type": "referer", "source": "ranking.referer", "scope": "session"},
}
#: values worth trying for each feature option
OPTION_VALUES: dict[str, list[Any]] = {
    "scope": [Raw(s) for s in SCOPES],
    "source": [Raw(json.dumps(s)) if not s.startswith("'") else Raw(s) for s in FIELD_REFS],
    "field": [Raw(v) for v in ["platform", "os", "browser", "bot", "device", "item.tags", "metadata.tags",
                               "user.tags", "ranking.tags", '"interaction:click.tags"', "OS", "null"]],
    "refresh": [Raw(d) for d in DURATIONS[:16]],
    "ttl": [Raw(d) for d in DURATIONS],
    "bucket": [Raw(d) for d in DURATIONS[:20]],
    "duration": [Raw(d) for d in DURATIONS[:20]],
    "periods": [Raw(v) for v in ["[7]", "[]", "[0]", "[-1]", "[7, 7]", "[1.5]", "[1e3]", "['7']", "7", "[2147483648]",
                                 "[010]", "[0x1F]", "[1_000]", "null"]],
    "count": [Raw(v) for v in ["10", "0", "-1", "1.5", "'10'", "2147483648", "null", "1e3"]],
    "values": [Raw(v) for v in ["[a]", "[]", "[1, 2]", "[yes, no]", "a", "[a, a]", "['']", "null", "[null]"]],
    "encode": [Raw(v) for v in ["index", "onehot", "one_hot", "Index", "null", "1"]],
    "parse": [Raw(v) for v in ["time_of_day", "day_of_week", "month_of_year", "year", "second", "hour", "minute", "null"]],
    "interaction": [Raw(v) for v in ["click", '""', "yes", "123", "null", "[click]"]],
    "top": [Raw(v) for v in ["click", '""', "on", "null"]],
    "bottom": [Raw(v) for v in ["impression", '""', "off", "1"]],
    "rankingField": [Raw(json.dumps(s)) for s in ["ranking.q", "item.q", "user.q", "interaction:click.q", "ranking"]],
    "itemField": [Raw(json.dumps(s)) for s in ["item.t", "metadata.t", "ranking.t", "user.t", "*.t"]],
    "method": [
        {"type": "ngram", "n": 3, "language": "en"}, {"type": "term", "n": 1, "language": "generic"},
        {"type": "term", "language": "en"}, {"type": "ngram", "language": "en"}, {"type": "ngram", "n": 3},
        {"type": "bm25", "n": 3, "language": "en"}, {"n": 3, "language": "en"},
        {"type": "ngram", "n": 0, "language": "en"}, {"type": "ngram", "n": -2, "language": "en"},
        {"type": "ngram", "n": Raw("'3'"), "language": "en"}, {"type": "ngram", "n": 3, "language": Raw("no")},
        {"type": "ngram", "n": 3, "language": "english"}, {"type": "ngram", "n": 3, "language": "xx"},
        {"type": "ngram", "n": 3, "language": "EN"}, {"type": "ngram", "n": 3, "language": "cz"},
        {"type": "ngram", "n": 3, "language": "ja"}, {"type": "ngram", "n": 3, "language": "generic", "extra": 1},
        Raw('"ngram"'),
    ],
    "name": [Raw(v) for v in ['"x"', '""', "123", "yes", "null", '"a b"', '"ctr"']],
}
COMMON_EXTRAS = ["scope", "refresh", "ttl", "source", "field", "values", "encode", "unknown_option"]


# -- the generator ----------------------------------------------------------------------------


def corpus(seed: int = SEED) -> list[Case]:
    rng = random.Random(seed)
    base = bases()
    names = list(base)
    cases: list[Case] = []
    seen: set[str] = set()

    def add(category: str, base_name: str, detail: str, config: Any = None, text: str | None = None) -> None:
        slug = detail.replace("/", "\u2215").replace("\n", " ")[:100]
        name = f"{category}/{base_name}/{slug}"
        n = 2
        while name in seen:
            name = f"{category}/{base_name}/{slug}~{n}"
            n += 1
        seen.add(name)
        cases.append(Case(name, category, text if text is not None else to_text(config)))

    def pick(predicate: Callable[[dict], bool] = lambda c: True) -> str:
        fitting = [n for n in names if predicate(base[n])]
        return rng.choice(fitting)

    def small(config: dict) -> bool:
        """Hosts for the feature, source and state mutations: validation time grows with the
        config, and the large bases are mutated by the other sections."""
        return len(config["features"]) <= 2

    # 1. the bases themselves
    for name in names:
        add("identity", name, "as-is", base[name])

    # 2. integer spellings at every integer site
    def int_sites(config: dict) -> list[tuple[str, Path_]]:
        sites: list[tuple[str, Path_]] = [
            ("inference.port", ("inference", "port")),
            ("bootstrap.parallelism", ("bootstrap", "parallelism")),
            ("inference.parallelism", ("inference", "parallelism")),
            ("state.port", ("inference", "state", "port")),
        ]
        if config["inference"]["source"].get("type") == "rest":
            sites += [("rest.port", ("inference", "source", "port")), ("rest.bufferSize", ("inference", "source", "bufferSize"))]
        model = lambdamart(config)
        if model:
            for key in ("iterations", "seed", "maxDepth", "ndcgCutoff"):
                sites.append((f"backend.{key}", ("models", model, "backend", key)))
            if config["models"][model]["backend"].get("type") == "lightgbm":
                sites.append(("backend.numLeaves", ("models", model, "backend", "numLeaves")))
        for name, model_conf in config["models"].items():
            if model_conf.get("type") == "shuffle":
                sites.append(("shuffle.maxPositionChange", ("models", name, "maxPositionChange")))
        for kind, key in (("rate", "periods"), ("window_count", "periods")):
            i = feature_index(config, kind)
            if i is not None:
                sites.append((f"{kind}.periods[0]", ("features", i, key, 0)))
        i = feature_index(config, "interacted_with")
        if i is not None:
            sites.append(("interacted_with.count", ("features", i, "count")))
        i = feature_index(config, "field_match")
        if i is not None and isinstance(config["features"][i].get("method"), dict):
            sites.append(("field_match.n", ("features", i, "method", "n")))
        return sites

    site_bases: dict[str, list[str]] = {}
    for name in names:
        for label, path in int_sites(base[name]):
            site_bases.setdefault(label, []).append(name)
    for label, candidates in sorted(site_bases.items()):
        for spelling in INT_SPELLINGS:
            name = rng.choice(candidates)
            path = dict(int_sites(base[name]))[label]
            add("numbers", name, f"{label}={spelling}", put(base[name], path, Raw(spelling)))

    # 3. floating point sites
    for spelling in DOUBLE_SPELLINGS:
        name = pick(lambda c: lambdamart(c) is not None)
        model = lambdamart(base[name])
        add("doubles", name, f"learningRate={spelling}", put(base[name], ("models", model, "backend", "learningRate"), Raw(spelling)))
        name = pick(lambda c: lambdamart(c) is not None)
        model = lambdamart(base[name])
        weights = base[name]["models"][model]["weights"]
        event = next(iter(weights))
        add("doubles", name, f"weight={spelling}", put(base[name], ("models", model, "weights", event), Raw(spelling)))

    # 4. durations wherever the engine reads one
    for spelling in DURATIONS:
        for kind, key in (("number", "ttl"), ("number", "refresh"), ("rate", "bucket"), ("window_count", "bucket"),
                          ("interacted_with", "duration"), ("interaction_count", "ttl")):
            feature = dict(FEATURES[kind], **{key: Raw(spelling)})
            name = pick(small)
            config = copy.deepcopy(base[name])
            config["features"].append(feature)
            add("durations", name, f"{kind}.{key}={spelling}", config)

    # 5. offsets on every source that has one (and on the file source, which has one too)
    for spelling in OFFSETS:
        for where in ("bootstrap", "inference"):
            for source in (SOURCES["kafka"], SOURCES["kinesis"], SOURCES["pulsar"], SOURCES["file"]):
                name = pick(small)
                config = put(base[name], (where, "source"), dict(source, offset=Raw(spelling)))
                add("offsets", name, f"{where}.{source['type']}.offset={spelling}", config)

    # 6. every key removed, one at a time
    for name in names:
        for path in key_paths(base[name]):
            add("missing", name, "-" + ".".join(map(str, path)), drop(base[name], path))

    # 7. an unknown key in every mapping, and near misses of real keys
    for name in names:
        for i, path in enumerate(mapping_paths(base[name])):
            mapping = get(base[name], path)
            config = copy.deepcopy(base[name])
            get(config, path)["x_unknown"] = 1
            add("extra", name, "+" + ".".join(map(str, (*path, "x_unknown"))), config)
            keys = [k for k in mapping if isinstance(k, str) and len(k) > 3]
            if keys:
                key = keys[i % len(keys)]
                typo = key[:-2] + key[-1] + key[-2]  # swap the last two letters
                if typo not in mapping:
                    config = copy.deepcopy(base[name])
                    target = get(config, path)
                    target[typo] = target.pop(key)
                    add("extra", name, f"typo {'.'.join(map(str, path))}.{key}->{typo}", config)

    # 8. every feature type, each option missing, added, or with other values
    for kind, template in FEATURES.items():
        host = pick(small)
        add("features", host, f"{kind}:valid", _with_feature(base[host], template))
        for key in template:
            if key != "type":
                host = pick(small)
                add("features", host, f"{kind}:-{key}", _with_feature(base[host], _without(template, key)))
        for key in COMMON_EXTRAS + [k for k in OPTION_VALUES if k not in COMMON_EXTRAS]:
            values = OPTION_VALUES.get(key, [Raw("1")])
            # every value of the type's own options; a valid and an invalid one of the others
            for value in values if key in template else values[:1] + values[-1:]:
                if key in template and template[key] == value:
                    continue
                host = pick(small)
                add("features", host, f"{kind}:{key}={_show(value)}", _with_feature(base[host], dict(template, **{key: value})))

    # 9. models
    for variant, model in MODELS.items():
        host = pick(small)
        config = copy.deepcopy(base[host])
        model = copy.deepcopy(model)
        if isinstance(model, dict) and model.get("features") == "<defined>":
            model["features"] = [config["features"][0]["name"]]
        config["models"]["probe_m"] = model
        add("models", host, variant, config)
    for variant, models in TOP_MODELS.items():
        host = pick(small)
        add("models", host, variant, put(base[host], ("models",), models))

    # 10. sources: every type in both places, each key missing, wrong values
    for where in ("bootstrap", "inference"):
        for kind, source in SOURCES.items():
            host = pick(small)
            add("sources", host, f"{where}:{kind}", put(base[host], (where, "source"), source))
            for key in source:
                host = pick(small)
                add("sources", host, f"{where}:{kind}:-{key}", put(base[host], (where, "source"), _without(source, key)))
            for key, values in SOURCE_VALUES.items():
                for value in values:
                    host = pick(small)
                    add("sources", host, f"{where}:{kind}:{key}={_show(value)}",
                        put(base[host], (where, "source"), dict(source, **{key: value})))

    # 11. state
    for variant, state in STATES.items():
        host = pick(small)
        add("state", host, variant, put(base[host], ("inference", "state"), state))

    # 12. paths
    for spelling in PATHS:
        host = pick()
        add("paths", host, f"workdir={spelling}", put(base[host], ("bootstrap", "workdir"), spelling))
        host = pick(lambda c: lambdamart(c) is not None)
        add("paths", host, f"model.path={spelling}", put(base[host], ("models", lambdamart(base[host]), "path"), spelling))
        host = pick()
        add("paths", host, f"file.path={spelling}", put(base[host], ("bootstrap", "source"), {"type": "file", "path": spelling}))

    # 13. strings the YAML 1.1 resolver turns into something else
    for spelling in STRINGS:
        for label, path in (("eventName", ("bootstrap", "syntheticImpression", "eventName")),
                            ("inference.host", ("inference", "host")),
                            ("state.host", ("inference", "state", "host")),
                            ("syntheticImpression.enabled", ("bootstrap", "syntheticImpression", "enabled"))):
            host = pick(lambda c: c["inference"]["state"].get("type") == "redis") if label == "state.host" else pick()
            config = copy.deepcopy(base[host])
            config["bootstrap"].setdefault("syntheticImpression", {})
            add("strings", host, f"{label}={spelling}", put(config, path, Raw(spelling)))
    for spelling in ("true", "false", "yes", "no", "on", "off", "y", "n", "True", "TRUE", '"true"', "1", "0", "null"):
        host = pick()
        config = put(base[host], ("bootstrap", "syntheticImpression"), {"enabled": Raw(spelling)})
        add("strings", host, f"enabled={spelling}", config)

    # 14. the top level
    for name in names:
        config = base[name]
        add("toplevel", name, "features=[]", put(config, ("features",), []))
        add("toplevel", name, "models={}", put(config, ("models",), {}))
        add("toplevel", name, "features=mapping", put(config, ("features",), {"a": config["features"][0]}))
        add("toplevel", name, "duplicate feature", put(config, ("features",), [*config["features"], config["features"][0]]))
        add("toplevel", name, "features=null", put(config, ("features",), None))
        add("toplevel", name, "bootstrap=null", put(config, ("bootstrap",), None))
        add("toplevel", name, "+state (0.5 section)", dict(copy.deepcopy(config), state={"type": "memory"}))
        add("toplevel", name, "+api", dict(copy.deepcopy(config), api={"port": 8080}))

    # 15. YAML itself
    for name in names:
        text = to_text(base[name])
        add("yaml", name, "flow json", text=json.dumps(base[name]) + "\n")
        add("yaml", name, "two documents", text=text + "---\n" + text)
        add("yaml", name, "explicit document", text="---\n" + text + "...\n")
        add("yaml", name, "bom", text="\ufeff" + text)
        add("yaml", name, "comment only", text="# nothing\n")
        add("yaml", name, "top-level list", text=f"- {json.dumps(base[name])}\n")
        add("yaml", name, "duplicate key", text=text + "bootstrap:\n" + dump({"bootstrap": base[name]["bootstrap"]}).split("\n", 1)[1] + "\n")
        add("yaml", name, "tab indentation", text=text.replace("\n  ", "\n\t", 1))
        add("yaml", name, "anchor and alias", text=_with_anchor(text))
    host = pick()
    shared = copy.deepcopy(base[host])
    merged = "inference:\n  <<: {port: 8081, host: 0.0.0.0}\n" + dump(shared["inference"], 2) + "\n"
    del shared["inference"]
    add("yaml", host, "merge key", text=to_text(shared) + merged)
    host = pick()
    add("yaml", host, "plain n key", text=to_text(_with_feature(base[host], FEATURES["field_match"])).replace('"n": 3', "n: 3"))
    for spelling in ("!!str 8080", "!!int '8080'", "!!int 8080", "!!float 8080", "!custom 8080", "!!binary aGVsbG8="):
        host = pick()
        add("yaml", host, f"tag {spelling}", put(base[host], ("inference", "port"), Raw(spelling)))
    for spelling in ("!!str earliest", "!!timestamp 2001-01-01", "!!null ''", "&a earliest"):
        host = pick()
        add("yaml", host, f"tag {spelling}", put(base[host], ("bootstrap", "source"), dict(SOURCES["kafka"], offset=Raw(spelling))))

    return cases


SOURCES: dict[str, dict] = {
    "file": {"type": "file", "path": "s3://bucket/events/"},
    "kafka": {"type": "kafka", "brokers": ["kafka:9092"], "topic": "events", "groupId": "ranker", "offset": "earliest"},
    "pulsar": {"type": "pulsar", "serviceUrl": "pulsar://pulsar:6650", "adminUrl": "http://pulsar:8080",
               "topic": "events", "subscriptionName": "ranker", "subscriptionType": "exclusive", "offset": "earliest"},
    "kinesis": {"type": "kinesis", "topic": "events", "region": "us-east-1", "offset": "latest"},
    "rest": {"type": "rest"},
}
SOURCE_VALUES: dict[str, list[Any]] = {
    "type": [Raw(v) for v in ["Kafka", "s3", "null", "http"]],
    "options": [{"a": "1"}, {"a": Raw("1")}, {"a": Raw("true")}, {"a": Raw("null")}, {}, Raw("[]"), {"a": {"b": "c"}},
                {"sasl.jaas.config": "x"}, {"receiverQueueSize": Raw("1_000")}],
    "offset": [Raw("latest"), Raw("id=1")],
    "brokers": [Raw(v) for v in ["[]", "kafka:9092", "[kafka:9092, kafka2:9092]", "['']", "[1]", "[null]"]],
    "subscriptionType": [Raw(v) for v in ["exclusive", "shared", "failover", "key_shared", "Exclusive", "''"]],
    "bufferSize": [Raw(v) for v in ["10000", "0", "-1", "'10'", "1e4", "2147483648"]],
    "port": [Raw(v) for v in ["8080", "0", "70000", "'8080'", "-1", "0x1F90"]],
    "host": [Raw(v) for v in ["localhost", "''", "null", "0.0.0.0"]],
    "path": [Raw(v) for v in ['"s3://bucket/x"', '"s3a://bucket/x"', "''", "null", "1"]],
    "region": [Raw(v) for v in ["us-east-1", "''", "null"]],
    "topic": [Raw(v) for v in ["events", "''", "123", "null"]],
    "groupId": [Raw(v) for v in ["ranker", "''", "0x1F", "no"]],
}

MODELS: dict[str, Any] = {
    "noop": {"type": "noop"},
    "noop+extra": {"type": "noop", "features": ["x"], "weights": {"click": 1}},
    "shuffle": {"type": "shuffle", "maxPositionChange": 5},
    "shuffle-missing": {"type": "shuffle"},
    "shuffle-zero": {"type": "shuffle", "maxPositionChange": 0},
    "shuffle-negative": {"type": "shuffle", "maxPositionChange": -3},
    "shuffle-string": {"type": "shuffle", "maxPositionChange": "5"},
    "unknown type": {"type": "als"},
    "Noop": {"type": "Noop"},
    "no type": {"maxPositionChange": 5},
    "null": None,
    "list": [{"type": "noop"}],
    "lambdamart xgboost": {"type": "lambdamart", "path": "s3://bucket/m", "backend": {"type": "xgboost"},
                           "features": "<defined>", "weights": {"click": 1}},
    "lambdamart lightgbm all": {"type": "lambdamart", "path": "/models/m", "features": "<defined>", "weights": {"click": 1},
                                "backend": {"type": "lightgbm", "iterations": 10, "learningRate": 0.2, "ndcgCutoff": 5,
                                            "maxDepth": 4, "seed": 1, "numLeaves": 8}},
    "xgboost numLeaves": {"type": "lambdamart", "path": "/m", "features": "<defined>", "weights": {"click": 1},
                          "backend": {"type": "xgboost", "numLeaves": 8}},
    "backend no type": {"type": "lambdamart", "path": "/m", "features": "<defined>", "weights": {"click": 1},
                        "backend": {"iterations": 10}},
    "backend catboost": {"type": "lambdamart", "path": "/m", "features": "<defined>", "weights": {"click": 1},
                         "backend": {"type": "catboost"}},
    "backend string": {"type": "lambdamart", "path": "/m", "features": "<defined>", "weights": {"click": 1},
                       "backend": "xgboost"},
    "no backend": {"type": "lambdamart", "path": "/m", "features": "<defined>", "weights": {"click": 1}},
    "no path": {"type": "lambdamart", "backend": {"type": "xgboost"}, "features": "<defined>", "weights": {"click": 1}},
    "no features": {"type": "lambdamart", "path": "/m", "backend": {"type": "xgboost"}, "weights": {"click": 1}},
    "features=[]": {"type": "lambdamart", "path": "/m", "backend": {"type": "xgboost"}, "features": [], "weights": {"click": 1}},
    "undefined feature": {"type": "lambdamart", "path": "/m", "backend": {"type": "xgboost"}, "features": ["nope"],
                          "weights": {"click": 1}},
    "no weights": {"type": "lambdamart", "path": "/m", "backend": {"type": "xgboost"}, "features": "<defined>"},
    "weights={}": {"type": "lambdamart", "path": "/m", "backend": {"type": "xgboost"}, "features": "<defined>", "weights": {}},
    "weights list": {"type": "lambdamart", "path": "/m", "backend": {"type": "xgboost"}, "features": "<defined>",
                     "weights": ["click"]},
    "weight negative": {"type": "lambdamart", "path": "/m", "backend": {"type": "xgboost"}, "features": "<defined>",
                        "weights": {"click": -1}},
    "weight zero": {"type": "lambdamart", "path": "/m", "backend": {"type": "xgboost"}, "features": "<defined>",
                    "weights": {"click": 0}},
    "feature repeated": {"type": "lambdamart", "path": "/m", "backend": {"type": "xgboost"}, "features": "<defined>",
                         "weights": {"click": 1, "clack": 2}},
    "features string": {"type": "lambdamart", "path": "/m", "backend": {"type": "xgboost"}, "features": "a",
                        "weights": {"click": 1}},
    "iterations 0": {"type": "lambdamart", "path": "/m", "features": "<defined>", "weights": {"click": 1},
                     "backend": {"type": "xgboost", "iterations": 0}},
    "learningRate 0": {"type": "lambdamart", "path": "/m", "features": "<defined>", "weights": {"click": 1},
                       "backend": {"type": "xgboost", "learningRate": 0}},
    "numLeaves 1": {"type": "lambdamart", "path": "/m", "features": "<defined>", "weights": {"click": 1},
                    "backend": {"type": "lightgbm", "numLeaves": 1}},
    "maxDepth 0": {"type": "lambdamart", "path": "/m", "features": "<defined>", "weights": {"click": 1},
                   "backend": {"type": "xgboost", "maxDepth": 0}},
    "ndcgCutoff 0": {"type": "lambdamart", "path": "/m", "features": "<defined>", "weights": {"click": 1},
                     "backend": {"type": "xgboost", "ndcgCutoff": 0}},
    "seed negative": {"type": "lambdamart", "path": "/m", "features": "<defined>", "weights": {"click": 1},
                      "backend": {"type": "xgboost", "seed": -5}},
}
TOP_MODELS: dict[str, Any] = {
    "two noops": {"a": {"type": "noop"}, "b": {"type": "noop"}},
    "numeric model name": {Raw("1"): {"type": "noop"}},
    "yes model name": {Raw("yes"): {"type": "noop"}},
    "empty model name": {Raw('""'): {"type": "noop"}},
    "models list": [{"type": "noop"}],
}
STATES: dict[str, Any] = {
    "redis": {"type": "redis", "host": "redis"},
    "redis all": {"type": "redis", "host": "redis", "port": 6380, "format": "json"},
    "redis no host": {"type": "redis", "port": 6379},
    "redis empty host": {"type": "redis", "host": ""},
    "redis format xml": {"type": "redis", "host": "redis", "format": "xml"},
    "redis format JSON": {"type": "redis", "host": "redis", "format": "JSON"},
    "redis password": {"type": "redis", "host": "redis", "password": "x"},
    "redis tls": {"type": "redis", "host": "redis", "tls": True},
    "redis port string": {"type": "redis", "host": "redis", "port": "6379"},
    "redis port 0": {"type": "redis", "host": "redis", "port": 0},
    "redis port 65536": {"type": "redis", "host": "redis", "port": 65536},
    "memory": {"type": "memory"},
    "memory all": {"type": "memory", "port": 6390, "format": "json"},
    "memory host": {"type": "memory", "host": "redis"},
    "no type": {"host": "redis"},
    "type Redis": {"type": "Redis", "host": "redis"},
    "type rocksdb": {"type": "rocksdb"},
    "null": None,
    "string": "redis",
}


def _with_feature(config: dict, feature: Any) -> dict:
    out = copy.deepcopy(config)
    out["features"] = [f for f in out["features"] if f.get("name") != "probe_f"] + [feature]
    return out


def _without(mapping: dict, key: str) -> dict:
    return {k: v for k, v in mapping.items() if k != key}


def _show(value: Any) -> str:
    return value.text if isinstance(value, Raw) else json.dumps(value, default=lambda r: r.text)


def _with_anchor(text: str) -> str:
    """bootstrap.workdir given through an anchor defined in an extra top-level key."""
    found = re.search(r"^  workdir: (.*)$", text, re.M)
    assert found, "every base has bootstrap.workdir"
    return f"x_defaults: &w {found.group(1)}\n" + text[: found.start(1)] + "*w" + text[found.end(1):]


def write_corpus(cases: list[Case], directory: Path) -> dict[str, Path]:
    """Each case to ``directory/<n>.yml``; {case name: path}."""
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for i, case in enumerate(cases):
        path = directory / f"{i:05d}.yml"
        path.write_text(case.text, encoding="utf-8")
        out[case.name] = path
    return out
