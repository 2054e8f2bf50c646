"""Corpus source ``files``: local files, one document per text file, or JSON lines / parquet
with a text field (``.gz``, ``.bz2`` and ``.xz`` JSON lines decompressed)."""

from __future__ import annotations

import bz2
import glob
import gzip
import itertools
import json
import lzma
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from idscaling.corpus.sources.common import (
    CorpusError,
    CorpusStats,
    decode_utf8,
    first_line,
)

__all__ = [
    "FILE_FORMATS",
    "COMPRESSED_OPENERS",
    "iter_documents",
    "token_upper_bound",
    "resolve_globs",
    "read_text_files",
    "dataset_texts",
]

SYNTHETIC = False
FILE_FORMATS = ("text", "jsonl", "parquet")
COMPRESSED_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}  # of JSON-lines files


def read_text_files(paths: Iterable[Path | str], stats: CorpusStats) -> Iterator[str]:
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise CorpusError(f"cannot read {path}: {exc.strerror or exc}") from exc
        yield decode_utf8(data, str(path), stats)


def resolve_globs(patterns: Any) -> list[Path]:
    """Sorted, de-duplicated files matched by ``patterns`` (relative to the current directory)."""
    if isinstance(patterns, (str, os.PathLike)):
        patterns = [patterns]
    if not isinstance(patterns, (list, tuple)) or not patterns:
        raise CorpusError("files source: 'paths' must be a non-empty list of glob patterns")
    found: set[str] = set()
    for pattern in patterns:
        matches = [m for m in glob.glob(os.fspath(pattern), recursive=True) if os.path.isfile(m)]
        if not matches:
            raise CorpusError(f"files source: pattern {os.fspath(pattern)!r} matched no files (cwd: {os.getcwd()})")
        found.update(matches)
    return [Path(p) for p in sorted(found)]


def iter_documents(source: dict, stats: CorpusStats) -> Iterator[str]:
    fmt = source.get("format", "text")
    if fmt not in FILE_FORMATS:
        raise CorpusError(f"files source: unknown format {fmt!r} (expected one of {', '.join(FILE_FORMATS)})")
    paths = resolve_globs(source.get("paths"))
    if fmt == "text":
        return read_text_files(paths, stats)
    text_field = source.get("text_field", "text")
    if fmt == "jsonl":
        texts = _jsonl_texts(paths, text_field)
        first = next(texts, None)  # the first line is checked now (a wrong text_field fails at once)
        return itertools.chain([] if first is None else [first], texts)
    what = f"{fmt} files {', '.join(map(str, paths[:3]))}{' ...' if len(paths) > 3 else ''}"
    try:
        from datasets import load_dataset

        dataset = load_dataset("parquet", data_files=[str(p) for p in paths], split="train")
    except Exception as exc:  # noqa: BLE001 - any loader failure becomes one clear CorpusError
        raise CorpusError(f"could not load {what}: {first_line(exc)}") from exc
    return dataset_texts(dataset, text_field, what)


def _jsonl_texts(paths: list[Path], text_field: str) -> Iterator[str]:
    """The texts of JSON-lines files, one object per line.

    Read here rather than with ``datasets.load_dataset("json")``: that parses blocks of lines with
    pyarrow and reports a broken line only as "An error occurred while generating the dataset"
    (no file, no line), reads a line without the text field as a null text (silently skipped),
    and first copies the whole corpus into its Arrow cache. The documents go through a Python
    loop afterwards anyway (stripped, split, chunked, written one per line), so parsing each line
    with ``json.loads`` here costs little next to it and names the line that is wrong."""
    for path in paths:
        opener = COMPRESSED_OPENERS.get(path.suffix, open)
        try:
            with opener(path, "rb") as fh:
                for number, line in enumerate(fh, start=1):
                    text = _jsonl_line_text(line, f"corpus file {path}, line {number}", text_field)
                    if text is not None:
                        yield text
        except (OSError, EOFError, lzma.LZMAError) as exc:  # unreadable, or a broken compressed stream
            raise CorpusError(f"cannot read corpus file {path}: {getattr(exc, 'strerror', None) or exc}") from exc


_JSON_TYPES = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def _jsonl_line_text(line: bytes, where: str, text_field: str) -> str | None:
    """The text of one JSON line (None: blank line or null text); ``where`` names the line in errors."""
    try:
        decoded = line.decode("utf-8-sig")  # (a byte-order mark at the start of a file is dropped)
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{where}: not valid UTF-8 (byte 0x{line[exc.start]:02x} at byte {exc.start + 1} "
            "of the line; JSON lines must be UTF-8)"
        ) from None
    if not decoded.strip():
        return None
    try:
        record = json.loads(decoded.rstrip("\r\n"))  # (a string cut off at the line's end is "unterminated")
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{where}: not valid JSON ({exc.msg}: column {exc.colno})") from None
    if not isinstance(record, dict):
        raise CorpusError(f"{where}: {_JSON_TYPES.get(type(record), type(record).__name__)}, not a JSON object")
    if text_field not in record:
        raise CorpusError(f"{where}: text_field {text_field!r} not found; available columns: {list(record)}")
    value = record[text_field]
    if value is not None and not isinstance(value, str):
        raise CorpusError(f"{where}: field {text_field!r} holds {_JSON_TYPES.get(type(value), 'an object')}, not text")
    return value


def dataset_texts(dataset: Any, text_field: str, what: str) -> Iterator[str]:
    """Texts of column ``text_field`` of a (possibly iterable) Hugging Face dataset; None values skipped."""
    columns = dataset.column_names
    if columns is None:  # streaming dataset with unknown features: peek at the first row
        first = next(iter(dataset), None)
        columns = sorted(first) if first is not None else []
    if text_field not in columns:
        raise CorpusError(f"{what}: text_field {text_field!r} not found; available columns: {list(columns)}")
    return _column_values(dataset, text_field, what)


def _column_values(dataset: Any, text_field: str, what: str) -> Iterator[str]:
    selected = dataset.select_columns([text_field])
    for batch in selected.iter(batch_size=1000):
        for value in batch[text_field]:
            if value is None:
                continue
            if not isinstance(value, str):
                raise CorpusError(f"{what}: field {text_field!r} holds {type(value).__name__}, not text")
            yield value


def token_upper_bound(source: dict) -> int | None:
    """Tokens a byte-level BPE can make of text or JSON-lines files at most (see
    :func:`idscaling.corpus.sources.token_upper_bound`); None for compressed or parquet files."""
    if source.get("format", "text") not in ("text", "jsonl"):
        return None
    paths = resolve_globs(source.get("paths"))
    if any(p.suffix in COMPRESSED_OPENERS for p in paths):
        return None
    return sum(6 * p.stat().st_size + 1 for p in paths)
