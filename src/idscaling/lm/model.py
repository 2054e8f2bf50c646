"""The model: Hugging Face's GPT-2 (``GPT2LMHeadModel``), so checkpoints load in any HF tool.

We use transformers' definition rather than our own copy of nanoGPT's: it is the same
architecture (pre-LN blocks, GELU MLP of width 4d, learned positions, tied output layer), it
saves with ``save_pretrained`` as safetensors, and evaluation/embedding then work unchanged for
pretrained causal LMs given by a Hub id. One difference from the paper's nanoGPT setting:
HF GPT-2 always has biases (nanoGPT used bias=False).

The MLP's activation is GPT-2's tanh GELU computed by PyTorch's one fused kernel
(``gelu_pytorch_tanh``): the same function as HF GPT-2's default ``gelu_new``, which spells it as
several elementwise ops and is the slower part of a small model's step (BENCHMARKS.md, issue 17).
A shape may ask for ``activation: gelu_new`` (the original GPT-2 code path).
"""

from __future__ import annotations

import torch

ACTIVATION = "gelu_pytorch_tanh"
ACTIVATIONS = ("gelu_pytorch_tanh", "gelu_new")


def gpt2_config(shape: dict, *, vocab_size: int, block_size: int, dropout: float = 0.0, eot_id: int | None = None):
    from transformers import GPT2Config

    return GPT2Config(
        vocab_size=vocab_size,
        n_positions=block_size,
        n_embd=shape["n_embd"],
        n_layer=shape["n_layer"],
        n_head=shape["n_head"],
        resid_pdrop=dropout,
        embd_pdrop=dropout,
        attn_pdrop=dropout,
        bos_token_id=eot_id,
        eos_token_id=eot_id,
        tie_word_embeddings=True,
        activation_function=shape.get("activation", ACTIVATION),
        # PyTorch's fused scaled_dot_product_attention (flash / memory-efficient kernels on GPU).
        # transformers 5 already picks it by default for GPT-2; stated so that it cannot change.
        attn_implementation="sdpa",
    )


def build_model(config, seed: int):
    """A freshly initialised GPT-2 (HF's GPT-2 init: N(0, 0.02), scaled residual projections)."""
    from transformers import GPT2LMHeadModel

    torch.manual_seed(seed)
    return GPT2LMHeadModel(config)


def load_causal_lm(name_or_path: str, device: torch.device | str = "cpu", dtype: torch.dtype | None = None):
    """Load a checkpoint folder (ours) or any Hugging Face causal-LM id, in eval mode."""
    from transformers import AutoModelForCausalLM

    kwargs = {"dtype": dtype} if dtype is not None else {}
    model = AutoModelForCausalLM.from_pretrained(name_or_path, **kwargs)
    return model.to(device).eval()


def load_for_inference(name_or_path: str, device: str = "auto", threads: int = 1):
    """Cap CPU threads, pick the device and load the model in eval mode: (model, device)."""
    torch.set_num_threads(threads)
    dev = pick_device(device)
    return load_causal_lm(name_or_path, dev), dev


def count_params(model) -> dict[str, int]:
    """Total parameters (tied output layer counted once) and non-embedding parameters
    (without token and position embeddings, Kaplan et al.'s convention)."""
    total = sum(p.numel() for p in model.parameters())
    embedding = sum(m.weight.numel() for m in _embeddings(model))
    return {"n_params": total, "n_params_nonembedding": total - embedding}


def _embeddings(model):
    wte = model.get_input_embeddings()
    mods = [wte]
    pos = getattr(getattr(model, "transformer", None), "wpe", None)
    if pos is not None:
        mods.append(pos)
    return mods


def flops_per_token(model, block_size: int) -> int:
    """Training FLOPs per token as nanoGPT / PaLM (appendix B) count them:
    6 N + 12 L d T, where N is the parameter count without position embeddings (the token
    embedding is counted because it is also the output layer's matmul), L the number of layers,
    d the width and T the context length (the attention score and value matmuls)."""
    cfg = model.config
    pos = getattr(getattr(model, "transformer", None), "wpe", None)
    n = sum(p.numel() for p in model.parameters()) - (pos.weight.numel() if pos is not None else 0)
    return 6 * n + 12 * cfg.n_layer * cfg.n_embd * block_size


def max_context(config) -> int:
    """The longest context a HF model config allows (GPT-2: n_positions; most others, e.g.
    GPT-NeoX/Pythia: max_position_embeddings)."""
    for key in ("n_positions", "max_position_embeddings", "n_ctx", "seq_length"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    raise ValueError(f"model config of type {type(config).__name__} states no maximum context length")


def pick_device(preference: str = "auto") -> torch.device:
    if preference == "cuda" or (preference == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' was asked for but torch sees no CUDA device")
        return torch.device("cuda")
    return torch.device("cpu")


def autocast(device: torch.device, dtype: str | torch.dtype | None = None):
    """bf16 autocast on CUDA, a no-op elsewhere (CPU runs in float32). ``dtype`` ("bfloat16",
    "float16", "float32" or a torch dtype) overrides that choice (benchmarks); float32 disables it."""
    if dtype is None:
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
    if dtype == torch.float32:
        return torch.autocast(device.type, enabled=False)
    return torch.autocast(device.type, dtype=dtype)
