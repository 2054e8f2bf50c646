"""Check a job's input files before it reads them: one line naming a damaged file and how to rebuild it.

Why: a file that a killed copy, a full disk or another user left half-written would otherwise fail
deep inside a library (safetensors, numpy's zip reader, json) with a traceback that names neither
the file nor the fix. Each check is cheap (headers, sizes and short tails, not a full read of a
corpus): a token file's length against its sidecar, a ``.npy`` header against the file size,
the zip directory and CRCs of an ``.npz``, a safetensors header against the file, JSON parsed,
CSV rows against the header, a JSON-lines file's last line. A file a rule makes gets the hint
``snakemake --forcerun <file>``; one the user supplied is named as such.

Light on purpose (no pandas, torch or transformers): it runs first in every job.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = ["DamagedInput", "check_input", "check_inputs", "rebuild_hint", "require_inputs"]

# the working directory's results folder (rules/common.smk's RESULTS): files under it are made by rules
RESULTS = "results"
TAIL_BYTES = 1 << 16


class DamagedInput(ValueError):
    """An input file that cannot be what its job expects (missing, truncated, not parseable)."""


def rebuild_hint(path: str | Path) -> str:
    parts = Path(path).parts
    if RESULTS in parts[:2]:
        return f"rebuild it with: snakemake --forcerun {path}"
    return "it is not made by the workflow: fix or replace it"


def _damaged(path: str | Path, reason: str) -> DamagedInput:
    return DamagedInput(f"{path}: {reason}; {rebuild_hint(path)}")


def _json(path: Path) -> None:
    json.loads(path.read_text(encoding="utf-8"))


def _token_file(path: Path) -> None:
    sidecar = path.with_suffix(".json")
    if not sidecar.is_file():
        return  # not one of our token files (a plain binary input)
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    if "n_tokens" not in meta or "dtype" not in meta:
        return
    expected = int(meta["n_tokens"]) * np.dtype(meta["dtype"]).itemsize
    size = path.stat().st_size
    if size != expected:
        tokens = meta["n_tokens"]
        raise ValueError(f"{size:,} bytes, its sidecar {sidecar.name} says {tokens:,} tokens ({expected:,} bytes)")


def _npy(path: Path) -> None:
    array = np.load(path, mmap_mode="r", allow_pickle=False)  # header only; numpy checks the length
    del array


def _npz(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        bad = archive.testzip()
    if bad is not None:
        raise ValueError(f"member {bad} fails its CRC check")


def _safetensors(path: Path) -> None:
    from safetensors import safe_open  # (light: no torch with framework="numpy")

    with safe_open(str(path), framework="numpy") as f:
        list(f.keys())


def _csv(path: Path) -> None:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = csv.reader(fh)
        header = next(rows, None)
        if header is None:
            raise ValueError("empty (no header)")
        for line, row in enumerate(rows, start=2):
            if len(row) != len(header):
                raise ValueError(f"line {line} has {len(row)} fields, the header {len(header)}")


def _jsonl(path: Path) -> None:
    size = path.stat().st_size
    if size == 0:
        return
    with path.open("rb") as fh:
        fh.seek(max(0, size - TAIL_BYTES))
        tail = fh.read()
    if not tail.endswith(b"\n"):
        raise ValueError("its last line is cut off (no newline at the end)")
    last = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    json.loads(last.decode("utf-8"))


CHECKS = {
    ".json": _json,
    ".bin": _token_file,
    ".npy": _npy,
    ".npz": _npz,
    ".safetensors": _safetensors,
    ".csv": _csv,
    ".jsonl": _jsonl,
}


def check_input(path: str | Path) -> None:
    """Raise :class:`DamagedInput` (one line) if ``path`` is missing or fails its kind's check;
    a directory passes when it exists; other kinds must be readable."""
    p = Path(path)
    if not p.exists():
        raise _damaged(path, "missing")
    if p.is_dir():
        return
    check = CHECKS.get(p.suffix)
    try:
        if check is None:
            with p.open("rb") as fh:
                fh.read(1)
        else:
            check(p)
    except Exception as err:  # noqa: BLE001 - whatever the reader raised, the file is what is wrong
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise _damaged(path, f"damaged or incomplete ({reason[:300]})") from err


def check_inputs(paths: Iterable[str | os.PathLike]) -> None:
    """:func:`check_input` on every path (a Snakemake ``input`` object iterates over its files)."""
    for path in paths:
        check_input(path)


def require_inputs(paths: Iterable[str | os.PathLike]) -> None:
    """What a job script calls first: :func:`check_inputs`, and on a damaged file its one line
    logged, written to the console (the job's stderr goes to its log) and the job ended (exit 1,
    no traceback), before any output is written."""
    try:
        check_inputs(paths)
    except DamagedInput as err:
        logging.getLogger("idscaling").error("%s", err)
        if sys.__stderr__ is not None and sys.__stderr__ is not sys.stderr:
            print(f"error: {err}", file=sys.__stderr__, flush=True)
        raise SystemExit(f"error: {err}") from None
