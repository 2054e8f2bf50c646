from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch

from idscaling.model import load_causal_lm
from idscaling.tokens import load_token_file
from idscaling.train import TrainSettings, learning_rate, mean_loss, train, windows

SHAPE = {"n_layer": 1, "n_head": 2, "n_embd": 32}


def test_learning_rate_schedule():
    s = TrainSettings(lr=1.0, min_lr=0.1, warmup_steps=10, max_steps=110)
    assert learning_rate(0, s) == pytest.approx(0.1)
    assert learning_rate(9, s) == pytest.approx(1.0)
    assert learning_rate(60, s) == pytest.approx(0.55)  # half-way through the cosine
    assert learning_rate(110, s) == pytest.approx(0.1)
    lrs = [learning_rate(i, s) for i in range(10, 111)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_windows_cover_every_target_once():
    tokens = np.arange(23)
    x, y = windows(tokens, 5)
    targets = y[y != -100]
    np.testing.assert_array_equal(np.sort(targets), np.arange(1, 23))
    np.testing.assert_array_equal(x[y != -100] + 1, targets)  # each input predicts the next token


def _settings(**kw):
    base = dict(block_size=32, batch_size=8, max_steps=60, lr=1e-2, min_lr=1e-3, warmup_steps=5,
                eval_interval=5, selection_tokens=2048, threads=1)
    return TrainSettings(**(base | kw))


def test_training_learns_and_writes_hf_checkpoint(small_corpus, tmp_path):
    root = small_corpus["root"]
    train_tokens = np.asarray(load_token_file(root / "train.bin").tokens)[:20000]
    sel = np.asarray(load_token_file(root / "select.bin").tokens)
    summary = train(train_tokens, sel, shape=SHAPE, vocab_size=512, eot_id=small_corpus["tokenizer"].eot_id,
                    settings=_settings(), seed=0, out_dir=tmp_path / "m", run_info={"model": "t"})
    rows = list(csv.DictReader(open(tmp_path / "m" / "train_log.csv")))
    assert [r["step"] for r in rows] == [str(i) for i in range(1, 61)]
    assert set(rows[0]) == {"step", "train_loss", "lr", "tokens_seen", "wall_time_s", "selection_loss"}
    first, last = float(rows[0]["train_loss"]), float(rows[-1]["train_loss"])
    assert first == pytest.approx(math.log(512), abs=0.3)  # starts near uniform
    assert last < first - 1.0
    assert int(rows[-1]["tokens_seen"]) == 60 * 8 * 32
    on_disk = json.loads((tmp_path / "m" / "train_summary.json").read_text())
    assert on_disk["model"] == "t" and on_disk["train_flops"] == on_disk["flops_per_token"] * 60 * 8 * 32
    assert not (tmp_path / "m.partial").exists()


def test_best_checkpoint_is_kept_not_the_last(small_corpus, tmp_path):
    """A tiny subset overfits: the saved weights are the step with the lowest selection loss."""
    root = small_corpus["root"]
    tiny = np.asarray(load_token_file(root / "train.bin").tokens)[:300]
    sel = np.asarray(load_token_file(root / "select.bin").tokens)
    s = _settings(max_steps=80, lr=2e-2)
    summary = train(tiny, sel, shape=SHAPE, vocab_size=512, eot_id=0, settings=s, seed=0, out_dir=tmp_path / "m")
    assert summary["best_step"] < summary["steps_run"]
    log = [r for r in csv.DictReader(open(tmp_path / "m" / "train_log.csv")) if r["selection_loss"]]
    losses = {int(r["step"]): float(r["selection_loss"]) for r in log}
    assert summary["best_step"] == min(losses, key=losses.get)
    model = load_causal_lm(str(tmp_path / "m"))
    x, y = windows(sel[: s.selection_tokens + 1], s.block_size)
    assert mean_loss(model, x, y, 16, torch.device("cpu")) == pytest.approx(summary["best_selection_loss"], rel=1e-5)


def test_patience_stops_early_and_runs_are_reproducible(small_corpus, tmp_path):
    root = small_corpus["root"]
    tiny = np.asarray(load_token_file(root / "train.bin").tokens)[:300]
    sel = np.asarray(load_token_file(root / "select.bin").tokens)
    s = _settings(max_steps=200, lr=2e-2, patience=2)
    a = train(tiny, sel, shape=SHAPE, vocab_size=512, eot_id=0, settings=s, seed=0, out_dir=tmp_path / "a")
    b = train(tiny, sel, shape=SHAPE, vocab_size=512, eot_id=0, settings=s, seed=0, out_dir=tmp_path / "b")
    assert a["stopped_early"] and a["steps_run"] < 200
    assert a["steps_run"] == a["best_step"] + 2 * s.eval_interval
    assert a["best_selection_loss"] == b["best_selection_loss"]
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (tmp_path / "b" / "model.safetensors").read_bytes()


def test_too_few_tokens(tmp_path):
    with pytest.raises(ValueError, match="not more than block_size"):
        train(np.zeros(10, dtype=np.uint16), np.zeros(100, dtype=np.uint16), shape=SHAPE, vocab_size=16,
              eot_id=0, settings=_settings(), seed=0, out_dir=tmp_path / "m")


def test_min_steps_delays_early_stopping(small_corpus, tmp_path):
    root = small_corpus["root"]
    tiny = np.asarray(load_token_file(root / "train.bin").tokens)[:300]
    sel = np.asarray(load_token_file(root / "select.bin").tokens)
    s = _settings(max_steps=200, lr=2e-2, patience=1, min_steps=150)
    a = train(tiny, sel, shape=SHAPE, vocab_size=512, eot_id=0, settings=s, seed=0, out_dir=tmp_path / "a")
    assert a["stopped_early"] and a["steps_run"] == 150  # it would have stopped long before
    assert a["best_step"] < 100
