"""Nested, seeded training subsets of N tokens.

The training documents are put in one seeded random order; the subset of size N is the first
N tokens of that order (the last document cut). So for N1 < N2 the N1 subset is exactly the
first N1 tokens of the N2 subset: smaller subsets are contained in larger ones, and adding a
size later never changes the existing ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from idscaling.config import check_sizes_available
from idscaling.corpus.tokens import TokenFile, load_token_file, write_token_file


def document_order(n_documents: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n_documents)


def nested_subset(train: TokenFile, n_tokens: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n_tokens`` tokens of the seeded document order, with its document offsets."""
    total = len(train.tokens)
    if n_tokens > total:
        raise ValueError(f"a subset of {n_tokens} tokens was asked of {total} training tokens")
    order = document_order(train.n_documents, seed)
    ends = np.append(train.doc_starts[1:], total)
    lengths = (ends - train.doc_starts)[order]
    cumulative = np.cumsum(lengths)
    n_docs = int(np.searchsorted(cumulative, n_tokens) + 1)  # documents needed to reach n_tokens
    pieces = [train.document(int(i)) for i in order[:n_docs]]
    tokens = np.concatenate(pieces)[:n_tokens]
    starts = np.concatenate([[0], cumulative[: n_docs - 1]]).astype(np.int64)
    return tokens, starts


def write_subset(train_bin: str | Path, out_bin: str | Path, *, dataset: str, n_tokens: int, seed: int) -> dict:
    train = load_token_file(train_bin)
    check_sizes_available(dataset, [n_tokens], len(train.tokens))
    tokens, starts = nested_subset(train, n_tokens, seed)
    meta = {key: train.meta[key] for key in ("dtype", "vocab_size", "eot_id", "tokenizer")} | {
        "dataset": dataset,
        "seed": seed,
        "requested_tokens": n_tokens,
        "train_sha256": train.meta["sha256"],
    }
    return write_token_file(out_bin, tokens, starts, meta)
