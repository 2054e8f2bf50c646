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
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import file_sha256, save_npy, write_json
from .tokenizer import Tokenizer, iter_jsonl_texts


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
    tokens = np.memmap(bin_path, dtype=np.dtype(meta["dtype"]), mode="r")
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


def tokenize_jsonl(
    jsonl_path: str | Path,
    tokenizer: Tokenizer,
    bin_path: str | Path,
    *,
    batch_size: int = 512,
    extra_meta: dict | None = None,
) -> dict:
    """Encode every document of a split (``{"text": ...}`` per line), each followed by end-of-text."""
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

    for text in iter_jsonl_texts(jsonl_path):
        batch.append(text)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    tokens = np.concatenate(chunks) if chunks else np.empty(0, dtype=dtype)
    meta = {
        "dtype": dtype.name,
        "vocab_size": tokenizer.vocab_size,
        "eot_id": tokenizer.eot_id,
        "tokenizer": tokenizer.kind,
        "source_sha256": file_sha256(jsonl_path),
        **(extra_meta or {}),
    }
    return write_token_file(bin_path, tokens, np.asarray(starts, dtype=np.int64), meta)
