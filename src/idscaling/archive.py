"""A paper-ready bundle of one run's results: the resolved configuration, the summary tables, the
figures, the HTML report, the pinned environments, and ``manifest.json`` with the size and sha256
of every file and the run's provenance. (Snakemake's own ``--archive`` packs the *workflow* --
code and conda packages -- to rerun it elsewhere; this packs the *results* it produced.)

The tar is deterministic for identical inputs (sorted members, zero timestamps and owners), and is
written to a temporary name and renamed, so a partial archive never looks complete.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST", "build_archive", "verify_archive"]

MANIFEST = "manifest.json"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.uid, info.gid = len(data), 0, 0o644, 0, 0
    tar.addfile(info, io.BytesIO(data))


def build_archive(files: Mapping[str, str | Path], out_path: str | Path, provenance: Mapping[str, Any]) -> dict:
    """Write ``out_path`` (.tar.gz) holding ``files`` (archive name -> path on disk) and a manifest;
    returns the manifest."""
    if MANIFEST in files:
        raise ValueError(f"{MANIFEST} is written by the archive itself")
    contents = {name: Path(path).read_bytes() for name, path in sorted(files.items())}
    manifest = {
        "description": "idscaling results archive",
        **provenance,
        "files": [{"path": name, "bytes": len(data), "sha256": _sha256(data)} for name, data in contents.items()],
    }
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    with (
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w") as tar,
    ):
        _add(tar, MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
        for name, data in contents.items():
            _add(tar, name, data)
    os.replace(tmp, out_path)
    return manifest


def verify_archive(path: str | Path) -> list[str]:
    """Problems found when checking an archive against its manifest (empty list: intact)."""
    problems = []
    with tarfile.open(path, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        if MANIFEST not in members:
            return [f"no {MANIFEST} in {path}"]
        manifest = json.loads(tar.extractfile(members[MANIFEST]).read())
        listed = {f["path"]: f for f in manifest["files"]}
        for name, entry in listed.items():
            if name not in members:
                problems.append(f"{name}: listed in the manifest but missing")
                continue
            data = tar.extractfile(members[name]).read()
            if len(data) != entry["bytes"] or _sha256(data) != entry["sha256"]:
                problems.append(f"{name}: sha256 or size differs from the manifest")
        for name in sorted(set(members) - set(listed) - {MANIFEST}):
            problems.append(f"{name}: in the archive but not in the manifest")
    return problems
