"""The oracle's point sets (ID protocols ``oracle`` and ``oracle_window``): ``sqrt`` of the Bayes
posterior predictive (:mod:`idscaling.latent.oracle`) at the positions a model was embedded at,
i.e. what a perfect model's predictions look like as a point cloud."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from idscaling.latent.oracle import oracle_predictives

__all__ = ["oracle_points", "window_oracle_points"]


def oracle_points(
    teacher: Any, documents: Sequence[np.ndarray], points: np.ndarray, *, max_points: int, seed: int = 0
) -> tuple[np.ndarray, dict[str, Any]]:
    """``sqrt`` of the posterior predictive after each point's prefix, for the points (rows:
    document, last complete word t) of the first documents in their order of appearance until
    ``max_points`` are reached (the oracle's cost is per document); points before the first
    complete word (t = -1) are left out. Returns the points and a dict with the number of
    documents, of points left out and the effective sample sizes of the particle weights."""
    points = np.asarray(points, dtype=np.int64)
    docs, first, counts = np.unique(points[:, 0], return_index=True, return_counts=True)
    order = np.argsort(first)  # documents in their order of appearance
    docs, counts = docs[order], counts[order]
    chosen = docs[np.cumsum(counts) - counts < max_points]  # until max_points are reached
    rows = np.flatnonzero(np.isin(points[:, 0], chosen) & (points[:, 1] >= 0))
    q, ess = oracle_predictives(teacher, documents, points[rows], seed=seed)
    return np.sqrt(q), {
        "n_documents": len(chosen),
        "n_before_first_word": int(np.isin(points[:, 0], chosen).sum() - len(rows)),
        "ess_median": float(np.median(ess)),
        "ess_min": float(ess.min()),
    }


def window_oracle_points(
    teacher: Any,
    documents: Sequence[np.ndarray],
    windows: np.ndarray,
    doc_starts: np.ndarray,
    completed: Sequence[np.ndarray],
    *,
    max_points: int,
    seed: int = 0,
) -> tuple[np.ndarray, dict[str, Any]]:
    """``sqrt`` of the posterior predictive at the last position of each of the first
    ``max_points`` embedded ``windows`` (rows: document, window start in the stream, positions),
    given the words completed inside the window only -- the model's own context. Windows without
    a complete word are left out. Returns the points and a dict like :func:`oracle_points`'."""
    windows = np.asarray(windows, dtype=np.int64)[:max_points]
    contexts, rows = [], []
    for d, start, n in windows:
        first = int(start - doc_starts[d])  # the window's first token, within its document
        before = int(completed[d][first - 1]) if first > 0 else 0  # words completed before the window
        words = documents[d][before : int(completed[d][first + n - 1])]
        if len(words):
            contexts.append(words)
            rows.append((len(contexts) - 1, len(words) - 1))
    if not rows:
        raise ValueError("oracle_window: no embedded window holds a complete word")
    q, ess = oracle_predictives(teacher, contexts, np.asarray(rows), seed=seed)
    return np.sqrt(q), {
        "n_windows": len(rows),
        "n_without_a_word": int(len(windows) - len(rows)),
        "words_median": float(np.median([len(c) for c in contexts])),
        "ess_median": float(np.median(ess)),
        "ess_min": float(ess.min()),
    }
