"""Validation loss: mean next-token cross-entropy (nats/token) over the whole validation set,
with a bootstrap confidence interval over documents.

Two steps, so that the cheap one can be redone alone: :func:`validation_losses` runs the model
over the validation split (torch; for a trained checkpoint the training job does it, with the
model already loaded, and saves them with :func:`save_validation_losses`), and
:func:`summarize_losses` turns the per-token losses into the loss and its bootstrap CI (numpy and
scipy only: changing the bootstrap reruns no forward pass). :func:`evaluate` does both.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from idscaling.corpus.tokens import TokenFile


def per_document_losses(val: TokenFile, losses_flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum of losses and number of predicted tokens per document.

    ``losses_flat[j]`` is the loss of predicting token j + 1 of the stream. A target belongs to
    the document that contains it: a document's first token (predicted from the previous
    document's end-of-text) and its own closing end-of-text both count for it.
    """
    targets = np.arange(1, len(val.tokens))
    doc = np.searchsorted(val.doc_starts, targets, side="right") - 1
    sums = np.bincount(doc, weights=losses_flat, minlength=val.n_documents)
    counts = np.bincount(doc, minlength=val.n_documents).astype(np.float64)
    keep = counts > 0
    return sums[keep], counts[keep]


def bootstrap_ratio_ci(sums: np.ndarray, counts: np.ndarray, n_resamples: int, ci_level: float, seed: int):
    """Percentile bootstrap CI of sum(sums) / sum(counts), resampling documents."""
    from scipy.stats import bootstrap

    if len(sums) < 2:
        return float("nan"), float("nan")
    res = bootstrap(
        (sums, counts),
        lambda s, c, axis=-1: s.sum(axis=axis) / c.sum(axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=n_resamples,
        confidence_level=ci_level,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def validation_losses(
    model_path: str,
    val: TokenFile,
    *,
    block_size: int | None = None,
    batch_size: int = 32,
    device: str = "auto",
    threads: int = 1,
) -> dict:
    """Per-token validation losses of a causal LM (our checkpoint folder or a HF id): ``losses``
    (float64, the loss of predicting token j + 1 of the stream at j), ``context`` and ``device``."""
    # (torch: rule evaluate only bootstraps the saved losses, and starts without it)
    from idscaling.lm.inference import token_losses, windows  # (torch)
    from idscaling.lm.model import load_for_inference, max_context  # (torch)

    model, dev = load_for_inference(model_path, device, threads)
    context = block_size or max_context(model.config)
    x, y = windows(np.asarray(val.tokens), context)
    losses = token_losses(model, x, y, batch_size, dev)
    flat = losses[~np.isnan(losses)]
    if len(flat) != len(val.tokens) - 1:
        raise AssertionError(f"{len(flat)} losses for {len(val.tokens) - 1} targets")
    return {"losses": flat, "context": int(context), "device": str(dev)}


def save_validation_losses(path: str | Path, result: dict) -> None:
    """Write :func:`validation_losses`' result as one ``.npz`` (atomically)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, losses=result["losses"], context=np.int64(result["context"]), device=np.str_(result["device"]))
    os.replace(tmp, path)


def load_validation_losses(path: str | Path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {"losses": data["losses"], "context": int(data["context"]), "device": str(data["device"])}


def summarize_losses(
    val: TokenFile, result: dict, *, n_bootstrap: int = 1000, ci_level: float = 0.95, seed: int = 0
) -> dict:
    """The validation loss (token-weighted mean) and its percentile-bootstrap CI over documents,
    from :func:`validation_losses`' result on ``val``."""
    flat = result["losses"]
    if len(flat) != len(val.tokens) - 1:
        raise ValueError(f"{len(flat)} losses for the {len(val.tokens) - 1} targets of this validation split")
    sums, counts = per_document_losses(val, flat)
    low, high = bootstrap_ratio_ci(sums, counts, n_bootstrap, ci_level, seed)
    return {
        "val_loss": float(flat.mean()),
        "val_loss_ci_low": low,
        "val_loss_ci_high": high,
        "ci_level": ci_level,
        "ci_method": f"percentile bootstrap over {len(sums)} documents, {n_bootstrap} resamples",
        "n_val_tokens": int(len(flat)),
        "n_val_documents": int(len(sums)),
        "context": result["context"],
        "unit": "nats/token",
        "device": result["device"],
    }


def evaluate(
    model_path: str,
    val: TokenFile,
    *,
    block_size: int | None = None,
    batch_size: int = 32,
    n_bootstrap: int = 1000,
    ci_level: float = 0.95,
    seed: int = 0,
    device: str = "auto",
    threads: int = 1,
) -> dict:
    """Evaluate a causal LM (our checkpoint folder or a HF id) on a validation token file."""
    result = validation_losses(
        model_path, val, block_size=block_size, batch_size=batch_size, device=device, threads=threads
    )
    return summarize_losses(val, result, n_bootstrap=n_bootstrap, ci_level=ci_level, seed=seed)
