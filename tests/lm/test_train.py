from __future__ import annotations

import csv
import json
import math
import re

import numpy as np
import pytest
import torch

from idscaling.corpus.tokens import load_token_file
from idscaling.lm.inference import mean_loss, windows
from idscaling.lm.model import load_causal_lm
from idscaling.lm.settings import TrainSettings, learning_rate
from idscaling.lm.train import train

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
    base = dict(
        block_size=32,
        batch_size=8,
        max_steps=60,
        lr=1e-2,
        min_lr=1e-3,
        warmup_steps=5,
        eval_interval=5,
        selection_tokens=2048,
        threads=1,
    )
    return TrainSettings(**(base | kw))


def test_training_learns_and_writes_hf_checkpoint(small_corpus, tmp_path):
    root = small_corpus["root"]
    train_tokens = np.asarray(load_token_file(root / "train.bin").tokens)[:20000]
    sel = np.asarray(load_token_file(root / "select.bin").tokens)
    summary = train(
        train_tokens,
        sel,
        shape=SHAPE,
        vocab_size=512,
        eot_id=small_corpus["tokenizer"].eot_id,
        settings=_settings(),
        seed=0,
        out_dir=tmp_path / "m",
        run_info={"model": "t"},
    )
    rows = list(csv.DictReader(open(tmp_path / "m" / "train_log.csv")))
    assert [r["step"] for r in rows] == [str(i) for i in range(1, 61)]
    assert set(rows[0]) == {"step", "train_loss", "lr", "tokens_seen", "wall_time_s", "selection_loss"}
    first, last = float(rows[0]["train_loss"]), float(rows[-1]["train_loss"])
    assert first == pytest.approx(math.log(512), abs=0.3)  # starts near uniform
    assert last < first - 1.0
    assert int(rows[-1]["tokens_seen"]) == 60 * 8 * 32
    on_disk = json.loads((tmp_path / "m" / "train_summary.json").read_text())
    assert on_disk["model"] == "t" and on_disk["train_flops"] == on_disk["flops_per_token"] * 60 * 8 * 32
    assert summary["train_flops"] == on_disk["train_flops"] and summary["steps_run"] == on_disk["steps_run"] == 60
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
        train(
            np.zeros(10, dtype=np.uint16),
            np.zeros(100, dtype=np.uint16),
            shape=SHAPE,
            vocab_size=16,
            eot_id=0,
            settings=_settings(),
            seed=0,
            out_dir=tmp_path / "m",
        )


def test_min_steps_delays_early_stopping(small_corpus, tmp_path):
    root = small_corpus["root"]
    tiny = np.asarray(load_token_file(root / "train.bin").tokens)[:300]
    sel = np.asarray(load_token_file(root / "select.bin").tokens)
    s = _settings(max_steps=200, lr=2e-2, patience=1, min_steps=150)
    a = train(tiny, sel, shape=SHAPE, vocab_size=512, eot_id=0, settings=s, seed=0, out_dir=tmp_path / "a")
    assert a["stopped_early"] and a["steps_run"] == 150  # it would have stopped long before
    assert a["best_step"] < 100


# ------------------------------------------------------------------ resume and data parallelism
def _job_args(small_corpus, out_dir, **settings):
    root = small_corpus["root"]
    base = dict(
        block_size=32,
        batch_size=4,
        grad_accum=2,
        max_steps=40,
        lr=1e-2,
        min_lr=1e-3,
        warmup_steps=5,
        eval_interval=5,
        selection_tokens=1024,
        threads=1,
    )
    return {
        "subset": str(root / "train.bin"),
        "selection": str(root / "select.bin"),
        "shape": SHAPE,
        "settings": base | settings,
        "seed": 3,
        "out_dir": str(out_dir),
        "resume_dir": str(out_dir) + ".resume",
        "run_info": {"model": "t"},
    }


def _weights(out_dir):
    from safetensors.numpy import load_file

    return load_file(str(out_dir / "model.safetensors"))


def test_two_gloo_processes_train_like_one(small_corpus, tmp_path):
    """torchrun + DDP (gloo, CPU): the same micro-batches, split over 2 processes, give the same
    run as 1 process. Tolerance: the only difference is the order of float32 additions (gradients
    averaged across processes vs accumulated in one), ~1e-7 relative per step, which 40 AdamW steps
    amplify to well under 1e-3 in the loss."""
    from idscaling.lm.launch import run_training

    one = run_training(_job_args(small_corpus, tmp_path / "one"), nproc=1)
    log_file = tmp_path / "two.log"
    two = run_training(_job_args(small_corpus, tmp_path / "two", processes=2) | {"log_file": str(log_file)}, nproc=2)
    assert one["processes"] == 1 and two["processes"] == 2
    # the torchrun processes log to the job's log file; only process 0 writes progress lines
    progress = re.findall(r"idscaling.lm.train INFO step (\d+)/40 ", log_file.read_text())
    assert progress == [str(step) for step in range(5, 41, 5)]
    assert two["tokens_seen"] == one["tokens_seen"]  # same effective batch
    log1 = list(csv.DictReader(open(tmp_path / "one" / "train_log.csv")))
    log2 = list(csv.DictReader(open(tmp_path / "two" / "train_log.csv")))
    assert len(log1) == len(log2) == 40
    # step 1: identical data and weights, so the losses agree to float32 rounding
    assert float(log2[0]["train_loss"]) == pytest.approx(float(log1[0]["train_loss"]), rel=1e-6)
    for a, b in zip(log1, log2):
        assert float(b["train_loss"]) == pytest.approx(float(a["train_loss"]), rel=1e-3)
    assert two["best_selection_loss"] == pytest.approx(one["best_selection_loss"], rel=1e-3)
    assert float(log1[-1]["train_loss"]) < float(log1[0]["train_loss"]) - 0.5  # it did learn


def test_torchrun_command_lines():
    from idscaling.lm.launch import torchrun_command

    cmd = torchrun_command(2, "args.json", env={})
    assert cmd[1:4] == ["-m", "torch.distributed.run", "--nproc_per_node=2"] and "--standalone" in cmd
    multi = torchrun_command(
        4, "a.json", env={"SLURM_JOB_NUM_NODES": "2", "SLURMD_NODENAME": "n1", "SLURM_JOB_ID": "77"}
    )
    assert multi[:3] == ["srun", "--nodes=2", "--ntasks-per-node=1"]
    assert "--nnodes=2" in multi and "--rdzv_endpoint=n1:29500" in multi and "--rdzv_id=77" in multi


def test_killed_run_resumes_bit_identically(small_corpus, tmp_path):
    """A real training process is killed (SIGKILL) after its checkpoint at step >= 20; the rerun
    resumes from that checkpoint and ends with weights bit-identical to an uninterrupted run's."""
    import subprocess
    import sys
    import time

    from idscaling.lm.checkpoint import CHECKPOINT_FILE
    from idscaling.lm.train_job import run

    settings = dict(max_steps=120, checkpoint_interval=10, patience=None)
    reference = run(_job_args(small_corpus, tmp_path / "ref", **settings))
    assert reference["resumed_from_step"] is None
    assert not (tmp_path / "ref.resume").exists()  # removed once complete

    args = _job_args(small_corpus, tmp_path / "run", **settings)
    (tmp_path / "args.json").write_text(json.dumps(args))
    proc = subprocess.Popen([sys.executable, "-m", "idscaling.lm.train_job", str(tmp_path / "args.json")])
    ckpt = tmp_path / "run.resume" / CHECKPOINT_FILE
    killed_at = None
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if ckpt.exists():
            step = torch.load(ckpt, weights_only=False)["state"]["step"]
            if step >= 20:
                proc.kill()
                proc.wait()
                killed_at = step
                break
        time.sleep(0.05)
    assert killed_at is not None, "the run finished or stalled before a checkpoint at step 20"
    assert killed_at < 120 and not (tmp_path / "run" / "train_summary.json").exists()
    # the killed run's train_log.csv already held every step up to its checkpoint (written at each
    # evaluation; the kill may have cut its last line short)
    partial = (tmp_path / "run" / "train_log.csv").read_text().splitlines()
    assert partial[0] == "step,train_loss,lr,tokens_seen,wall_time_s,selection_loss"
    assert [line.split(",")[0] for line in partial[1 : killed_at + 1]] == [str(i) for i in range(1, killed_at + 1)]

    resumed = run(args)
    # the checkpoint on disk when the rerun started may be newer than the one we saw
    assert resumed["resumed_from_step"] is not None and resumed["resumed_from_step"] >= killed_at
    a, b = _weights(tmp_path / "ref"), _weights(tmp_path / "run")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    log_a = (tmp_path / "ref" / "train_log.csv").read_text().splitlines()
    log_b = (tmp_path / "run" / "train_log.csv").read_text().splitlines()

    def strip(rows):  # all but wall time
        return [r.split(",")[:4] + r.split(",")[5:] for r in rows]

    assert strip(log_a) == strip(log_b)  # complete, and no step twice
    print(f"killed at checkpoint step {killed_at}; resumed from {resumed['resumed_from_step']}; weights bit-identical")


def test_checkpoint_from_other_settings_is_not_resumed(small_corpus, tmp_path):
    from idscaling.lm.checkpoint import TrainState, write_checkpoint
    from idscaling.lm.train_job import run

    args = _job_args(small_corpus, tmp_path / "m", max_steps=20, checkpoint_interval=5)
    resume = tmp_path / "m.resume"
    model = torch.nn.Linear(2, 2)
    write_checkpoint(
        resume,
        "another fingerprint",
        model,
        torch.optim.SGD(model.parameters(), lr=0.1),
        np.random.default_rng(0),
        TrainState(step=15),
    )
    summary = run(args)
    assert summary["resumed_from_step"] is None and summary["steps_run"] == 20


# ------------------------------------------------------------------ speed settings (issue 5)
def test_settings_and_the_config_schema_agree():
    """Every train setting is in the schema's train block with the dataclass's default (compile: false);
    the schedule keys have none in the schema (absent means the dataclass's cosine, so the params of
    results made before they existed do not change)."""
    from dataclasses import fields
    from pathlib import Path

    import yaml

    schema = yaml.safe_load((Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml").read_text())
    props = schema["properties"]["train"]["properties"]
    defaults = {f.name: f.default for f in fields(TrainSettings)}
    assert set(props) == set(defaults)
    no_schema_default = {"schedule", "cooldown_fraction"}
    assert {k: v.get("default") for k, v in props.items() if k not in no_schema_default} == {
        k: v for k, v in defaults.items() if k not in no_schema_default
    }
    assert all("default" not in props[k] for k in no_schema_default)
    assert defaults["schedule"] == "cosine" and props["schedule"]["enum"] == ["cosine", "wsd"]
    assert defaults["compile"] is False and props["compile"]["type"] == "boolean" and props["compile"]["description"]


def test_compile_counts_in_the_fingerprint_only_when_true():
    from dataclasses import asdict

    from idscaling.lm.checkpoint import NOT_IN_FINGERPRINT, fingerprint

    assert "compile" not in NOT_IN_FINGERPRINT
    tokens = np.arange(200, dtype=np.uint16)
    fp = lambda s: fingerprint(tokens, tokens, SHAPE, 512, 0, s, 0)  # noqa: E731
    eager, compiled = TrainSettings(), TrainSettings(compile=True)
    assert fp(eager) != fp(compiled)
    # eager: the fingerprint a checkpoint got before the setting existed, so it still resumes
    import hashlib
    import json

    h = hashlib.sha256()
    for arr in (tokens, tokens):
        h.update(np.ascontiguousarray(arr).view(np.uint8))
    new_keys = ("compile", "schedule", "cooldown_fraction")  # all at the values of before they existed
    old = {k: v for k, v in asdict(eager).items() if k not in NOT_IN_FINGERPRINT and k not in new_keys}
    h.update(json.dumps([SHAPE, 512, 0, old, 0], sort_keys=True).encode())
    assert fp(eager) == h.hexdigest()
    wsd = TrainSettings(schedule="wsd", patience=2)
    assert (
        fp(wsd) != fp(TrainSettings(patience=2)) != fp(TrainSettings(schedule="wsd", patience=2, cooldown_fraction=0.5))
    )


def test_model_uses_sdpa_attention(tmp_path):
    from idscaling.lm.model import build_model, gpt2_config

    model = build_model(gpt2_config(SHAPE, vocab_size=64, block_size=16), 0)
    assert model.config._attn_implementation == "sdpa"
    model.save_pretrained(tmp_path, safe_serialization=True)
    assert load_causal_lm(str(tmp_path)).config._attn_implementation == "sdpa"


def test_logged_train_losses_are_the_step_losses(small_corpus, tmp_path):
    """The per-step losses, kept on the device and converted in bulk, are each step's mean
    micro-batch loss: recomputed here step by step with train_step on the same batches."""
    from idscaling.lm.model import build_model, gpt2_config
    from idscaling.lm.train import configure_optimizer, random_batch, train_step

    tokens = np.asarray(load_token_file(small_corpus["root"] / "train.bin").tokens)[:20000]
    sel = np.asarray(load_token_file(small_corpus["root"] / "select.bin").tokens)
    s = _settings(max_steps=12, eval_interval=5, grad_accum=2, batch_size=4)
    train(tokens, sel, shape=SHAPE, vocab_size=512, eot_id=0, settings=s, seed=4, out_dir=tmp_path / "m")
    logged = [float(r["train_loss"]) for r in csv.DictReader(open(tmp_path / "m" / "train_log.csv"))]
    model = build_model(gpt2_config(SHAPE, vocab_size=512, block_size=s.block_size, eot_id=0), 4)
    optimizer = configure_optimizer(model, s, torch.device("cpu"))
    rng = np.random.default_rng(4)
    for step in range(12):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, s)
        model.train()
        batches = [random_batch(tokens, s, rng, torch.device("cpu")) for _ in range(2)]
        total = train_step(model, optimizer, batches, torch.device("cpu"), grad_clip=s.grad_clip)
        assert logged[step] == float(total) / 2  # bit for bit


def test_compiled_training_runs_and_matches_eager_closely(tmp_path):
    """train.compile: torch.compile'd forward passes (inductor; ~20 s of compilation on a CPU).
    Not bit-identical to eager (fused kernels round differently), but the same run to ~1e-6."""
    rng = np.random.default_rng(0)
    # 16 of the 256 ids: a model learns that within a few steps (uniform over all 256 it could not
    # get below ln V, and the run would rightly count as diverged)
    tokens = rng.integers(0, 16, 30000).astype(np.uint16)
    sel = rng.integers(0, 16, 3000).astype(np.uint16)
    runs = {}
    for compile in (False, True):
        s = _settings(max_steps=6, eval_interval=3, batch_size=4, grad_accum=2, compile=compile)
        runs[compile] = train(
            tokens, sel, shape=SHAPE, vocab_size=256, eot_id=0, settings=s, seed=1, out_dir=tmp_path / str(compile)
        )
    logs = {
        c: [float(r["train_loss"]) for r in csv.DictReader(open(tmp_path / str(c) / "train_log.csv"))] for c in runs
    }
    assert runs[True]["settings"]["compile"] is True and len(logs[True]) == 6
    np.testing.assert_allclose(logs[True], logs[False], rtol=1e-5)
    assert runs[True]["best_selection_loss"] == pytest.approx(runs[False]["best_selection_loss"], rel=1e-5)


# ------------------------------------------------------------------ wsd schedule and convergence
def test_wsd_learning_rate_is_constant_until_the_cooldown_then_linear_to_min_lr():
    s = TrainSettings(lr=1.0, min_lr=0.1, warmup_steps=10, max_steps=1000, schedule="wsd", patience=2)
    assert learning_rate(4, s) == pytest.approx(0.5)
    assert [learning_rate(i, s) for i in (10, 500, 999)] == [1.0, 1.0, 1.0]  # no cooldown yet: max_steps is a cap
    cooldown = (200, 40)  # plateau at step 200, 40 steps of cooldown
    assert learning_rate(199, s, cooldown) == pytest.approx(1.0)
    assert learning_rate(219, s, cooldown) == pytest.approx(0.55)  # the 20th of 40 steps
    assert learning_rate(239, s, cooldown) == pytest.approx(0.1)


def test_wsd_and_cooldown_settings_are_checked():
    with pytest.raises(ValueError, match="needs train.patience"):
        TrainSettings(schedule="wsd")
    with pytest.raises(ValueError, match="schedule must be one of"):
        TrainSettings(schedule="linear")
    with pytest.raises(ValueError, match="cooldown_fraction"):
        TrainSettings(schedule="wsd", patience=2, cooldown_fraction=0.0)


def test_wsd_cools_down_from_the_best_weights_at_the_plateau_and_stops(small_corpus, tmp_path):
    """A tiny subset overfits: the plateau starts a cooldown of cooldown_fraction x the best step's
    steps, from the best weights, and the run ends (converged) when the cooldown does."""
    root = small_corpus["root"]
    tiny = np.asarray(load_token_file(root / "train.bin").tokens)[:300]
    sel = np.asarray(load_token_file(root / "select.bin").tokens)
    s = _settings(max_steps=400, lr=2e-2, min_lr=2e-3, schedule="wsd", patience=2, cooldown_fraction=0.5)
    a = train(tiny, sel, shape=SHAPE, vocab_size=512, eot_id=0, settings=s, seed=0, out_dir=tmp_path / "a")
    start = a["cooldown_start"]
    assert start is not None and a["converged"] and a["stopped_early"]
    best_before = a["best_step"] if a["best_step"] <= start else None
    rows = list(csv.DictReader(open(tmp_path / "a" / "train_log.csv")))
    sel_losses = {int(r["step"]): float(r["selection_loss"]) for r in rows if r["selection_loss"]}
    before = {k: v for k, v in sel_losses.items() if k <= start}
    stable_best = min(before, key=before.get)
    assert best_before in (None, stable_best)
    # the plateau came patience evaluations after the best step of the constant-lr phase
    assert start == stable_best + 2 * s.eval_interval
    assert a["steps_run"] == start + math.ceil(0.5 * stable_best) < 400
    lrs = [float(r["lr"]) for r in rows]
    assert lrs[5:start] == [2e-2] * (start - 5)  # constant after the warmup, up to the plateau
    assert lrs[-1] == pytest.approx(2e-3) and all(x > y for x, y in zip(lrs[start:], lrs[start + 1 :]))
    assert rows[-1]["selection_loss"] != ""  # the end of the cooldown is evaluated
    # the cooldown started from the best weights, not the overfitted ones: its first steps' training
    # loss is back near the best step's, above the overfitted plateau's
    train_loss = [float(r["train_loss"]) for r in rows]
    assert np.mean(train_loss[start : start + 3]) > np.mean(train_loss[start - 3 : start])


def test_a_run_cut_off_by_max_steps_while_improving_is_not_converged(small_corpus, tmp_path):
    root = small_corpus["root"]
    train_tokens = np.asarray(load_token_file(root / "train.bin").tokens)[:20000]
    sel = np.asarray(load_token_file(root / "select.bin").tokens)
    for schedule in ("cosine", "wsd"):
        s = _settings(max_steps=30, patience=3, schedule=schedule)
        a = train(
            train_tokens, sel, shape=SHAPE, vocab_size=512, eot_id=0, settings=s, seed=0, out_dir=tmp_path / schedule
        )
        assert a["steps_run"] == 30 and a["best_step"] > 30 - 3 * s.eval_interval  # still improving lately
        assert a["converged"] is False and a["cooldown_start"] is None and not a["stopped_early"]
    s = _settings(max_steps=30, patience=None)
    assert (
        train(train_tokens, sel, shape=SHAPE, vocab_size=512, eot_id=0, settings=s, seed=0, out_dir=tmp_path / "none")[
            "converged"
        ]
        is None
    )


def test_run_converged_for_cosine_needs_patience_flat_evaluations():
    from idscaling.lm.settings import run_converged

    s = TrainSettings(patience=4, eval_interval=25)
    assert run_converged(s, steps_run=800, best_step=700, stopped_early=False)
    assert not run_converged(s, steps_run=800, best_step=725, stopped_early=False)
    assert run_converged(TrainSettings(patience=4, schedule="wsd"), steps_run=800, best_step=790, stopped_early=True)
