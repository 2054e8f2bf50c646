"""The training loop, nanoGPT style: random windows of the subset, AdamW, a warmup and the
configured schedule (:mod:`idscaling.lm.settings`), gradient clipping, and the best checkpoint
chosen on a held-out selection slice.

Data-limited runs overfit: their loss at the end is worse than at some earlier step, so the
checkpoint kept is the one with the lowest loss on the *selection* split (documents held out
from training and from validation), evaluated every ``eval_interval`` steps. The validation
set used for the reported loss is never looked at here.

Resume: with a ``resume_dir``, the whole training state is written there every
``checkpoint_interval`` steps (:mod:`idscaling.lm.checkpoint`), and a run that finds a checkpoint
made with the same inputs and settings continues from it. On CPU the resumed run's final weights
are bit-identical to an uninterrupted run's.

Several processes (``torchrun``: one per GPU, or CPU processes with the gloo backend) train one
model with DistributedDataParallel. The data order and the effective batch do not depend on the
number of processes: every process draws the same ``grad_accum`` micro-batches per step from the
same seeded generator and works on its own share of them; DDP averages the gradients.

Progress (process 0, :mod:`idscaling.lm.progress`): a log line at every evaluation, and
``train_log.csv`` in ``out_dir`` growing as the run goes, so ``tail -f`` follows it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from idscaling.lm.checkpoint import (
    TrainState,
    fingerprint,
    load_checkpoint,
    save_model,
    write_checkpoint,
)
from idscaling.lm.compile_cache import use_compile_cache
from idscaling.lm.distributed import Distributed
from idscaling.lm.inference import mean_loss, windows
from idscaling.lm.model import (
    autocast,
    build_model,
    count_params,
    flops_per_token,
    gpt2_config,
    pick_device,
)
from idscaling.lm.progress import RunLogs, TrainReporter, peak_flops
from idscaling.lm.settings import (
    COOLDOWN_EVALUATIONS,
    TrainSettings,
    cooldown_length,
    learning_rate,
    run_converged,
)

__all__ = ["train", "train_step", "configure_optimizer", "random_batch", "check_not_diverged", "TrainingDiverged"]

log = logging.getLogger(__name__)


def configure_optimizer(model, s: TrainSettings, device: torch.device) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on biases, LayerNorm gains)."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": s.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=s.lr, betas=(s.beta1, s.beta2), fused=device.type == "cuda")


def random_batch(tokens: np.ndarray, s: TrainSettings, rng: np.random.Generator, device: torch.device):
    """``batch_size`` random windows of ``block_size + 1`` tokens: inputs and next-token targets."""
    starts = rng.integers(0, len(tokens) - s.block_size, size=s.batch_size)
    windows = np.stack([tokens[i : i + s.block_size + 1] for i in starts]).astype(np.int64)
    batch = torch.from_numpy(windows)
    if device.type == "cuda":
        batch = batch.pin_memory().to(device, non_blocking=True)
    return batch[:, :-1], batch[:, 1:]


def train_step(
    model,
    optimizer,
    batches: list,
    device: torch.device,
    *,
    grad_clip: float,
    forward=None,
    no_sync=None,
    dtype: str | torch.dtype | None = None,
) -> torch.Tensor:
    """One optimizer step on this process's micro-batches ``[(x, y), ...]``: the gradient of their
    mean loss, clipped to norm ``grad_clip`` (0: no clipping), then the optimizer's update.

    ``forward`` is the module to call (the model, or its DDP wrapper and/or torch.compile'd form;
    default ``model``); ``no_sync`` (DDP's) skips the gradient all-reduce on all but the last
    micro-batch. Returns the summed loss of the micro-batches as a tensor on the device: no host
    synchronisation here (the caller converts losses in bulk)."""
    forward = model if forward is None else forward
    total = torch.zeros((), device=device)
    for i, (x, y) in enumerate(batches):
        last = i == len(batches) - 1
        with contextlib.nullcontext() if last or no_sync is None else no_sync():
            with autocast(device, dtype):
                loss = _lm_loss(forward, x, y)
            (loss / len(batches)).backward()
        total += loss.detach()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total


def train(
    subset_tokens: np.ndarray,
    selection_tokens: np.ndarray,
    *,
    shape: dict,
    vocab_size: int,
    eot_id: int,
    settings: TrainSettings,
    seed: int,
    out_dir: str | Path,
    run_info: dict | None = None,
    resume_dir: str | Path | None = None,
) -> dict:
    """Train one model and write its best checkpoint (HF format), ``train_log.csv`` and
    ``train_summary.json`` (by process 0). With ``resume_dir``, checkpoint there and resume from it
    (see the module docstring); it is removed once the run is complete."""
    s = settings
    out_dir = Path(out_dir)
    if len(subset_tokens) <= s.block_size:
        raise ValueError(f"{len(subset_tokens)} training tokens: not more than block_size {s.block_size}")
    torch.set_num_threads(s.threads)
    dist, device = _processes_and_device(s)
    rng = np.random.default_rng(seed)
    config = gpt2_config(shape, vocab_size=vocab_size, block_size=s.block_size, dropout=s.dropout, eot_id=eot_id)
    model = build_model(config, seed).to(device)
    optimizer = configure_optimizer(model, s, device)
    sel_x, sel_y = windows(np.asarray(selection_tokens[: s.selection_tokens + 1]), s.block_size)
    tokens_per_step = s.batch_size * s.grad_accum * s.block_size

    print_ = fingerprint(subset_tokens, selection_tokens, shape, vocab_size, eot_id, s, seed)
    state = TrainState()
    if resume_dir is not None:
        state = load_checkpoint(Path(resume_dir), print_, model, optimizer, rng) or state
    ddp_model, forward = _training_modules(model, s, dist, device)
    mine = range(dist.rank * s.grad_accum // dist.world, (dist.rank + 1) * s.grad_accum // dist.world)
    pending = _PendingLosses(s.grad_accum)
    resumed_from = state.step or None
    stopped_early = False
    logs = RunLogs(out_dir, state.log_rows, log, s.tensorboard) if dist.rank == 0 else None
    peak = peak_flops(torch.cuda.get_device_name(device)) if device.type == "cuda" else None
    if dist.rank == 0:
        _log_start(s, device, dist.world, tokens_per_step, peak)
    t0 = time.perf_counter() - state.elapsed_s
    reporter = TrainReporter(
        log, s.max_steps, tokens_per_step, flops_per_token(model, s.block_size), peak, dist.world, t0, state.step
    )
    step = state.step - 1
    for step in range(state.step, s.max_steps):
        cooldown = None if state.cooldown_start is None else (state.cooldown_start, state.cooldown_steps)
        lr = learning_rate(step, s, cooldown)
        for group in optimizer.param_groups:
            group["lr"] = lr
        model.train()
        batches = [random_batch(subset_tokens, s, rng, device) for _ in range(s.grad_accum)]  # every process draws all
        # DDP averages gradients over processes when the last micro-batch of this process is done
        total = train_step(
            model,
            optimizer,
            [batches[m] for m in mine],
            device,
            grad_clip=s.grad_clip,
            forward=forward,
            no_sync=ddp_model.no_sync if dist.world > 1 else None,
        )
        if dist.world > 1:
            torch.distributed.all_reduce(total)
        state.first_step_s = state.first_step_s or round(time.perf_counter() - t0 - state.elapsed_s, 3)
        row = _log_row(step + 1, lr, tokens_per_step, t0)
        pending.add(row, total)
        cooled = cooldown is not None and step + 1 >= cooldown[0] + cooldown[1]  # the wsd run is complete
        evaluate = _evaluation_step(step + 1, s, cooldown) or cooled
        if evaluate:
            pending.flush()
            row["selection_loss"] = mean_loss(model, sel_x, sel_y, 4 * s.batch_size, device)  # same on every process
            state.record(row["selection_loss"], step + 1, model)
        state.log_rows.append(row)
        if evaluate and dist.rank == 0:
            logs.append(state.log_rows)
            logs.speed(reporter.line(step + 1, state))
        plateau = s.patience is not None and state.evals_since_best >= s.patience and step + 1 >= s.min_steps
        if cooled or plateau and s.schedule == "cosine":
            stopped_early = True
            break
        if plateau and state.cooldown_start is None and step + 1 < s.max_steps:
            _start_cooldown(state, model, s, step + 1, dist.rank == 0)
        if resume_dir is not None and dist.rank == 0 and _checkpoint_due(step + 1, s):
            pending.flush()
            state.step, state.elapsed_s = step + 1, time.perf_counter() - t0
            write_checkpoint(Path(resume_dir), print_, model, optimizer, rng, state)
    pending.flush()
    if logs is not None:
        logs.close(state.log_rows)  # the steps after the last evaluation (early stopping)
    steps_run = step + 1
    check_not_diverged(state.best_loss, vocab_size, steps_run)
    model.load_state_dict(state.best_weights)
    summary = (run_info or {}) | _summary(
        model,
        s,
        shape=shape,
        vocab_size=vocab_size,
        seed=seed,
        state=state,
        steps_run=steps_run,
        tokens_per_step=tokens_per_step,
        subset_tokens=len(subset_tokens),
        n_windows=len(sel_x),
        stopped_early=stopped_early,
    )
    summary |= _run_facts(s, device, dist.world, state, resumed_from, t0)
    if dist.rank == 0:
        save_model(model, state.log_rows, summary, out_dir)
        if resume_dir is not None:
            shutil.rmtree(resume_dir, ignore_errors=True)  # the run is complete: nothing to resume
    if dist.world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return summary


def _training_modules(model: torch.nn.Module, s: TrainSettings, dist: Distributed, device: torch.device):
    """The module the training steps call: the model, under DDP when there are several processes,
    torch.compile'd when asked. torch.compile wraps the (DDP) module for the training forward passes
    only; state dicts and evaluation use the plain model, so checkpoints look the same either way."""
    ddp_model = model
    if dist.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        ddp_model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if not s.compile:
        return ddp_model, ddp_model
    if s.compile_cache:
        log.info(
            "torch.compile caches in %s (shared by the jobs of this working directory)",
            use_compile_cache(s.compile_cache),
        )
    return ddp_model, torch.compile(ddp_model)


def _log_start(s: TrainSettings, device: torch.device, world: int, tokens_per_step: int, peak: float | None) -> None:
    """The run's first log lines: what it trains, where, and whether the progress lines show MFU."""
    log.info(
        "training %d steps of %s tokens on %s (processes: %d), evaluating every %d steps",
        s.max_steps,
        f"{tokens_per_step:,}",
        device,
        world,
        s.eval_interval,
    )
    if device.type == "cuda" and peak is None:
        log.info(
            "no MFU in the progress lines: peak FLOP/s of %r unknown (see PEAK_BF16_FLOPS)",
            torch.cuda.get_device_name(device),
        )


def _checkpoint_due(steps_done: int, s: TrainSettings) -> bool:
    """Whether to write a resume checkpoint after ``steps_done`` steps (never after the last)."""
    return bool(s.checkpoint_interval) and steps_done % s.checkpoint_interval == 0 and steps_done < s.max_steps


def _log_row(steps_done: int, lr: float, tokens_per_step: int, t0: float) -> dict:
    """A ``train_log.csv`` row; ``train_loss`` is filled when the pending losses are flushed and
    ``selection_loss`` at an evaluation step."""
    return {
        "step": steps_done,
        "train_loss": None,
        "lr": lr,
        "tokens_seen": steps_done * tokens_per_step,
        "wall_time_s": round(time.perf_counter() - t0, 4),
        "selection_loss": "",
    }


def _run_facts(s: TrainSettings, device: torch.device, world: int, state: TrainState, resumed_from: int | None,
               t0: float) -> dict:  # fmt: skip
    """The ``train_summary.json`` fields that describe how the run went (not what it trained);
    ``first_step_s``: this process's first step, torch.compile's compilation included."""
    return {
        "wall_time_s": round(time.perf_counter() - t0, 3),
        "first_step_s": state.first_step_s,
        "device": str(device),
        "dtype": "bfloat16 autocast" if device.type == "cuda" else "float32",
        "settings": asdict(s),
        "processes": world,
        "resumed_from_step": resumed_from,
        "torch": torch.__version__,
    }


def _processes_and_device(s: TrainSettings) -> tuple[Distributed, torch.device]:
    """This process's place among the run's processes, and its device (its own GPU under DDP)."""
    dist = Distributed.from_env(s.device)
    if s.grad_accum % dist.world:
        raise ValueError(
            f"train.grad_accum ({s.grad_accum}) must be a multiple of the number of processes ({dist.world})"
        )
    device = pick_device(s.device)
    if device.type == "cuda" and dist.world > 1:
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    return dist, device


def _evaluation_step(step: int, s: TrainSettings, cooldown: tuple[int, int] | None) -> bool:
    """Whether the selection loss is measured after ``step``: every ``eval_interval`` steps, at
    ``max_steps`` and, within a wsd cooldown, at least ``COOLDOWN_EVALUATIONS`` times however short
    it is (on a small subset that overfits within tens of steps the minimum is there)."""
    evaluate = step % s.eval_interval == 0 or step == s.max_steps
    if cooldown is not None:
        evaluate |= (step - cooldown[0]) % max(1, min(s.eval_interval, cooldown[1] // COOLDOWN_EVALUATIONS)) == 0
    return evaluate


def _start_cooldown(state: TrainState, model, s: TrainSettings, step: int, report: bool) -> None:
    """wsd: the selection loss has stopped improving at the constant lr: go back to the best
    weights (the optimizer's moments carry on) and anneal from there."""
    state.cooldown_start, state.cooldown_steps = step, cooldown_length(state.best_step, s)
    model.load_state_dict(state.best_weights)
    if report:
        log.info(
            "step %d: no improvement in %d evaluations; cooldown to lr %g over %d steps from the "
            "best weights (step %d)",
            step,
            s.patience,
            s.min_lr,
            state.cooldown_steps,
            state.best_step,
        )


def _summary(
    model,
    s: TrainSettings,
    *,
    shape: dict,
    vocab_size: int,
    seed: int,
    state: TrainState,
    steps_run: int,
    tokens_per_step: int,
    subset_tokens: int,
    n_windows: int,
    stopped_early: bool,
) -> dict:
    """The run's ``train_summary.json`` fields that describe the model and what it was trained on."""
    tokens_processed = steps_run * tokens_per_step
    flops = flops_per_token(model, s.block_size)
    return {
        "seed": seed,
        "shape": shape,
        "vocab_size": vocab_size,
        **count_params(model),
        "flops_per_token": flops,
        "tokens_seen": tokens_processed,
        "train_flops": flops * tokens_processed,
        "subset_tokens": int(subset_tokens),
        "epochs": tokens_processed / subset_tokens,
        "steps_run": steps_run,
        "stopped_early": stopped_early,
        "converged": run_converged(s, steps_run=steps_run, best_step=state.best_step, stopped_early=stopped_early),
        "cooldown_start": state.cooldown_start,
        "best_step": state.best_step,
        "best_selection_loss": state.best_loss,
        "checkpoint_selection": (
            "lowest mean next-token loss on the selection split (documents held out from training "
            f"and validation; {n_windows} windows of {s.block_size}), evaluated every {s.eval_interval} steps"
        ),
        "final_train_loss": state.log_rows[-1]["train_loss"],
    }


class _PendingLosses:
    """Log rows whose train loss is still a tensor on the device: converted in bulk at each
    evaluation, checkpoint and at the end, so that a step does not wait for the GPU."""

    def __init__(self, grad_accum: int) -> None:
        self.grad_accum, self.rows = grad_accum, []

    def add(self, row: dict, total: torch.Tensor) -> None:
        self.rows.append((row, total))

    def flush(self) -> None:
        if self.rows:
            for (row, _), total in zip(self.rows, torch.stack([t for _, t in self.rows]).tolist()):
                row["train_loss"] = total / self.grad_accum
            self.rows.clear()


class TrainingDiverged(RuntimeError):
    """A run whose best selection loss is not finite or not clearly below guessing uniformly."""


# "Clearly below ln V": a model that learned anything at all (unigram frequencies) is far below;
# one whose best is within 2% of uniform guessing learned nothing and must not enter a fit.
DIVERGENCE_MARGIN = 0.02


def check_not_diverged(best_loss: float, vocab_size: int, steps_run: int) -> None:
    """Raise :class:`TrainingDiverged` (one line) unless ``best_loss`` is finite and below
    ``(1 - DIVERGENCE_MARGIN) ln V``: such a run writes no model, so nothing of it is evaluated or fitted."""
    uniform = math.log(vocab_size)
    if math.isfinite(best_loss) and best_loss < (1 - DIVERGENCE_MARGIN) * uniform:
        return
    what = "was never finite" if not math.isfinite(best_loss) else f"was at best {best_loss:.4g} nats/token"
    raise TrainingDiverged(
        f"training diverged: the selection loss {what} in {steps_run} steps, against ln V = {uniform:.3f} "
        "for guessing uniformly; no model was written (lower train.lr or this shape's lr)"
    )


def _lm_loss(model, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logits = model(input_ids=x, use_cache=False).logits  # (no key/value cache: nothing generates)
    return torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), y.flatten())
