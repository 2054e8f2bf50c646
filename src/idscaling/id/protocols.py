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
  (:mod:`idscaling.oracle`) at the same sampled positions as ``token``, i.e. a perfect model's
  predictions (euclidean distance between them = Hellinger distance times sqrt 2), given the
  document's words so far;
* ``oracle_window`` -- latent corpora only, no model: one point per embedded window, ``sqrt`` of
  the Bayes predictive at the window's last position given only the window's own words (what the
  model sees): ``sequence_last`` of a perfect model. Token-level oracle points come in runs along
  each document's trajectory of posteriors (measured: ID ~1-3 at small neighbour ranks whatever
  k), one point per window does not.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "PROTOCOLS", "ORACLE_PROTOCOLS", "DEFAULT_PROTOCOLS", "MODEL_PROTOCOLS", "token_ids_at", "centre_by_token",
    "completed_words", "documents_completed_words", "oracle_positions", "document_word_ids", "oracle_points", "window_oracle_points", "protocol_point_sets", "protocol_ids",
    "read_whole_documents", "protocol_inputs", "id_protocols_table", "ID_PROTOCOL_COLUMNS", "id_scale_table", "ID_SCALE_COLUMNS",
]

PROTOCOLS = ("token", "token_centred", "sequence_mean", "sequence_last", "oracle", "oracle_window")
ORACLE_PROTOCOLS = ("oracle", "oracle_window")  # latent corpora only: computed from the teacher
DEFAULT_PROTOCOLS = ("token",)
MODEL_PROTOCOLS = PROTOCOLS[:4]  # the ones computed from a model's hidden states


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


def completed_words(pieces: Sequence[str], text: str) -> np.ndarray:
    """For each token of a document (its decoded ``pieces``, which must join to ``text``, words
    separated by single spaces), the number of words completed once that token is read: a word is
    complete when the text after the token starts with a space or ends. The Bayes predictive a model
    state at that token corresponds to is the one after that many words."""
    if "".join(pieces) != text:
        raise ValueError("the decoded tokens do not spell the document's text")
    chars = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    spaces = np.concatenate([[0], np.cumsum(chars == ord(" "))])  # spaces in text[:i]
    ends = np.cumsum([len(piece) for piece in pieces])
    nxt = np.append(chars, ord(" "))[ends]  # the character after each token (a space at the end)
    prev = chars[np.maximum(ends - 1, 0)]
    done = (nxt == ord(" ")) & (prev != ord(" ")) & (ends > 0)
    return spaces[ends] + done


def documents_completed_words(val: Any, texts: Sequence[str], tokenizer: Any) -> list[np.ndarray]:
    """:func:`completed_words` of every document of a token file (``val``, end-of-text excluded),
    its tokens decoded one by one with ``tokenizer``."""
    if len(texts) != val.n_documents:
        raise ValueError(f"{len(texts)} texts but {val.n_documents} documents in the token file")
    pieces: dict[int, str] = {}
    out = []
    for i, text in enumerate(texts):
        ids = np.asarray(val.document(i)[:-1]).tolist()
        for t in set(ids) - pieces.keys():
            pieces[t] = tokenizer.decode([t])
        out.append(completed_words([pieces[t] for t in ids], text))
    return out


def oracle_positions(positions: np.ndarray, doc_starts: np.ndarray, completed: Sequence[np.ndarray]) -> np.ndarray:
    """(document, t) for each embedded point: the oracle predictive after words ``0..t`` matches
    the model state at that token (``t = completed words - 1``; -1 where no word is complete yet)."""
    positions = np.asarray(positions, dtype=np.int64)
    token_in_doc = positions[:, 1] - np.asarray(doc_starts)[positions[:, 0]] + positions[:, 2]
    t = np.array([completed[d][j] for d, j in zip(positions[:, 0], token_in_doc)], dtype=np.int64) - 1
    return np.stack([positions[:, 0], t], 1)


def document_word_ids(texts: Iterable[str], vocabulary: Sequence[str]) -> list[np.ndarray]:
    """The word ids of each latent document (its text split on single spaces)."""
    index = {w: i for i, w in enumerate(vocabulary)}
    out = []
    for d, text in enumerate(texts):
        words = text.split(" ")
        try:
            out.append(np.fromiter((index[w] for w in words), dtype=np.int64, count=len(words)))
        except KeyError as err:
            raise ValueError(f"validation document {d}: {err.args[0]!r} is not a word of the teacher's vocabulary") from None
    return out


def oracle_points(teacher: Any, documents: Sequence[np.ndarray], points: np.ndarray, *, max_points: int,
                  seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """``sqrt`` of the posterior predictive after each point's prefix, for the points (rows:
    document, last complete word t) of the first documents in their order of appearance until
    ``max_points`` are reached (the oracle's cost is per document); points before the first
    complete word (t = -1) are left out. Returns the points and a dict with the number of
    documents, of points left out and the effective sample sizes of the particle weights."""
    from idscaling.latent.oracle import oracle_predictives

    points = np.asarray(points, dtype=np.int64)
    docs, first, counts = np.unique(points[:, 0], return_index=True, return_counts=True)
    order = np.argsort(first)  # documents in their order of appearance
    docs, counts = docs[order], counts[order]
    chosen = docs[np.cumsum(counts) - counts < max_points]  # until max_points are reached
    rows = np.flatnonzero(np.isin(points[:, 0], chosen) & (points[:, 1] >= 0))
    q, ess = oracle_predictives(teacher, documents, points[rows], seed=seed)
    return np.sqrt(q), {"n_documents": len(chosen), "n_before_first_word": int(np.isin(points[:, 0], chosen).sum() - len(rows)),
                        "ess_median": float(np.median(ess)), "ess_min": float(ess.min())}


def window_oracle_points(teacher: Any, documents: Sequence[np.ndarray], windows: np.ndarray, doc_starts: np.ndarray,
                         completed: Sequence[np.ndarray], *, max_points: int,
                         seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """``sqrt`` of the posterior predictive at the last position of each of the first
    ``max_points`` embedded ``windows`` (rows: document, window start in the stream, positions),
    given the words completed inside the window only -- the model's own context. Windows without
    a complete word are left out. Returns the points and a dict like :func:`oracle_points`'."""
    from idscaling.latent.oracle import oracle_predictives

    windows = np.asarray(windows, dtype=np.int64)[:max_points]
    contexts, rows = [], []
    for d, start, n in windows:
        first = int(start - doc_starts[d])  # the window's first token, within its document
        before = int(completed[d][first - 1]) if first > 0 else 0  # words completed before the window
        words = documents[d][before:int(completed[d][first + n - 1])]
        if len(words):
            contexts.append(words)
            rows.append((len(contexts) - 1, len(words) - 1))
    if not rows:
        raise ValueError("oracle_window: no embedded window holds a complete word")
    q, ess = oracle_predictives(teacher, contexts, np.asarray(rows), seed=seed)
    return np.sqrt(q), {"n_windows": len(rows), "n_without_a_word": int(len(windows) - len(rows)),
                        "words_median": float(np.median([len(c) for c in contexts])),
                        "ess_median": float(np.median(ess)), "ess_min": float(ess.min())}


def protocol_point_sets(
    protocols: Sequence[str],
    *,
    final: np.ndarray | None = None,
    token_ids: np.ndarray | None = None,
    window_mean: np.ndarray | None = None,
    window_last: np.ndarray | None = None,
    oracle: np.ndarray | None = None,
    oracle_window: np.ndarray | None = None,
    min_token_count: int = 2,
) -> dict[str, tuple[np.ndarray, str]]:
    """Protocol -> (points, note) for each requested protocol, from the embedding outputs."""
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        raise ValueError(f"unknown ID protocol(s) {unknown} (expected some of {list(PROTOCOLS)})")
    needs = {"token": final, "token_centred": final, "sequence_mean": window_mean, "sequence_last": window_last,
             "oracle": oracle, "oracle_window": oracle_window}
    sets: dict[str, tuple[np.ndarray, str]] = {}
    for p in protocols:
        if needs[p] is None:
            raise ValueError(f"ID protocol {p!r}: its input points were not given")
        if p == "token_centred":
            if token_ids is None:
                raise ValueError("ID protocol 'token_centred' needs the token id of every point")
            X, keep = centre_by_token(final, token_ids, min_token_count)
            dropped = int((~keep).sum())
            sets[p] = (X, f"{dropped} points dropped: token seen fewer than {min_token_count} times, or every point "
                          "of the token the same state" if dropped else "")
        else:
            sets[p] = (np.asarray(needs[p]), "")
    return sets


SCALE_RANGE_MAX = 64  # the largest neighbour rank of the scale curves (n1 = 1, 2, ..., 32)


def protocol_ids(point_sets: Mapping[str, tuple[np.ndarray, str]], metrics: Sequence[str],
                 id_settings: Mapping[str, Any], scale_range_max: int | None = SCALE_RANGE_MAX) -> list[dict[str, Any]]:
    """The configured estimator on every point set with every metric: one dict per (protocol,
    metric) with the estimate (``dimension``, ``ci_low``, ``ci_high``, ...) or, when a set is too
    small for it, NaN and the reason in ``note``; and, unless ``scale_range_max`` is None, the
    GRIDE scale curve of the same points (``scale_curve``: ID at neighbour ranks n1 = 1, 2, 4, ...
    up to ``scale_range_max``, same batching), which shows at which scale the estimate changes
    (e.g. where neighbourhoods leave a token's cluster)."""
    from idscaling.id import estimate_id, settings_for_estimator

    rows = []
    for protocol, (X, note) in point_sets.items():
        for metric in metrics:
            row: dict[str, Any] = {"protocol": protocol, "metric": metric, "n_points": int(len(X))}
            settings = dict(id_settings) | {"metric": metric}
            try:
                row |= estimate_id(X, **settings_for_estimator(settings))
                row["note"] = note
            except ValueError as err:
                row |= {"dimension": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"),
                        "note": "; ".join(filter(None, [note, str(err)]))}
            row["scale_curve"] = []
            if scale_range_max is not None:
                gride = {"estimator": "gride", "gride_range_max": int(scale_range_max)}
                try:
                    row["scale_curve"] = estimate_id(X, **settings_for_estimator(settings | gride))["scale_curve"]
                except ValueError as err:
                    row["note"] = "; ".join(filter(None, [row["note"], f"scale curve: {err}"]))
            rows.append(row)
    return rows


def read_whole_documents(path: str | Path) -> tuple[list[str], list[int]]:
    """The texts of a prepared split and their documents' indices in the source's order, refusing
    chunked documents (a chunk's prefix is not its document's prefix, so the oracle's posterior
    would be wrong)."""
    texts, indices = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            if record.get("part", 0) > 0:
                raise ValueError(f"{path}: documents were chunked (split.chunk_chars); the oracle protocol needs whole documents")
            texts.append(record["text"])
            indices.append(int(record["doc"]))
    return texts, indices


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
    from idscaling.corpus.tokens import load_token_file

    val = load_token_file(val_bin)
    oracle, oracle_window, info = None, None, None
    if set(protocols) & set(ORACLE_PROTOCOLS):
        if source.get("kind") != "latent" or val_texts is None or tokenizer is None:
            raise ValueError("the oracle protocols need a latent source, its validation texts and the tokenizer")
        from idscaling.latent.documents import pseudo_words
        from idscaling.latent.teachers import teacher_for_source

        teacher = teacher_for_source(dict(source))
        texts, _ = read_whole_documents(val_texts)
        completed = documents_completed_words(val, texts, tokenizer)
        documents = document_word_ids(texts, pseudo_words(teacher.vocab))
        info = {}
        if "oracle" in protocols:
            oracle, info["oracle"] = oracle_points(
                teacher, documents, oracle_positions(positions, val.doc_starts, completed),
                max_points=int(settings["oracle_points"]), seed=int(settings["seed"]))
        if "oracle_window" in protocols:
            if windows is None:
                raise ValueError("the oracle_window protocol needs the embedded windows (windows.npy)")
            oracle_window, info["oracle_window"] = window_oracle_points(
                teacher, documents, windows, val.doc_starts, completed, max_points=int(settings["oracle_points"]),
                seed=int(settings["seed"]))
    sets = protocol_point_sets(
        protocols, final=points, token_ids=token_ids_at(val.tokens, positions), window_mean=window_mean,
        window_last=window_last, oracle=oracle, oracle_window=oracle_window,
        min_token_count=int(settings["min_token_count"]),
    )
    return sets, info


ID_PROTOCOL_COLUMNS = [
    "dataset", "model", "n_tokens", "seed", "protocol", "metric", "id", "id_ci_low", "id_ci_high", "n_points",
    "estimator", "k", "comb", "n_batches", "note",
]


def id_protocols_table(paths: Iterable[str | Path]) -> pd.DataFrame:
    """One row per (checkpoint, protocol, metric) from the protocols.json files."""
    rows = []
    for path in paths:
        r = json.loads(Path(path).read_text())
        for e in r["protocols"]:
            rows.append({
                "dataset": r["dataset"], "model": r["model"], "n_tokens": r["n_tokens"], "seed": r["seed"],
                "protocol": e["protocol"], "metric": e["metric"], "id": e["dimension"], "id_ci_low": e["ci_low"],
                "id_ci_high": e["ci_high"], "n_points": e["n_points"], "estimator": e.get("estimator"),
                "k": e.get("k"), "comb": e.get("comb"), "n_batches": e.get("n_batches"), "note": e["note"],
            })
    return _in_protocol_order(pd.DataFrame(rows, columns=ID_PROTOCOL_COLUMNS), [])


ID_SCALE_COLUMNS = ["dataset", "model", "n_tokens", "seed", "protocol", "metric", "n1", "n2", "id", "id_error",
                    "scale", "n_ratios"]


def id_scale_table(paths: Iterable[str | Path]) -> pd.DataFrame:
    """One row per (checkpoint, protocol, metric, neighbour rank n1) of the GRIDE scale curves in
    the protocols.json files: ``id`` +- ``id_error`` at rank n1 (n2 = 2 n1), ``scale`` the mean
    distance to those neighbours."""
    rows = []
    for path in paths:
        r = json.loads(Path(path).read_text())
        for e in r["protocols"]:
            for c in e.get("scale_curve") or []:
                rows.append({"dataset": r["dataset"], "model": r["model"], "n_tokens": r["n_tokens"], "seed": r["seed"],
                             "protocol": e["protocol"], "metric": e["metric"], "n1": c["n1"], "n2": c["n2"],
                             "id": c["dimension"], "id_error": c["error"], "scale": c["scale"],
                             "n_ratios": c["n_ratios"]})
    return _in_protocol_order(pd.DataFrame(rows, columns=ID_SCALE_COLUMNS), ["n1"])


def _in_protocol_order(table: pd.DataFrame, extra: list[str]) -> pd.DataFrame:
    table = table.assign(_order=table["protocol"].map({p: i for i, p in enumerate(PROTOCOLS)}))
    keys = ["dataset", "model", "n_tokens", "seed", "_order", "metric"] + extra
    return table.sort_values(keys, kind="mergesort").drop(columns="_order").reset_index(drop=True)
