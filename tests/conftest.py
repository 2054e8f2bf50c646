"""Shared fixtures: a small real corpus (Python standard library files) tokenized with a BPE."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from idscaling.corpus.sources import iter_documents
from idscaling.corpus.tokenizer import build_tokenizer, load_tokenizer
from idscaling.corpus.tokens import tokenize_jsonl

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def smk(*args, targets=(), cwd=REPO, check=True, timeout=900, env=None):
    """Run the workflow's `snakemake` as a user would; targets go first, since --configfile and
    --quiet take several values and would swallow them."""
    cmd = [SNAKEMAKE, *targets, "-s", str(REPO / "Snakefile"), "--cores", "2", *args]
    proc = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=None if env is None else os.environ | env
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def planned_jobs(*args, targets=(), cwd=REPO) -> dict[str, int]:
    """Rule -> job count of a dry run."""
    proc = smk("-n", "--quiet", "rules", *args, targets=targets, cwd=cwd)
    out = proc.stdout + proc.stderr
    if "Nothing to be done" in out:
        return {}
    table = out.split("Job stats:")[-1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M) if m[1] != "total"}


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
