"""The package's import graph has no cycle and no private name crosses a module.

Every module of ``tuneahead_lint`` is parsed with :mod:`ast`; imports at module
level, inside functions and under ``if TYPE_CHECKING`` all count. ``from pkg
import sub`` is an edge to the submodule ``pkg.sub``; a package's ``__init__`` is
a module of its own (named like the package). Importing ``pkg.sub`` runs
``pkg/__init__`` first, but that implicit edge is left out: a package importing
its children is normal, and a child that explicitly imports its own package's
``__init__`` (which imports the child) shows up as a cycle.

Private: a name (or module) starting with ``_`` but not ``__``. Allowed only
inside the module that defines it, and a private module (``reporters/_common.py``)
only inside its own package.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import tuneahead_lint

ROOT = Path(tuneahead_lint.__file__).parent
PACKAGE = ROOT.name


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    shown: str
    is_package: bool

    @property
    def package(self) -> str:
        """The package that relative imports start from."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


@dataclass(frozen=True)
class Use:
    """One imported module or one name taken from a module, at ``path:line``."""

    source: str
    target: str
    name: str | None
    line: int


def discover(root: Path = ROOT) -> dict[str, Module]:
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = [PACKAGE, *path.relative_to(root).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        modules[name] = Module(name, path, str(path.relative_to(root.parent)), is_package)
    return modules


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _from_base(module: Module, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def uses(module: Module, modules: dict[str, Module]) -> tuple[list[Use], dict[str, str], ast.AST]:
    """The imports of ``module`` (internal ones only) and the local names bound to modules."""
    tree = ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))
    found, bound = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    found.append(Use(module.name, alias.name, None, node.lineno))
                    if alias.asname:
                        bound[alias.asname] = alias.name
                    else:
                        bound[alias.name.partition(".")[0]] = alias.name.partition(".")[0]
        elif isinstance(node, ast.ImportFrom):
            base = _from_base(module, node)
            if base not in modules:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in modules:
                    found.append(Use(module.name, sub, None, node.lineno))
                    bound[alias.asname or alias.name] = sub
                else:
                    found.append(Use(module.name, base, alias.name, node.lineno))
    return found, bound, tree


def import_graph(modules: dict[str, Module]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for module in modules.values():
        for use in uses(module, modules)[0]:
            if use.target != module.name:
                graph[module.name].add(use.target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle path per strongly connected component with more than one module."""
    return [_cycle_in(component, graph) for component in _components(graph) if len(component) > 1]


def _components(graph: dict[str, set[str]]) -> list[set[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    result: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            result.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def _cycle_in(component: set[str], graph: dict[str, set[str]]) -> list[str]:
    """The shortest path from the component's first module back to itself."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & component):
            if nxt == start:
                return paths[node] + [start]
            if nxt not in paths:
                paths[nxt] = paths[node] + [nxt]
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start}")


def _private_module_outside(target: str, source: Module) -> bool:
    parts = target.split(".")
    for depth, part in enumerate(parts):
        if is_private(part):
            owner = ".".join(parts[:depth])
            if not (source.package == owner or source.package.startswith(owner + ".")):
                return True
    return False


def private_uses(modules: dict[str, Module]) -> list[str]:
    problems = []
    for module in modules.values():
        found, bound, tree = uses(module, modules)
        where = module.shown
        for use in found:
            if use.name is not None and is_private(use.name) and use.target != module.name:
                problems.append(f"{where}:{use.line}: imports {use.target}.{use.name}")
            if _private_module_outside(use.target, module):
                problems.append(f"{where}:{use.line}: imports private module {use.target}")
        problems += [f"{where}:{line}: uses {name}" for line, name in _private_attributes(tree, bound, modules)]
    return sorted(set(problems))


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def _private_attributes(tree: ast.AST, bound: dict[str, str], modules: dict[str, Module]):
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and is_private(node.attr)):
            continue
        dotted = _dotted(node.value)
        if dotted is None:
            continue
        head, _, rest = dotted.partition(".")
        if head in bound:
            target = ".".join(filter(None, [bound[head], rest]))
            if target in modules:
                yield node.lineno, f"{target}.{node.attr}"


def test_discovery_sees_packages_and_functions_imports():
    modules = discover()
    assert f"{PACKAGE}.cli" in modules and modules[PACKAGE].is_package
    graph = import_graph(modules)
    assert f"{PACKAGE}.errors" in graph[f"{PACKAGE}.cli"]


def test_import_graph_has_no_cycle():
    found = cycles(import_graph(discover()))
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(path) for path in found)


def test_no_private_name_crosses_a_module():
    found = private_uses(discover())
    assert not found, "private names used across modules:\n" + "\n".join(found)


def _fake_package(tmp_path: Path, files: dict[str, str]) -> dict[str, Module]:
    root = tmp_path / PACKAGE
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return discover(root)


def test_checker_finds_cycle_hidden_in_a_function_and_private_names(tmp_path):
    modules = _fake_package(tmp_path, {
        "__init__.py": "",
        "a.py": "from .b import f\nfrom .sub import _q\n",
        "b.py": "def f():\n    from . import a\n    return a._x\n",
        "sub/__init__.py": "from . import c\n",
        "sub/c.py": "from tuneahead_lint.sub import d\nfrom .._p import y\n",
        "sub/d.py": "from tuneahead_lint import sub\nfrom .c import _z\n",
        "_p.py": "",
        "sub/_q.py": "",
    })
    found = cycles(import_graph(modules))
    assert sorted(map(tuple, found)) == [
        (f"{PACKAGE}.a", f"{PACKAGE}.b", f"{PACKAGE}.a"),
        (f"{PACKAGE}.sub", f"{PACKAGE}.sub.c", f"{PACKAGE}.sub.d", f"{PACKAGE}.sub"),
    ]
    problems = private_uses(modules)
    assert any("b.py:3: uses tuneahead_lint.a._x" in p for p in problems)
    assert any("d.py:2: imports tuneahead_lint.sub.c._z" in p for p in problems)
    assert any("a.py:2: imports private module tuneahead_lint.sub._q" in p for p in problems)
    assert not any("private module tuneahead_lint._p" in p for p in problems)
