"""What each pinned env (envs/*.yaml) must be able to run, and a fresh venv built from exactly it.

Used by tests/workflow/test_envs.py. It lives beside the tests, not in src/idscaling, because it is test
machinery: nothing in the pipeline uses it, and src/ is put on every job's PYTHONPATH (so it would
ship into every env for nothing). It has no third-party imports but ``packaging`` and ``yaml``.

The pieces:

* :func:`parse_env` - an env file's Python version, conda packages and pip pins.
* :func:`rules_by_env` - which rules (rules/*.smk) use which env and which script they run.
* :func:`script_imports` - every import a script can execute: its own (top level and inside
  functions) and, transitively, those of every ``idscaling`` module it reaches (through top-level
  *and* function-level imports: a lazy import runs when the function does). Overapproximates
  (a lazy import in a function no rule calls still counts); the gaps are the test's allowlist.
* :func:`subprocess_calls` - every ``subprocess`` call in the modules a script reaches.
* :func:`closure` - the env's pip packages plus their transitive requirements (markers and
  extras evaluated with ``packaging``), each at the version requirements.lock pins.
* :func:`build_venv` - a venv holding only those distributions.

How the venv is built, and why: ``python -m venv --without-pip`` (the same interpreter as the
project's venv), then every file of each distribution in the closure is symlinked from the
project's venv (``.venv``, built from requirements.lock by ``make setup``) into the new
site-packages, using the distribution's RECORD (a folder only it has files in is linked whole);
console scripts are written anew from
entry_points.txt so that they run the new venv's python. This is offline (the lock's wheels are
already unpacked in .venv; no index, no wheel cache needed), takes seconds even for torch (the
bytecode .venv has is linked too, so nothing is compiled again),
and gives the same bytes pip would install from the lock: each distribution is checked to be at the
lock's version. ``pip install --no-index --no-deps`` from a wheelhouse would be equivalent but
needs the wheels kept somewhere (CI has none) and takes minutes for torch.

Conda package -> PyPI mapping (the envs are conda files; here only pip exists):

* ``python=X.Y`` - the interpreter itself; checked to be the running Python's X.Y.
* ``pip`` - conda-forge's pip is PyPI's pip: taken from .venv like the rest (unpinned in both
  the env and the lock, which is a ``pip freeze`` and so omits pip).

Any other conda package is refused (:data:`CONDA_TO_PYPI` has no entry), so a new one needs a
mapping here before the test accepts it.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from importlib.util import cache_from_source
from pathlib import Path

import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

# `pip freeze` (how requirements.lock was made) leaves these out; they are taken at .venv's version.
# pip: the envs' conda `pip`; setuptools: required by torch (torch.utils.cpp_extension).
FREEZE_OMITS = {"pip", "setuptools"}

# conda package name -> PyPI distribution (None: not a distribution; handled specially)
CONDA_TO_PYPI: dict[str, str | None] = {"python": None, "pip": "pip"}


# ------------------------------------------------------------------ env files and the lock
@dataclass
class EnvSpec:
    name: str
    python: str | None  # "3.11"
    conda: list[str]  # the pypi names of the conda packages (besides python)
    pip: dict[str, str]  # canonical name -> pinned version


def parse_env(path: Path) -> EnvSpec:
    spec = yaml.safe_load(Path(path).read_text())
    python, conda, pip = None, [], {}
    for dep in spec["dependencies"]:
        if isinstance(dep, dict):
            for pin in dep["pip"]:
                name, sep, version = pin.partition("==")
                if not sep:
                    raise ValueError(f"{path.name}: pip entry {pin!r} is not an exact pin")
                pip[canonicalize_name(name)] = version.strip()
            continue
        name, _, version = re.match(r"([A-Za-z0-9_.-]+)\s*(=*\s*(.*))", dep).group(1, 2, 3)
        if name not in CONDA_TO_PYPI:
            raise ValueError(f"{path.name}: conda package {name!r} has no PyPI mapping in CONDA_TO_PYPI")
        if name == "python":
            python = version.strip() or None
        else:
            conda.append(CONDA_TO_PYPI[name])
    return EnvSpec(Path(path).stem, python, conda, pip)


def parse_lock(path: Path) -> dict[str, str]:
    pins = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


# ------------------------------------------------------------------ rules
@dataclass
class Rule:
    name: str
    smk: str
    env: str | None  # "envs/torch.yaml"
    script: str | None  # "scripts/train.py"


def rules_by_env(rules_dir: Path) -> dict[str, list[Rule]]:
    """env path (relative to the repo) -> the rules using it. Rules may be indented (inside an
    ``if``); ``use rule A as B with:`` makes B with A's env and script unless the block sets them."""
    rules: dict[str, Rule] = {}
    uses = []
    for smk in sorted(Path(rules_dir).glob("*.smk")):
        text = smk.read_text()
        heads = list(re.finditer(r"^[ \t]*(?:rule (\w+)|use rule (\w+) as (\w+)(?: with)?):", text, re.M))
        for head, nxt in zip(heads, heads[1:] + [None]):
            body = text[head.end() : nxt.start() if nxt else len(text)]
            env = re.search(r'conda:\s*\n\s*"\.\./([^"]+)"', body)
            script = re.search(r'script:\s*\n\s*"\.\./([^"]+)"', body)
            name = head.group(1) or head.group(3)
            rule = Rule(name, smk.name, env and env.group(1), script and script.group(1))
            if head.group(1):
                rules[name] = rule
            else:
                uses.append((head.group(2), rule))
    for base, rule in uses:
        rule.env = rule.env or rules[base].env
        rule.script = rule.script or rules[base].script
        rules[rule.name] = rule
    out: dict[str, list[Rule]] = {}
    for rule in rules.values():
        if rule.env:
            out.setdefault(rule.env, []).append(rule)
    return out


# ------------------------------------------------------------------ imports
@dataclass(frozen=True)
class Import:
    module: str  # absolute module name ("scipy.stats")
    names: tuple[str, ...]  # from-import names (() for "import module")
    where: str  # "src/idscaling/evaluate.py:30"
    func: str  # the enclosing function ("Class.method"; "" at module level)
    lazy: bool  # inside a function
    guarded: bool  # inside try/except ImportError that does not re-raise (the code copes without it)

    @property
    def file(self) -> str:
        return self.where.rpartition(":")[0]

    @property
    def statement(self) -> str:
        if self.names:
            return f"from {self.module} import {', '.join(self.names)}"
        return f"import {self.module}"


_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError"}


def _copes_with_import_error(handler: ast.ExceptHandler) -> bool:
    """``except ImportError:`` (or ModuleNotFoundError) whose body does not raise again."""
    if handler.type is None:
        return False
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    catches = any(isinstance(t, ast.Name) and t.id in _IMPORT_ERRORS for t in types)
    return catches and not any(isinstance(n, ast.Raise) for n in ast.walk(handler))


class _Collector(ast.NodeVisitor):
    def __init__(self, package: str, where: str):
        self.package, self.where = package, where  # package: "idscaling.id" for a module in it
        self.depth = self.guards = 0
        self.imports: list[Import] = []
        self.calls: list[tuple[str, int, str]] = []  # subprocess calls: (func, line, enclosing def)
        self.defs: list[str] = []

    def visit_ClassDef(self, node):
        self.defs.append(node.name)
        self.generic_visit(node)
        self.defs.pop()

    def _func(self, node):
        self.depth += 1
        self.defs.append(node.name)
        self.generic_visit(node)
        self.defs.pop()
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = _func

    def visit_Try(self, node):
        guarded = any(_copes_with_import_error(h) for h in node.handlers)
        self.guards += guarded
        for stmt in node.body:
            self.visit(stmt)
        self.guards -= guarded
        for part in (*node.handlers, *node.orelse, *node.finalbody):
            self.visit(part)

    def _add(self, module, names, line):
        self.imports.append(
            Import(module, tuple(names), f"{self.where}:{line}", ".".join(self.defs), self.depth > 0, self.guards > 0)
        )

    def visit_Import(self, node):
        for alias in node.names:
            self._add(alias.name, (), node.lineno)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        if node.level:
            base = self.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            module = ".".join(base + ([module] if module else []))
        if module != "__future__":
            self._add(module, [a.name for a in node.names], node.lineno)

    def visit_Call(self, node):
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in ("subprocess", "os"):
            if f.attr in ("run", "Popen", "call", "check_call", "check_output", "system", "execv", "execvp"):
                self.calls.append((f"{f.value.id}.{f.attr}", node.lineno, ".".join(self.defs) or "<module>"))
        self.generic_visit(node)


def _module_file(module: str, src: Path) -> Path | None:
    base = Path(src, *module.split("."))
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


@dataclass
class ScriptScan:
    imports: list[Import] = field(default_factory=list)  # third-party and stdlib, all sites
    modules: list[str] = field(default_factory=list)  # the project's own modules reached
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # (func, where, enclosing def)
    via: dict[str, str] = field(default_factory=dict)  # own module -> the import site that first reached it
    skipped: list[Import] = field(default_factory=list)  # import sites ``skip`` excluded (not followed)


def scan_script(
    script: Path,
    src: Path,
    own: str = "idscaling",
    repo: Path | None = None,
    skip: Callable[[Import], bool] = lambda imp: False,
) -> ScriptScan:
    """Follow a script's imports through the ``own`` package (under ``src``), at every depth.
    Import sites for which ``skip`` is true (code no rule runs) are recorded, not followed."""
    repo = repo or Path(script).resolve().parents[1]
    scan = ScriptScan()
    todo, seen = [(Path(script), "", "")], set()
    while todo:
        path, module, where = todo.pop(0)  # breadth first: `via` holds a shortest chain
        if path in seen:
            continue
        seen.add(path)
        if module:
            scan.via[module] = where
        if module:
            scan.modules.append(module)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        rel = str(Path(path).resolve().relative_to(Path(repo).resolve()))
        col = _Collector(package, rel)
        col.visit(ast.parse(Path(path).read_text(), str(path)))
        scan.calls += [(func, f"{rel}:{line}", d) for func, line, d in col.calls]
        for imp in col.imports:
            if skip(imp):
                scan.skipped.append(imp)
                continue
            if imp.module.split(".")[0] != own:
                scan.imports.append(imp)
                continue
            # the module, its parent packages, and from-imported names that are submodules
            parts = imp.module.split(".")
            targets = [".".join(parts[: i + 1]) for i in range(len(parts))]
            targets += [f"{imp.module}.{n}" for n in imp.names]
            for target in targets:
                f = _module_file(target, src)
                if f is not None:
                    todo.append((f, target, imp.where))
                elif target in targets[: len(parts)]:
                    raise ImportError(f"{imp.where}: {target} is not a module under {src}")
    scan.modules.sort()
    return scan


def third_party(imports: list[Import]) -> list[Import]:
    return [i for i in imports if i.module.split(".")[0] not in sys.stdlib_module_names]


# ------------------------------------------------------------------ closure and venv
def _installed(site: Path) -> dict[str, metadata.Distribution]:
    out = {}
    for dist in metadata.distributions(path=[str(site)]):
        out.setdefault(canonicalize_name(dist.metadata["Name"]), dist)
    return out


def closure(roots: list[str], site: Path, lock: dict[str, str]) -> dict[str, metadata.Distribution]:
    """``roots`` (names, optionally with [extras]) and everything they require, as installed in
    ``site``; each must be at the version ``lock`` pins (pip and setuptools, absent from a ``pip
    freeze`` lock, are the exceptions) and satisfy every specifier that asks for it."""
    installed = _installed(site)
    env = default_environment()
    out: dict[str, metadata.Distribution] = {}
    done: set[tuple[str, str]] = set()
    todo = [(Requirement(r), "the env") for r in roots]
    while todo:
        req, parent = todo.pop()
        name = canonicalize_name(req.name)
        dist = installed.get(name)
        if dist is None:
            raise LookupError(f"{name} (required by {parent}) is not installed in {site}")
        version = Version(dist.version)
        if name in lock and Version(lock[name]) != Version(version.public):
            raise LookupError(f"{name}: {site} has {dist.version}, requirements.lock pins {lock[name]}")
        if name not in lock and name not in FREEZE_OMITS:
            raise LookupError(f"{name} (required by {parent}) is not in requirements.lock")
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            raise LookupError(f"{parent} requires {req}, the lock has {dist.version}")
        out[name] = dist
        for extra in [""] + sorted(req.extras):
            if (name, extra) in done:
                continue
            done.add((name, extra))
            for sub in dist.requires or []:
                sub = Requirement(sub)
                if sub.marker is None or sub.marker.evaluate(env | {"extra": extra}):
                    todo.append((sub, f"{name}{f'[{extra}]' if extra else ''}"))
    return out


_SCRIPT = """#!{python}
import re
import sys
from {module} import {attr}
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit({call}())
"""


def build_venv(dest: Path, dists: dict[str, metadata.Distribution], python: str = sys.executable) -> Path:
    """A venv at ``dest`` with exactly ``dists``, symlinked from where they are installed; returns
    its python. A top-level folder that only one installed distribution has files in (torch/,
    sklearn/, its .dist-info, ...) is linked whole; shared ones (namespace packages, __pycache__
    beside single-file modules) file by file, with the bytecode .venv already has (valid: a link has
    its source's mtime and size), so nothing is compiled again."""
    subprocess.run([python, "-m", "venv", "--without-pip", str(dest)], check=True)
    py = dest / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    owners: dict[tuple[str, str], set[str]] = {}  # (site folder, top-level name) -> distributions with files in it
    for root in {str(d.locate_file("")) for d in dists.values()}:
        for name, dist in _installed(Path(root)).items():
            for f in dist.files or []:
                if f.parts[0] != ".." and len(f.parts) > 1:
                    owners.setdefault((root, f.parts[0]), set()).add(name)
    for name, dist in dists.items():
        root = Path(dist.locate_file(""))
        for f in dist.files or []:
            if f.parts[0] == ".." or "__pycache__" in f.parts:  # scripts (rewritten below); bytecode: below
                continue
            src, target = root / f, site / f
            if len(f.parts) > 1 and owners.get((str(root), f.parts[0])) == {name}:
                src, target = root / f.parts[0], site / f.parts[0]  # the whole folder
            if target.exists() or target.is_symlink() or not src.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(src)
            if f.suffix == ".py" and src.is_file():
                pyc = Path(cache_from_source(str(src)))
                if pyc.exists():
                    link = Path(cache_from_source(str(target)))
                    link.parent.mkdir(exist_ok=True)
                    if not link.exists():
                        link.symlink_to(pyc)
        for ep in dist.entry_points.select(group="console_scripts"):
            module, _, attr = ep.value.partition(":")
            attr = attr.split("[")[0].strip()
            script = dest / "bin" / ep.name
            script.write_text(_SCRIPT.format(python=py, module=module.strip(), attr=attr.split(".")[0], call=attr))
            script.chmod(0o755)
    return py


# ------------------------------------------------------------------ checking in the venv
_CHECKER = r"""
import json, sys, traceback
results = {}
for stmt in json.loads(sys.argv[1]):
    try:
        exec(stmt, {})
        results[stmt] = None
    except BaseException as err:  # SystemExit too: a module may exit at import
        results[stmt] = f"{type(err).__name__}: {err}"
json.dump(results, sys.stdout)
"""


def check_imports(
    python: Path, statements: list[str], env: dict[str, str], timeout: int = 600
) -> dict[str, str | None]:
    """Run each import statement in one process of ``python``; statement -> error (None: fine)."""
    proc = subprocess.run(
        [str(python), "-c", _CHECKER, json.dumps(statements)], capture_output=True, text=True, env=env, timeout=timeout
    )
    if proc.returncode != 0:
        raise RuntimeError(f"import checker failed: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def clean_env(venv: Path, src: Path, **extra: str) -> dict[str, str]:
    """The environment a job gets: the venv's bin first on PATH, PYTHONPATH=src (as rules/common.smk
    sets it), nothing from the calling process's Python (no VIRTUAL_ENV, PYTHONHOME, user site); no
    bytecode written (linked folders are .venv's own)."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP") and not k.startswith("PYTEST")
    }
    path = os.pathsep.join(
        [str(venv / "bin")]
        + [p for p in keep.get("PATH", "").split(os.pathsep) if p and not p.startswith(str(Path(sys.prefix)))]
    )
    return (
        keep
        | {
            "PATH": path,
            "PYTHONPATH": str(src),
            "PYTHONNOUSERSITE": "1",
            "VIRTUAL_ENV": str(venv),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        | extra
    )
