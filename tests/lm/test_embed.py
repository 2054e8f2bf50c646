from __future__ import annotations

import numpy as np
import pytest
import torch

from idscaling.corpus.tokens import load_token_file
from idscaling.lm.embed import embed, sample_positions
from idscaling.lm.model import build_model, gpt2_config


def test_sample_positions_follow_the_protocol(small_corpus):
    val = load_token_file(small_corpus["root"] / "val.bin")
    plan = sample_positions(val, context=32, max_documents=3, windows_per_document=2, positions_per_window=5, seed=0)
    docs = {d for d, _, _ in plan}
    assert len(docs) == 3
    eot = val.meta["eot_id"]
    for d, start, positions in plan:
        assert len(positions) <= 5 and len(set(positions.tolist())) == len(positions)
        assert val.doc_starts[d] <= start < val.doc_starts[d] + len(val.document(d))
        assert all(val.tokens[start + p] != eot for p in positions)  # end-of-text dropped
    again = sample_positions(val, context=32, max_documents=3, windows_per_document=2, positions_per_window=5, seed=0)
    assert [(d, s, p.tolist()) for d, s, p in plan] == [(d, s, p.tolist()) for d, s, p in again]


def test_embeddings_equal_hidden_states_of_each_window(small_corpus, tmp_path):
    model = build_model(gpt2_config({"n_layer": 2, "n_head": 2, "n_embd": 16}, vocab_size=512, block_size=32), 0)
    model.save_pretrained(tmp_path, safe_serialization=True)
    val = load_token_file(small_corpus["root"] / "val.bin")
    arrays, positions, meta = embed(
        str(tmp_path),
        val,
        layers=["final", "0"],
        context=32,
        max_documents=5,
        windows_per_document=3,
        positions_per_window=4,
        max_points=40,
        batch_size=3,
    )
    assert arrays["final"].shape == (40, 16) and arrays["0"].shape == (40, 16)
    assert meta["n_points"] == 40 and meta["layers"] == {"final": 2, "0": 0}
    model.eval()
    for i in [0, 17, 39]:
        _, start, pos = positions[i]
        window = torch.from_numpy(np.asarray(val.tokens[start : start + 32], dtype=np.int64))[None]
        with torch.no_grad():
            hidden = model(input_ids=window, output_hidden_states=True).hidden_states
        np.testing.assert_allclose(arrays["final"][i], hidden[2][0, pos].numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(arrays["0"][i], hidden[0][0, pos].numpy(), rtol=1e-4, atol=1e-5)


def test_window_points_are_the_mean_and_last_states_of_each_window(small_corpus, tmp_path):
    model = build_model(gpt2_config({"n_layer": 2, "n_head": 2, "n_embd": 16}, vocab_size=512, block_size=32), 1)
    model.save_pretrained(tmp_path, safe_serialization=True)
    val = load_token_file(small_corpus["root"] / "val.bin")
    eot = val.meta["eot_id"]
    arrays, _, meta = embed(
        str(tmp_path),
        val,
        layers=["final", "0"],
        context=32,
        max_documents=3,
        windows_per_document=10**6,
        positions_per_window=4,
        batch_size=64,
        pool_layer="0",
    )
    windows = arrays["windows"]
    assert arrays["window_mean"].shape == arrays["window_last"].shape == (len(windows), 16)
    assert meta["n_windows"] == len(windows) and meta["pool_layer"] == "0"
    model.eval()
    # every window of 3 documents: the last of each is short, ends with end-of-text and is
    # followed by the next document in the stream; neither belongs to it
    last_of_doc = [int(np.flatnonzero(windows[:, 0] == d)[-1]) for d in np.unique(windows[:, 0])]
    assert all(windows[i, 2] < 32 for i in last_of_doc)
    for i in [0, 1] + last_of_doc:
        d, start, n = windows[i]
        tokens = np.asarray(val.tokens[start : start + 32], dtype=np.int64)
        doc_end = val.doc_starts[d] + len(val.document(d))
        tokens = tokens[: doc_end - start]
        valid = np.flatnonzero(tokens != eot)
        assert n == len(valid)
        with torch.no_grad():
            hidden = model(input_ids=torch.from_numpy(tokens)[None], output_hidden_states=True).hidden_states[0][0]
        np.testing.assert_allclose(arrays["window_mean"][i], hidden[valid].mean(dim=0).numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(arrays["window_last"][i], hidden[valid[-1]].numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="pool_layer '3' is not one of the embedded layers"):
        embed(str(tmp_path), val, layers=["final"], context=32, max_documents=1, pool_layer="3")


def test_embedding_logs_progress(small_corpus, tmp_path, monkeypatch, caplog):
    """With the minimum gap between lines taken away, a progress line at each tenth of the
    windows, ending at all of them; the arrays are those of a run without progress lines."""
    import functools
    import logging

    import idscaling.lm.embed
    from idscaling.runlog import Progress

    model = build_model(gpt2_config({"n_layer": 1, "n_head": 2, "n_embd": 16}, vocab_size=512, block_size=32), 0)
    model.save_pretrained(tmp_path, safe_serialization=True)
    val = load_token_file(small_corpus["root"] / "val.bin")
    kw = dict(
        layers=["final"],
        context=32,
        max_documents=5,
        windows_per_document=4,
        positions_per_window=4,
        max_points=60,
        batch_size=2,
    )
    quiet, _, meta = embed(str(tmp_path), val, **kw)
    monkeypatch.setattr(idscaling.lm.embed, "Progress", functools.partial(Progress, min_gap_s=0))
    with caplog.at_level(logging.INFO, logger="idscaling.lm.embed"):
        loud, _, _ = embed(str(tmp_path), val, **kw)
    lines = [r.getMessage() for r in caplog.records]
    n = meta["n_windows"]
    assert 5 <= len(lines) <= 11 and lines[-1].startswith(f"embed {n:,} windows: 100% | {n:,} windows | "), lines
    np.testing.assert_array_equal(quiet["final"], loud["final"])
