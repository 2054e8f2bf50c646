"""The training loop, nanoGPT style: random windows of the subset, AdamW, warmup + cosine,
gradient clipping, and the best checkpoint chosen on a held-out selection slice.

Data-limited runs overfit: their loss at the end is worse than at some earlier step, so the
checkpoint kept is the one with the lowest loss on the *selection* split (documents held out
from training and from validation), evaluated every ``eval_interval`` steps. The validation
set used for the reported loss is never looked at here.

Schedules (``schedule``): ``cosine`` decays the learning rate to ``min_lr`` at ``max_steps`` and
stops early once the selection loss has not improved for ``patience`` evaluations. ``wsd``
(warmup-stable-decay) keeps it constant until that plateau, goes back to the best weights and
cools down linearly to ``min_lr`` over ``cooldown_fraction`` of the best step's steps, then stops:
the run length follows the data instead of a guessed ``max_steps`` (a cap only), and every run ends
annealed, which a cosine run stopped early at a high learning rate does not. A run is *converged*
(:func:`run_converged`) when it ended that way rather than at ``max_steps`` while still improving.

Resume: with a ``resume_dir``, the whole training state (model, optimizer, data sampler RNG,
best weights so far, log) is written there atomically every ``checkpoint_interval`` steps, and a
run that finds a checkpoint made with the same inputs and settings continues from it. On CPU the
resumed run's final weights are bit-identical to an uninterrupted run's.

Several processes (``torchrun``: one per GPU, or CPU processes with the gloo backend) train one
model with DistributedDataParallel. The data order and the effective batch do not depend on the
number of processes: every process draws the same ``grad_accum`` micro-batches per step from the
same seeded generator and works on its own share of them; DDP averages the gradients.

Progress (process 0): at every evaluation, one log line (:func:`progress_line`: step, train and
selection loss, tokens/s, MFU on a GPU, elapsed time and ETA), and ``train_log.csv`` in
``out_dir`` grows by the rows since the last evaluation, so ``tail -f`` follows the run. Neither
draws random numbers nor touches the model: the weights and losses are those of a silent run.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import logging
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from idscaling.lm.model import autocast, build_model, count_params, flops_per_token, gpt2_config, pick_device
from idscaling.runlog import format_duration


@dataclass
class TrainSettings:
    block_size: int = 128
    batch_size: int = 16
    grad_accum: int = 1
    max_steps: int = 300
    lr: float = 6e-4
    min_lr: float = 6e-5
    warmup_steps: int = 2000
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    dropout: float = 0.0
    eval_interval: int = 25
    selection_tokens: int = 16384
    patience: int | None = None
    min_steps: int = 0
    device: str = "auto"
    threads: int = 1
    checkpoint_interval: int = 100  # steps between resumable checkpoints (0: none)
    processes: int | None = None  # data-parallel processes (None: one per GPU of the job, else 1)
    compile: bool = False  # torch.compile the model for training (faster on GPU; not bit-identical to eager)
    # "cosine": warmup, cosine decay to min_lr at max_steps, optional early stop (patience).
    # "wsd": warmup, constant lr until the selection loss plateaus (patience), then a cooldown to
    # min_lr from the best weights; see learning_rate and the module docstring.
    schedule: str = "cosine"
    cooldown_fraction: float = 0.2  # wsd: cooldown length as a fraction of the best step's steps

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"train.schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.schedule == "wsd" and self.patience is None:
            raise ValueError("train.schedule wsd needs train.patience: the plateau that starts the cooldown")
        if not 0 < self.cooldown_fraction <= 1:
            raise ValueError(f"train.cooldown_fraction must be in (0, 1], got {self.cooldown_fraction!r}")


SCHEDULES = ("cosine", "wsd")
# Evaluations within a wsd cooldown (at least): a short one, on a small subset that overfits within
# tens of steps, is where the selection loss has its minimum.
COOLDOWN_EVALUATIONS = 8

log = logging.getLogger(__name__)

# The columns of train_log.csv, one row per step (selection_loss empty between evaluations).
LOG_FIELDS = ("step", "train_loss", "lr", "tokens_seen", "wall_time_s", "selection_loss")

# Peak dense bf16 tensor-core FLOP/s of one GPU (NVIDIA data sheets; their "with sparsity" figures
# halved), for the MFU of the progress lines: the first entry whose key is a substring of
# torch.cuda.get_device_name() counts (GH200 matches H200: the same Hopper peak). A GPU not listed
# gets no MFU (a line at the start says so) rather than a number against the wrong peak.
PEAK_BF16_FLOPS: tuple[tuple[str, float], ...] = (
    ("B200", 2250e12),
    ("H200 NVL", 835e12),
    ("H100 NVL", 835e12),
    ("H100 PCIe", 756e12),
    ("H200", 989e12),  # SXM
    ("H100", 989e12),  # SXM
    ("A100", 312e12),
    ("L40S", 362e12),
    ("L40", 181e12),
    ("L4", 121e12),
)


def peak_flops(device_name: str) -> float | None:
    """Peak bf16 FLOP/s of the GPU named ``device_name`` (see ``PEAK_BF16_FLOPS``); None if unknown."""
    return next((peak for key, peak in PEAK_BF16_FLOPS if key in device_name), None)


def progress_line(step: int, max_steps: int, *, train_loss: float, selection_loss: float, best_loss: float,
                  best_step: int, tokens_per_s: float, mfu: float | None, elapsed_s: float, eta_s: float) -> str:
    """``step 250/800 | train 3.412 | select 3.501 (best 3.498 @ 225) | 41,200 tok/s | mfu 31.2% |
    elapsed 0:01:02 | eta 0:02:17`` (no MFU part when ``mfu`` is None). ``train_loss`` is the mean
    train loss of the steps since the previous line."""
    parts = [f"step {step}/{max_steps}", f"train {train_loss:.3f}",
             f"select {selection_loss:.3f} (best {best_loss:.3f} @ {best_step})", f"{tokens_per_s:,.0f} tok/s"]
    if mfu is not None:
        parts.append(f"mfu {100 * mfu:.1f}%")
    parts += [f"elapsed {format_duration(elapsed_s)}", f"eta {format_duration(eta_s)}"]
    return " | ".join(parts)

# Settings that do not change what is computed (a checkpoint made with other values resumes).
# Not "compile": a compiled model's kernels round differently from eager ones.
_NOT_IN_FINGERPRINT = ("threads", "device", "checkpoint_interval", "processes")


@dataclass
class TrainState:
    """Everything a resumed run needs besides the model, the optimizer and the sampler RNG."""

    step: int = 0
    best_loss: float = math.inf
    best_step: int = -1
    best_weights: dict | None = None
    evals_since_best: int = 0
    log_rows: list = field(default_factory=list)
    elapsed_s: float = 0.0
    cooldown_start: int | None = None  # wsd: the step whose plateau started the cooldown
    cooldown_steps: int = 0


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls, device_preference: str) -> "Distributed":
        """Join the process group torchrun set up (WORLD_SIZE > 1); a single process otherwise."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world == 1:
            return cls()
        import torch.distributed as dist

        use_cuda = device_preference != "cpu" and torch.cuda.is_available()
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if use_cuda else "gloo")
        return cls(rank=dist.get_rank(), world=dist.get_world_size(), local_rank=int(os.environ.get("LOCAL_RANK", 0)))


def learning_rate(step: int, s: TrainSettings, cooldown: tuple[int, int] | None = None) -> float:
    """Linear warmup to ``lr``; then, for ``cosine``, cosine decay to ``min_lr`` at ``max_steps``;
    for ``wsd``, ``lr`` until a cooldown ``(start, steps)`` begins, then linear decay to ``min_lr``
    over its ``steps``."""
    warmup = min(s.warmup_steps, s.max_steps)
    if step < warmup:
        return s.lr * (step + 1) / warmup
    if s.schedule == "wsd":
        if cooldown is None:
            return s.lr
        start, steps = cooldown
        return s.lr + (s.min_lr - s.lr) * min(1.0, max(0, step + 1 - start) / steps)
    progress = (step - warmup) / max(1, s.max_steps - warmup)
    return s.min_lr + 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))) * (s.lr - s.min_lr)


def cooldown_length(best_step: int, s: TrainSettings) -> int:
    """Steps of a wsd cooldown from the weights of ``best_step``: ``cooldown_fraction`` of the
    steps that made them (as if the cooldown of a warmup-stable-decay run had begun there)."""
    return max(1, math.ceil(s.cooldown_fraction * best_step))


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


def windows(tokens: np.ndarray, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping windows covering the stream: every token but the first is a target once.
    Returns (inputs, targets) padded with -100 targets where the last window is short."""
    n_targets = len(tokens) - 1
    n_windows = max(1, math.ceil(n_targets / block_size))
    x = np.zeros((n_windows, block_size), dtype=np.int64)
    y = np.full((n_windows, block_size), -100, dtype=np.int64)
    for w in range(n_windows):
        chunk = np.asarray(tokens[w * block_size : (w + 1) * block_size + 1], dtype=np.int64)
        x[w, : len(chunk) - 1] = chunk[:-1]
        y[w, : len(chunk) - 1] = chunk[1:]
    return x, y


@torch.inference_mode()
def token_losses(model, x: np.ndarray, y: np.ndarray, batch_size: int, device: torch.device,
                 dtype: str | torch.dtype | None = None) -> np.ndarray:
    """Next-token cross-entropy (nats) of every target in (x, y); NaN where the target is -100.
    The float32 losses stay on the device and are copied to the host once, at the end.
    ``dtype`` overrides the autocast dtype (see :func:`idscaling.model.autocast`)."""
    model.eval()
    losses = []
    for i in range(0, len(x), batch_size):
        xb = torch.from_numpy(x[i : i + batch_size]).to(device)
        yb = torch.from_numpy(y[i : i + batch_size]).to(device)
        with autocast(device, dtype):
            logits = model(input_ids=xb, use_cache=False).logits
        loss = torch.nn.functional.cross_entropy(
            logits.float().flatten(0, 1), yb.flatten(), ignore_index=-100, reduction="none"
        ).view(yb.shape)
        losses.append(torch.where(yb == -100, torch.nan, loss))
    if not losses:
        return np.full(y.shape, np.nan, dtype=np.float64)
    return torch.cat(losses).double().cpu().numpy()


def mean_loss(model, x: np.ndarray, y: np.ndarray, batch_size: int, device: torch.device) -> float:
    return float(np.nanmean(token_losses(model, x, y, batch_size, device)))


def train_step(model, optimizer, batches: list, device: torch.device, *, grad_clip: float, forward=None,
               no_sync=None, dtype: str | torch.dtype | None = None) -> torch.Tensor:
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
    dist = Distributed.from_env(s.device)
    if s.grad_accum % dist.world:
        raise ValueError(f"train.grad_accum ({s.grad_accum}) must be a multiple of the number of processes ({dist.world})")
    device = pick_device(s.device)
    if device.type == "cuda" and dist.world > 1:
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    rng = np.random.default_rng(seed)
    config = gpt2_config(shape, vocab_size=vocab_size, block_size=s.block_size, dropout=s.dropout, eot_id=eot_id)
    model = build_model(config, seed).to(device)
    optimizer = configure_optimizer(model, s, device)
    sel_x, sel_y = windows(np.asarray(selection_tokens[: s.selection_tokens + 1]), s.block_size)
    tokens_per_step = s.batch_size * s.grad_accum * s.block_size

    fingerprint = _fingerprint(subset_tokens, selection_tokens, shape, vocab_size, eot_id, s, seed)
    state = TrainState()
    if resume_dir is not None:
        state = _load_checkpoint(Path(resume_dir), fingerprint, model, optimizer, rng) or state
    ddp_model = model
    if dist.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        ddp_model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    # torch.compile wraps the (DDP) module for the training forward passes only; state dicts and
    # evaluation use the plain model, so checkpoints look the same either way.
    forward = torch.compile(ddp_model) if s.compile else ddp_model
    mine = range(dist.rank * s.grad_accum // dist.world, (dist.rank + 1) * s.grad_accum // dist.world)
    # Log rows whose train loss is still a tensor on the device: converted in bulk at each
    # evaluation, checkpoint and at the end, so that a step does not wait for the GPU.
    pending: list[tuple[dict, torch.Tensor]] = []

    def flush_losses() -> None:
        if pending:
            for (row, _), total in zip(pending, torch.stack([t for _, t in pending]).tolist()):
                row["train_loss"] = total / s.grad_accum
            pending.clear()

    resumed_from = state.step or None
    stopped_early = False
    live_csv = _LiveCsv(out_dir / "train_log.csv", state.log_rows) if dist.rank == 0 else None
    peak = peak_flops(torch.cuda.get_device_name(device)) if device.type == "cuda" else None
    model_flops = flops_per_token(model, s.block_size)  # per token trained, for the MFU
    if dist.rank == 0:
        log.info("training %d steps of %s tokens on %s (processes: %d), evaluating every %d steps", s.max_steps,
                 f"{tokens_per_step:,}", device, dist.world, s.eval_interval)
        if device.type == "cuda" and peak is None:
            log.info("no MFU in the progress lines: peak FLOP/s of %r unknown (see PEAK_BF16_FLOPS)",
                     torch.cuda.get_device_name(device))
    t0 = time.perf_counter() - state.elapsed_s
    t_start, start_step = time.perf_counter(), state.step  # this process's share of the run, for the ETA
    line_time, line_step = t_start, state.step  # the previous progress line
    step = state.step - 1
    for step in range(state.step, s.max_steps):
        cooldown = None if state.cooldown_start is None else (state.cooldown_start, state.cooldown_steps)
        lr = learning_rate(step, s, cooldown)
        for group in optimizer.param_groups:
            group["lr"] = lr
        model.train()
        batches = [random_batch(subset_tokens, s, rng, device) for _ in range(s.grad_accum)]  # every process draws all
        # DDP averages gradients over processes when the last micro-batch of this process is done
        total = train_step(model, optimizer, [batches[m] for m in mine], device, grad_clip=s.grad_clip,
                           forward=forward, no_sync=ddp_model.no_sync if dist.world > 1 else None)
        if dist.world > 1:
            torch.distributed.all_reduce(total)
        row = {
            "step": step + 1,
            "train_loss": None,  # filled in by flush_losses()
            "lr": lr,
            "tokens_seen": (step + 1) * tokens_per_step,
            "wall_time_s": round(time.perf_counter() - t0, 4),
            "selection_loss": "",
        }
        pending.append((row, total))
        cooled = cooldown is not None and step + 1 >= cooldown[0] + cooldown[1]  # the wsd run is complete
        evaluate = (step + 1) % s.eval_interval == 0 or step + 1 == s.max_steps or cooled
        if cooldown is not None:  # at least COOLDOWN_EVALUATIONS within a cooldown, however short
            evaluate |= (step + 1 - cooldown[0]) % max(1, min(s.eval_interval, cooldown[1] // COOLDOWN_EVALUATIONS)) == 0
        if evaluate:
            flush_losses()
            sel = mean_loss(model, sel_x, sel_y, 4 * s.batch_size, device)  # same weights on every process
            row["selection_loss"] = sel
            if sel < state.best_loss:
                state.best_loss, state.best_step = sel, step + 1
                state.best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
                state.evals_since_best = 0
            else:
                state.evals_since_best += 1
        state.log_rows.append(row)
        if evaluate and dist.rank == 0:
            live_csv.append(state.log_rows)
            now = time.perf_counter()
            recent = state.log_rows[line_step:]
            tokens_per_s = len(recent) * tokens_per_step / max(now - line_time, 1e-9)
            log.info("%s", progress_line(
                step + 1, s.max_steps, train_loss=sum(r["train_loss"] for r in recent) / len(recent),
                selection_loss=row["selection_loss"], best_loss=state.best_loss, best_step=state.best_step,
                tokens_per_s=tokens_per_s,
                mfu=None if peak is None else model_flops * tokens_per_s / (peak * dist.world),
                elapsed_s=now - t0,
                eta_s=(now - t_start) / (step + 1 - start_step) * (s.max_steps - step - 1)))
            line_time, line_step = now, step + 1
        if cooled:
            stopped_early = True
            break
        plateau = s.patience is not None and state.evals_since_best >= s.patience and step + 1 >= s.min_steps
        if plateau and s.schedule == "cosine":
            stopped_early = True
            break
        if plateau and state.cooldown_start is None and step + 1 < s.max_steps:
            # wsd: the selection loss has stopped improving at the constant lr: go back to the best
            # weights (the optimizer's moments carry on) and anneal from there
            state.cooldown_start, state.cooldown_steps = step + 1, cooldown_length(state.best_step, s)
            model.load_state_dict(state.best_weights)
            if dist.rank == 0:
                log.info("step %d: no improvement in %d evaluations; cooldown to lr %g over %d steps from the "
                         "best weights (step %d)", step + 1, s.patience, s.min_lr, state.cooldown_steps,
                         state.best_step)
        if resume_dir is not None and s.checkpoint_interval and (step + 1) % s.checkpoint_interval == 0 \
                and step + 1 < s.max_steps and dist.rank == 0:
            flush_losses()
            state.step, state.elapsed_s = step + 1, time.perf_counter() - t0
            _write_checkpoint(Path(resume_dir), fingerprint, model, optimizer, rng, state)
    flush_losses()
    if live_csv is not None:
        live_csv.append(state.log_rows)  # the steps after the last evaluation (early stopping)
    steps_run = step + 1
    if state.best_weights is None:
        raise RuntimeError(f"training diverged: the selection loss was never finite in {steps_run} steps (lower train.lr)")
    model.load_state_dict(state.best_weights)
    params = count_params(model)
    tokens_processed = steps_run * tokens_per_step
    summary = {
        **(run_info or {}),
        "seed": seed,
        "shape": shape,
        "vocab_size": vocab_size,
        **params,
        "flops_per_token": flops_per_token(model, s.block_size),
        "tokens_seen": tokens_processed,
        "train_flops": flops_per_token(model, s.block_size) * tokens_processed,
        "subset_tokens": int(len(subset_tokens)),
        "epochs": tokens_processed / len(subset_tokens),
        "steps_run": steps_run,
        "stopped_early": stopped_early,
        "converged": run_converged(s, steps_run=steps_run, best_step=state.best_step, stopped_early=stopped_early),
        "cooldown_start": state.cooldown_start,
        "best_step": state.best_step,
        "best_selection_loss": state.best_loss,
        "checkpoint_selection": (
            "lowest mean next-token loss on the selection split (documents held out from training "
            f"and validation; {len(sel_x)} windows of {s.block_size}), evaluated every {s.eval_interval} steps"
        ),
        "final_train_loss": state.log_rows[-1]["train_loss"],
        "wall_time_s": round(time.perf_counter() - t0, 3),
        "device": str(device),
        "dtype": "bfloat16 autocast" if device.type == "cuda" else "float32",
        "settings": asdict(s),
        "processes": dist.world,
        "resumed_from_step": resumed_from,
        "torch": torch.__version__,
    }
    if dist.rank == 0:
        _save(model, state.log_rows, summary, out_dir)
        if resume_dir is not None:
            shutil.rmtree(resume_dir, ignore_errors=True)  # the run is complete: nothing to resume
    if dist.world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return summary


def run_converged(s: TrainSettings, *, steps_run: int, best_step: int, stopped_early: bool) -> bool | None:
    """Whether a run ended converged rather than cut off by ``max_steps`` while still improving:
    for ``cosine``, its selection loss did not improve in its last ``patience`` evaluations; for
    ``wsd``, its cooldown (which starts at a plateau) was completed. None without ``patience``
    (nothing to judge flatness by)."""
    if s.patience is None:
        return None
    if s.schedule == "wsd":
        return bool(stopped_early)
    return steps_run - best_step >= s.patience * s.eval_interval


def _fingerprint(subset, selection, shape, vocab_size, eot_id, s: TrainSettings, seed: int) -> str:
    """What a checkpoint must have been made from to be resumed: the data, the model and every
    setting that changes the computation."""
    h = hashlib.sha256()
    for arr in (subset, selection):
        h.update(np.ascontiguousarray(arr).view(np.uint8))
    settings = {k: v for k, v in asdict(s).items() if k not in _NOT_IN_FINGERPRINT}
    # compiled and eager training differ in the last bits, so "compile" counts; left out when false,
    # so that checkpoints made before the setting existed (eager) still resume
    if not settings["compile"]:
        del settings["compile"]
    if settings["schedule"] == "cosine":  # likewise for checkpoints made before wsd existed
        del settings["schedule"], settings["cooldown_fraction"]
    h.update(json.dumps([shape, vocab_size, eot_id, settings, seed], sort_keys=True).encode())
    return h.hexdigest()


CHECKPOINT_FILE = "checkpoint.pt"


def _write_checkpoint(resume_dir: Path, fingerprint: str, model, optimizer, rng: np.random.Generator,
                      state: TrainState) -> None:
    """torch.save to a temporary name, then rename: a checkpoint on disk is always whole."""
    resume_dir.mkdir(parents=True, exist_ok=True)
    payload = {
        "fingerprint": fingerprint,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "numpy_rng": rng.bit_generator.state,
        "torch_rng": torch.get_rng_state(),
        "state": asdict(state),
    }
    tmp = resume_dir / (CHECKPOINT_FILE + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, resume_dir / CHECKPOINT_FILE)


def _load_checkpoint(resume_dir: Path, fingerprint: str, model, optimizer, rng: np.random.Generator) -> TrainState | None:
    """Restore a checkpoint made from the same inputs and settings; None (start afresh) otherwise."""
    path = resume_dir / CHECKPOINT_FILE
    if not path.is_file():
        return None
    payload = torch.load(path, map_location="cpu", weights_only=False)  # our own file
    if payload.get("fingerprint") != fingerprint:
        log.warning("ignoring %s: made from other data or settings", path)
        return None
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    rng.bit_generator.state = payload["numpy_rng"]
    torch.set_rng_state(payload["torch_rng"])
    state = TrainState(**payload["state"])
    log.info("resumed from step %d (%s)", state.step, path)
    return state


def _lm_loss(model, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logits = model(input_ids=x, use_cache=False).logits  # (no key/value cache: nothing generates)
    return torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), y.flatten())


class _LiveCsv:
    """``train_log.csv`` while training runs (process 0): written afresh from the rows so far when
    a run starts or resumes (so rows that a killed run logged after its last checkpoint are not
    repeated), then appended and flushed at each evaluation. At the end :func:`_save` writes the
    same rows once more, with the checkpoint."""

    def __init__(self, path: Path, rows: list[dict]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=LOG_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        self.path, self.written = path, len(rows)

    def append(self, rows: list[dict]) -> None:
        """Append ``rows[self.written:]``: ``rows`` is the whole log so far."""
        with open(self.path, "a", newline="") as fh:
            csv.DictWriter(fh, fieldnames=LOG_FIELDS).writerows(rows[self.written :])
        self.written = len(rows)


def _save(model, log_rows: list[dict], summary: dict, out_dir: Path) -> None:
    """Write everything into a sibling temporary folder, then move the files in; the summary
    goes last, so a folder with ``train_summary.json`` is always complete."""
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    with open(tmp / "train_log.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=LOG_FIELDS)
        writer.writeheader()
        writer.writerows(log_rows)
    (tmp / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in sorted(os.listdir(tmp), key=lambda n: n == "train_summary.json"):
        os.replace(tmp / name, out_dir / name)
    tmp.rmdir()
