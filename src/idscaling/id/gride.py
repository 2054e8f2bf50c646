"""GRIDE, the generalised ratios intrinsic dimension estimator (Denti, Doimo, Laio & Glielmo
2022, *Sci. Rep.* 12, 20005): :class:`GRIDE`, :func:`gride_mle`, :func:`gride_scale_curve`.

Why a scale-dependent estimator: TwoNN and the k = 20 MLE see only the first few neighbours,
so on data with small-amplitude noise (or fine structure) they report the dimension of the
noise, and on a curved or clustered set they cannot say *at which scale* a dimension holds.
GRIDE generalises TwoNN from the ratio r2 / r1 to the ratio ``mu = r_{n2} / r_{n1}`` of the
distances to the n2-th and n1-th nearest neighbours. For points sampled from a locally uniform
density on a d-dimensional set, ``(r_{n1} / r_{n2})^d`` is Beta(n1, n2 - n1) distributed,
whatever the density's value (it is scale-free), so mu has the density

    f(mu | d) = d (mu^d - 1)^(n2 - n1 - 1) / (B(n2 - n1, n1) mu^((n2 - 1) d + 1)),   mu > 1,

and d is fitted by maximum likelihood over the points' ratios. Raising the ranks (n1, 2 n1)
with n1 = 1, 2, 4, ... moves the estimate to larger length scales without the variance
blow-up of decimating the data set (TwoNN's way to change scale): the *scale curve*
(:func:`gride_scale_curve`), the dimension as a function of the typical neighbour distance.
A plateau of the curve is the dimension at that scale.

Numerically the same as DADApy 0.3.4 (``Data.return_id_scaling_gride``; the test-suite checks
1e-4 relative agreement, dimension and error, along the scale curve), including its two
conventions (both documented where they apply):

* the estimate maximises the likelihood with ``N - 1`` in place of N in the ``N log d``
  term (``unbiased=True``): at n1 = 1, n2 = 2 it is ``(N - 1) / sum(log mu)``, the unbiased
  estimate of the Pareto shape (``sum(log mu)`` is Gamma(N, d)), which is also
  :func:`~idscaling.id.twonn.twonn_dimension` with ``method="mle"`` and no discarding;
  ``unbiased=False`` gives the plain maximum-likelihood ``N / sum(log mu)`` there;
* ratios at or above ``median + 20 (q95 - median)`` are dropped before the fit
  (``outlier_filter=True``), DADApy's very generous guard against near-duplicate points,
  which make a single huge ratio.

Differences from DADApy, all outside the cases it handles well: the maximum of the likelihood
is found with :func:`scipy.optimize.brentq` inside a bracket that provably contains it (no
``[0.001, 1000]`` search interval to fall out of), ratios equal to 1 (tied neighbours) enter
the likelihood through its exact limit instead of being nudged by 10 machine epsilons, the
error is the inverse square root of the observed Fisher information of the ratios actually
fitted (DADApy uses all of them, filtered or not), and duplicate points are refused (DADApy
replaces their zero distances by machine epsilon).

Note on ``metric="cosine"``: the cosine distance ``1 - cos(theta)`` behaves like
``theta**2 / 2`` for close neighbours, so every ratio mu is about squared and the estimate
about halved compared with angles (as for the MLE and TwoNN); use ``"euclidean"`` on
L2-normalised rows for the geometric dimension of the directions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import betaln, ndtri

from idscaling.id.base import check_distances, check_int, check_metric
from idscaling.id.estimator import Estimator, Fit, reject_inapplicable

__all__ = [
    "GRIDE",
    "gride_loglik",
    "gride_mle",
    "gride_error",
    "gride_ratios",
    "gride_from_distances",
    "gride_scale_curve",
    "scale_ranks",
    "mean_over_batches",
    "wald_interval",
]

# DADApy's outlier rule: ratios >= median + _OUTLIER_SPREADS * (q95 - median) are dropped.
_OUTLIER_SPREADS = 20.0


def _ranks(n1: Any, n2: Any) -> tuple[int, int]:
    """(n1, n2) as ints with 1 <= n1 < n2; ``n2=None`` means 2 * n1 (DADApy's scaling)."""
    n1 = check_int("n1", n1, 1)
    n2 = 2 * n1 if n2 is None else check_int("n2", n2, 2)
    if n2 <= n1:
        raise ValueError(f"n2 must be larger than n1, got n1={n1}, n2={n2}")
    return n1, n2


def _log_ratios(mu: Any, min_size: int = 2, informative: bool = True) -> np.ndarray:
    """log(mu) of a 1-D array of at least ``min_size`` ratios mu >= 1; ``informative``: not all
    equal to 1 (the estimate would be infinite)."""
    mu = np.asarray(mu, dtype=np.float64)
    if mu.ndim != 1 or mu.size < min_size:
        raise ValueError(f"mu must be a 1-D array of at least {min_size} ratios, got shape {mu.shape}")
    if not np.all(np.isfinite(mu)):
        raise ValueError("ratios mu contain NaN or inf")
    if np.any(mu < 1.0):
        raise ValueError(f"ratios mu = r_n2 / r_n1 must be >= 1, got a minimum of {mu.min()!r}")
    if informative and not np.any(mu > 1.0):
        raise ValueError("every ratio mu is 1 (all neighbours equidistant): the dimension is undefined")
    return np.log(mu)


def _outlier_mask(mu: np.ndarray) -> np.ndarray:
    """Ratios DADApy keeps: below median + 20 (q95 - median)."""
    q95, q50 = np.percentile(mu, [95, 50])
    return mu < q50 + _OUTLIER_SPREADS * (q95 - q50)


def _x_over_one_minus_exp(x: np.ndarray, d: float) -> np.ndarray:
    """``x / (1 - exp(-d x))`` elementwise, with its limit ``1 / d`` at x = 0 (mu = 1)."""
    denom = -np.expm1(-d * x)
    out = np.full_like(x, 1.0 / d)
    np.divide(x, denom, out=out, where=x > 0.0)
    return out


def gride_loglik(d: float, mu: Any, n1: int = 1, n2: int | None = None) -> float:
    """Log-likelihood of the dimension ``d`` given independent ratios ``mu = r_{n2} / r_{n1}``.

    The sum over points of ``log f(mu | d)`` with ``f`` the density in the module docstring:
    ``N log d + (n2 - n1 - 1) sum log(mu^d - 1) - N log B(n2 - n1, n1) - ((n2 - 1) d + 1)
    sum log mu``. Exact (``N``, not DADApy's ``N - 1``; see :func:`gride_mle`); ``-inf`` when a
    ratio equals 1 and ``n2 > n1 + 1`` (the density vanishes there). ``log(mu^d - 1)`` is
    evaluated as ``d log mu + log1p(-mu^-d)``, which does not overflow for large d.
    """
    n1, n2 = _ranks(n1, n2)
    if not (np.isfinite(d) and d > 0):
        raise ValueError(f"d must be a positive finite number, got {d!r}")
    x = _log_ratios(mu, 1, informative=False)
    n = x.size
    sum_x = float(np.sum(x))
    loglik = n * np.log(d) - n * betaln(n2 - n1, n1) - ((n2 - 1) * d + 1.0) * sum_x
    if n2 - n1 - 1 > 0:
        with np.errstate(divide="ignore"):
            loglik += (n2 - n1 - 1) * (d * sum_x + float(np.sum(np.log1p(-np.exp(-d * x)))))
    return float(loglik)


def _score(d: float, x: np.ndarray, n_eff: float, n1: int, n2: int) -> float:
    """d/dd of the log-likelihood with ``n_eff`` in the ``log d`` term: decreasing in d."""
    return n_eff / d + (n2 - n1 - 1) * float(np.sum(_x_over_one_minus_exp(x, d))) - (n2 - 1) * float(np.sum(x))


def _mle_from_log_ratios(x: np.ndarray, n1: int, n2: int, unbiased: bool) -> float:
    n = x.size
    n_eff = n - 1.0 if unbiased else float(n)
    sum_x = float(np.sum(x))
    # Bracket of the unique root of the score: with q = x / (1 - e^{-dx}), x <= q <= x + 1/d,
    # so n_eff / (n1 S) <= d* <= (n_eff + (n2 - n1 - 1) N) / (n1 S), S = sum log mu; the two
    # bounds meet when n2 = n1 + 1, where the estimate is this closed form (TwoNN's at n1 = 1).
    lo = n_eff / (n1 * sum_x)
    if n2 == n1 + 1:
        return lo
    hi = (n_eff + (n2 - n1 - 1) * n) / (n1 * sum_x)
    return float(brentq(_score, 0.5 * lo, 2.0 * hi, args=(x, n_eff, n1, n2), xtol=1e-14, rtol=1e-14))


def gride_mle(
    mu: Any, n1: int = 1, n2: int | None = None, *, unbiased: bool = True, outlier_filter: bool = True
) -> float:
    """GRIDE dimension from the ratios ``mu = r_{n2} / r_{n1}`` of each point.

    The root of the score (the derivative of :func:`gride_loglik`), which is strictly
    decreasing in d, so the maximum is unique; found with :func:`scipy.optimize.brentq` in a
    bracket derived from the score's bounds (see the source), to ~1e-14 relative.

    Parameters
    ----------
    mu : 1-D array of ratios >= 1
    n1, n2 : int
        Neighbour ranks, ``1 <= n1 < n2``; ``n2=None`` is ``2 * n1``.
    unbiased : bool, default=True
        ``N - 1`` instead of N in the ``N log d`` term (DADApy's estimate; equivalently the
        posterior mode under the scale prior ``1 / d``). At n1 = 1, n2 = 2 the estimate is
        ``(N - 1) / sum(log mu)``, unbiased; ``False``: ``N / sum(log mu)``, the plain MLE.
        The two differ by a factor of about ``1 - 1 / N``.
    outlier_filter : bool, default=True
        Drop ratios >= median + 20 (q95 - median) first (DADApy's guard against near
        duplicates; it drops nothing on clean data of dimension >= 2 at ordinary N, a few
        ratios per thousand at dimension 1). The rule is not invariant under mu -> mu^2, so
        with ``metric="cosine"`` it can drop a few more ratios than on the angles.
    """
    n1, n2 = _ranks(n1, n2)
    return _fit(mu, n1, n2, unbiased, outlier_filter)[0]


def gride_error(d: float, mu: Any, n1: int = 1, n2: int | None = None) -> float:
    """Standard error of a GRIDE estimate ``d``: ``1 / sqrt(I(d))`` with ``I`` the observed
    Fisher information of the ratios (minus the second derivative of :func:`gride_loglik`),

        I(d) = N / d^2 + (n2 - n1 - 1) sum (log mu / (1 - mu^-d))^2 mu^-d,

    the Cramér–Rao scale of the estimator's spread, as DADApy reports it. Pass the ratios the
    estimate was fitted on (after the outlier filter). It treats the points' ratios as
    independent, which they are not quite (neighbourhoods overlap), so it is a lower bound in
    practice; it says nothing about the bias from curvature or density changes.
    """
    n1, n2 = _ranks(n1, n2)
    if not (np.isfinite(d) and d > 0):
        raise ValueError(f"d must be a positive finite number, got {d!r}")
    return _error(float(d), _log_ratios(mu), n1, n2)


def _error(d: float, x: np.ndarray, n1: int, n2: int) -> float:
    info = x.size / d**2
    if n2 - n1 - 1 > 0:
        q = _x_over_one_minus_exp(x, d)
        info += (n2 - n1 - 1) * float(np.sum(q * q * np.exp(-d * x)))
    return float(info**-0.5)


def _fit(mu: Any, n1: int, n2: int, unbiased: bool, outlier_filter: bool) -> tuple[float, float, int]:
    """(dimension, error, number of ratios fitted) for validated ranks."""
    x = _log_ratios(mu)
    if outlier_filter:
        x = x[_outlier_mask(np.exp(x))]
        if x.size < 2 or not np.any(x > 0.0):
            raise ValueError("fewer than 2 informative ratios left after the outlier filter")
    d = _mle_from_log_ratios(x, n1, n2, bool(unbiased))
    return d, _error(d, x, n1, n2), int(x.size)


def gride_ratios(distances: Any, n1: int = 1, n2: int | None = None) -> np.ndarray:
    """``mu = r_{n2} / r_{n1}`` per point from sorted neighbour distances.

    ``distances`` is (n, k), row i holding the distances from point i to its k nearest
    *other* points in ascending order (column j is the (j + 1)-th neighbour), as
    :func:`~idscaling.id.knn.knn_distances` returns them; k >= n2.
    """
    n1, n2 = _ranks(n1, n2)
    distances = check_distances(distances, n2)
    return distances[:, n2 - 1] / distances[:, n1 - 1]


def gride_from_distances(
    distances: Any, n1: int = 1, n2: int | None = None, *, unbiased: bool = True, outlier_filter: bool = True
) -> tuple[float, float]:
    """(dimension, standard error) of GRIDE at ranks (n1, n2) from sorted neighbour distances
    (see :func:`gride_ratios`); the per-batch step of :func:`idscaling.id.estimate_id`."""
    n1, n2 = _ranks(n1, n2)
    d, err, _ = _fit(gride_ratios(distances, n1, n2), n1, n2, unbiased, outlier_filter)
    return d, err


def scale_ranks(range_max: int, n_neighbours: int) -> list[int]:
    """The n1 of the scale curve: 1, 2, 4, ... with ``2 n1 <= min(range_max, n_neighbours)``
    (DADApy's ranks: the largest neighbour rank used is at most ``range_max``)."""
    range_max = check_int("range_max", range_max, 2)
    top = min(range_max, int(n_neighbours))
    ranks = []
    n1 = 1
    while 2 * n1 <= top:
        ranks.append(n1)
        n1 *= 2
    return ranks


def gride_scale_curve(
    distances: Any, range_max: int | None = None, *, unbiased: bool = True, outlier_filter: bool = True
) -> list[dict[str, float | int]]:
    """GRIDE along the neighbour ranks (n1, 2 n1), n1 = 1, 2, 4, ...: the dimension as a
    function of scale.

    Parameters
    ----------
    distances : (n, k) sorted neighbour distances (see :func:`gride_ratios`)
    range_max : int, optional
        Largest neighbour rank used (DADApy's ``range_max``): n1 runs while ``2 n1 <=
        min(range_max, k)``. Default: all k columns.
    unbiased, outlier_filter
        As in :func:`gride_mle`.

    Returns
    -------
    list of dict, one per n1 in increasing order, with keys ``n1``, ``n2``, ``dimension``,
    ``error`` (:func:`gride_error`), ``scale`` (the mean over points of ``(r_{n1} + r_{n2}) /
    2``, DADApy's ``rs_scaling``: the length scale the estimate describes) and ``n_ratios``
    (ratios fitted, after the outlier filter).
    """
    distances = check_distances(distances, 2)
    k = distances.shape[1]
    curve = []
    for n1 in scale_ranks(k if range_max is None else range_max, k):
        n2 = 2 * n1
        d, err, n_fit = _fit(distances[:, n2 - 1] / distances[:, n1 - 1], n1, n2, unbiased, outlier_filter)
        scale = 0.5 * (float(np.mean(distances[:, n1 - 1])) + float(np.mean(distances[:, n2 - 1])))
        curve.append({"n1": n1, "n2": n2, "dimension": d, "error": err, "scale": scale, "n_ratios": n_fit})
    return curve


def mean_over_batches(curves: list[list[dict[str, float | int]]]) -> list[dict[str, float | int]]:
    """The scale curves of disjoint batches (:func:`gride_scale_curve` of each) as one: at each
    (n1, n2), the mean dimension and scale, the error of that mean ``sqrt(sum err_b^2) / B``
    (the batches share no points, so their estimates are independent) and the total
    ``n_ratios``. Only the ranks every batch has are kept."""
    if not curves:
        raise ValueError("no scale curves to combine")
    n_common = min(len(curve) for curve in curves)
    out = []
    for i in range(n_common):
        points = [curve[i] for curve in curves]
        if len({(p["n1"], p["n2"]) for p in points}) != 1:
            raise ValueError(f"the batches' scale curves have different ranks at position {i}")
        errors = np.array([p["error"] for p in points])
        out.append(
            {
                "n1": points[0]["n1"],
                "n2": points[0]["n2"],
                "dimension": float(np.mean([p["dimension"] for p in points])),
                "error": float(np.sqrt(np.sum(errors**2)) / len(points)),
                "scale": float(np.mean([p["scale"] for p in points])),
                "n_ratios": int(sum(p["n_ratios"] for p in points)),
            }
        )
    return out


def wald_interval(estimate: float, errors: list[float], ci_level: float) -> tuple[float, float]:
    """Two-sided interval ``estimate -/+ z sqrt(sum err_b^2) / B`` for the mean of B independent
    batch estimates with standard errors ``errors`` (the likelihood's, :func:`gride_error`).
    Like them, it reflects the sampling spread of the ratios only (treated as independent), not
    the estimator's bias."""
    if not 0.0 < float(ci_level) < 1.0:
        raise ValueError(f"ci_level must be in (0, 1), got {ci_level!r}")
    errors = np.asarray(errors, dtype=np.float64)
    half = float(ndtri(0.5 + float(ci_level) / 2.0)) * float(np.sqrt(np.sum(errors**2))) / errors.size
    return float(estimate) - half, float(estimate) + half


class GRIDE(Estimator):
    """Generalised ratios intrinsic dimension estimator (Denti et al. 2022), as DADApy's.

    Parameters
    ----------
    n1 : int, default=1
        Rank of the nearer neighbour of the ratio mu = r_{n2} / r_{n1} for ``dimension_``.
    n2 : int, optional
        Rank of the farther neighbour; default ``2 * n1``. (1, 2) is TwoNN's ratio.
    metric : {"euclidean", "cosine"}, default="euclidean"
        Neighbour distance (cosine: about half the dimension of the directions, see the module
        docstring).
    range_max : int, default=64
        Largest neighbour rank of the scale curve (DADApy's default): n1 = 1, 2, 4, ... while
        2 n1 <= min(range_max, n_samples - 1).
    unbiased, outlier_filter : bool, default=True
        DADApy's conventions, see :func:`gride_mle`.

    Neighbours are exact (:func:`~idscaling.id.knn.knn_distances`), each point excluded from
    its own neighbourhood; the largest rank needed is searched once for both the estimate and
    the curve.

    Attributes
    ----------
    dimension_ : float
        The estimate at (n1, n2).
    dimension_err_ : float
        Its standard error (:func:`gride_error`).
    mu_ : ndarray of shape (n_samples,)
        r_{n2} / r_{n1} for every point (before the outlier filter).
    scale_curve_ : list of dict
        :func:`gride_scale_curve` (keys n1, n2, dimension, error, scale, n_ratios).
    """

    name = "gride"
    bootstrapped = False  # the interval is the likelihood's
    PROTOCOL_KEYS = (
        "gride_n1",
        "gride_range_max",
    )  # the config's id keys it reads (idscaling.id.batching.settings_for_estimator)

    def __init__(
        self,
        n1: int = 1,
        n2: int | None = None,
        metric: str = "euclidean",
        range_max: int = 64,
        unbiased: bool = True,
        outlier_filter: bool = True,
    ):
        self.n1 = n1
        self.n2 = n2
        self.metric = metric
        self.range_max = range_max
        self.unbiased = unbiased
        self.outlier_filter = outlier_filter

    def n_neighbours(self, n_points: int | None = None) -> int:
        """The largest rank of the estimate or the curve: one search for both (at most n - 1)."""
        n2 = _ranks(self.n1, self.n2)[1]
        return max(n2, int(self.range_max) if n_points is None else min(int(self.range_max), n_points - 1))

    def points_needed(self) -> tuple[int, str]:
        n2 = _ranks(self.n1, self.n2)[1]
        return n2 + 1, f"n2={n2} points to find n2 neighbours per point"

    def check(self) -> None:
        _ranks(self.n1, self.n2)
        check_metric(self.metric)
        check_int("range_max", self.range_max, 2)

    def _fit(self, X: np.ndarray, distances: np.ndarray, idx: np.ndarray) -> Fit:
        n1, n2 = _ranks(self.n1, self.n2)
        opts = {"unbiased": bool(self.unbiased), "outlier_filter": bool(self.outlier_filter)}
        d, err = gride_from_distances(distances, n1, n2, **opts)
        return Fit(
            d,
            {
                "error": err,
                "scale_curve": gride_scale_curve(distances, int(self.range_max), **opts),
                "mu": gride_ratios(distances, n1, n2),
            },
        )

    def fitted(self, fit: Fit) -> None:
        self.dimension_err_ = fit.values["error"]
        self.mu_ = fit.values["mu"]
        self.scale_curve_ = fit.values["scale_curve"]

    def interval(
        self, dimension: float, fits: list[Fit], n_bootstrap: int, ci_level: float, rng: np.random.Generator
    ) -> tuple[float | None, float | None]:
        """Not bootstrapped: the Wald interval of the mean of the batch estimates from their
        likelihood standard errors (:func:`wald_interval`), with the same caveats as a bootstrap."""
        return wald_interval(dimension, [f.values["error"] for f in fits], float(ci_level))

    def batch_fields(self, fits: list[Fit]) -> dict[str, Any]:
        """The estimate's ranks and the scale curve of all batches (:func:`mean_over_batches`)."""
        return {
            "gride_n1": int(self.n1),
            "gride_range_max": int(self.range_max),
            "scale_curve": mean_over_batches([f.values["scale_curve"] for f in fits]),
        }

    @classmethod
    def for_protocol(
        cls,
        *,
        metric: str,
        k: int | None = None,
        comb: str | None = None,
        unbiased: bool = False,
        gride_n1: int = 1,
        gride_range_max: int = 64,
        **_: Any,
    ) -> GRIDE:
        reject_inapplicable("gride", k=k, comb=comb, k_reason="set gride_n1 and gride_range_max", unbiased=unbiased)
        estimator = cls(
            n1=check_int("gride_n1", gride_n1, 1),
            metric=metric,
            range_max=check_int("gride_range_max", gride_range_max, 2),
        )
        estimator.check()
        return estimator

    def protocol_fields(self) -> dict[str, Any]:
        return {
            "k": self.n_neighbours(),
            "comb": None,
            "unbiased": None,
            "discard_fraction": None,
            "twonn_method": None,
            "epsilon": None,
        }
