"""The packages' imports run one way: `models` never imports `service`, and no module of
`models`, `service` or `validation` imports, however indirectly, a module that imports it back.

Every import a module names counts: at import time, for the type checker (`if TYPE_CHECKING:`)
and inside functions (an import deferred into a function is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("models", "service", "validation")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    }


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules a module imports, wherever in it the import stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from package import module` imports the module
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        found.update(target for target in targets if target in known and target != name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _reaches(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    stack = list(graph[start])
    while stack:
        module = stack.pop()
        if module not in seen:
            seen.add(module)
            stack.extend(graph[module])
    return seen


def test_models_imports_nothing_from_service() -> None:
    graph = _graph()
    offending = {
        name: sorted(m for m in imported if m.split(".")[0] == "service")
        for name, imported in graph.items()
        if name.split(".")[0] == "models"
    }
    assert {name: found for name, found in offending.items() if found} == {}


def test_no_module_imports_a_module_that_imports_it_back() -> None:
    graph = _graph()
    assert {"service.storage.reading", "validation.fieldsim.simulation"} <= set(graph)
    cycles = sorted(name for name in graph if name in _reaches(graph, name))
    assert cycles == []
