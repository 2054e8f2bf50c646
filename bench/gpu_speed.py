"""Benchmark: training step, evaluation pass and embedding pass speed (tokens/s and MFU) on this device.

Times the package's own code paths on synthetic tokens (uniform random ids; speed does not depend
on them), for the paper's shapes (config/paper.yaml: context 1024, GPT-2 vocabulary 50257):

    gpt2   12 layers, width 768, 12 heads (GPT-2 small, the paper's model, 124M parameters)
    small  12 layers, width 384,  6 heads (w384, the narrower shape of the paper's sweep)

- training step: ``idscaling.train.random_batch`` + ``idscaling.train.train_step`` (forward under
  ``idscaling.model.autocast``, backward, gradient clipping at 1.0, the optimizer of
  ``configure_optimizer``: AdamW, fused on CUDA), one micro-batch of ``--batch-size`` windows;
- evaluation pass: ``idscaling.train.token_losses`` (what ``idscaling.evaluate`` and the
  checkpoint selection run) over ``--eval-batches`` batches of ``--eval-batch-size`` windows;
- embedding pass: ``idscaling.embed.hidden_states_at`` (what ``idscaling.embed.embed`` runs) over
  the same number of windows, 32 positions kept per window (the paper's protocol), final layer.

The model is ``idscaling.model.gpt2_config`` / ``build_model`` (HF GPT-2 with PyTorch SDPA
attention). Each pass runs in two modes on fresh models with the same seed:

    optimised   autocast in --dtype (default bfloat16) and, with --compile, torch.compile
    eager fp32  the same code with autocast off and no compile (the baseline)

and the ratio optimised / eager fp32 of tokens/s is printed. Timing: ``--warmup`` untimed runs,
then ``--steps`` timed runs, the median; CUDA events around each run on a GPU (device-side time),
wall clock (perf_counter) on the CPU.

FLOPs per token, as nanoGPT / PaLM (appendix B) count them, with N the parameters without position
embeddings (``idscaling.model.flops_per_token``), L layers, d width, T context, V vocabulary:

    training step      6 N + 12 L d T             (forward + backward: 3x the forward)
    evaluation pass    2 N +  4 L d T             (forward with the tied output layer: 1/3 of training)
    embedding pass     2 (N - V d) + 4 L d T      (forward without the output layer, which it skips)

Attention is counted at the full context T (as PaLM), not T/2 for the causal half. Tokens are
the windows' tokens (batch x T). MFU = achieved model FLOP/s / the peak matmul FLOP/s of the same
device measured in the same run (median of square --peak-size matmuls, bf16 and fp32); MFU uses the
larger of the two peaks (bf16 on GPUs and on CPUs with fast bf16; fp32 where bf16 is slower), and
the output says which.

    .venv/bin/python bench/gpu_speed.py                         # CPU: both shapes, small defaults
    .venv/bin/python bench/gpu_speed.py --shape small --steps 2 # quicker
    # on a GPU (H100): batch 16 x 1024 as the paper's micro-batch, compiled, bf16
    python bench/gpu_speed.py --device cuda --shape both --compile --json gpu_speed.json

Defaults: CPU batch 1 (gpt2) / 2 (small), 1 warm-up and 3 timed runs (a few minutes on 2 cores);
CUDA batch 16, eval/embed batch 32, 3 warm-ups (compilation happens there) and 10 timed runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from idscaling.corpus.tokens import TokenFile
from idscaling.lm.embed import hidden_states_at, sample_positions
from idscaling.lm.inference import token_losses, windows
from idscaling.lm.model import (
    build_model,
    count_params,
    flops_per_token,
    gpt2_config,
    pick_device,
)
from idscaling.lm.settings import TrainSettings
from idscaling.lm.train import configure_optimizer, random_batch, train_step

CONTEXT = 1024
VOCAB = 50257  # GPT-2's
SHAPES = {  # config/paper.yaml models
    "gpt2": {"n_layer": 12, "n_head": 12, "n_embd": 768},
    "small": {"n_layer": 12, "n_head": 6, "n_embd": 384},
}
PASSES = ("train", "eval", "embed")
FORMULAS = {
    "train": "6N + 12LdT",
    "eval": "2N + 4LdT",
    "embed": "2(N - Vd) + 4LdT",
}
POSITIONS_PER_WINDOW = 32


# ------------------------------------------------------------------------------------------------
# FLOPs and peaks
# ------------------------------------------------------------------------------------------------


def flop_counts(model, context: int) -> dict[str, int]:
    """Model FLOPs per token of each pass (see the module docstring)."""
    cfg = model.config
    train = flops_per_token(model, context)  # 6N + 12LdT
    attention = 12 * cfg.n_layer * cfg.n_embd * context
    n = (train - attention) // 6
    return {
        "train": train,
        "eval": 2 * n + attention // 3,
        "embed": 2 * (n - cfg.vocab_size * cfg.n_embd) + attention // 3,
    }


def time_runs(fn, device: torch.device, warmup: int, steps: int) -> list[float]:
    """Seconds of each of ``steps`` runs of ``fn`` after ``warmup`` untimed ones: CUDA events
    (device-side time) on a GPU, wall clock on the CPU."""
    for _ in range(warmup):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(steps)]
        for start, end in events:
            start.record()
            fn()
            end.record()
        torch.cuda.synchronize(device)
        return [start.elapsed_time(end) / 1e3 for start, end in events]
    out = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def matmul_peak(device: torch.device, dtype: torch.dtype, size: int, warmup: int = 2, steps: int = 5) -> float:
    """Median FLOP/s of a square ``size`` matmul in ``dtype`` (true float32: no TF32)."""
    g = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(size, size, generator=g).to(device=device, dtype=dtype)
    b = torch.randn(size, size, generator=g).to(device=device, dtype=dtype)
    times = time_runs(lambda: torch.mm(a, b), device, warmup, steps)
    return 2.0 * size**3 / statistics.median(times)


# ------------------------------------------------------------------------------------------------
# the passes
# ------------------------------------------------------------------------------------------------


def synthetic_tokens(n_windows: int, context: int, vocab: int, seed: int = 0) -> TokenFile:
    """Documents of exactly one window each, uniform random ids, an end-of-text id (0) at the
    end of each document (never sampled for embedding)."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(1, vocab, size=n_windows * context + 1).astype(np.uint32)
    tokens[context::context] = 0
    starts = np.arange(n_windows, dtype=np.int64) * context
    return TokenFile(tokens=tokens, doc_starts=starts, meta={"eot_id": 0})


def bench_mode(
    shape: dict,
    *,
    mode: str,
    device: torch.device,
    context: int,
    vocab: int,
    batch_size: int,
    eval_batch_size: int,
    eval_batches: int,
    steps: int,
    warmup: int,
    dtype: str,
    compile: bool,
    seed: int = 0,
) -> dict:
    """Median seconds of each pass for one mode ("optimised": ``dtype`` autocast and ``compile``;
    "eager_fp32": neither), on a fresh model."""
    run_dtype, run_compile = (dtype, compile) if mode == "optimised" else ("float32", False)
    config = gpt2_config(shape, vocab_size=vocab, block_size=context, eot_id=0)
    model = build_model(config, seed).to(device)
    flops = flop_counts(model, context)
    out = {
        "mode": mode,
        "dtype": run_dtype,
        "compile": run_compile,
        "flops_per_token": flops,
        "n_params": count_params(model)["n_params"],
        "passes": {},
    }

    # training step, as idscaling.train.train runs it (one micro-batch per step)
    s = TrainSettings(block_size=context, batch_size=batch_size, grad_accum=1, compile=run_compile)
    optimizer = configure_optimizer(model, s, device)
    forward = torch.compile(model) if run_compile else model
    train_tokens = np.random.default_rng(seed).integers(1, vocab, size=max(4 * batch_size * context, 2 * context))
    rng = np.random.default_rng(seed)

    def train_once():
        model.train()
        train_step(
            model,
            optimizer,
            [random_batch(train_tokens, s, rng, device)],
            device,
            grad_clip=1.0,
            forward=forward,
            dtype=run_dtype,
        )

    times = time_runs(train_once, device, warmup, steps)
    out["passes"]["train"] = _pass_row(times, batch_size * context, flops["train"])

    # evaluation pass: token_losses over eval_batches batches
    n_windows = eval_batch_size * eval_batches
    data = synthetic_tokens(n_windows, context, vocab, seed)
    x, y = windows(np.asarray(data.tokens), context)
    evaluator = torch.compile(model) if run_compile else model
    times = time_runs(
        lambda: token_losses(evaluator, x, y, eval_batch_size, device, dtype=run_dtype), device, warmup, steps
    )
    out["passes"]["eval"] = _pass_row(times, x.size, flops["eval"])

    # embedding pass: hidden_states_at over the same number of windows (the last pass: it
    # compiles the transformer in place)
    plan = sample_positions(
        data,
        context=context,
        max_documents=n_windows,
        windows_per_document=1,
        positions_per_window=POSITIONS_PER_WINDOW,
        seed=seed,
    )
    if run_compile:
        model.base_model.compile()
    index = {"final": model.config.n_layer}
    times = time_runs(
        lambda: hidden_states_at(
            model, device, data.tokens, plan, index, context=context, batch_size=eval_batch_size, dtype=run_dtype
        ),
        device,
        warmup,
        steps,
    )
    out["passes"]["embed"] = _pass_row(times, len(plan) * context, flops["embed"])
    out["passes"]["embed"]["points_per_s"] = sum(len(p) for _, _, p in plan) / out["passes"]["embed"]["median_s"]
    return out


def _pass_row(times: list[float], tokens: int, flops_per_tok: int) -> dict:
    median = statistics.median(times)
    return {
        "median_s": median,
        "times_s": times,
        "tokens": tokens,
        "tokens_per_s": tokens / median,
        "model_flops_per_s": tokens * flops_per_tok / median,
    }


def run_benchmark(
    shapes: dict[str, dict],
    *,
    device: torch.device,
    context: int = CONTEXT,
    vocab: int = VOCAB,
    batch_size: dict[str, int] | int,
    eval_batch_size: dict[str, int] | int,
    eval_batches: int = 2,
    steps: int,
    warmup: int,
    dtype: str = "bfloat16",
    compile: bool = False,
    modes: tuple[str, ...] = ("eager_fp32", "optimised"),
    peak_size: int = 2048,
) -> dict:
    """Everything the script prints, as a dict (see ``main``); the tests call this with a tiny shape."""
    per = lambda v, name: v[name] if isinstance(v, dict) else v  # noqa: E731
    peaks = {name: matmul_peak(device, getattr(torch, name), peak_size) for name in ("bfloat16", "float32")}
    peak_dtype = max(peaks, key=peaks.get)
    result = {
        "device": _device_name(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "context": context,
        "vocab": vocab,
        "timing": "CUDA events (device time)" if device.type == "cuda" else "wall clock (perf_counter)",
        "flops_formulas": dict(
            FORMULAS, N="parameters without position embeddings", L="layers", d="width", T="context", V="vocabulary"
        ),
        "peak_flops_per_s": peaks,
        "peak_used_for_mfu": peak_dtype,
        "load_before": os.getloadavg(),
        "shapes": {},
    }
    for name, shape in shapes.items():
        rows = {}
        for mode in modes:
            rows[mode] = bench_mode(
                shape,
                mode=mode,
                device=device,
                context=context,
                vocab=vocab,
                batch_size=per(batch_size, name),
                eval_batch_size=per(eval_batch_size, name),
                eval_batches=eval_batches,
                steps=steps,
                warmup=warmup,
                dtype=dtype,
                compile=compile,
            )
            if device.type == "cuda":
                torch.cuda.empty_cache()  # the mode's model and optimizer are gone
            for row in rows[mode]["passes"].values():
                row["mfu"] = row["model_flops_per_s"] / peaks[peak_dtype]
        entry = {
            "shape": shape,
            "batch_size": per(batch_size, name),
            "eval_batch_size": per(eval_batch_size, name),
            "eval_batches": eval_batches,
            "modes": rows,
        }
        if "optimised" in rows and "eager_fp32" in rows:
            entry["speedup_vs_eager_fp32"] = {
                p: rows["optimised"]["passes"][p]["tokens_per_s"] / rows["eager_fp32"]["passes"][p]["tokens_per_s"]
                for p in PASSES
            }
        result["shapes"][name] = entry
    result["load_after"] = os.getloadavg()
    return result


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU: {model}, {os.cpu_count()} logical cores"


def format_report(r: dict) -> str:
    lines = [
        f"# device: {r['device']}; torch {r['torch']}, {r['threads']} threads; timing: {r['timing']}, median",
        f"# context {r['context']}, vocabulary {r['vocab']}; load average before "
        f"{' '.join(f'{v:.2f}' for v in r['load_before'])}, after {' '.join(f'{v:.2f}' for v in r['load_after'])}",
        "# FLOPs/token: train "
        + FORMULAS["train"]
        + ", eval "
        + FORMULAS["eval"]
        + ", embed "
        + FORMULAS["embed"]
        + " (N: params without position embeddings, L layers, d width, T context, V vocab)",
        f"# measured matmul peak: bf16 {r['peak_flops_per_s']['bfloat16'] / 1e12:.3f} TFLOP/s, "
        f"fp32 {r['peak_flops_per_s']['float32'] / 1e12:.3f} TFLOP/s; MFU uses the {r['peak_used_for_mfu']} peak",
        "",
        "| shape | pass | mode | batch | median s | tokens/s | model TFLOP/s | MFU | optimised / eager fp32 |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, e in r["shapes"].items():
        for p in PASSES:
            for mode, m in e["modes"].items():
                row = m["passes"][p]
                label = mode if mode == "eager_fp32" else f"{m['dtype']}{' + compile' if m['compile'] else ''}"
                ratio = e.get("speedup_vs_eager_fp32", {}).get(p) if mode == "optimised" else None
                batch = e["batch_size"] if p == "train" else e["eval_batch_size"]
                lines.append(
                    f"| {name} | {p} | {label} | {batch} | {row['median_s']:.3f} | {row['tokens_per_s']:,.0f} "
                    f"| {row['model_flops_per_s'] / 1e12:.4f} | {100 * row['mfu']:.1f}% "
                    f"| {'' if ratio is None else f'{ratio:.2f}x'} |"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--shape", default="both", choices=["small", "gpt2", "both"])
    ap.add_argument("--batch-size", type=int, help="training windows per step (default: CUDA 16; CPU 1 gpt2, 2 small)")
    ap.add_argument(
        "--eval-batch-size",
        type=int,
        help="windows per evaluation/embedding batch (default: CUDA 32; CPU the training batch)",
    )
    ap.add_argument("--eval-batches", type=int, default=2, help="batches per evaluation/embedding pass (default 2)")
    ap.add_argument("--steps", type=int, help="timed runs per pass, median reported (default: CUDA 10, CPU 3)")
    ap.add_argument("--warmup", type=int, help="untimed runs first (default: CUDA 3, CPU 1)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model in the optimised mode")
    ap.add_argument(
        "--dtype",
        default="bfloat16",
        choices=["bfloat16", "float16", "float32"],
        help="autocast dtype of the optimised mode (default bfloat16)",
    )
    ap.add_argument(
        "--mode",
        default="both",
        choices=["both", "optimised", "eager_fp32"],
        help="both (default: prints the ratio), or only the optimised or the eager fp32 baseline",
    )
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch CPU threads (default: all cores)")
    ap.add_argument("--peak-size", type=int, help="matmul size for the peak (default: CUDA 8192, CPU 2048)")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    cuda = device.type == "cuda"
    names = ["small", "gpt2"] if args.shape == "both" else [args.shape]
    default_batch = {"gpt2": 16, "small": 16} if cuda else {"gpt2": 1, "small": 2}
    batch = {n: args.batch_size or default_batch[n] for n in names}
    eval_batch = {n: args.eval_batch_size or (32 if cuda else batch[n]) for n in names}
    modes = ("eager_fp32", "optimised") if args.mode == "both" else (args.mode,)
    r = run_benchmark(
        {n: SHAPES[n] for n in names},
        device=device,
        batch_size=batch,
        eval_batch_size=eval_batch,
        eval_batches=args.eval_batches,
        steps=args.steps or (10 if cuda else 3),
        warmup=args.warmup if args.warmup is not None else (3 if cuda else 1),
        dtype=args.dtype,
        compile=args.compile,
        modes=modes,
        peak_size=args.peak_size or (8192 if cuda else 2048),
    )
    print(format_report(r))
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
