"""Per-model diagnostics on a latent-teacher corpus: does the model know z, and how far is its
loss from the Bayes loss, position by position?

On a latent corpus (:mod:`idscaling.latent`) two things are known that a natural corpus never
offers: each document's latent ``z``, and the best loss any model can reach at each position, the
Bayes loss ``-log q_t(w_{t+1})`` of the posterior predictive (:mod:`idscaling.oracle`). When the
ID measured from a model's hidden states does not follow k, these say whether the model is to
blame:

* **linear-probe R^2 of z** from the final-layer states at late positions (the second half of
  each document, where the posterior over z is narrow): ridge regression, cross-validated over
  documents (no document in both the fit and the test fold), R^2 averaged over z's coordinates.
  Near 1: the states hold z linearly; near 0: they do not (or only non-linearly);
* **loss gap by position**: the model's next-word loss minus the Bayes loss, averaged over
  documents at every word position. A gap that stays large at late positions means the model has
  not learned to infer z from its context, so its states cannot reflect the k-dimensional
  manifold of document distributions.

Words and tokens: the model predicts tokens; a word's loss is the sum of its tokens' losses (each
predicted from all earlier tokens), so word losses of the model and of the oracle are comparable.
The first word is left out (nothing predicts a document's first token within its window).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from idscaling.corpus.tokens import load_token_file
from idscaling.latent.documents import document_latents as replay_latents
from idscaling.latent.documents import pseudo_words
from idscaling.latent.oracle import posterior_predictive
from idscaling.latent.teachers import (
    latent_settings,
    teacher_for_source,
    teacher_from_settings,
)
from idscaling.latent.words import (
    document_word_ids,
    documents_completed_words,
    oracle_positions,
    read_whole_documents,
)
from idscaling.lm.inference import token_losses
from idscaling.lm.model import load_for_inference

__all__ = [
    "document_latents",
    "token_words",
    "word_losses",
    "bayes_word_losses",
    "loss_gap_by_position",
    "probe_r2",
    "model_token_losses",
    "diagnose",
]


def document_latents(source: Mapping[str, Any], indices: Sequence[int]) -> np.ndarray:
    """The latent ``z`` of the documents at ``indices`` (positions in the source's order) of a
    latent source (:func:`idscaling.latent.documents.document_latents` replays the generator's stream)."""
    settings = latent_settings(dict(source))
    indices = np.asarray(indices, dtype=np.int64)
    n = int(indices.max()) + 1 if indices.size else 0
    z = replay_latents(
        teacher_from_settings(settings),
        n_documents=n,
        document_tokens=settings["document_tokens"],
        seed=settings["seed"],
    )
    return z[indices]


def token_words(completed: np.ndarray) -> np.ndarray:
    """The word each token of a document belongs to, from :func:`idscaling.id_protocols.
    completed_words`: the first word not yet complete before the token is read."""
    completed = np.asarray(completed, dtype=np.int64)
    return np.concatenate([[0], completed[:-1]])


def word_losses(token_nll: np.ndarray, words_of_tokens: np.ndarray, n_words: int) -> np.ndarray:
    """Per-word loss: the sum of the losses of the word's tokens (``token_nll[j]``: loss of token j
    given the tokens before it; NaN where not predicted). A word with any unpredicted token is NaN."""
    token_nll = np.asarray(token_nll, dtype=np.float64)
    w = np.asarray(words_of_tokens)
    sums = np.bincount(w, weights=np.nan_to_num(token_nll), minlength=n_words)[:n_words]
    missing = np.bincount(w, weights=np.isnan(token_nll).astype(float), minlength=n_words)[:n_words]
    return np.where(missing > 0, np.nan, sums)


def bayes_word_losses(teacher: Any, words: np.ndarray, seed: int) -> np.ndarray:
    """``-log q_{t-1}(w_t)`` for t = 1..T-1 (NaN for t = 0): the Bayes loss of each word."""
    words = np.asarray(words, dtype=np.int64)
    out = np.full(len(words), np.nan)
    if len(words) > 1:
        q, _ = posterior_predictive(teacher, words, np.arange(len(words) - 1), np.random.default_rng(seed))
        out[1:] = -np.log(q[np.arange(len(words) - 1), words[1:]])
    return out


def loss_gap_by_position(model: Sequence[np.ndarray], bayes: Sequence[np.ndarray]) -> list[dict[str, float]]:
    """Per word position: mean model loss, mean Bayes loss and their difference over the documents
    where both are defined, with the number of documents."""
    length = max(len(m) for m in model)
    M = np.full((len(model), length), np.nan)
    B = np.full((len(model), length), np.nan)
    for i, (m, b) in enumerate(zip(model, bayes, strict=True)):
        M[i, : len(m)] = m
        B[i, : len(b)] = b
    both = np.isfinite(M) & np.isfinite(B)
    rows = []
    for t in range(length):
        ok = both[:, t]
        if ok.any():
            rows.append(
                {
                    "position": t,
                    "model_loss": float(M[ok, t].mean()),
                    "bayes_loss": float(B[ok, t].mean()),
                    "gap": float((M[ok, t] - B[ok, t]).mean()),
                    "n_documents": int(ok.sum()),
                }
            )
    return rows


def probe_r2(states: np.ndarray, z: np.ndarray, groups: np.ndarray, n_splits: int = 5) -> float:
    """Cross-validated R^2 (averaged over z's coordinates) of a ridge regression of ``z`` on the
    standardised ``states``, folds split by ``groups`` (documents), the penalty chosen by
    efficient leave-one-out within each training fold (scikit-learn's RidgeCV)."""
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    groups = np.asarray(groups)
    n_splits = min(n_splits, len(np.unique(groups)))
    if n_splits < 2:
        raise ValueError("the probe needs points from at least 2 documents")
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 4, 15)))
    pred = cross_val_predict(
        model, np.asarray(states, dtype=np.float64), np.asarray(z), groups=groups, cv=GroupKFold(n_splits)
    )
    return float(r2_score(z, pred, multioutput="uniform_average"))


def model_token_losses(
    model: Any, device: Any, val: Any, docs: Sequence[int], context: int, batch_size: int = 32
) -> list[np.ndarray]:
    """Per document of ``docs``: the model's loss of each of its first ``context`` tokens (end-of-
    text excluded) given the tokens before it in the document (NaN for the first)."""
    rows = [np.asarray(val.document(int(d))[:-1], dtype=np.int64)[:context] for d in docs]
    x = np.zeros((len(rows), context), dtype=np.int64)
    y = np.full((len(rows), context), -100, dtype=np.int64)
    for i, r in enumerate(rows):
        x[i, : len(r)] = r
        y[i, : len(r) - 1] = r[1:]
    losses = token_losses(model, x, y, batch_size, device)
    return [np.concatenate([[np.nan], losses[i, : len(r) - 1]]) for i, r in enumerate(rows)]


def diagnose(
    model_path: str,
    *,
    val_bin: str,
    val_texts: str,
    tokenizer: Any,
    points: np.ndarray,
    positions: np.ndarray,
    source: Mapping[str, Any],
    context: int,
    device: str = "auto",
    threads: int = 1,
    n_documents: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """The diagnostics of one checkpoint (see the module docstring): probe R^2 of z from its
    final-layer ``points`` (at the embedding ``positions``) in the first and second half of the
    documents, and the loss gap to the Bayes loss by word position over the first ``n_documents``
    validation documents. Returns a JSON-ready dict."""

    val = load_token_file(val_bin)
    texts, indices = read_whole_documents(val_texts)
    completed = documents_completed_words(val, texts, tokenizer)
    teacher = teacher_for_source(dict(source))
    words = document_word_ids(texts, pseudo_words(teacher.vocab))

    # probe: the state at a token against its document's z, split at half of the document's words
    where = oracle_positions(positions, val.doc_starts, completed)  # (document, last complete word)
    z = document_latents(source, indices)[where[:, 0]]
    n_words = np.array([len(w) for w in words])[where[:, 0]]
    late = where[:, 1] >= n_words // 2
    probe = {}
    for name, mask in (("late", late), ("early", ~late)):
        probe[name] = probe_r2(points[mask], z[mask], where[mask, 0]) if mask.sum() > 10 else float("nan")

    # loss gap: model and Bayes loss of every word of the first documents
    docs = list(range(min(n_documents, val.n_documents)))
    model, dev = load_for_inference(model_path, device, threads)
    token_nll = model_token_losses(model, dev, val, docs, context)
    model_words, bayes_words = [], []
    for d, nll in zip(docs, token_nll):
        owner = token_words(completed[d])[: len(nll)]
        m = word_losses(nll, owner, len(words[d]))
        if len(nll) < len(completed[d]):  # the window cut the document: its last words are incomplete
            m[token_words(completed[d])[len(nll)] :] = np.nan
        model_words.append(m)
        bayes_words.append(bayes_word_losses(teacher, words[d], seed=seed + d))
    gap = loss_gap_by_position(model_words, bayes_words)
    half = max(len(w) for w in words[: len(docs)]) // 2
    late_rows = [r for r in gap if r["position"] >= half]
    weights = np.array([r["n_documents"] for r in late_rows], dtype=float)
    return {
        "probe_r2_late": probe["late"],
        "probe_r2_early": probe["early"],
        "n_probe_points": int(len(points)),
        "k": int(teacher.k),
        "n_documents_loss": len(docs),
        "loss_gap_late": float(np.average([r["gap"] for r in late_rows], weights=weights))
        if late_rows
        else float("nan"),
        "model_loss_late": float(np.average([r["model_loss"] for r in late_rows], weights=weights))
        if late_rows
        else float("nan"),
        "bayes_loss_late": float(np.average([r["bayes_loss"] for r in late_rows], weights=weights))
        if late_rows
        else float("nan"),
        "loss_by_position": gap,
    }
