"""Memory and runtime models of the GPU-bound jobs (idscaling.workflow.resources)."""

from __future__ import annotations

import copy

import yaml
from conftest import REPO

from idscaling.config import load_schema, validate_config
from idscaling.lm.model import build_model, count_params, gpt2_config
from idscaling.workflow import resources

CONFIG = validate_config(
    yaml.safe_load((REPO / "config.yaml").read_text()),
    load_schema(REPO / "schemas" / "config.schema.yaml"),
    base_dir=REPO,
)


def test_model_params_is_the_built_model_at_the_largest_vocabulary():
    shape = CONFIG["models"]["w32"]
    cfg = gpt2_config(shape, vocab_size=resources.VOCAB_BOUND, block_size=CONFIG["train"]["block_size"])
    assert resources.model_params(CONFIG, "w32") == count_params(build_model(cfg, seed=0))["n_params"]


def test_training_memory_covers_weights_adam_a_best_copy_and_the_validation_pass():
    n = resources.model_params(CONFIG, "w64")
    mem = resources.train_mem_mb(CONFIG, "w64", 100_000)
    assert mem * 2**20 >= 6 * 4 * n  # weights, grads, 2 Adam moments, best copy, margin: fp32
    assert mem >= resources.evaluate_mem_mb(CONFIG, "w64")  # logits of one batch at the largest vocabulary
    big = resources.train_mem_mb(CONFIG, "w64", 10**10)  # a subset of 10^10 tokens dominates
    assert big == 1500 + int(n * 24 / 2**20) + int(1e10 * 8 / 2**20)


def test_training_runtime_follows_the_flops_and_the_processes():
    config = copy.deepcopy(CONFIG)
    config["models"]["big"] = {"n_layer": 48, "n_head": 25, "n_embd": 1600}  # GPT-2 XL
    config["train"].update(
        max_steps=600_000,
        batch_size=12,
        grad_accum=40,
        block_size=1024,
        eval_interval=2000,
        selection_tokens=2**20,
        processes=None,
    )
    n = resources.model_params(config, "big")
    tokens = 600_000 * 12 * 40 * 1024
    expected = 15 + int(2 * (6 * n * tokens + 2 * n * 300 * 2**20) / 20e12 / 60)
    validation = int(2 * 2 * n * 10**9 / 20e12 / 60)  # a 2 GB token file: 10^9 tokens at most
    assert resources.train_runtime(config, "big", 2 * 10**9) == expected + validation
    config["train"]["processes"] = 8
    assert abs(resources.train_runtime(config, "big", 2 * 10**9) - validation - (15 + (expected - 15) / 8)) <= 1
    assert resources.train_runtime(CONFIG, "w16", None) == 15  # tiny: the floor


def test_evaluation_runtime_from_the_token_file_or_a_guess():
    n = resources.model_params(CONFIG, "w64")
    assert resources.evaluate_runtime(CONFIG, "w64", 2 * 10**12) == 10 + int(2 * 2 * n * 10**12 / 20e12 / 60)
    assert resources.evaluate_runtime(CONFIG, "w64", None) == resources.evaluate_runtime(
        CONFIG, "w64", 2 * resources.VAL_TOKENS_GUESS
    )


def test_embedding_memory_grows_with_points_and_layers():
    config = copy.deepcopy(CONFIG)
    base = resources.embed_mem_mb(config, "w64")
    config["embed"]["max_points"] *= 100
    config["embed"]["layers"] = config["embed"]["layers"] * 2
    points = 100 * CONFIG["embed"]["max_points"] * 64 * 2 * len(CONFIG["embed"]["layers"]) * 8
    assert resources.embed_mem_mb(config, "w64") - base == points // 2**20 - (points // 200) // 2**20
