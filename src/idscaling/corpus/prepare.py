"""Prepare a corpus: split its documents into train / select / val and write them as JSON lines.

``prepare_corpus`` writes, in ``out_dir``:

* ``train.jsonl`` -- documents used for training;
* ``select.jsonl`` -- a held-out slice used ONLY to choose the best checkpoint;
* ``val.jsonl`` -- the validation documents (test loss, intrinsic dimension);
* ``meta.json`` -- the dataset name, source, fractions, seed, and per split the
  document count, character count and sha256 of the file.

Each line is ``{"doc": <index of the document in the source's order>, "text": ...}``.
Every file is written to a temporary name in ``out_dir`` and renamed into place
(``os.replace``), and ``meta.json`` is written last: a directory with a
``meta.json`` is complete, and a failure never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np

from idscaling.corpus.sources import (
    CorpusError,
    CorpusStats,
    is_synthetic,
    iter_documents,
)
from idscaling.runlog import Progress

__all__ = ["META_FILE", "SPLITS", "iter_split", "prepare_corpus", "split_documents", "split_path"]

log = logging.getLogger(__name__)

SPLITS = ("train", "select", "val")
META_FILE = "meta.json"


def split_path(out_dir: str | Path, split: str) -> Path:
    """Path of the JSON-lines file of ``split`` ("train", "select" or "val") in ``out_dir``."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (expected one of {', '.join(SPLITS)})")
    return Path(out_dir) / f"{split}.jsonl"


def iter_split(out_dir: str | Path, split: str) -> Iterator[dict[str, Any]]:
    """Yield the ``{"doc": int, "text": str}`` records of one split written by :func:`prepare_corpus`."""
    with open(split_path(out_dir, split), encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def split_documents(
    n_documents: int, validation_fraction: float, selection_fraction: float, seed: int
) -> dict[str, np.ndarray]:
    """Split document indices 0..n-1 into sorted "train", "select" and "val" index arrays.

    A permutation drawn with ``numpy.random.default_rng(seed)`` is cut into
    ``max(1, round(validation_fraction * n))`` validation documents, then
    ``max(1, round(selection_fraction * n))`` selection documents, and the rest
    for training (at least one, else :class:`CorpusError`).
    """
    if isinstance(n_documents, bool) or not isinstance(n_documents, (int, np.integer)) or n_documents < 0:
        raise CorpusError(f"n_documents must be a non-negative integer, got {n_documents!r}")
    for name, value in (("validation_fraction", validation_fraction), ("selection_fraction", selection_fraction)):
        if not 0.0 <= float(value) < 1.0:
            raise CorpusError(f"{name} must be in [0, 1), got {value!r}")
    n = int(n_documents)
    n_val = max(1, round(validation_fraction * n))
    n_select = max(1, round(selection_fraction * n))
    n_train = n - n_val - n_select
    if n_train < 1:
        raise CorpusError(
            f"{n} document(s) are too few to split: {n_val} val + {n_select} select leave {n_train} for train"
        )
    order = np.random.default_rng(seed).permutation(n)
    return {
        "train": np.sort(order[n_val + n_select :]),
        "select": np.sort(order[n_val : n_val + n_select]),
        "val": np.sort(order[:n_val]),
    }


def _temp_path(out_dir: Path, name: str) -> Path:
    """A fresh temporary file in ``out_dir``; its name ends in ".tmp" so no glob for outputs matches it."""
    fd, path = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(path, 0o644)  # mkstemp creates 0600; the outputs are ordinary readable files
    return Path(path)


def _spool(docs: Iterator[str], path: Path) -> int:
    """Write each document as one JSON string per line to ``path``; return the count. A big
    source logs a progress line every two minutes (its size is not known in advance)."""
    n = chars = 0
    progress = Progress(log, "read corpus")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for text in docs:
            f.write(json.dumps(text, ensure_ascii=False))
            f.write("\n")
            n += 1
            chars += len(text)
            progress.update(n, documents=n, characters=chars)
    return n


def chunk_text(text: str, max_chars: int | None) -> list[str]:
    """Cut a long document into pieces of at most ``max_chars`` characters, at paragraph
    boundaries where possible, else at line boundaries, else anywhere; pieces are stripped and
    none is empty. ``None`` keeps the document whole."""
    if max_chars is None or len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    current = ""
    for unit in _units(text, max_chars):
        if current and len(current) + len(unit) > max_chars:
            pieces.append(current)
            current = ""
        current += unit
    pieces.append(current)
    return [p.strip() for p in pieces if p.strip()]


def _units(text: str, max_chars: int) -> Iterator[str]:
    """Paragraphs (with their separators), split further into lines, then into max_chars slices."""
    for paragraph in re.split(r"(?<=\n\n)", text):
        if len(paragraph) <= max_chars:
            yield paragraph
            continue
        for line in paragraph.splitlines(keepends=True):
            for start in range(0, len(line), max_chars):
                yield line[start : start + max_chars]


def _write_splits(
    spool: Path, assignment: np.ndarray, temps: dict[str, Path], chunk_chars: int | None = None
) -> dict[str, dict[str, Any]]:
    """Distribute the spooled documents to the split files (cut into pieces of at most
    ``chunk_chars`` after the split, so no source document straddles two splits); return
    per-split counts and sha256."""
    info = {name: {"n_documents": 0, "n_source_documents": 0, "n_chars": 0, "n_bytes": 0} for name in SPLITS}
    hashes = {name: hashlib.sha256() for name in SPLITS}
    handles = {name: open(temps[name], "wb") for name in SPLITS}
    try:
        with open(spool, encoding="utf-8") as f:
            for index, line in enumerate(f):
                name = SPLITS[assignment[index]]
                entry = info[name]
                entry["n_source_documents"] += 1
                for part, text in enumerate(chunk_text(json.loads(line), chunk_chars)):
                    obj = {"doc": index, "part": part, "text": text}
                    record = (json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8")
                    handles[name].write(record)
                    hashes[name].update(record)
                    entry["n_documents"] += 1
                    entry["n_chars"] += len(text)
                    entry["n_bytes"] += len(record)
    finally:
        for handle in handles.values():
            handle.close()
    for name in SPLITS:
        info[name]["sha256"] = hashes[name].hexdigest()
        info[name]["file"] = f"{name}.jsonl"
    return info


def prepare_corpus(
    source: dict,
    out_dir: str | Path,
    *,
    validation_fraction: float,
    selection_fraction: float,
    seed: int,
    dataset: str,
    chunk_chars: int | None = None,
) -> dict[str, Any]:
    """Read ``source`` once, split its documents by ``seed``, write the split files and meta.json.

    The documents are streamed to a temporary spool file in ``out_dir`` (so the
    source is read once and never held in memory), then distributed to the
    split files. Raises :class:`CorpusError` when the source yields no
    documents or too few to split; nothing that looks complete is left behind.
    Returns the meta dict also written to ``meta.json``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Outputs of an earlier run must not survive a failed rerun (even a misconfigured one) looking complete.
    for final in [out / META_FILE] + [split_path(out, name) for name in SPLITS]:
        with suppress(FileNotFoundError):
            final.unlink()
    stats = CorpusStats()
    docs = iter_documents(source, stats)
    temps: dict[str, Path] = {}
    try:
        temps["spool"] = _temp_path(out, "spool")
        n_documents = _spool(docs, temps["spool"])
        if n_documents == 0:
            raise CorpusError(f"dataset {dataset!r}: the source produced no non-empty documents")
        splits = split_documents(n_documents, validation_fraction, selection_fraction, seed)
        assignment = np.empty(n_documents, dtype=np.uint8)
        for code, name in enumerate(SPLITS):
            assignment[splits[name]] = code
        for name in SPLITS:
            temps[name] = _temp_path(out, name)
        split_info = _write_splits(temps["spool"], assignment, temps, chunk_chars)
        meta = {
            "dataset": dataset,
            "source": json.loads(json.dumps(source, default=str)),
            "is_synthetic": is_synthetic(source),
            "seed": seed,
            "validation_fraction": validation_fraction,
            "selection_fraction": selection_fraction,
            "chunk_chars": chunk_chars,
            "n_documents": n_documents,
            "n_chars": sum(info["n_chars"] for info in split_info.values()),
            "replacement_chars": stats.replacement_chars,
            "files_with_replacements": stats.files_with_replacements,
            "splits": split_info,
        }
        temps["meta"] = _temp_path(out, "meta")
        with open(temps["meta"], "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2, sort_keys=True)
            f.write("\n")
        for name in SPLITS:
            os.replace(temps.pop(name), split_path(out, name))
        os.replace(temps.pop("meta"), out / META_FILE)  # last: its presence marks a complete directory
        return meta
    finally:
        for leftover in temps.values():
            with suppress(FileNotFoundError):
                leftover.unlink()
