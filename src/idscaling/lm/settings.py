"""What a training run is configured to do: :class:`TrainSettings` (the ``train`` section of the
config) and the learning-rate schedules it names.

Schedules (``schedule``): ``cosine`` decays the learning rate to ``min_lr`` at ``max_steps`` and
stops early once the selection loss has not improved for ``patience`` evaluations. ``wsd``
(warmup-stable-decay) keeps it constant until that plateau, goes back to the best weights and
cools down linearly to ``min_lr`` over ``cooldown_fraction`` of the best step's steps, then stops:
the run length follows the data instead of a guessed ``max_steps`` (a cap only), and every run ends
annealed, which a cosine run stopped early at a high learning rate does not. A run is *converged*
(:func:`run_converged`) when it ended that way rather than at ``max_steps`` while still improving.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["TrainSettings", "SCHEDULES", "COOLDOWN_EVALUATIONS", "learning_rate", "cooldown_length", "run_converged"]

SCHEDULES = ("cosine", "wsd")
# Evaluations within a wsd cooldown (at least): a short one, on a small subset that overfits within
# tens of steps, is where the selection loss has its minimum.
COOLDOWN_EVALUATIONS = 8


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
    tensorboard: bool = True  # TensorBoard event files beside train_log.csv (execution only)
    compile_cache: str | None = ".cache/torch_compile"  # with compile: Inductor's caches, shared by jobs
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
