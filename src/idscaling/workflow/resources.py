"""Memory (MB) and runtime (minutes) of the GPU-bound jobs (training, which ends with the validation
pass; the pretrained models' evaluation; embedding), from the model and the data of each.

Runtimes assume a conservative 20 TFLOP/s of sustained throughput (a fraction of one modern GPU)
and double that estimate; any of them can be overridden with
``--set-resources <rule>:runtime=<minutes>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from idscaling.lm.param_count import gpt2_param_counts

__all__ = [
    "ASSUMED_FLOPS_PER_S",
    "VOCAB_BOUND",
    "train_mem_mb",
    "train_runtime",
    "evaluate_mem_mb",
    "evaluate_runtime",
    "embed_mem_mb",
]

ASSUMED_FLOPS_PER_S = 20e12
VOCAB_BOUND = 50257  # the largest vocabulary the pipeline builds (GPT-2's)
VAL_TOKENS_GUESS = 10_000_000  # a generous validation split, for jobs planned before it is tokenized
EVALUATE_MIN_MINUTES = 10
TOKEN_BYTES_MIN = 2  # token files hold uint16 (vocabularies below 65,536) or uint32


def model_params(config: Mapping[str, Any], model: str) -> int:
    """An upper bound on a shape's parameters: its count at the largest vocabulary."""
    return gpt2_param_counts(config["models"][model], VOCAB_BOUND, config["train"]["block_size"])["n_params"]


def train_mem_mb(config: Mapping[str, Any], model: str, n_tokens: int) -> int:
    """Model, optimizer state and a copy of the best weights (fp32), the subset, and a margin; or,
    if more, what the validation pass at the end needs (:func:`evaluate_mem_mb`)."""
    training = 1500 + int(model_params(config, model) * 4 * 6 / 2**20) + int(n_tokens * 8 / 2**20)
    return max(training, evaluate_mem_mb(config, model))


def train_runtime(config: Mapping[str, Any], model: str, val_bytes: int | None = None) -> int:
    """Minutes: 6 N FLOPs per token for every token the schedule processes, plus the periodic
    selection evaluations (2 N per token), at ASSUMED_FLOPS_PER_S per process, doubled, at least 15;
    plus the validation pass at the end (:func:`evaluate_runtime` beyond its floor)."""
    t = config["train"]
    n = model_params(config, model)
    tokens = t["max_steps"] * t["batch_size"] * t["grad_accum"] * t["block_size"]
    evals = (t["max_steps"] // t["eval_interval"]) * t["selection_tokens"]
    processes = t["processes"] or 1  # data-parallel processes share the work
    training = 15 + int(2 * (6 * n * tokens + 2 * n * evals) / ASSUMED_FLOPS_PER_S / processes / 60)
    return training + evaluate_runtime(config, model, val_bytes) - EVALUATE_MIN_MINUTES


def evaluate_mem_mb(config: Mapping[str, Any], model: str) -> int:
    """The model, one batch of logits (batch x context x vocab, fp32, twice) and a margin."""
    logits = config["evaluate"]["batch_size"] * config["train"]["block_size"] * VOCAB_BOUND * 4 * 2
    return 1500 + int(model_params(config, model) * 4 * 2 / 2**20) + logits // 2**20


def evaluate_runtime(config: Mapping[str, Any], model: str, val_bytes: int | None) -> int:
    """Minutes: 2 N FLOPs per validation token, doubled, at least 10. The tokens are at most
    ``val_bytes`` / 2 (the token file's size) or, before the file exists, VAL_TOKENS_GUESS."""
    tokens = VAL_TOKENS_GUESS if val_bytes is None else val_bytes // TOKEN_BYTES_MIN
    flops = 2 * model_params(config, model) * tokens
    return EVALUATE_MIN_MINUTES + int(2 * flops / ASSUMED_FLOPS_PER_S / 60)


def embed_mem_mb(config: Mapping[str, Any], model: str) -> int:
    """The model plus the float32 points of every layer, twice (gathered chunks and the result)."""
    width = config["models"][model]["n_embd"]
    points = config["embed"]["max_points"] * width * len(config["embed"]["layers"]) * 4 * 2
    return 2000 + int(model_params(config, model) * 4 * 2 / 2**20) + points // 2**20
