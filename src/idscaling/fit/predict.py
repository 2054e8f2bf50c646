"""Scaling exponents predicted from the intrinsic dimension d.

Havrilla & Liao (NeurIPS 2024), for transformers on d-dimensional data with a
beta-Hoelder target:

* data scaling (Theorem 1): squared error ~ n^(-2 beta / (2 beta + d)),
  so ``alpha_D = 2 beta / (2 beta + d)``;
* model scaling (Theorem 2): squared error ~ N^(-2 beta / d), so
  ``alpha_N = 2 beta / d``.

beta is the Hoelder smoothness of the target (beta = 1: Lipschitz).

Sharma & Kaplan (JMLR 2022), for the cross-entropy loss of models that
resolve a d-dimensional data manifold: model scaling ``alpha_N ~ 4 / d``
(:func:`alpha_model_sharma_kaplan`; no smoothness parameter, and no data
exponent in this package).

All these exponents decrease in d, so an interval [d_low, d_high] on d maps
to [alpha(d_high), alpha(d_low)].
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "alpha_data",
    "alpha_model",
    "alpha_model_sharma_kaplan",
    "predict_with_ci",
    "axis_theorem",
    "AXES",
    "AXIS_THEOREMS",
    "THEORIES",
]

AXES = ("data", "model")
# The exponents table's axes and the theorem each one tests (data_envelope: the data law on the best
# shape at each size, idscaling.envelope).
AXIS_THEOREMS = {"data": "data", "data_envelope": "data", "model": "model"}
THEORIES = ("havrilla_liao", "sharma_kaplan")


def axis_theorem(axis: str) -> str:
    """The theorem ("data" or "model") an exponents-table axis is predicted by."""
    if axis not in AXIS_THEOREMS:
        raise ValueError(f"axis must be one of {tuple(AXIS_THEOREMS)}, got {axis!r}")
    return AXIS_THEOREMS[axis]


def _positive(value: Any, name: str, allow_nan: bool = False) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    bad = ~(arr > 0)
    if allow_nan:
        bad &= ~np.isnan(arr)
    if np.any(bad):
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return arr


def _out(arr: np.ndarray) -> float | np.ndarray:
    return float(arr) if arr.ndim == 0 else arr


def alpha_data(d: Any, beta: Any = 1.0) -> float | np.ndarray:
    """Predicted data-scaling exponent ``2 beta / (2 beta + d)`` (Theorem 1).

    Vectorised over ``d`` and ``beta`` (numpy broadcasting); returns a float
    for scalar inputs.
    """
    d = _positive(d, "d")
    beta = _positive(beta, "beta")
    return _out(2.0 * beta / (2.0 * beta + d))


def alpha_model(d: Any, beta: Any = 1.0) -> float | np.ndarray:
    """Predicted model-scaling exponent ``2 beta / d`` (Theorem 2).

    Vectorised over ``d`` and ``beta``; returns a float for scalar inputs.
    """
    d = _positive(d, "d")
    beta = _positive(beta, "beta")
    return _out(2.0 * beta / d)


def alpha_model_sharma_kaplan(d: Any) -> float | np.ndarray:
    """Sharma & Kaplan (2022) model-scaling exponent ``4 / d`` for cross-entropy.

    Vectorised over ``d``; returns a float for scalar inputs.
    """
    d = _positive(d, "d")
    return _out(4.0 / d)


def predict_with_ci(
    d: Any,
    d_low: Any,
    d_high: Any,
    beta: Any = 1.0,
    axis: str = "data",
    theory: str = "havrilla_liao",
) -> tuple[Any, Any, Any]:
    """Predicted exponent and its interval from an ID estimate and its interval.

    Parameters
    ----------
    d, d_low, d_high : float or array
        ID estimate and interval bounds (``d_low <= d_high``). NaN bounds are
        allowed and give NaN prediction bounds (no interval available).
    beta : float or array, default=1.0
        Target smoothness (Havrilla & Liao only; checked but unused for
        Sharma & Kaplan).
    axis : {"data", "model"}
        Which theorem: data scaling (Thm 1) or model scaling (Thm 2).
    theory : {"havrilla_liao", "sharma_kaplan"}, default="havrilla_liao"
        ``"sharma_kaplan"``: ``4 / d``, model axis only (ValueError for the
        data axis).

    Returns
    -------
    (pred, pred_low, pred_high)
        ``pred_low = alpha(d_high)`` and ``pred_high = alpha(d_low)``, because
        the exponent decreases with d.
    """
    if axis not in AXES:
        raise ValueError(f"axis must be one of {AXES}, got {axis!r}")
    if theory not in THEORIES:
        raise ValueError(f"theory must be one of {THEORIES}, got {theory!r}")
    if theory == "sharma_kaplan":
        if axis != "model":
            raise ValueError("theory 'sharma_kaplan' predicts the model exponent only (axis='model')")

        def formula(d_: Any, beta_: Any) -> Any:  # beta plays no part in 4 / d
            return alpha_model_sharma_kaplan(d_)
    else:
        formula = alpha_data if axis == "data" else alpha_model
    d_arr = _positive(d, "d")
    lo = _positive(d_low, "d_low", allow_nan=True)
    hi = _positive(d_high, "d_high", allow_nan=True)
    if np.any(lo > hi):
        raise ValueError(f"d_low must be <= d_high, got d_low={d_low!r}, d_high={d_high!r}")
    beta = _positive(beta, "beta")

    def bound(arr: np.ndarray) -> Any:
        # NaN bounds propagate; the formulas themselves reject NaN d.
        safe = np.where(np.isnan(arr), 1.0, arr)
        vals = np.where(np.isnan(arr), np.nan, formula(safe, beta))
        return _out(np.asarray(vals, dtype=np.float64))

    return formula(d_arr, beta), bound(hi), bound(lo)
