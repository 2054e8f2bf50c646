"""A training run's state on disk: the resume checkpoint (model, optimizer, sampler RNG, best
weights so far, log) written atomically every ``checkpoint_interval`` steps and resumed only when
it was made from the same inputs and settings (:func:`fingerprint`), and the final model folder in
Hugging Face format (``save_pretrained``, safetensors) beside its log and summary."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from idscaling.lm.progress import LOG_FIELDS
from idscaling.lm.settings import TrainSettings

__all__ = [
    "TrainState",
    "NOT_IN_FINGERPRINT",
    "CHECKPOINT_FILE",
    "fingerprint",
    "write_checkpoint",
    "load_checkpoint",
    "save_model",
]

log = logging.getLogger("idscaling.lm.train")

# Settings that do not change what is computed (a checkpoint made with other values resumes).
# Not "compile": a compiled model's kernels round differently from eager ones.
NOT_IN_FINGERPRINT = ("threads", "device", "checkpoint_interval", "processes", "tensorboard", "compile_cache")


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
    first_step_s: float | None = None  # how the run went: its first step's seconds, compilation included

    def record(self, loss: float, step: int, model: torch.nn.Module) -> None:
        """An evaluation's selection loss: keep the weights if it is the best so far."""
        if loss < self.best_loss:
            self.best_loss, self.best_step = loss, step
            self.best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
            self.evals_since_best = 0
        else:
            self.evals_since_best += 1


def fingerprint(subset, selection, shape, vocab_size, eot_id, s: TrainSettings, seed: int) -> str:
    """What a checkpoint must have been made from to be resumed: the data, the model and every
    setting that changes the computation."""
    h = hashlib.sha256()
    for arr in (subset, selection):
        h.update(np.ascontiguousarray(arr).view(np.uint8))
    settings = {k: v for k, v in asdict(s).items() if k not in NOT_IN_FINGERPRINT}
    # compiled and eager training differ in the last bits, so "compile" counts; left out when false,
    # so that checkpoints made before the setting existed (eager) still resume
    if not settings["compile"]:
        del settings["compile"]
    if settings["schedule"] == "cosine":  # likewise for checkpoints made before wsd existed
        del settings["schedule"], settings["cooldown_fraction"]
    h.update(json.dumps([shape, vocab_size, eot_id, settings, seed], sort_keys=True).encode())
    return h.hexdigest()


CHECKPOINT_FILE = "checkpoint.pt"
CHECKPOINT_KEYS = {"fingerprint", "model", "optimizer", "numpy_rng", "torch_rng", "state"}


def write_checkpoint(
    resume_dir: Path, fingerprint: str, model, optimizer, rng: np.random.Generator, state: TrainState
) -> None:
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


def load_checkpoint(
    resume_dir: Path, fingerprint: str, model, optimizer, rng: np.random.Generator
) -> TrainState | None:
    """Restore a checkpoint made from the same inputs and settings; None (start afresh) otherwise.

    Read with ``weights_only=True``: tensors, numbers, strings and containers only, so a file that
    someone else could write into the results directory cannot run code. One that cannot be read
    (a partial copy, another format) is moved aside, named in the log, and the run starts afresh:
    a retry must never fail on the same file again."""
    path = resume_dir / CHECKPOINT_FILE
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(payload, dict) or not CHECKPOINT_KEYS <= payload.keys():
            what = sorted(payload)[:6] if isinstance(payload, dict) else type(payload).__name__
            raise ValueError(f"not a training checkpoint ({what})")
    except Exception as err:  # noqa: BLE001 - any unreadable file is set aside, whatever the reader raised
        aside = _set_aside(path)
        log.warning("unreadable resume checkpoint %s (%s: %s): moved to %s; training starts afresh",
                    path, type(err).__name__, str(err).splitlines()[0][:200] if str(err) else "", aside)  # fmt: skip
        return None
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


def _set_aside(path: Path) -> Path:
    """Rename ``path`` to ``<name>.unreadable[.N]`` beside it (kept for a person to inspect)."""
    aside, n = path.with_name(path.name + ".unreadable"), 1
    while aside.exists():
        aside, n = path.with_name(f"{path.name}.unreadable.{n}"), n + 1
    os.replace(path, aside)
    return aside


def save_model(model, log_rows: list[dict], summary: dict, out_dir: Path) -> None:
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
