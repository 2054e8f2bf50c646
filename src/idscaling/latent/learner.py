"""A learner that is told each document's latent z: k-nearest-neighbour smoothing of word counts.

Why this exists: the theory (Havrilla & Liao) predicts the data exponent
``alpha_D = 2 beta / (2 beta + k)`` for estimating a beta-Hölder target on a k-dimensional domain.
Before reading a transformer's exponent on a latent corpus as a test of that theory, the corpus
must be shown to *have* that exponent for a learner whose rate is known: this one. It sees the
training documents' latents (a transformer must infer them from the words), so its excess loss is
the pure regression problem the theory is about, and its exponent tells whether the teacher
(:mod:`idscaling.holder_teacher`) puts the data in the theory's regime at the pipeline's sizes.

The estimator, for N tokens = N / T documents of T words with latents ``z_i`` and word counts
``c_i``: ``p_hat(. | z) = (sum_{i in NN_K(z)} c_i + a) / (K T + a V)`` -- the word frequencies of
the K documents nearest to z (euclidean, scikit-learn's NearestNeighbors), with ``a`` pseudo-counts
per word so that no probability is 0. K and ``a`` are chosen by leave-one-document-out
log-likelihood on the training documents (each held-out document's words scored under the
estimate from its K nearest *other* documents), so the bandwidth adapts to N without knowing beta:
the rate is the estimator's, not a tuned one.

Why this estimator has the theory's rate: with uniform latents, K neighbours lie within
``h ~ (K T / N)^(1/k)`` and the estimate's squared error is a variance ``~ V / (K T)`` plus a
squared bias ``~ h^(2 beta)`` (interior: the neighbourhood is symmetric, so a C^beta function's
first-order term cancels up to beta = 2) plus, in the boundary layer of width h (volume ~ h)
where the neighbourhood is one-sided, a bias ``~ h``: ``~ h^3`` in all. Balancing gives
``N^(-2 beta / (2 beta + k))`` when ``beta <= 1.5``; beyond that local averaging is stuck at
``3 / (3 + k)`` and local-linear smoothing would be needed. Local-constant smoothing is the
textbook rate-optimal choice only for beta <= 1; the one-sided boundary costs no more than the
interior up to beta = 1.5 because the latents are uniform on a cube. The excess loss is
``E_z KL(p(. | z) || p_hat(. | z))``, computed exactly over the vocabulary at fresh latents (the
learner's cross-entropy minus the teacher's entropy), so the only Monte Carlo error is over z.

What bends the curve before the asymptote (measured by bench/holder_learner.py, whose table and
diagnostics :func:`learning_curve` provides; the numbers are in BENCHMARKS.md): (1) the vocabulary
noise floor -- a word with ``p K T << 1`` costs less than the ``1 / (2 K T)`` of a resolved one, so
the noise term is ``V_eff / (2 K T)`` with ``V_eff`` growing towards ``V - 1`` as N grows, which
lowers the fitted exponent (k = 1); (2) the cube's boundary -- neighbourhoods there are one-sided
and wider, and the fraction of latents within h of a face shrinks with h, which raises the exponent
in high k (k = 4 matches the prediction on the inner cube, not on the whole cube); (3) in high k at
N <= 10^6 the optimal K is a handful of documents and the bias share of the excess is above the
asymptotic ``k / (2 beta + k)`` (k = 8): not yet the power-law regime. At the optimum of
``A h^(2 beta) + B / (N h^k)`` the bias share is ``k / (2 beta + k)``; that it is met for k <= 4 is a
check of the rate that does not use the exponent.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.neighbors import NearestNeighbors

from idscaling.fit.power_law import fit_power_law
from idscaling.latent.base import Teacher

__all__ = [
    "sample_documents",
    "KnnWordModel",
    "fit_knn_word_model",
    "excess_loss",
    "learning_curve",
    "exponent_check",
    "predicted_exponent",
    "PSEUDO_COUNTS",
]

PSEUDO_COUNTS = (0.01, 0.03, 0.1, 0.3, 1.0)  # the grid a is chosen from
_CHUNK = 2048  # latents per teacher evaluation / neighbour query (bounds memory, not results)


def predicted_exponent(smoothness: float, k: int) -> float:
    """The theory's data exponent ``2 beta / (2 beta + k)``."""
    if not smoothness > 0 or k < 1:
        raise ValueError(f"need smoothness > 0 and k >= 1, got {smoothness}, {k}")
    return 2 * smoothness / (2 * smoothness + k)


def _probs(teacher: Teacher, z: np.ndarray) -> np.ndarray:
    return np.vstack([teacher.probs(z[i : i + _CHUNK]) for i in range(0, len(z), _CHUNK)])


def sample_documents(
    teacher: Teacher, n_documents: int, document_tokens: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Latents (n, k) and word counts (n, V) of ``n_documents`` documents of ``document_tokens``
    i.i.d. words each -- the same distribution as :func:`idscaling.latent.documents`, as counts
    (all the learner uses of a document, since its words are exchangeable given z)."""
    if n_documents < 1 or document_tokens < 1:
        raise ValueError(f"n_documents and document_tokens must be >= 1, got {n_documents}, {document_tokens}")
    z = teacher.sample_latents(n_documents, rng)
    return z, _sample_counts(_probs(teacher, z), document_tokens, rng)


def _sample_counts(p: np.ndarray, document_tokens: int, rng: np.random.Generator) -> np.ndarray:
    parts = [rng.multinomial(document_tokens, rows) for rows in np.array_split(p, max(1, len(p) // _CHUNK))]
    return np.vstack(parts).astype(np.float64)


def _row_sums(counts: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``counts[rows].sum(axis=1)`` for an (m, K) index array, as a sparse product: no (m, K, V)
    temporary (gigabytes at K ~ 500)."""
    m, n_neighbors = rows.shape
    select = sparse.csr_matrix(
        (np.ones(rows.size), rows.ravel(), np.arange(0, rows.size + 1, n_neighbors)), shape=(m, counts.shape[0])
    )
    return np.asarray(select @ counts)


def _neighbour_sums(counts: np.ndarray, neighbours: np.ndarray, grid: Sequence[int]) -> list[np.ndarray]:
    """Sums of the counts of the first K neighbours, for each K of the increasing ``grid``."""
    out, total, done = [], np.zeros((neighbours.shape[0], counts.shape[1])), 0
    for n_neighbors in grid:
        total = total + _row_sums(counts, neighbours[:, done:n_neighbors])
        done = n_neighbors
        out.append(total)
    return out


def _log_likelihood(counts: np.ndarray, sums: np.ndarray, n_tokens: float, a: float) -> float:
    """Mean per-word log-likelihood of held-out ``counts`` under ``(sums + a) / (n_tokens + a V)``."""
    log_p = np.log(sums + a) - np.log(n_tokens + a * counts.shape[1])
    return float(np.sum(counts * log_p) / counts.sum())


@dataclass(frozen=True)
class KnnWordModel:
    """``p_hat(. | z)`` from the K training documents nearest to z, with ``a`` pseudo-counts."""

    index: NearestNeighbors
    counts: np.ndarray  # (n, V)
    n_neighbors: int
    pseudo_count: float
    document_tokens: int
    selection: tuple[tuple[int, float, float], ...]  # (K, a, held-out log-likelihood per word)

    def neighbours(self, z: np.ndarray) -> np.ndarray:
        """Indices (m, K) of the K training documents nearest to each latent."""
        z = np.asarray(z, dtype=np.float64)
        return np.vstack(
            [
                self.index.kneighbors(z[i : i + _CHUNK], n_neighbors=self.n_neighbors, return_distance=False)
                for i in range(0, len(z), _CHUNK)
            ]
        )

    def predict(self, z: np.ndarray) -> np.ndarray:
        """``p_hat(. | z)``: (m, V), rows summing to one, no zeros."""
        sums = _row_sums(self.counts, self.neighbours(z)) + self.pseudo_count
        return sums / sums.sum(axis=1, keepdims=True)


def _neighbour_grid(n_documents: int, growth: float = 1.25) -> list[int]:
    grid, n_neighbors = [], 1
    while n_neighbors < n_documents:
        grid.append(n_neighbors)
        n_neighbors = max(n_neighbors + 1, int(round(n_neighbors * growth)))
    return grid + [n_documents - 1] if n_documents > 1 and grid[-1] != n_documents - 1 else grid


def fit_knn_word_model(
    z: np.ndarray,
    counts: np.ndarray,
    *,
    pseudo_counts: Sequence[float] = PSEUDO_COUNTS,
    max_queries: int = 2000,
    patience: int = 3,
    seed: int = 0,
) -> KnnWordModel:
    """Fit :class:`KnnWordModel`, choosing K and ``a`` by leave-one-document-out log-likelihood.

    K runs over a geometric grid (ratio 1.25) from 1 up; the search stops once the best score has
    not improved for ``patience`` grid points (the score is a bias-variance trade-off with one
    maximum), which keeps the cost at a few times the chosen K. ``max_queries`` held-out documents
    (a random subset; all if fewer) are scored: enough to rank neighbouring K, and it bounds the cost
    at large N."""
    z = np.asarray(z, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    if z.ndim != 2 or counts.ndim != 2 or len(z) != len(counts):
        raise ValueError(f"z (n, k) and counts (n, V) must have the same number of rows, got {z.shape}, {counts.shape}")
    if len(z) < 2:
        raise ValueError(f"need at least 2 documents to choose K by leave-one-out, got {len(z)}")
    if not pseudo_counts or min(pseudo_counts) <= 0:
        raise ValueError(f"pseudo_counts must be positive, got {pseudo_counts}")
    tokens = counts.sum(axis=1)
    if np.any(tokens != tokens[0]) or tokens[0] < 1:
        raise ValueError("every document must have the same number (>= 1) of words")
    document_tokens = int(tokens[0])
    index = NearestNeighbors().fit(z)
    rng = np.random.default_rng(seed)
    queries = np.sort(rng.choice(len(z), size=min(max_queries, len(z)), replace=False))
    held_out = counts[queries]
    grid = _neighbour_grid(len(z))
    scores: list[tuple[int, float, float]] = []
    best, since_best, start = -math.inf, 0, 0
    while start < len(grid) and since_best < patience:
        block = grid[start : start + patience]  # neighbours up to this block's largest K, one query
        neighbours = index.kneighbors(z[queries], n_neighbors=min(block[-1] + 1, len(z)), return_distance=False)
        # leave one out: drop each query's own row, or the farthest one where a tie pushed it out
        own = neighbours == queries[:, None]
        own[~own.any(axis=1), -1] = True
        neighbours = neighbours[~own].reshape(len(queries), -1)
        for n_neighbors, sums in zip(block, _neighbour_sums(counts, neighbours, block)):
            top = max((_log_likelihood(held_out, sums, n_neighbors * document_tokens, a), a) for a in pseudo_counts)
            scores.append((n_neighbors, top[1], top[0]))
            if top[0] > best:
                best, since_best = top[0], 0
            else:
                since_best += 1
        start += patience
    n_neighbors, pseudo_count, _ = max(scores, key=lambda s: s[2])
    return KnnWordModel(
        index=index,
        counts=counts,
        n_neighbors=n_neighbors,
        pseudo_count=pseudo_count,
        document_tokens=document_tokens,
        selection=tuple(scores),
    )


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    """Mean over rows of KL(p || q), nats; q has no zeros."""
    return float(np.mean(np.sum(p * (np.log(np.clip(p, 1e-300, None)) - np.log(q)), axis=1)))


def excess_loss(teacher: Teacher, model: KnnWordModel, z: np.ndarray, p: np.ndarray | None = None) -> float:
    """``mean_z KL(p(. | z) || p_hat(. | z))`` in nats per word over the latents ``z`` (``p``: the
    teacher's distributions there, if already computed): the learner's cross-entropy minus the
    teacher's entropy, exact over the vocabulary."""
    p = _probs(teacher, z) if p is None else p
    return _kl(p, model.predict(z))


def learning_curve(
    teacher: Teacher,
    n_tokens: Sequence[int],
    *,
    document_tokens: int,
    seeds: Sequence[int],
    n_test: int = 2000,
) -> list[dict[str, Any]]:
    """Excess loss of :func:`fit_knn_word_model` at each training size in ``n_tokens``, per seed.

    Per seed, one sample of ``max(n_tokens) / document_tokens`` documents is drawn and the smaller
    training sets are its prefixes (nested, as the pipeline's), all scored on the same ``n_test``
    fresh latents: the points of a curve share their randomness, so its slope is less noisy than
    its level. Sizes are rounded down to whole documents (the rows give the tokens used).

    Each row also has two diagnostics of the pre-asymptotic effects that bend the curve:
    ``excess_loss_interior``, the excess loss at ``n_test`` latents uniform in the inner cube
    ``[1/4, 3/4]^k`` (away from the boundary, where neighbourhoods are one-sided), and
    ``bias_loss``, ``KL(p || p_bar)`` with ``p_bar`` the average of the teacher's *true*
    distributions at the same K neighbours (the estimate with infinitely long documents), so that
    ``excess - bias`` is the sampling-noise part and ``2 K T (excess - bias)`` the effective number
    of words the noise is spread over (-> V - 1 once every word is seen often enough)."""
    sizes = sorted(set(int(n) for n in n_tokens))
    if document_tokens < 1:
        raise ValueError(f"document_tokens must be >= 1, got {document_tokens}")
    if not sizes or sizes[0] < 2 * document_tokens:
        raise ValueError(
            f"every size in n_tokens must hold at least 2 documents of {document_tokens} words, got {sizes}"
        )
    if len(seeds) == 0:
        raise ValueError("seeds must not be empty")
    rows = []
    for seed in seeds:
        rng = np.random.default_rng([seed, 3])
        z = teacher.sample_latents(sizes[-1] // document_tokens, rng)
        p = _probs(teacher, z)
        counts = _sample_counts(p, document_tokens, rng)
        z_test = teacher.sample_latents(n_test, rng)
        z_inner = 0.25 + 0.5 * teacher.sample_latents(n_test, rng)
        p_test, p_inner = _probs(teacher, z_test), _probs(teacher, z_inner)
        for size in sizes:
            n = size // document_tokens
            model = fit_knn_word_model(z[:n], counts[:n], seed=seed)
            p_bar = _row_sums(p[:n], model.neighbours(z_test)) / model.n_neighbors
            rows.append(
                {
                    "seed": int(seed),
                    "n_tokens": n * document_tokens,
                    "n_documents": n,
                    "n_neighbors": model.n_neighbors,
                    "pseudo_count": model.pseudo_count,
                    "excess_loss": excess_loss(teacher, model, z_test, p_test),
                    "excess_loss_interior": excess_loss(teacher, model, z_inner, p_inner),
                    "bias_loss": _kl(p_test, p_bar),
                }
            )
    return rows


def exponent_check(
    teacher: Teacher,
    smoothness: float,
    n_tokens: Sequence[int],
    *,
    document_tokens: int,
    seeds: Sequence[int],
    n_test: int = 2000,
    ci_level: float = 0.95,
) -> dict[str, Any]:
    """Run :func:`learning_curve` and fit ``excess = A N^(-alpha)`` (:func:`idscaling.fit.fit_power_law`,
    every (N, seed) a point) against the theory's ``2 beta / (2 beta + k)``.

    Returns the fit of the excess loss (``alpha``, ``alpha_ci_low``, ``alpha_ci_high``, ``r2``,
    ...), the same three for the interior excess loss (``alpha_interior*``), ``predicted``, ``k``,
    ``smoothness``, ``n_min``/``n_max`` (tokens), ``seeds``, ``wall_s`` and the ``rows``."""
    start = time.perf_counter()
    rows = learning_curve(teacher, n_tokens, document_tokens=document_tokens, seeds=seeds, n_test=n_test)
    x = [r["n_tokens"] for r in rows]
    fit = fit_power_law(x, [r["excess_loss"] for r in rows], ci_level=ci_level)
    inner = fit_power_law(x, [r["excess_loss_interior"] for r in rows], ci_level=ci_level)
    return fit | {
        "alpha_interior": inner["alpha"],
        "alpha_interior_ci_low": inner["alpha_ci_low"],
        "alpha_interior_ci_high": inner["alpha_ci_high"],
        "k": int(teacher.k),
        "smoothness": float(smoothness),
        "predicted": predicted_exponent(smoothness, teacher.k),
        "n_min": min(x),
        "n_max": max(x),
        "seeds": [int(s) for s in seeds],
        "wall_s": time.perf_counter() - start,
        "rows": rows,
    }
