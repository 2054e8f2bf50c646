"""Compact token files: documents joined with an end-of-text id, plus document offsets and a sidecar.

A split ``S`` is three files:

- ``S.bin``: the token ids, uint16 when the vocabulary fits (as nanoGPT's train.bin / val.bin),
  else uint32; every document is followed by the end-of-text id;
- ``S.docs.npy``: int64 start offset of every document in ``S.bin``;
- ``S.json``: the sidecar (dtype, vocabulary size, eot id, token and document counts, sha256 of
  the token file and of the inputs it was made from).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from idscaling.atomic import file_sha256, save_npy, write_json
from idscaling.corpus.tokenizer import Tokenizer, load_tokenizer
from idscaling.runlog import Progress

log = logging.getLogger(__name__)


def token_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16) if vocab_size <= 2**16 else np.dtype(np.uint32)


@dataclass
class TokenFile:
    """A split's tokens (memory-mapped), its document offsets and its sidecar."""

    tokens: np.ndarray
    doc_starts: np.ndarray
    meta: dict

    @property
    def n_documents(self) -> int:
        return len(self.doc_starts)

    def document(self, i: int) -> np.ndarray:
        end = self.doc_starts[i + 1] if i + 1 < len(self.doc_starts) else len(self.tokens)
        return self.tokens[self.doc_starts[i] : end]


def sidecar_path(bin_path: str | Path) -> Path:
    return Path(bin_path).with_suffix(".json")


def docs_path(bin_path: str | Path) -> Path:
    return Path(bin_path).with_suffix(".docs.npy")


def load_token_file(bin_path: str | Path) -> TokenFile:
    meta = json.loads(sidecar_path(bin_path).read_text())
    dtype = np.dtype(meta["dtype"])
    # (np.memmap cannot map an empty file: an empty shard is an empty array)
    tokens = np.memmap(bin_path, dtype=dtype, mode="r") if os.path.getsize(bin_path) else np.empty(0, dtype)
    if len(tokens) != meta["n_tokens"]:
        raise ValueError(f"{bin_path}: {len(tokens)} tokens, its sidecar says {meta['n_tokens']}")
    doc_starts = np.load(docs_path(bin_path))
    return TokenFile(tokens=tokens, doc_starts=doc_starts, meta=meta)


def write_token_file(bin_path: str | Path, tokens: np.ndarray, doc_starts: np.ndarray, meta: dict) -> dict:
    """Write tokens, offsets and sidecar; the sidecar goes last, each file through a rename."""
    bin_path = Path(bin_path)
    bin_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = bin_path.with_name(bin_path.name + ".tmp")
    tokens.tofile(tmp)
    os.replace(tmp, bin_path)
    save_npy(docs_path(bin_path), np.asarray(doc_starts, dtype=np.int64))
    meta = dict(meta, n_tokens=int(len(tokens)), n_documents=int(len(doc_starts)), sha256=file_sha256(bin_path))
    write_json(sidecar_path(bin_path), meta)
    return meta


def iter_jsonl_range(path: str | Path, start: int, end: int) -> Iterator[str]:
    """Texts of the JSON lines of ``path`` that *start* at a byte offset in ``[start, end)``:
    consecutive byte ranges give every line exactly once, in order, without an index."""
    return (text for text, _ in _texts_and_offsets(path, start, end))


def _texts_and_offsets(path: str | Path, start: int, end: int) -> Iterator[tuple[str, int]]:
    """:func:`iter_jsonl_range`, each text with the byte offset where its line ends (for progress)."""
    with open(path, "rb") as fh:
        if start > 0:
            fh.seek(start - 1)
            if fh.read(1) != b"\n":
                fh.readline()  # the line under way at `start` belongs to the previous range
        while fh.tell() < end:
            line = fh.readline()
            if not line:
                break
            yield json.loads(line)["text"], fh.tell()


def shard_range(path: str | Path, index: int, count: int) -> tuple[int, int]:
    """Byte range of shard ``index`` of ``count`` equal parts of a file."""
    if not 0 <= index < count:
        raise ValueError(f"shard index {index} out of range for {count} shards")
    size = os.path.getsize(path)
    return size * index // count, size * (index + 1) // count


def tokenize_jsonl(
    jsonl_path: str | Path,
    tokenizer: Tokenizer,
    bin_path: str | Path,
    *,
    batch_size: int = 512,
    extra_meta: dict | None = None,
    shard: tuple[int, int] | None = None,
) -> dict:
    """Encode every document of a split (``{"text": ...}`` per line), each followed by end-of-text.

    ``shard=(i, n)`` encodes only the documents whose lines start in the i-th of n equal byte
    ranges of the file (see :func:`merge_token_files`); its sidecar records the range instead of
    the whole file's hash."""
    dtype = token_dtype(tokenizer.vocab_size)
    chunks: list[np.ndarray] = []
    starts: list[int] = []
    position = 0
    batch: list[str] = []

    def flush() -> None:
        nonlocal position
        for ids in tokenizer.encode_batch(batch):
            arr = np.empty(len(ids) + 1, dtype=dtype)
            arr[:-1] = ids
            arr[-1] = tokenizer.eot_id
            starts.append(position)
            position += len(arr)
            chunks.append(arr)
        batch.clear()

    if shard is None:
        byte_range = (0, os.path.getsize(jsonl_path))
        source = {"source_sha256": file_sha256(jsonl_path)}
    else:
        byte_range = shard_range(jsonl_path, *shard)
        source = {"shard": list(shard), "byte_range": list(byte_range)}
    what = f"tokenize {Path(jsonl_path).name}" + (f" (shard {shard[0]} of {shard[1]})" if shard else "")
    progress = Progress(log, what, total=max(1, byte_range[1] - byte_range[0]))
    for text, offset in _texts_and_offsets(jsonl_path, *byte_range):
        batch.append(text)
        if len(batch) >= batch_size:
            flush()
            progress.update(offset - byte_range[0], tokens=position, documents=len(starts))
    if batch:
        flush()
    tokens = np.concatenate(chunks) if chunks else np.empty(0, dtype=dtype)
    meta = {
        "dtype": dtype.name,
        "vocab_size": tokenizer.vocab_size,
        "eot_id": tokenizer.eot_id,
        "tokenizer": tokenizer.kind,
        **source,
        **(extra_meta or {}),
    }
    return write_token_file(bin_path, tokens, np.asarray(starts, dtype=np.int64), meta)


def merge_token_files(
    shard_bins: list[str | Path], bin_path: str | Path, jsonl_path: str | Path, *, extra_meta: dict | None = None
) -> dict:
    """Concatenate the token files of consecutive shards of ``jsonl_path`` (in shard order) into
    one, identical -- tokens, offsets and sidecar -- to tokenizing the whole file in one job.
    Tokens are streamed to disk, never held in memory all at once."""
    shards = [load_token_file(p) for p in shard_bins]
    if not shards:
        raise ValueError("no shards to merge")
    keys = ("dtype", "vocab_size", "eot_id", "tokenizer")
    first = {k: shards[0].meta[k] for k in keys}
    for path, sh in zip(shard_bins, shards):
        if {k: sh.meta[k] for k in keys} != first:
            raise ValueError(f"{path}: made with another tokenizer than {shard_bins[0]}")
        if sh.meta.get("shard", [None, None])[1] != len(shards):
            raise ValueError(f"{path}: not one of {len(shards)} shards (sidecar: {sh.meta.get('shard')})")
    if [sh.meta["shard"][0] for sh in shards] != list(range(len(shards))):
        raise ValueError("shards are not given in order 0..n-1")
    bin_path = Path(bin_path)
    bin_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = bin_path.with_name(bin_path.name + ".tmp")
    offsets, position = [], 0
    with open(tmp, "wb") as out:
        for path, sh in zip(shard_bins, shards):
            with open(path, "rb") as fh:
                shutil.copyfileobj(fh, out, 16 * 2**20)
            offsets.append(sh.doc_starts + position)
            position += len(sh.tokens)
    os.replace(tmp, bin_path)
    save_npy(docs_path(bin_path), np.concatenate(offsets).astype(np.int64))
    meta = first | {"source_sha256": file_sha256(jsonl_path)} | (extra_meta or {})
    meta |= {"n_tokens": position, "n_documents": sum(sh.n_documents for sh in shards), "sha256": file_sha256(bin_path)}
    write_json(sidecar_path(bin_path), meta)
    return meta


def _tokenize_shard(
    jsonl_path: str, tokenizer_dir: str, bin_path: str, shard: tuple[int, int], extra_meta: dict | None
) -> dict:
    os.environ["RAYON_NUM_THREADS"] = "1"  # one core per worker process
    return tokenize_jsonl(jsonl_path, load_tokenizer(tokenizer_dir), bin_path, shard=shard, extra_meta=extra_meta)


def tokenize_jsonl_parallel(
    jsonl_path: str | Path,
    tokenizer_dir: str | Path,
    bin_path: str | Path,
    shards: int,
    *,
    processes: int | None = None,
    extra_meta: dict | None = None,
) -> dict:
    """:func:`tokenize_jsonl` of the whole file in ``shards`` byte-range shards encoded by as many
    processes (at most ``processes`` at once), merged (:func:`merge_token_files`) into the same token file, offsets and
    sidecar as one serial pass. The number of shards is how the job runs, not what it writes."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    if shards <= 1:
        return tokenize_jsonl(jsonl_path, load_tokenizer(tokenizer_dir), bin_path, extra_meta=extra_meta)
    bin_path = Path(bin_path)
    parts_dir = bin_path.with_name(f".{bin_path.name}.shards")
    shutil.rmtree(parts_dir, ignore_errors=True)  # a killed job's leftovers
    parts_dir.mkdir(parents=True)
    parts = [str(parts_dir / f"{i}.bin") for i in range(shards)]
    try:
        # fork, not spawn: spawn re-imports __main__, which in a Snakemake job is the rule's script.
        # Safe here: this process has not loaded a tokenizer (no Rust thread pool to inherit);
        # each worker loads its own.
        with ProcessPoolExecutor(max_workers=min(shards, processes or shards), mp_context=get_context("fork")) as pool:
            jobs = [
                pool.submit(_tokenize_shard, str(jsonl_path), str(tokenizer_dir), part, (i, shards), extra_meta)
                for i, part in enumerate(parts)
            ]
            for i, job in enumerate(jobs):
                meta = job.result()
                log.info(
                    "shard %d of %d: %d tokens in %d documents", i + 1, shards, meta["n_tokens"], meta["n_documents"]
                )
        return merge_token_files(parts, bin_path, jsonl_path, extra_meta=extra_meta)
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
