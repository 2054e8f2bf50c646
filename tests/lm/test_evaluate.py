from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from idscaling.corpus.tokens import TokenFile, load_token_file
from idscaling.lm.evaluate import bootstrap_ratio_ci, evaluate, per_document_losses
from idscaling.lm.model import build_model, gpt2_config


def _save(tmp_path, vocab, block, zero=False, seed=0):
    model = build_model(
        gpt2_config({"n_layer": 1, "n_head": 2, "n_embd": 16}, vocab_size=vocab, block_size=block), seed
    )
    if zero:
        with torch.no_grad():
            model.get_input_embeddings().weight.zero_()  # tied output layer: all logits 0
    model.save_pretrained(tmp_path, safe_serialization=True)
    return model


def test_uniform_model_loss_is_log_vocab(small_corpus, tmp_path):
    _save(tmp_path, 512, 32, zero=True)
    val = load_token_file(small_corpus["root"] / "val.bin")
    r = evaluate(str(tmp_path), val, block_size=32, n_bootstrap=200)
    assert r["val_loss"] == pytest.approx(math.log(512), rel=1e-6)
    assert r["n_val_tokens"] == len(val.tokens) - 1
    assert r["n_val_documents"] == val.n_documents


def test_loss_matches_hf_own_loss(small_corpus, tmp_path):
    """Our token-weighted mean equals HF's loss (labels=input_ids), window by window."""
    model = _save(tmp_path, 512, 32, seed=3).eval()
    val = load_token_file(small_corpus["root"] / "val.bin")
    tokens = torch.from_numpy(np.asarray(val.tokens, dtype=np.int64))
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(tokens) - 1, 32):
            chunk = tokens[start : start + 33].unsqueeze(0)
            n = chunk.shape[1] - 1
            # HF shifts labels inside: feeding 33 tokens predicts 32; drop the logit of the last input.
            logits = model(input_ids=chunk[:, :-1]).logits
            loss = torch.nn.functional.cross_entropy(logits[0], chunk[0, 1:], reduction="sum")
            total, count = total + float(loss), count + n
    r = evaluate(str(tmp_path), val, block_size=32, n_bootstrap=100)
    assert r["val_loss"] == pytest.approx(total / count, rel=1e-6)
    assert r["val_loss_ci_low"] < r["val_loss"] < r["val_loss_ci_high"]


def test_targets_are_assigned_to_their_document():
    eot = 9
    tokens = np.array([1, 2, eot, 3, eot, 4, 5, 6, eot], dtype=np.uint16)
    val = TokenFile(tokens=tokens, doc_starts=np.array([0, 3, 5]), meta={"eot_id": eot})
    losses = np.arange(1, 9, dtype=float)  # loss j+... for targets at stream positions 1..8
    sums, counts = per_document_losses(val, losses)
    # doc 0 owns targets at positions 1, 2; doc 1 positions 3, 4; doc 2 positions 5..8
    np.testing.assert_array_equal(counts, [2, 2, 4])
    np.testing.assert_array_equal(sums, [1 + 2, 3 + 4, 5 + 6 + 7 + 8])


def test_bootstrap_ci_brackets_ratio_and_shrinks_with_more_documents():
    rng = np.random.default_rng(0)
    counts = rng.integers(50, 500, size=400).astype(float)
    sums = counts * rng.normal(4.0, 0.3, size=400)
    low, high = bootstrap_ratio_ci(sums, counts, 2000, 0.95, seed=0)
    assert low < sums.sum() / counts.sum() < high
    low40, high40 = bootstrap_ratio_ci(sums[:40], counts[:40], 2000, 0.95, seed=0)
    assert (high40 - low40) > 2 * (high - low)  # ~sqrt(10) wider with a tenth of the documents
    assert all(math.isnan(v) for v in bootstrap_ratio_ci(sums[:1], counts[:1], 100, 0.95, 0))


def test_saved_losses_give_the_evaluation_to_the_last_bit(small_corpus, tmp_path):
    """The training job's route (losses saved with the checkpoint, summarized by rule evaluate)
    and the one-job route (evaluate) give the same numbers, bit for bit."""
    from idscaling.lm.evaluate import (
        load_validation_losses,
        save_validation_losses,
        summarize_losses,
        validation_losses,
    )

    _save(tmp_path / "model", 512, 32, seed=5)
    val = load_token_file(small_corpus["root"] / "val.bin")
    direct = evaluate(str(tmp_path / "model"), val, block_size=32, batch_size=7, n_bootstrap=300, seed=2)
    losses = validation_losses(str(tmp_path / "model"), val, block_size=32, batch_size=7)
    save_validation_losses(tmp_path / "val_losses.npz", losses)
    loaded = load_validation_losses(tmp_path / "val_losses.npz")
    assert loaded["losses"].dtype == np.float64 and loaded["context"] == 32 and loaded["device"] == "cpu"
    assert summarize_losses(val, loaded, n_bootstrap=300, seed=2) == direct
    with pytest.raises(ValueError, match="losses for the"):
        summarize_losses(val, {**loaded, "losses": loaded["losses"][:-1]})
