from __future__ import annotations

import numpy as np
import torch

from idscaling.embed import embed, sample_positions
from idscaling.model import build_model, gpt2_config
from idscaling.tokens import load_token_file


def test_sample_positions_follow_the_protocol(small_corpus):
    val = load_token_file(small_corpus["root"] / "val.bin")
    plan = sample_positions(val, context=32, max_documents=3, windows_per_document=2,
                            positions_per_window=5, seed=0)
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
    arrays, positions, meta = embed(str(tmp_path), val, layers=["final", "0"], context=32, max_documents=5,
                                    windows_per_document=3, positions_per_window=4, max_points=40, batch_size=3)
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
