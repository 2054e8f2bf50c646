"""The speed benchmark harness (bench/gpu_speed.py) on the CPU with a tiny shape: its FLOP counts,
timings, MFU and output fields."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from idscaling.lm.model import build_model, flops_per_token, gpt2_config

BENCH = Path(__file__).resolve().parents[2] / "bench" / "gpu_speed.py"
TINY = {"n_layer": 2, "n_head": 2, "n_embd": 32}


@pytest.fixture(scope="module")
def gpu_speed():
    spec = importlib.util.spec_from_file_location("gpu_speed", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_flop_counts_follow_the_stated_formulas(gpu_speed):
    context, vocab = 64, 128
    model = build_model(gpt2_config(TINY, vocab_size=vocab, block_size=context), 0)
    counts = gpu_speed.flop_counts(model, context)
    L, d, T = TINY["n_layer"], TINY["n_embd"], context
    n = sum(p.numel() for p in model.parameters()) - model.transformer.wpe.weight.numel()
    assert counts["train"] == flops_per_token(model, context) == 6 * n + 12 * L * d * T
    assert counts["eval"] == 2 * n + 4 * L * d * T == counts["train"] // 3
    assert counts["embed"] == 2 * (n - vocab * d) + 4 * L * d * T
    # the paper's GPT-2 small: 123.7M parameters without position embeddings
    gpt2 = build_model(gpt2_config(gpu_speed.SHAPES["gpt2"], vocab_size=50257, block_size=1024), 0)
    assert gpu_speed.flop_counts(gpt2, 1024)["train"] == flops_per_token(gpt2, 1024)


def test_tiny_run_on_cpu_has_positive_timings_and_mfu_below_one(gpu_speed):
    r = gpu_speed.run_benchmark(
        {"tiny": TINY},
        device=torch.device("cpu"),
        context=32,
        vocab=128,
        batch_size=2,
        eval_batch_size=2,
        eval_batches=2,
        steps=2,
        warmup=1,
        peak_size=1024,
    )
    assert set(r) >= {
        "device",
        "torch",
        "threads",
        "timing",
        "flops_formulas",
        "peak_flops_per_s",
        "peak_used_for_mfu",
        "load_before",
        "load_after",
        "shapes",
    }
    assert r["flops_formulas"]["train"] == "6N + 12LdT" and r["flops_formulas"]["eval"] == "2N + 4LdT"
    assert r["peak_used_for_mfu"] in ("bfloat16", "float32")
    assert all(v > 0 for v in r["peak_flops_per_s"].values())
    entry = r["shapes"]["tiny"]
    assert set(entry["modes"]) == {"eager_fp32", "optimised"}
    assert entry["modes"]["eager_fp32"]["dtype"] == "float32" and entry["modes"]["optimised"]["dtype"] == "bfloat16"
    for mode in entry["modes"].values():
        for name in ("train", "eval", "embed"):
            row = mode["passes"][name]
            assert len(row["times_s"]) == 2 and all(t > 0 for t in row["times_s"])
            assert row["tokens_per_s"] == pytest.approx(row["tokens"] / row["median_s"])
            assert row["model_flops_per_s"] == pytest.approx(row["tokens_per_s"] * mode["flops_per_token"][name])
            assert 0 < row["mfu"] < 1
    assert entry["modes"]["eager_fp32"]["passes"]["train"]["tokens"] == 2 * 32
    assert entry["modes"]["eager_fp32"]["passes"]["eval"]["tokens"] == 2 * 2 * 32
    assert entry["modes"]["eager_fp32"]["passes"]["embed"]["points_per_s"] > 0
    assert set(entry["speedup_vs_eager_fp32"]) == {"train", "eval", "embed"}
    assert all(v > 0 for v in entry["speedup_vs_eager_fp32"].values())
    report = gpu_speed.format_report(r)
    assert "MFU uses the" in report and "| tiny | train | eager_fp32 |" in report and "6N + 12LdT" in report
