"""Benchmark: our training step against a model with nanoGPT's architecture, side by side (issue 17).

Both models are trained by the package's own step (``idscaling.lm.train.random_batch`` +
``train_step``: cross-entropy, gradient clipping at 1.0, ``configure_optimizer``'s AdamW), on the
same synthetic tokens, batch, seed and settings; only the module differs:

    ours       idscaling.lm.model.gpt2_config + build_model (HF GPT2LMHeadModel, SDPA attention),
               with the activation it uses (gelu_pytorch_tanh: the tanh GELU as one kernel)
    gelu_new   the same model with HF GPT-2's original activation (gelu_new: the same function
               written as several elementwise ops), i.e. what this package trained before issue 17
    nanogpt    ``NanoGPT`` below: nanoGPT's model.py architecture (pre-LN blocks, fused qkv Linear,
               causal SDPA, GELU MLP of width 4d, biases, tied lm_head), written for this benchmark

The shapes are the issue's (layers x width, vocabulary, context). Each round times ``--steps``
steps of every model in turn (interleaved, so drift and neighbours hit all alike) after
``--warmup`` untimed steps; the report is each model's median tokens/s over rounds and its ratio
to nanogpt's. fp32 eager on the CPU with ``--threads`` threads (default 1); on CUDA bf16 autocast,
and ``--compile`` compiles every model.

    .venv/bin/python bench/train_speed.py                       # the three shapes, CPU, 1 thread
    .venv/bin/python bench/train_speed.py --device cuda --compile --shapes 12x768:50257:1024
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from idscaling.lm.model import build_model, gpt2_config, pick_device
from idscaling.lm.settings import TrainSettings
from idscaling.lm.train import configure_optimizer, random_batch, train_step

# layers x width : vocabulary : context (heads = width / 32, at least 2, as the shapes)
DEFAULT_SHAPES = ("2x64:1024:256", "4x128:4096:128", "6x384:8192:256")


class _Attention(nn.Module):
    def __init__(self, d: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.n_head, d // self.n_head).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, d))


class _Block(nn.Module):
    def __init__(self, d: int, n_head: int, approximate: str) -> None:
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = _Attention(d, n_head)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(approximate=approximate), nn.Linear(4 * d, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class NanoGPT(nn.Module):
    """nanoGPT's GPT (bias=True, dropout 0): token + position embeddings, pre-LN blocks, final
    LayerNorm, lm_head tied to the token embedding; N(0, 0.02) init with the residual projections
    scaled by 1/sqrt(2 L). ``approximate`` is the GELU's ("none" as nanoGPT, "tanh" as GPT-2).
    Called like a HF model (``input_ids=``; returns ``.logits``) so that ``train_step`` drives it."""

    def __init__(self, n_layer: int, n_head: int, n_embd: int, vocab: int, context: int, approximate: str = "none"):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, n_embd), nn.Embedding(context, n_embd)
        self.h = nn.ModuleList(_Block(n_embd, n_head, approximate) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab, bias=False)
        self.lm_head.weight = self.wte.weight
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * n_layer))
            elif p.dim() >= 2:
                nn.init.normal_(p, std=0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, input_ids: torch.Tensor, use_cache: bool = False) -> SimpleNamespace:
        pos = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.wte(input_ids) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return SimpleNamespace(logits=self.lm_head(self.ln_f(x)))


def parse_shape(text: str) -> dict:
    """``LxD:V:T`` -> n_layer, n_embd, n_head (D / 32, at least 2), vocab, context."""
    try:
        dims, vocab, context = text.split(":")
        n_layer, n_embd = (int(v) for v in dims.split("x"))
        return {
            "n_layer": n_layer,
            "n_embd": n_embd,
            "n_head": max(2, n_embd // 32),
            "vocab": int(vocab),
            "context": int(context),
        }
    except ValueError:
        raise SystemExit(f"bad shape {text!r}: expected LAYERSxWIDTH:VOCAB:CONTEXT, e.g. 4x128:4096:128") from None


def build(kind: str, shape: dict, seed: int = 0) -> nn.Module:
    """One of the compared models at ``shape``, initialised from ``seed``."""
    arch = {k: shape[k] for k in ("n_layer", "n_head", "n_embd")}
    if kind == "nanogpt":
        torch.manual_seed(seed)
        return NanoGPT(**arch, vocab=shape["vocab"], context=shape["context"])
    activation = {"ours": None, "gelu_new": "gelu_new"}[kind]
    if activation is not None:
        arch["activation"] = activation
    return build_model(gpt2_config(arch, vocab_size=shape["vocab"], block_size=shape["context"]), seed)


def measure(shape: dict, kinds: list[str], *, batch: int, steps: int, warmup: int, rounds: int,
            device: torch.device, compile_: bool) -> dict[str, list[float]]:  # fmt: skip
    """tokens/s of every kind in every round (interleaved)."""
    s = replace(TrainSettings(), block_size=shape["context"], batch_size=batch, lr=3e-4)
    tokens = np.random.default_rng(0).integers(0, shape["vocab"], size=200_000, dtype=np.int64)
    runs = {}
    for kind in kinds:
        model = build(kind, shape).to(device).train()
        forward = torch.compile(model) if compile_ else model
        runs[kind] = (model, forward, configure_optimizer(model, s, device), np.random.default_rng(1))

    def step(kind: str) -> None:
        model, forward, optimizer, rng = runs[kind]
        train_step(model, optimizer, [random_batch(tokens, s, rng, device)], device, grad_clip=1.0, forward=forward)

    for kind in kinds:
        for _ in range(warmup):
            step(kind)
    rates: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(rounds):
        for kind in kinds:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(steps):
                step(kind)
            if device.type == "cuda":
                torch.cuda.synchronize()
            rates[kind].append(steps * batch * shape["context"] / (time.perf_counter() - t0))
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=list(DEFAULT_SHAPES))
    parser.add_argument("--kinds", nargs="+", default=["ours", "gelu_new", "nanogpt"],
                        choices=["ours", "gelu_new", "nanogpt"])  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per model per round")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    print(f"device {device}, threads {args.threads}, batch {args.batch_size}, {args.rounds} rounds x {args.steps} steps"
          f"{', compiled' if args.compile else ''}")  # fmt: skip
    print(f"{'shape':18s} " + " ".join(f"{k + ' tok/s':>15s}" for k in args.kinds) + "   ratios to nanogpt")
    for text in args.shapes:
        shape = parse_shape(text)
        rates = measure(shape, args.kinds, batch=args.batch_size, steps=args.steps, warmup=args.warmup,
                        rounds=args.rounds, device=device, compile_=args.compile)  # fmt: skip
        med = {k: statistics.median(v) for k, v in rates.items()}
        ratios = "  ".join(
            f"{k} {med[k] / med['nanogpt']:.3f}x" for k in args.kinds if k != "nanogpt" and "nanogpt" in med
        )
        print(f"{text:18s} " + " ".join(f"{med[k]:15,.0f}" for k in args.kinds) + "   " + ratios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
