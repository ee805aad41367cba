"""The chart's values contract is documented and closed.

Every value in values.yaml (and the bundled Redis subchart's, under `redis.`) has a `## @param`
line on itself or on the free-form map that holds it; every `@param` names a real value; the
README table is what scripts/chart_params.py generates; values.schema.json describes exactly the
values that exist, and the Helm SDK enforces it (unknown keys fail the render).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from ranker_values.values.files import dig

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "charts" / "ranker"
SAMPLE = ROOT / "tests" / "data" / "generated-sample" / "update.yaml"


def _load_script():
    spec = importlib.util.spec_from_file_location("chart_params", ROOT / "scripts" / "chart_params.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["chart_params"] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


chart_params = _load_script()
SCHEMA = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
HELM_INJECTED = {"global", "redis.global", "rabbitmq.global"}  # Helm adds these; they are not ours to document


def leaves(node: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths of scalars, lists and empty maps."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from leaves(value, f"{prefix}{key}.")
    else:
        yield prefix.rstrip(".")


def ancestors_and_self(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].removeprefix("#/definitions/")
        node = SCHEMA["definitions"][name]
    return node


def schema_node(path: str) -> dict[str, Any] | None:
    """The schema describing `path`, or the open object that covers it; None when undescribed."""
    node = resolve(SCHEMA)
    for part in path.split("."):
        props = node.get("properties")
        if props is None:
            return node if node.get("type") == "object" else None
        if part not in props:
            return None
        node = resolve(props[part])
    return node


def schema_paths(node: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Every property the schema defines, down to open objects and scalars."""
    node = resolve(node)
    for key, child in node.get("properties", {}).items():
        path = f"{prefix}{key}"
        yield path
        yield from schema_paths(child, f"{path}.")


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return chart_params.merged_values()


@pytest.fixture(scope="module")
def params() -> list:
    return chart_params.all_params()


def test_every_value_is_documented(values, params):
    documented = {p.path for p in params}
    undocumented = [
        leaf for leaf in leaves(values) if not documented.intersection(ancestors_and_self(leaf))
    ]
    assert undocumented == [], f"values without a ## @param line: {undocumented}"


def test_every_param_names_a_real_value(values, params):
    unknown = [p.path for p in params if dig(values, p.path, chart_params.MISSING) is chart_params.MISSING]
    assert unknown == [], f"@param lines naming no value: {unknown}"


def test_params_are_unique(params):
    paths = [p.path for p in params]
    assert len(paths) == len(set(paths)), sorted({p for p in paths if paths.count(p) > 1})


def test_readme_table_is_up_to_date():
    assert chart_params.main(["--check"]) == 0, "run: python scripts/chart_params.py"


def test_schema_descriptions_are_the_param_text(params):
    """Hover docs: every value the schema describes itself carries its `## @param` text."""
    described = {p.path: chart_params.schema_property(SCHEMA, p.path) for p in params}
    reachable = {path: node for path, node in described.items() if node is not None}
    assert len(reachable) > 0.8 * len(params)
    wrong = [p.path for p in params if p.path in reachable and reachable[p.path].get("description") != p.description]
    assert wrong == [], f"schema descriptions differ from the @param text (run python scripts/chart_params.py): {wrong}"
    skipped = sorted(path for path, node in described.items() if node is None)
    assert all(path.startswith("global.") or ".image." in f".{path}" for path in skipped), skipped


def test_schema_describes_every_value(values):
    missing = [leaf for leaf in leaves(values) if schema_node(leaf) is None]
    assert missing == [], f"values the schema does not describe: {missing}"


def test_every_schema_property_is_a_value(values):
    extra = [
        path
        for path in schema_paths(SCHEMA)
        if path not in HELM_INJECTED and dig(values, path, chart_params.MISSING) is chart_params.MISSING
    ]
    assert extra == [], f"schema properties with no value in values.yaml: {extra}"


def test_schema_is_draft7_and_closed():
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"

    def open_objects(node: dict[str, Any], path: str) -> Iterator[str]:
        if "properties" in node and node.get("additionalProperties") is not False:
            yield path or "<root>"
        for key, child in node.get("properties", {}).items():
            yield from open_objects(child, f"{path}.{key}".lstrip("."))

    assert list(open_objects(SCHEMA, "")) == []
    for name, node in SCHEMA["definitions"].items():
        assert "properties" not in node or node.get("additionalProperties") is False, name


def test_generated_sample_matches_the_schema():
    import jsonschema
    import yaml

    sample = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(SCHEMA).validate(sample)
    assert set(sample) == {"ranking", "stages"}
    assert all(set(stage) == {"enabled"} for stage in sample["stages"].values())


@pytest.mark.parametrize(
    "bad",
    [
        {"bogus": 1},
        {"stages": {"api": {"bogus": 1}}},
        {"ranking": {"state": {"type": "cassandra"}}},
        {"redis": {"auth": {"bogus": True}}},
        {"stages": {"train": {"resources": {"requets": {"cpu": "1"}}}}},
        {"stages": {"api": {"resources": {"limits": {"memory": "2 GB"}}}}},
        {"stages": {"update": {"tolerations": [{"key": "k", "operator": "equal"}]}}},
        {"rabbitmq": {"affinity": {"nodeAfinity": {}}}},
    ],
    ids=["top-level", "nested", "enum", "subchart", "resources-key", "quantity", "toleration-operator", "affinity-key"],
)
def test_helm_rejects_values_outside_the_schema(bad):
    helm_python = pytest.importorskip("helm_python")
    with pytest.raises(helm_python.HelmValuesError):
        helm_python.Chart.load(CHART).render(bad, name="ranker", namespace="ranking")


def test_helm_accepts_kubernetes_typed_resources_affinity_and_tolerations():
    pytest.importorskip("helm_python")
    good = {
        "resources": {"requests": {"cpu": 0.5, "memory": "512Mi"}, "limits": {"cpu": "2", "memory": "1.5Gi"}},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ranking", "effect": "NoSchedule"},
                        {"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["ranking"]}]}]}}},
    }
    from support.render import render_texts_uncached

    texts = render_texts_uncached([ROOT / "values" / "prod.yaml", CHART / "tests" / "values" / "generated" / "api.yaml"],
                                  {"stages": {"api": good}})
    (api,) = [t for name, t in texts.items() if name.endswith("api/deployment.yaml")]
    assert "ranking" in api and "tolerationSeconds: 30" in api and "1.5Gi" in api
