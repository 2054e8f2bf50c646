"""The closed-form GPT-2 parameter count equals the count of built models."""

from __future__ import annotations

import pytest

from idscaling.lm.model import build_model, count_params, gpt2_config
from idscaling.lm.param_count import gpt2_param_counts


@pytest.mark.parametrize(
    "shape,vocab,block",
    [
        ({"n_layer": 1, "n_head": 1, "n_embd": 8}, 260, 16),
        ({"n_layer": 3, "n_head": 2, "n_embd": 48}, 1024, 64),
        ({"n_layer": 2, "n_head": 4, "n_embd": 64}, 50257, 128),
    ],
)
def test_closed_form_equals_the_built_model(shape, vocab, block):
    built = count_params(build_model(gpt2_config(shape, vocab_size=vocab, block_size=block), seed=0))
    assert gpt2_param_counts(shape, vocab, block) == built


def test_gpt2_small_has_its_published_size():
    # GPT-2 small (12 x 768, 50,257 tokens, 1,024 positions): 124,439,808 parameters (HF's count).
    counts = gpt2_param_counts({"n_layer": 12, "n_embd": 768}, 50257, 1024)
    assert counts["n_params"] == 124_439_808
    assert counts["n_params_nonembedding"] == 124_439_808 - 50257 * 768 - 1024 * 768
