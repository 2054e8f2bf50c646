"""The pinned conda envs and the pip lock agree, and every rule names an env that exists."""

from __future__ import annotations

import re

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
