"""ranker_values/'s packages depend on each other in one direction, with no import circle.

The folders tell the flow (ARCHITECTURE.md): ``cli → pipeline → config → values``,
``ops → kube → values``, and every package may use ``errors`` and ``files``. Function-level
imports count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "ranker_values"

# package → the packages it may import (itself always allowed)
ALLOWED = {
    "cli": {"pipeline", "config", "values", "files", "kube", "ops", "errors", "__init__"},
    "pipeline": {"config", "values", "files", "errors"},
    "config": {"values", "files", "errors"},
    "values": {"files", "errors", "__init__"},
    "files": {"errors"},
    "kube": {"values", "files", "errors"},
    "ops": {"kube", "values", "files", "errors", "config", "__init__"},
    "errors": set(),
    "__init__": set(),
}


def _package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(path: Path, module: str) -> list[tuple[str, bool]]:
    """(imported generator module, at module level?) for every run-time import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(node) for node in tree.body}
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    out = []
    for node in ast.walk(tree):
        if id(node) in typing_only:  # annotations only: no run-time dependency
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ranker_values"):
            targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name.startswith("ranker_values")]
        else:
            continue
        for target in targets:
            out.append((target, id(node) in top_level))
    return out


def _edges() -> dict[str, set[str]]:
    modules = _modules()
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for target, _ in _imports(path, module):
            if target in modules and target != module:
                edges[module].add(target)
    return edges


def test_every_import_points_along_the_flow():
    wrong = []
    for module, targets in _edges().items():
        source = _package_of(module)
        for target in targets:
            dest = _package_of(target)
            if dest != source and dest not in ALLOWED[source]:
                wrong.append(f"{module} → {target}")
    assert not wrong, "imports against the flow in ARCHITECTURE.md:\n" + "\n".join(sorted(wrong))


def test_there_is_no_import_circle_between_modules():
    edges = _edges()
    # parents import their children only by name resolution, not as a dependency we care about
    for module in edges:
        edges[module] = {t for t in edges[module] if not t.startswith(module + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for module in sorted(edges):
        if module not in state:
            cycle = visit(module)
            assert cycle is None, "import circle: " + " → ".join(cycle)


def test_nothing_imports_the_cli():
    importers = [m for m, targets in _edges().items() if "ranker_values.cli" in targets and m != "ranker_values.cli"]
    assert importers == []


@pytest.mark.parametrize("package", ["config", "values", "files", "kube", "ops"])
def test_each_concern_is_a_package(package):
    assert (ROOT / package / "__init__.py").is_file()
