"""ID protocols: which point cloud the intrinsic dimension is estimated on.

The paper estimates the ID of *token-level* final-layer states (one point per sampled position).
On a corpus of known latent dimension k (:mod:`idscaling.latent`) that ID does not follow k: the
points cluster by the current token, and within a 3,600-point batch the 20 nearest neighbours of
a point mostly share its token, so the estimate measures the spread inside token clusters rather
than the document manifold. Each protocol below is another answer to "which points", estimated
with the same estimator, batching and interval, with both metrics:

* ``token`` -- the paper's: the final-layer state at each sampled position;
* ``token_centred`` -- the same points minus the mean state of their current token (over the
  point set; tokens seen fewer than ``min_token_count`` times are dropped), which removes the
  token-identity offset and keeps what the state says about the context;
* ``sequence_mean`` -- one point per embedded window: the final-layer states averaged over the
  window's positions (token identity averages out, what is shared by the window stays);
* ``sequence_last`` -- one point per window: the state at its last position (the model's summary
  of the longest context it saw);
* ``oracle`` -- latent corpora only, no model: ``sqrt`` of the Bayes posterior predictive
  (:mod:`idscaling.latent.oracle`) at the same sampled positions as ``token``, i.e. a perfect model's
  predictions (euclidean distance between them = Hellinger distance times sqrt 2), given the
  document's words so far;
* ``oracle_window`` -- latent corpora only, no model: one point per embedded window, ``sqrt`` of
  the Bayes predictive at the window's last position given only the window's own words (what the
  model sees): ``sequence_last`` of a perfect model. Token-level oracle points come in runs along
  each document's trajectory of posteriors (a low ID at small neighbour ranks whatever k:
  BENCHMARKS.md), one point per window does not.

Each point set is a builder in :data:`POINT_SETS` (name -> function of the checkpoint's
:class:`PointSetInputs`); the names are :data:`idscaling.id.registry.PROTOCOLS`, the schema's
``id.protocols`` enum (the README's recipe for a new one: a builder, an entry in both, the enum).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from idscaling.corpus.tokens import load_token_file
from idscaling.id.batching import estimate_id, settings_for_estimator
from idscaling.id.registry import ORACLE_PROTOCOLS, PROTOCOLS
from idscaling.latent.documents import pseudo_words
from idscaling.latent.oracle_points import oracle_points, window_oracle_points
from idscaling.latent.teachers import teacher_for_source
from idscaling.latent.words import (
    document_word_ids,
    documents_completed_words,
    oracle_positions,
    read_whole_documents,
)

__all__ = [
    "POINT_SETS",
    "PointSetInputs",
    "token_ids_at",
    "centre_by_token",
    "protocol_point_sets",
    "protocol_ids",
    "protocol_inputs",
]


def token_ids_at(tokens: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The token at each embedded point (``positions`` rows: document, window start, position)."""
    positions = np.asarray(positions, dtype=np.int64)
    return np.asarray(tokens[positions[:, 1] + positions[:, 2]], dtype=np.int64)


def centre_by_token(X: np.ndarray, token_ids: np.ndarray, min_token_count: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``X`` minus the mean row of each token id, for the rows whose token occurs at least
    ``min_token_count`` times (a token seen once would become an all-zero row) and that differ from
    their token's mean. Returns the centred rows (float64) and the boolean mask of the rows kept."""
    X = np.asarray(X, dtype=np.float64)
    token_ids = np.asarray(token_ids)
    if len(X) != len(token_ids):
        raise ValueError(f"{len(X)} points but {len(token_ids)} token ids")
    if min_token_count < 2:
        raise ValueError(f"min_token_count must be >= 2, got {min_token_count}")
    values, inverse, counts = np.unique(token_ids, return_inverse=True, return_counts=True)
    sums = np.zeros((len(values), X.shape[1]))
    np.add.at(sums, inverse, X)
    centred = X - sums[inverse] / counts[inverse][:, None]
    # A token whose points are all the same state (e.g. every document's first token, which has no
    # context) leaves all-zero rows: they carry no context information and have no direction.
    keep = (counts[inverse] >= min_token_count) & np.any(centred != 0.0, axis=1)
    return centred[keep], keep


@dataclass
class PointSetInputs:
    """A checkpoint's embedding outputs that the point sets are made of (the oracles' are None
    unless requested: they are computed from the latent teacher)."""

    final: np.ndarray | None = None
    token_ids: np.ndarray | None = None
    window_mean: np.ndarray | None = None
    window_last: np.ndarray | None = None
    oracle: np.ndarray | None = None
    oracle_window: np.ndarray | None = None
    min_token_count: int = 2


def _given(name: str, points: np.ndarray | None) -> tuple[np.ndarray, str]:
    if points is None:
        raise ValueError(f"ID protocol {name!r}: its input points were not given")
    return np.asarray(points), ""


def _token_centred(c: PointSetInputs) -> tuple[np.ndarray, str]:
    _given("token_centred", c.final)
    if c.token_ids is None:
        raise ValueError("ID protocol 'token_centred' needs the token id of every point")
    X, keep = centre_by_token(c.final, c.token_ids, c.min_token_count)
    dropped = int((~keep).sum())
    return X, (
        f"{dropped} points dropped: token seen fewer than {c.min_token_count} times, or every point "
        "of the token the same state"
        if dropped
        else ""
    )


# Protocol -> its builder (the names and their order: idscaling.id.registry.PROTOCOLS).
POINT_SETS: dict[str, Callable[[PointSetInputs], tuple[np.ndarray, str]]] = {
    "token": lambda c: _given("token", c.final),
    "token_centred": _token_centred,
    "sequence_mean": lambda c: _given("sequence_mean", c.window_mean),
    "sequence_last": lambda c: _given("sequence_last", c.window_last),
    "oracle": lambda c: _given("oracle", c.oracle),
    "oracle_window": lambda c: _given("oracle_window", c.oracle_window),
}


def protocol_point_sets(protocols: Sequence[str], inputs: PointSetInputs) -> dict[str, tuple[np.ndarray, str]]:
    """Protocol -> (points, note) for each requested protocol, from the embedding outputs."""
    unknown = [p for p in protocols if p not in POINT_SETS]
    if unknown:
        raise ValueError(f"unknown ID protocol(s) {unknown} (expected some of {list(PROTOCOLS)})")
    return {p: POINT_SETS[p](inputs) for p in protocols}


def protocol_ids(
    point_sets: Mapping[str, tuple[np.ndarray, str]],
    metrics: Sequence[str],
    id_settings: Mapping[str, Any],
    scale_range_max: int | None = 64,
) -> list[dict[str, Any]]:
    """The configured estimator on every point set with every metric: one dict per (protocol,
    metric) with the estimate (``dimension``, ``ci_low``, ``ci_high``, ...) or, when a set is too
    small for it, NaN and the reason in ``note``; and, unless ``scale_range_max`` is None, the
    GRIDE scale curve of the same points (``scale_curve``: ID at neighbour ranks n1 = 1, 2, 4, ...
    up to ``scale_range_max``, same batching), which shows at which scale the estimate changes
    (e.g. where neighbourhoods leave a token's cluster)."""
    rows = []
    for protocol, (X, note) in point_sets.items():
        for metric in metrics:
            row: dict[str, Any] = {"protocol": protocol, "metric": metric, "n_points": int(len(X))}
            settings = dict(id_settings) | {"metric": metric}
            try:
                row |= estimate_id(X, **settings_for_estimator(settings))
                row["note"] = note
            except ValueError as err:
                row |= {
                    "dimension": float("nan"),
                    "ci_low": float("nan"),
                    "ci_high": float("nan"),
                    "note": "; ".join(filter(None, [note, str(err)])),
                }
            row["scale_curve"] = []
            if scale_range_max is not None:
                gride = {"estimator": "gride", "gride_range_max": int(scale_range_max)}
                try:
                    row["scale_curve"] = estimate_id(X, **settings_for_estimator(settings | gride))["scale_curve"]
                except ValueError as err:
                    row["note"] = "; ".join(filter(None, [row["note"], f"scale curve: {err}"]))
            rows.append(row)
    return rows


def protocol_inputs(
    protocols: Sequence[str],
    *,
    points: np.ndarray,
    positions: np.ndarray,
    window_mean: np.ndarray,
    window_last: np.ndarray,
    windows: np.ndarray | None = None,
    val_bin: str | Path,
    val_texts: str | Path | None,
    tokenizer: Any = None,
    source: Mapping[str, Any],
    settings: Mapping[str, Any],
) -> tuple[dict[str, tuple[np.ndarray, str]], dict[str, Any] | None]:
    """The point sets of one checkpoint's embedding outputs (:func:`protocol_point_sets`), the
    oracle's computed from the latent ``source`` and the validation texts when it is requested.
    Returns the sets and the oracle's diagnostics (None without it)."""
    val = load_token_file(val_bin)
    oracle, oracle_window, info = None, None, None
    if set(protocols) & set(ORACLE_PROTOCOLS):
        if source.get("kind") != "latent" or val_texts is None or tokenizer is None:
            raise ValueError("the oracle protocols need a latent source, its validation texts and the tokenizer")
        # (the oracle's particle filter: only latent corpora need it)

        teacher = teacher_for_source(dict(source))
        texts, _ = read_whole_documents(val_texts)
        completed = documents_completed_words(val, texts, tokenizer)
        documents = document_word_ids(texts, pseudo_words(teacher.vocab))
        info = {}
        if "oracle" in protocols:
            oracle, info["oracle"] = oracle_points(
                teacher,
                documents,
                oracle_positions(positions, val.doc_starts, completed),
                max_points=int(settings["oracle_points"]),
                seed=int(settings["seed"]),
            )
        if "oracle_window" in protocols:
            if windows is None:
                raise ValueError("the oracle_window protocol needs the embedded windows (windows.npy)")
            oracle_window, info["oracle_window"] = window_oracle_points(
                teacher,
                documents,
                windows,
                val.doc_starts,
                completed,
                max_points=int(settings["oracle_points"]),
                seed=int(settings["seed"]),
            )
    sets = protocol_point_sets(
        protocols,
        PointSetInputs(
            final=points,
            token_ids=token_ids_at(val.tokens, positions),
            window_mean=window_mean,
            window_last=window_last,
            oracle=oracle,
            oracle_window=oracle_window,
            min_token_count=int(settings["min_token_count"]),
        ),
    )
    return sets, info
