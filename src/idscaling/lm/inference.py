"""Forward passes without training: non-overlapping windows of a token stream, and the
next-token loss of every target in them (the selection loss, evaluation and diagnostics)."""

from __future__ import annotations

import math

import numpy as np
import torch

from idscaling.lm.model import autocast

__all__ = ["windows", "token_losses", "mean_loss"]


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
def token_losses(
    model, x: np.ndarray, y: np.ndarray, batch_size: int, device: torch.device, dtype: str | torch.dtype | None = None
) -> np.ndarray:
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
