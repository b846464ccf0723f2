"""The house reads bottom-up: world core <- instrumentation <- vending env, no cycle.

Every import statement is read from the source (module level, inside functions and under
TYPE_CHECKING alike), so a lazy import cannot hide a cycle. The files both sides read
(paths, schedule, oversight config) are parsed by `tycoon.ops_files`, which imports
neither.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# folder in the repository -> its name in the `tycoon` namespace
PACKAGES = {"envs": "tycoon.envs", "instrumentation": "tycoon.instrumentation"}
SHARED = {"tycoon.ops_files": ROOT / "tycoon" / "ops_files.py"}


def module_files() -> dict[str, Path]:
    modules = dict(SHARED)
    for folder, prefix in PACKAGES.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join((prefix, *parts))] = path
    return modules


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    return {
        name: {imported for imported in imports_of(path) if imported in modules}
        for name, path in modules.items()
    }


def layer(module: str) -> str:
    if module.startswith("tycoon.envs.world"):
        return "world core"
    if module.startswith("tycoon.instrumentation"):
        return "instrumentation"
    if module.startswith("tycoon.envs"):
        return "vending env"
    return "shared"


# what each layer may import (besides itself)
ALLOWED = {
    "shared": set(),
    "world core": {"shared"},
    "instrumentation": {"shared", "world core"},
    "vending env": {"shared", "world core", "instrumentation"},
}


def test_each_layer_imports_only_the_layers_below_it():
    wrong = sorted(
        f"{module} ({layer(module)}) imports {imported} ({layer(imported)})"
        for module, imported_set in import_graph().items()
        for imported in imported_set
        if layer(imported) != layer(module) and layer(imported) not in ALLOWED[layer(module)]
    )
    assert wrong == []


def test_no_cycle_crosses_envs_and_instrumentation():
    graph = import_graph()

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    crossing = sorted(
        (a, b)
        for a in graph
        if a.startswith("tycoon.instrumentation")
        for b in reachable(a)
        if b.startswith("tycoon.envs") and a in reachable(b)
    )
    assert crossing == []


def test_the_check_sees_a_planted_cycle(tmp_path, monkeypatch):
    """The graph check can fail: a detector that imports the env is caught."""
    planted = tmp_path / "planted.py"
    planted.write_text("from tycoon.envs.vending.tools import TOOL_NAMES\n")
    monkeypatch.setitem(SHARED, "tycoon.instrumentation.planted", planted)
    assert any(
        "tycoon.envs.vending.tools" in imported
        for imported in import_graph()["tycoon.instrumentation.planted"]
    )
    try:
        test_each_layer_imports_only_the_layers_below_it()
    except AssertionError:
        return
    raise AssertionError("a detector importing the env went unnoticed")


def test_detectors_tool_names_are_the_envs():
    from tycoon.envs.vending.tools import TOOL_NAMES as ENV_TOOL_NAMES
    from tycoon.instrumentation.trace import TOOL_NAMES

    assert TOOL_NAMES == ENV_TOOL_NAMES
