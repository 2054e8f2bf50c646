from __future__ import annotations

import math

import torch

from idscaling.lm.model import (
    build_model,
    count_params,
    flops_per_token,
    gpt2_config,
    load_causal_lm,
)

SHAPE = {"n_layer": 2, "n_head": 2, "n_embd": 32}


def test_param_counts_by_hand():
    model = build_model(gpt2_config(SHAPE, vocab_size=100, block_size=16), seed=0)
    d, L, V, T = 32, 2, 100, 16
    per_block = 2 * 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d)
    counts = count_params(model)
    assert counts["n_params_nonembedding"] == L * per_block + 2 * d  # + final LayerNorm
    assert counts["n_params"] == counts["n_params_nonembedding"] + V * d + T * d  # output layer tied
    assert flops_per_token(model, T) == 6 * (counts["n_params"] - T * d) + 12 * L * d * T


def test_seeded_init_and_hf_round_trip(tmp_path):
    cfg = gpt2_config(SHAPE, vocab_size=100, block_size=16, eot_id=99)
    a, b = build_model(cfg, seed=1), build_model(cfg, seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    a.save_pretrained(tmp_path, safe_serialization=True)
    assert (tmp_path / "model.safetensors").is_file()
    loaded = load_causal_lm(str(tmp_path))
    x = torch.randint(0, 100, (2, 16))
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_ids=x).logits, a.eval()(input_ids=x).logits)


def test_zero_model_is_uniform():
    model = build_model(gpt2_config(SHAPE, vocab_size=64, block_size=8), seed=0)
    with torch.no_grad():
        model.get_input_embeddings().weight.zero_()
        logits = model(input_ids=torch.zeros(1, 8, dtype=torch.long)).logits
    probs = torch.softmax(logits, -1)
    torch.testing.assert_close(probs, torch.full_like(probs, 1 / 64))
    assert math.isclose(-math.log(1 / 64), math.log(64))


def test_the_fused_tanh_gelu_is_gpt2s_activation_and_reloads_as_such(tmp_path):
    """gelu_pytorch_tanh (one kernel) computes HF GPT-2's gelu_new: same weights, same logits; the
    checkpoint names it, so plain transformers rebuilds the same model."""
    fused = build_model(gpt2_config(SHAPE, vocab_size=100, block_size=16), seed=3).eval()
    original = build_model(gpt2_config(SHAPE | {"activation": "gelu_new"}, vocab_size=100, block_size=16), seed=3)
    assert fused.config.activation_function == "gelu_pytorch_tanh"
    assert original.config.activation_function == "gelu_new"
    x = torch.randint(0, 100, (3, 16))
    with torch.no_grad():
        torch.testing.assert_close(fused(input_ids=x).logits, original.eval()(input_ids=x).logits, atol=1e-5, rtol=0)
        h = torch.linspace(-6, 6, 1001)
        new = 0.5 * h * (1 + torch.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h**3)))
        torch.testing.assert_close(fused.transformer.h[0].mlp.act(h), new, atol=1e-6, rtol=0)
    fused.save_pretrained(tmp_path)
    assert load_causal_lm(str(tmp_path)).config.activation_function == "gelu_pytorch_tanh"
