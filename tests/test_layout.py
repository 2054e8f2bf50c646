"""The package's shape: one home per stage, no import cycle, no reach into another module's private
names, modules and functions of a readable size, and own-package imports inside functions only
where an env must not load a heavy dependency (and then saying so)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from conftest import REPO

SRC = REPO / "src" / "idscaling"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 120


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def own_imports(tree: ast.AST) -> list[tuple[ast.ImportFrom | ast.Import, str, list[str], bool]]:
    """(node, imported module, names, inside a function) for every import of idscaling code."""
    out = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("idscaling"):
                names = [a.name for a in child.names]
                target = child.module
                submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
                if len(submodules) < len(names):  # (a package's own names, not only its submodules)
                    out.append((child, target, names, in_function))
                out.extend((child, s, [], in_function) for s in submodules)
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("idscaling"):
                        out.append((child, alias.name, [], in_function))
            visit(child, inner)

    visit(tree, False)
    return out


TREES = {name: ast.parse(path.read_text()) for name, path in MODULES.items()}
IMPORTS = {name: own_imports(tree) for name, tree in TREES.items()}


def test_every_stage_has_one_subpackage():
    packages = sorted(p.parent.name for p in SRC.glob("*/__init__.py"))
    assert packages == ["cli", "corpus", "fit", "id", "latent", "lm", "report", "workflow"]
    top = sorted(p.stem for p in SRC.glob("*.py"))
    assert top == ["__init__", "archive", "atomic", "config", "provenance", "runlog"]


def test_no_import_cycle():
    """Tarjan's strongly connected components of the own-module import graph (module-level and
    function-level imports alike; importing a package counts as importing its __init__)."""
    graph = defaultdict(set)
    for name, imports in IMPORTS.items():
        for _, target, _, _ in imports:
            if target in MODULES and target != name:
                graph[name].add(target)
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in list(MODULES):
        if v not in index:
            strongconnect(v)
    assert cycles == []


def test_no_import_of_another_modules_private_names():
    private = [
        (name, target, n)
        for name, imports in IMPORTS.items()
        for _, target, names, _ in imports
        for n in names
        if n.startswith("_") and target != name
    ]
    assert private == []


def test_modules_and_functions_are_of_a_readable_size():
    long_modules = {name: len(MODULES[name].read_text().splitlines()) for name in MODULES}
    assert {n: c for n, c in long_modules.items() if c > MAX_MODULE_LINES} == {}
    long_functions = [
        (name, node.name, node.end_lineno - node.lineno + 1)
        for name, tree in TREES.items()
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long_functions == []


def test_function_level_imports_of_own_code_say_why():
    """A function-level import of idscaling code is there so that an env (or the workflow's parse)
    does not load a heavy dependency: it carries a comment naming it, on its line or the one before."""
    silent = []
    for name, imports in IMPORTS.items():
        lines = MODULES[name].read_text().splitlines()
        for node, target, _, in_function in imports:
            if not in_function or not isinstance(node, ast.ImportFrom) or target not in MODULES and not node.names:
                continue
            here = lines[node.lineno - 1]
            before = lines[node.lineno - 2].strip() if node.lineno >= 2 else ""
            if "#" not in "\n".join(lines[node.lineno - 1 : node.end_lineno]) and not before.startswith("#"):
                silent.append(f"{name}:{node.lineno}: {here.strip()}")
    assert sorted(set(silent)) == []


def test_tests_mirror_the_package():
    """A subpackage's tests live in tests/<subpackage>/ (plus tests/workflow for the Snakemake side
    and tests/bench for the benchmark harnesses), top-level modules' tests in tests/; basenames are
    unique, since the test folders are not packages (pytest imports each file by its name)."""
    tests = REPO / "tests"
    subpackages = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    folders = {p.name for p in tests.iterdir() if p.is_dir() and any(p.glob("test_*.py"))}
    assert folders <= subpackages | {"bench"}, folders - subpackages
    files = sorted(tests.rglob("test_*.py"))
    names = [p.name for p in files]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    modules = {p.stem for p in SRC.glob("*.py")} - {"__init__"}
    top = {p.stem.removeprefix("test_") for p in tests.glob("test_*.py")}
    assert top - modules <= {"layout", "registries"}, top - modules  # the two tests of the whole tree
