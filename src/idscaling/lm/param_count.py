"""The parameter count of the pipeline's GPT-2 shape, in closed form (no torch needed: the
workflow uses it to order shapes and size jobs while building the DAG).

Hugging Face's ``GPT2LMHeadModel`` with a tied output layer holds: the token embedding V·d, the
position embedding T·d, per block two LayerNorms (4d), the attention's fused QKV (3d² + 3d) and
output projection (d² + d), the MLP's two layers (4d² + 4d, 4d² + d), and a final LayerNorm (2d):
``V d + T d + L (12 d² + 13 d) + 2 d``. ``tests/lm/test_param_count.py`` checks it against
``count_params`` of built models.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["gpt2_param_counts"]


def gpt2_param_counts(shape: Mapping[str, int], vocab_size: int, block_size: int) -> dict[str, int]:
    """``n_params`` (tied output layer counted once) and ``n_params_nonembedding`` (without the
    token and position embeddings, Kaplan et al.'s N) of a GPT-2 of ``shape`` (n_layer, n_embd)."""
    layers, width = int(shape["n_layer"]), int(shape["n_embd"])
    nonembedding = layers * (12 * width**2 + 13 * width) + 2 * width
    return {"n_params": nonembedding + (vocab_size + block_size) * width, "n_params_nonembedding": nonembedding}
