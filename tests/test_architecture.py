"""The package's import graph: acyclic (function-level imports included), and no subpackage reaches into
another's private ``_x`` modules. And the suite's own shape: every test checks something."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import autodistiller

PACKAGE_DIR = Path(autodistiller.__file__).parent
ROOT = PACKAGE_DIR.name


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every project module ``module`` imports, wherever the import statement sits (function bodies too).
    ``from pkg import name`` is an edge to the submodule ``pkg.name`` when there is one, else to ``pkg`` itself
    (its ``__init__``, which may import much more)."""
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(parts + ([node.module] if node.module else []))
            # `from pkg import name`: the submodule pkg.name when there is one, else pkg itself
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name.split(".")[0] == ROOT and name != module:
                targets.add(name)
    return targets


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _subpackage(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def test_module_import_graph_is_acyclic():
    assert _cycles(_graph()) == []


def test_subpackages_form_layers():
    """Subpackage level too: a stage never imports, even lazily, a package that imports it back."""
    layers: dict[str, set[str]] = defaultdict(set)
    for module, targets in _graph().items():
        source = _subpackage(module)
        if source == ROOT:  # the package's own __init__ re-exports everything
            continue
        for target in targets:
            if _subpackage(target) not in (source, ROOT):
                layers[source].add(_subpackage(target))
    assert _cycles(dict(layers)) == []


def test_no_subpackage_imports_another_subpackages_private_module():
    offenders = []
    for module, targets in _graph().items():
        for target in targets:
            parts = target.split(".")
            private = [i for i, part in enumerate(parts) if part.startswith("_") and i > 1]
            owner = ".".join(parts[: private[0]]) if private else None
            if owner and not (module == owner or module.startswith(owner + ".")):
                offenders.append(f"{module} -> {target}")
    assert offenders == []


def test_the_checker_sees_function_level_imports_and_cycles(tmp_path):
    """The walk itself: a lazy import inside a function is an edge, and a two-module loop is a cycle."""
    path = tmp_path / "x.py"
    path.write_text("def f():\n    from autodistiller.config import PipelineConfig\n    from . import y\n")
    modules = {"autodistiller.x": path, "autodistiller.y": path, "autodistiller.config": path}
    assert _imports("autodistiller.x", path, modules) == {"autodistiller.config", "autodistiller.y"}
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


#: calls that check by themselves: pytest's context managers, scikit-learn's ``check(estimator)`` (from
#: ``parametrize_with_checks``) and the ``assert_*`` / ``check_estimator`` helpers
_CHECKING_CALLS = ("raises", "warns", "fail", "check")
_CHECKING_PREFIXES = ("assert", "_assert", "check_estimator")


def _checks(function: ast.AST) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in _CHECKING_CALLS or name.startswith(_CHECKING_PREFIXES):
                return True
    return False


def test_every_test_function_checks_something():
    """A test without an ``assert`` or ``pytest.raises`` passes whatever the code does."""
    tests_dir = Path(__file__).parent
    unchecked = [
        f"{path.relative_to(tests_dir)}::{node.name}"
        for path in sorted(tests_dir.rglob("test_*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
        and not _checks(node)
    ]
    assert unchecked == []
