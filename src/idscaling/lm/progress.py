"""What a training run reports while it runs: a progress line per evaluation (step, losses,
tokens/s, MFU against the GPU's peak, elapsed time and ETA), ``train_log.csv`` growing as it goes
and TensorBoard event files beside it (``tensorboard --logdir results``). None of them draws random
numbers or touches the model: the weights are those of a silent run."""

from __future__ import annotations

import csv
import logging
import time
from pathlib import Path
from typing import Any

from idscaling.runlog import format_duration

__all__ = [
    "LOG_FIELDS",
    "PEAK_BF16_FLOPS",
    "peak_flops",
    "progress_line",
    "LiveCsv",
    "TensorBoardLog",
    "RunLogs",
    "TrainReporter",
    "EVENT_FILES",
]

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


def progress_line(
    step: int,
    max_steps: int,
    *,
    train_loss: float,
    selection_loss: float,
    best_loss: float,
    best_step: int,
    tokens_per_s: float,
    mfu: float | None,
    elapsed_s: float,
    eta_s: float,
) -> str:
    """``step 250/800 | train 3.412 | select 3.501 (best 3.498 @ 225) | 41,200 tok/s | mfu 31.2% |
    elapsed 0:01:02 | eta 0:02:17`` (no MFU part when ``mfu`` is None). ``train_loss`` is the mean
    train loss of the steps since the previous line."""
    parts = [
        f"step {step}/{max_steps}",
        f"train {train_loss:.3f}",
        f"select {selection_loss:.3f} (best {best_loss:.3f} @ {best_step})",
        f"{tokens_per_s:,.0f} tok/s",
    ]
    if mfu is not None:
        parts.append(f"mfu {100 * mfu:.1f}%")
    parts += [f"elapsed {format_duration(elapsed_s)}", f"eta {format_duration(eta_s)}"]
    return " | ".join(parts)


class LiveCsv:
    """``train_log.csv`` while training runs (process 0): written afresh from the rows so far when
    a run starts or resumes (so rows that a killed run logged after its last checkpoint are not
    repeated), then appended and flushed at each evaluation. At the end
    :func:`idscaling.lm.checkpoint.save_model` writes the same rows once more, with the checkpoint."""

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


EVENT_FILES = "events.out.tfevents.*"


class TensorBoardLog:
    """TensorBoard scalars of a run (process 0), written with torch's ``SummaryWriter`` into the
    model folder beside ``train_log.csv``: ``loss/train`` and ``lr`` every step, ``loss/selection``
    at each evaluation, ``speed/tokens_per_s`` and on a GPU with a known peak ``speed/mfu`` with
    each progress line. A fresh run removes the folder's old event files; a resumed one purges the
    steps after its checkpoint (``purge_step``), which the killed run had logged already. Without
    the ``tensorboard`` package it warns once and writes nothing (the CSV has the same numbers)."""

    def __init__(self, out_dir: Path, rows: list[dict], logger: logging.Logger) -> None:
        self.written, self.writer = len(rows), None
        try:
            from torch.utils.tensorboard import SummaryWriter  # (needs the tensorboard package)
        except ImportError as err:
            logger.warning("no TensorBoard event files: %s (pip install tensorboard)", err)
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        if not rows:
            for old in out_dir.glob(EVENT_FILES):
                old.unlink()
        self.writer = SummaryWriter(log_dir=str(out_dir), purge_step=len(rows) + 1 if rows else None)

    def append(self, rows: list[dict]) -> None:
        """Write ``rows[self.written:]`` (``rows`` is the whole log so far), then flush."""
        if self.writer is None:
            return
        for row in rows[self.written :]:
            step = row["step"]
            self.writer.add_scalar("loss/train", row["train_loss"], step)
            self.writer.add_scalar("lr", row["lr"], step)
            if row["selection_loss"] != "":
                self.writer.add_scalar("loss/selection", row["selection_loss"], step)
        self.written = len(rows)
        self.writer.flush()

    def speed(self, speed: dict) -> None:
        """A progress line's ``tokens_per_s`` and ``mfu`` (when not None) at its ``step``."""
        if self.writer is None:
            return
        self.writer.add_scalar("speed/tokens_per_s", speed["tokens_per_s"], speed["step"])
        if speed.get("mfu") is not None:
            self.writer.add_scalar("speed/mfu", speed["mfu"], speed["step"])
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class RunLogs:
    """Process 0's live logs of a run: ``train_log.csv`` (:class:`LiveCsv`) and, with
    ``tensorboard``, the event files (:class:`TensorBoardLog`), appended together."""

    def __init__(self, out_dir: Path, rows: list[dict], logger: logging.Logger, tensorboard: bool) -> None:
        self.csv = LiveCsv(out_dir / "train_log.csv", rows)
        self.tensorboard = TensorBoardLog(out_dir, rows, logger) if tensorboard else None

    def append(self, rows: list[dict]) -> None:
        self.csv.append(rows)
        if self.tensorboard is not None:
            self.tensorboard.append(rows)

    def speed(self, speed: dict) -> None:
        if self.tensorboard is not None:
            self.tensorboard.speed(speed)

    def close(self, rows: list[dict]) -> None:
        self.append(rows)
        if self.tensorboard is not None:
            self.tensorboard.close()


class TrainReporter:
    """The progress line of each evaluation: tokens/s and MFU since the previous line, elapsed
    time since the run began (``t0``, earlier on a resumed run) and the ETA from this process's
    own steps (those from ``start_step`` on)."""

    def __init__(
        self,
        logger: logging.Logger,
        max_steps: int,
        tokens_per_step: int,
        model_flops: float,
        peak: float | None,
        world: int,
        t0: float,
        start_step: int,
    ) -> None:
        self.log, self.max_steps, self.tokens_per_step = logger, max_steps, tokens_per_step
        self.model_flops, self.peak, self.world, self.t0 = model_flops, peak, world, t0
        self.t_start, self.start_step = time.perf_counter(), start_step
        self.line_time, self.line_step = self.t_start, start_step  # the previous line

    def line(self, step: int, state: Any) -> dict:
        """Log the line of ``step`` from ``state`` (the run's log rows so far and its best loss);
        returns its ``step``, ``tokens_per_s`` and ``mfu`` (None without a known peak)."""
        now = time.perf_counter()
        recent = state.log_rows[self.line_step :]
        tokens_per_s = len(recent) * self.tokens_per_step / max(now - self.line_time, 1e-9)
        mfu = None if self.peak is None else self.model_flops * tokens_per_s / (self.peak * self.world)
        self.log.info(
            "%s",
            progress_line(
                step,
                self.max_steps,
                train_loss=sum(r["train_loss"] for r in recent) / len(recent),
                selection_loss=state.log_rows[-1]["selection_loss"],
                best_loss=state.best_loss,
                best_step=state.best_step,
                tokens_per_s=tokens_per_s,
                mfu=mfu,
                elapsed_s=now - self.t0,
                eta_s=(now - self.t_start) / (step - self.start_step) * (self.max_steps - step),
            ),
        )
        self.line_time, self.line_step = now, step
        return {"step": step, "tokens_per_s": tokens_per_s, "mfu": mfu}
