"""Provenance stamped on every result: which configuration, which code, which libraries.

``provenance(config, repo_dir)`` gives three keys, added to every result JSON and, as columns,
to every row of the summary tables:

* ``config_hash``: sha256 (first 16 hex digits) of the validated configuration (defaults filled
  in) as canonical JSON, without the settings that only change how jobs run (threads, device,
  inference batch sizes...: :data:`idscaling.workflow.params.EXECUTION_KEYS`) -- two results with
  the same hash came from the same settings, and a rerun on other hardware keeps it;
* ``code_version``: ``git describe --always --dirty`` of the workflow's repository (a commit id,
  ``-dirty`` when it has uncommitted changes), else the installed package version;
* ``versions``: Python and the key packages (a JSON string in the CSV tables).
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from collections.abc import Mapping
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from idscaling.workflow.params import result_config

if TYPE_CHECKING:  # pandas only where a table is stamped: every job imports this module
    import pandas as pd

__all__ = [
    "KEY_PACKAGES",
    "config_hash",
    "code_version",
    "package_versions",
    "provenance",
    "provenance_of",
    "stamp_frame",
]

KEY_PACKAGES = (
    "idscaling",
    "torch",
    "transformers",
    "tokenizers",
    "tiktoken",
    "numpy",
    "scipy",
    "scikit-learn",
    "pandas",
    "snakemake",
    "faiss-cpu",
)
PROVENANCE_COLUMNS = ("config_hash", "code_version", "versions")


def config_hash(config: Mapping[str, Any]) -> str:
    canonical = json.dumps(result_config(config), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@cache
def code_version(repo_dir: str | None) -> str:
    if repo_dir is not None:
        try:
            out = subprocess.run(
                ["git", "-C", str(repo_dir), "describe", "--always", "--dirty", "--abbrev=12"],
                capture_output=True,
                text=True,
                timeout=10,
            )
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            pass
    return f"idscaling {_version('idscaling') or 'unknown'} (no git)"


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@cache
def _versions() -> tuple[tuple[str, str | None], ...]:
    return (("python", platform.python_version()),) + tuple((p, _version(p)) for p in KEY_PACKAGES)


def package_versions() -> dict[str, str | None]:
    return dict(_versions())


def provenance(config: Mapping[str, Any], repo_dir: str | Path | None) -> dict[str, Any]:
    return {
        "config_hash": config_hash(config),
        "code_version": code_version(None if repo_dir is None else str(repo_dir)),
        "versions": package_versions(),
    }


def provenance_of(smk: Any) -> dict[str, Any]:
    """From a Snakemake script's ``snakemake`` object: its config, its workflow's repository."""
    return provenance(dict(smk.config), Path(smk.scriptdir).parent)


def stamp_frame(frame: pd.DataFrame, prov: Mapping[str, Any]) -> pd.DataFrame:
    """The table with the provenance columns appended to every row (versions as compact JSON)."""
    return frame.assign(
        config_hash=prov["config_hash"],
        code_version=prov["code_version"],
        versions=json.dumps(prov["versions"], sort_keys=True, separators=(",", ":")),
    )
