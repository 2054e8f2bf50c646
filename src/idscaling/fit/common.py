"""What every fit shares: input checks, percentile intervals, R^2, and BLAS held to one thread."""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = [
    "single_threaded_blas",
    "blas_single_threaded",
    "check_level",
    "check_n_bootstrap",
    "positive_arrays",
    "check_values",
    "percentile_ci",
    "sd",
    "r2",
]


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread while fitting.

    The fits make thousands of tiny BLAS calls (inside L-BFGS-B and numpy),
    where threads only add overhead; worse, OpenBLAS threads busy-wait between
    calls, and on a loaded machine that made the Chinchilla fit an order of
    magnitude slower (BENCHMARKS.md). threadpoolctl ships with scikit-learn,
    a dependency; without it the fits run unchanged.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def blas_single_threaded(func: Any) -> Any:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with single_threaded_blas():
            return func(*args, **kwargs)

    return wrapper


def check_level(ci_level: Any) -> float:
    try:
        level = float(ci_level)
    except (TypeError, ValueError):
        raise ValueError(f"ci_level must be in (0, 1), got {ci_level!r}") from None
    if not 0.0 < level < 1.0:
        raise ValueError(f"ci_level must be in (0, 1), got {ci_level!r}")
    return level


def check_n_bootstrap(n_bootstrap: Any) -> int:
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be an integer >= 0, got {n_bootstrap!r}")
    return int(n_bootstrap)


def positive_arrays(named: Sequence[tuple[str, Any]]) -> list[np.ndarray]:
    """Convert to 1-D float arrays of one length (values: :func:`check_values`)."""
    arrays = []
    for _, value in named:
        try:
            arrays.append(np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError) as err:
            names = " and ".join(n for n, _ in named)
            raise ValueError(f"{names} must be numeric: {err}") from None
    names = " and ".join(n for n, _ in named)
    if any(a.ndim != 1 for a in arrays):
        shapes = " and ".join(str(a.shape) for a in arrays)
        raise ValueError(f"{names} must be 1-D, got shapes {shapes}")
    if len({a.size for a in arrays}) != 1:
        sizes = " and ".join(str(a.size) for a in arrays)
        raise ValueError(f"{names} must have the same length, got {sizes}")
    return arrays


def check_values(named: Sequence[tuple[str, np.ndarray]], what: str) -> None:
    for name, values in named:
        n = values.size
        n_bad = int(np.count_nonzero(~np.isfinite(values)))
        if n_bad:
            raise ValueError(f"{name} contains NaN or inf ({n_bad} of {n} values)")
        n_bad = int(np.count_nonzero(values <= 0))
        if n_bad:
            raise ValueError(
                f"{name} must be positive for {what}; {n_bad} of {n} values are <= 0 (min {values.min()!r})"
            )


def percentile_ci(samples: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval over the finite entries of ``samples`` (NaN if none)."""
    samples = samples[np.isfinite(samples)]
    if samples.size < 2:
        return math.nan, math.nan
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(samples, [tail, 100.0 - tail])
    return float(low), float(high)


def sd(samples: np.ndarray) -> float:
    samples = samples[np.isfinite(samples)]
    return float(np.std(samples, ddof=1)) if samples.size >= 2 else math.nan


def r2(residuals: np.ndarray, target: np.ndarray) -> float:
    ss_tot = float(np.sum((target - target.mean()) ** 2))
    ss_res = float(np.sum(residuals**2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan


def require_columns(frame: Any, columns: Sequence[str], name: str) -> None:
    """Raise a one-line ValueError naming the columns of ``columns`` that table ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; available: {list(frame.columns)}")
