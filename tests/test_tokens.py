from __future__ import annotations

import numpy as np

from idscaling.tokens import file_sha256, load_token_file, token_dtype


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
