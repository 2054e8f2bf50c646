from __future__ import annotations

import json

import numpy as np
import pytest

from idscaling.corpus.tokens import (
    file_sha256,
    load_token_file,
    token_dtype,
    tokenize_jsonl,
)


def test_token_file_layout(small_corpus):
    root, tok = small_corpus["root"], small_corpus["tokenizer"]
    val = load_token_file(root / "val.bin")
    texts = small_corpus["texts"]["val"]
    assert val.tokens.dtype == np.uint16
    assert val.meta["n_documents"] == len(texts) == len(val.doc_starts)
    assert val.meta["sha256"] == file_sha256(root / "val.bin")
    assert val.meta["eot_id"] == tok.eot_id and val.meta["vocab_size"] == 512
    # Each document is its own encoding followed by exactly one end-of-text id.
    for i, text in enumerate(texts):
        doc = np.asarray(val.document(i))
        assert doc[-1] == tok.eot_id
        assert doc[:-1].tolist() == tok.encode_batch([text])[0]
    assert int((np.asarray(val.tokens) == tok.eot_id).sum()) == len(texts)


def test_dtype_choice():
    assert token_dtype(50257) == np.uint16
    assert token_dtype(65536) == np.uint16
    assert token_dtype(65537) == np.uint32


@pytest.mark.parametrize("n_shards", [1, 3, 7, 80])
def test_sharded_tokenization_merges_to_the_serial_result(small_corpus, tmp_path, n_shards):
    """Shards are byte ranges of the JSON-lines file (a line belongs to the range it starts in):
    merged in order they give byte-identical tokens, offsets and sidecar to one serial job, also
    with more shards than documents (empty shards)."""
    from idscaling.corpus.tokens import merge_token_files

    root, tok = small_corpus["root"], small_corpus["tokenizer"]
    docs = root / "train.jsonl"
    extra = {"dataset": "d", "split": "train"}
    serial = tmp_path / "serial" / "train.bin"
    tokenize_jsonl(docs, tok, serial, extra_meta=extra)
    shards = [tmp_path / "shards" / f"train.{i}.bin" for i in range(n_shards)]
    for i, path in enumerate(shards):
        tokenize_jsonl(docs, tok, path, shard=(i, n_shards), extra_meta=extra)
    merged = tmp_path / "merged" / "train.bin"
    merge_token_files(shards, merged, docs, extra_meta=extra)
    for suffix in (".bin", ".docs.npy", ".json"):
        a = serial.with_suffix(suffix) if suffix != ".bin" else serial
        b = merged.with_suffix(suffix) if suffix != ".bin" else merged
        assert a.read_bytes() == b.read_bytes(), suffix
    counts = [json.loads(p.with_suffix(".json").read_text())["n_documents"] for p in shards]
    assert sum(counts) == 50 and (n_shards < 50 or 0 in counts)


def test_parallel_tokenization_in_processes_is_the_serial_result(small_corpus, tmp_path):
    """tokenize.shards: the shards encoded by worker processes at once (more shards than
    processes), merged, give the serial bytes and leave no shard file behind."""
    from idscaling.corpus.tokens import tokenize_jsonl_parallel

    root, tok = small_corpus["root"], small_corpus["tokenizer"]
    extra = {"dataset": "d", "split": "train"}
    serial = tmp_path / "serial" / "train.bin"
    tokenize_jsonl(root / "train.jsonl", tok, serial, extra_meta=extra)
    parallel = tmp_path / "parallel" / "train.bin"
    meta = tokenize_jsonl_parallel(root / "train.jsonl", root / "tokenizer", parallel, 5, processes=2, extra_meta=extra)
    for name in ("train.bin", "train.docs.npy", "train.json"):
        assert (serial.parent / name).read_bytes() == (parallel.parent / name).read_bytes(), name
    assert meta["n_documents"] == 50
    assert sorted(p.name for p in parallel.parent.iterdir()) == ["train.bin", "train.docs.npy", "train.json"]


def test_merge_refuses_shards_out_of_order_or_missing(small_corpus, tmp_path):
    from idscaling.corpus.tokens import merge_token_files

    root, tok = small_corpus["root"], small_corpus["tokenizer"]
    shards = [tmp_path / f"t.{i}.bin" for i in range(3)]
    for i, p in enumerate(shards):
        tokenize_jsonl(root / "train.jsonl", tok, p, shard=(i, 3))
    with pytest.raises(ValueError, match="not one of 2 shards"):
        merge_token_files(shards[:2], tmp_path / "m.bin", root / "train.jsonl")
    with pytest.raises(ValueError, match="order"):
        merge_token_files([shards[1], shards[0], shards[2]], tmp_path / "m.bin", root / "train.jsonl")
    assert not (tmp_path / "m.bin").exists()


def test_tokenization_logs_progress_by_bytes_read(small_corpus, tmp_path, monkeypatch, caplog):
    """With the minimum gap between lines taken away, a line at each tenth of the file's bytes;
    the documents and tokens reported grow to the file's totals. (With the default 5 s gap a
    job this small logs none.)"""
    import functools
    import logging
    import re

    import idscaling.corpus.tokens
    from idscaling.runlog import Progress

    root, tok = small_corpus["root"], small_corpus["tokenizer"]
    with caplog.at_level(logging.INFO, logger="idscaling.corpus.tokens"):
        tokenize_jsonl(root / "train.jsonl", tok, tmp_path / "quiet.bin", batch_size=2)
    assert not caplog.records
    monkeypatch.setattr(idscaling.corpus.tokens, "Progress", functools.partial(Progress, min_gap_s=0))
    with caplog.at_level(logging.INFO, logger="idscaling.corpus.tokens"):
        meta = tokenize_jsonl(root / "train.jsonl", tok, tmp_path / "train.bin", batch_size=2)
    lines = [r.getMessage() for r in caplog.records]
    parsed = [
        re.match(
            r"tokenize train\.jsonl: (\d+)% \| ([\d,]+) tokens, ([\d,]+) documents \| [\d,]+ tokens/s "
            r"\| elapsed \d+:\d\d:\d\d \| eta \d+:\d\d:\d\d$",
            line,
        )
        for line in lines
    ]
    assert all(parsed) and 5 <= len(lines) <= 11, lines
    percents = [int(m.group(1)) for m in parsed]
    assert percents == sorted(percents) and percents[-1] == 100
    tokens = [int(m.group(2).replace(",", "")) for m in parsed]
    assert tokens == sorted(tokens) and tokens[-1] == meta["n_tokens"]
    assert int(parsed[-1].group(3).replace(",", "")) == meta["n_documents"] == 50
