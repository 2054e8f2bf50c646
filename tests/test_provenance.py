"""Provenance: config hash, code version and package versions on every result."""

from __future__ import annotations

import json
import subprocess

import pandas as pd
from conftest import REPO

from idscaling.provenance import (
    KEY_PACKAGES,
    code_version,
    config_hash,
    package_versions,
    provenance,
    stamp_frame,
)


def test_config_hash_is_canonical_and_sensitive():
    a = {"train": {"lr": 0.01, "batch_size": 16}, "seeds": [0]}
    b = {"seeds": [0], "train": {"batch_size": 16, "lr": 0.01}}  # same settings, other key order
    assert config_hash(a) == config_hash(b) and len(config_hash(a)) == 16
    assert config_hash(a) != config_hash({**a, "seeds": [1]})


def test_code_version_is_the_git_commit(tmp_path):
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    version = code_version(str(REPO))
    assert version.startswith(head[:12])  # "-dirty" follows when the checkout has changes
    assert code_version(str(tmp_path)).endswith("(no git)")  # not a repository: the package version


def test_versions_and_stamped_rows():
    versions = package_versions()
    assert set(KEY_PACKAGES) <= set(versions) and versions["torch"].startswith("2.")
    prov = provenance({"x": 1}, REPO)
    table = stamp_frame(pd.DataFrame({"a": [1, 2]}), prov)
    assert list(table.columns) == ["a", "config_hash", "code_version", "versions"]
    assert (table["config_hash"] == config_hash({"x": 1})).all()
    assert json.loads(table["versions"].iloc[0]) == versions
