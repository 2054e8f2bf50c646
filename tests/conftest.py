"""Shared fixtures: a small real corpus (Python standard library files) tokenized with a BPE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from idscaling.corpus import iter_documents
from idscaling.tokenizer import build_tokenizer, load_tokenizer
from idscaling.tokens import tokenize_jsonl

REPO = Path(__file__).resolve().parents[1]


def write_jsonl(path: Path, texts: list[str]) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i, text in enumerate(texts):
            fh.write(json.dumps({"doc": i, "text": text}) + "\n")
    return path


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> dict:
    """60 stdlib files: 50 for training, 5 selection, 5 validation; a 512-token BPE; token files."""
    root = tmp_path_factory.mktemp("corpus")
    texts = list(iter_documents({"kind": "builtin", "name": "python_stdlib", "max_documents": 60}))
    splits = {"train": texts[:50], "select": texts[50:55], "val": texts[55:60]}
    for name, part in splits.items():
        write_jsonl(root / f"{name}.jsonl", part)
    build_tokenizer("bpe", root / "train.jsonl", root / "tokenizer", vocab_size=512)
    tok = load_tokenizer(root / "tokenizer")
    for name in splits:
        tokenize_jsonl(root / f"{name}.jsonl", tok, root / f"{name}.bin")
    return {"root": root, "texts": splits, "tokenizer": tok}
